"""Exactly one scheduler per database: a leader lock taken before the scheduler starts.

PostgreSQL: a session-level `pg_try_advisory_lock` on a dedicated connection held for the process
lifetime. When the leader dies its session ends and the server frees the lock; no lease to expire.
The key is derived from the lock name and the connection's schema, so two wom installations that
share one PostgreSQL database in different schemas (and parallel test schemas) do not block each other.

SQLite (single host): a lease row in `schedulerlease` taken or renewed atomically with
``UPDATE ... WHERE name = :name AND (expires_at <= :now OR owner = :me)``, or an INSERT when the row is
absent, inside the `BEGIN IMMEDIATE` write lock. The leader renews every TTL/3 and each renewal runs
the lease to TTL from then, so a dead leader's lease ends at most TTL after it died. A follower tries
every TTL/3 but never later than the moment the lease it saw ends (`follower_wait_seconds`): it takes
over within TTL of the leader's death. A fixed TTL/2 poll took up to TTL + TTL/2 (74 s seen for 60 s).

Either way `is_held()` re-checks the lock, so a job can fence its commit ("do I still lead?").
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.storage.db import is_postgres
from monitor.storage.models import SchedulerLease, utcnow
from monitor.storage.tables import table_of

__all__ = ["DEFAULT_LOCK_NAME", "DEFAULT_TTL_SECONDS", "LeaderLock", "advisory_lock_key", "make_owner"]

DEFAULT_LOCK_NAME = "wom-scheduler"
DEFAULT_TTL_SECONDS = 60.0
_LEASE = table_of(SchedulerLease)
_log = logging.getLogger("wom.scheduler")
# libpq keepalives: a leader whose host vanishes (no FIN) loses its session within ~30 s, not hours
_PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
_PG_APPLICATION_NAME_MAX = 63  # NAMEDATALEN - 1; longer names are truncated by the server


class _Lease(NamedTuple):
    owner: str
    expires_at: datetime


def make_owner() -> str:
    """`hostname:pid:random`, unique per LeaderLock even for two locks in one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def advisory_lock_key(name: str, schema: str = "public") -> int:
    """The signed 64-bit key for `pg_try_advisory_lock`, a constant for (`name`, `schema`)."""
    digest = hashlib.sha256(f"{name}@{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock:
    """One holder per database. `acquire()` and `renew()` return whether this process leads."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = DEFAULT_LOCK_NAME,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}; the default is 60")
        self.engine = engine
        self.name = name
        self.ttl_seconds = float(ttl_seconds)
        self.clock = clock
        self.owner = owner or make_owner()
        self._mutex = threading.RLock()
        self._held = False
        self._last_logged_holder: str | None = None
        self._pg_engine: Engine | None = None
        self._pg_conn: Connection | None = None
        self._pg_key: int | None = None

    @property
    def backend(self) -> str:
        return "postgresql-advisory-lock" if is_postgres(self.engine) else "sqlite-lease"

    @property
    def renew_interval_seconds(self) -> float:
        """How often the leader renews (SQLite) or re-checks (PostgreSQL): TTL/3."""
        return self.ttl_seconds / 3

    @property
    def retry_interval_seconds(self) -> float:
        """How often a follower tries to take over at most: TTL/3 (sooner when the lease ends sooner)."""
        return self.ttl_seconds / 3

    def follower_wait_seconds(self) -> float:
        """How long a follower waits before its next `acquire()`: the retry interval, or until the lease
        seen now ends when that is sooner (SQLite), so a dead leader is replaced within TTL. Never raises."""
        with self._mutex:
            if is_postgres(self.engine):
                return self.retry_interval_seconds  # the server frees the lock when the session ends
            try:
                row = self._lease_row()
            except sa.exc.SQLAlchemyError as e:
                _log.warning("cannot read the scheduler lease %r: %s", self.name, _short(e))
                return self.retry_interval_seconds
            if row is None:
                return 0.0
            left = (row.expires_at - self.clock()).total_seconds()
            return min(self.retry_interval_seconds, max(0.0, left))

    def acquire(self) -> bool:
        """Take the lock if it is free (or ours); logs who holds it when it is not."""
        with self._mutex:
            try:
                held = self._pg_acquire() if is_postgres(self.engine) else self._lease_take()
            except sa.exc.SQLAlchemyError as e:
                _log.warning("cannot take the scheduler lock %r: %s", self.name, _short(e))
                held = False
            self._held = held
            if held:
                self._last_logged_holder = None
            else:
                self._log_follower()
            return held

    def renew(self) -> bool:
        """Extend the lease (SQLite) or confirm the lock session is alive (PostgreSQL).

        Returns False when this process no longer leads; the caller must stop its jobs."""
        with self._mutex:
            if not self._held:
                return False
            if is_postgres(self.engine):
                self._held = self.is_held()
                if not self._held:
                    self._pg_close()
                return self._held
            try:
                self._held = self._lease_take(insert=False)
            except sa.exc.SQLAlchemyError as e:
                _log.warning("cannot renew the scheduler lease %r: %s", self.name, _short(e))
                self._held = self.is_held()  # still valid until it expires
            return self._held

    def is_held(self) -> bool:
        """Whether this process leads right now, read from the database (fencing). Never raises."""
        with self._mutex:
            try:
                if is_postgres(self.engine):
                    return self._pg_is_held()
                row = self._lease_row()
            except sa.exc.SQLAlchemyError as e:
                _log.warning("cannot check the scheduler lock %r: %s", self.name, _short(e))
                return False
            return row is not None and row.owner == self.owner and row.expires_at > self.clock()

    def holder(self) -> str | None:
        """Who holds the lock now (an owner string, or `pid N` on PostgreSQL), or None."""
        with self._mutex:
            try:
                return self._pg_holder() if is_postgres(self.engine) else self._lease_holder()
            except sa.exc.SQLAlchemyError:
                return None

    def release(self) -> None:
        """Give the lock up (idempotent), so a follower can take over at once."""
        with self._mutex:
            self._held = False
            if is_postgres(self.engine):
                self._pg_close(unlock=True)
                return
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.delete(_LEASE).where(_LEASE.c.name == self.name, _LEASE.c.owner == self.owner)
                    )
            except sa.exc.SQLAlchemyError as e:
                _log.warning(
                    "cannot release the scheduler lease %r (it expires by itself): %s", self.name, _short(e)
                )

    def _log_follower(self) -> None:
        holder = self.holder() or "another process"
        if holder != self._last_logged_holder:
            _log.info("scheduler lock held by %s; serving API only", holder)
            self._last_logged_holder = holder

    # --- SQLite lease ---------------------------------------------------------------------------

    def _lease_take(self, *, insert: bool = True) -> bool:
        now = self.clock()
        expires = now + timedelta(seconds=self.ttl_seconds)
        with self.engine.begin() as conn:
            taken = conn.execute(
                sa.update(_LEASE)
                .where(
                    _LEASE.c.name == self.name,
                    sa.or_(_LEASE.c.expires_at <= now, _LEASE.c.owner == self.owner),
                )
                .values(owner=self.owner, expires_at=expires)
            ).rowcount
            if taken == 1:
                return True
            if not insert:
                return False
            insert_stmt = _dialect_insert(conn)(_LEASE).values(
                name=self.name, owner=self.owner, expires_at=expires
            )
            return conn.execute(insert_stmt.on_conflict_do_nothing(index_elements=["name"])).rowcount == 1

    def _lease_row(self) -> _Lease | None:
        with self.engine.connect() as conn:
            query = sa.select(_LEASE.c.owner, _LEASE.c.expires_at).where(_LEASE.c.name == self.name)
            row = conn.execute(query).first()
        return None if row is None else _Lease(owner=row.owner, expires_at=row.expires_at)

    def _lease_holder(self) -> str | None:
        row = self._lease_row()
        if row is None or row.expires_at <= self.clock():
            return None
        return row.owner

    # --- PostgreSQL advisory lock --------------------------------------------------------------

    def _pg_connect(self) -> Connection:
        if self._pg_conn is not None and not self._pg_conn.closed:
            return self._pg_conn
        if self._pg_engine is None:
            # its own engine without a pool: closing the connection really ends the session
            self._pg_engine = sa.create_engine(
                self.engine.url,
                poolclass=sa.pool.NullPool,
                connect_args={
                    **_PG_KEEPALIVES,
                    "application_name": f"wom {self.owner}"[:_PG_APPLICATION_NAME_MAX],
                },
            )
        conn = self._pg_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one_or_none() or "public"
        self._pg_key = advisory_lock_key(self.name, str(schema))
        self._pg_conn = conn
        return conn

    def _pg_acquire(self) -> bool:
        if self._held and self._pg_is_held():
            return True  # advisory locks stack per session; never take a second one
        conn = self._pg_connect()
        got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(self._pg_key))).scalar_one())
        if not got:
            self._pg_close()  # a follower holds no idle connection between tries
        return got

    def _pg_lock_filter(self) -> str:
        return (
            "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )

    def _pg_key_parts(self) -> dict[str, int]:
        key = self._pg_key if self._pg_key is not None else advisory_lock_key(self.name)
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        return {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}

    def _pg_is_held(self) -> bool:
        conn = self._pg_conn
        if conn is None or conn.closed:
            return False
        query = f"SELECT count(*) FROM pg_locks l WHERE {self._pg_lock_filter()} AND l.pid = pg_backend_pid()"
        try:
            return bool(conn.execute(sa.text(query), self._pg_key_parts()).scalar_one())
        except sa.exc.DBAPIError as e:
            _log.warning("the scheduler lock session is gone: %s", _short(e))
            self._pg_close()
            return False

    def _pg_holder(self) -> str | None:
        if self._pg_key is None:
            # learn this connection's schema (hence the key) without taking the lock
            self._pg_connect()
            if not self._held:
                self._pg_close()
        query = (
            "SELECT l.pid, a.application_name FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
            f" WHERE {self._pg_lock_filter()}"
        )
        with self.engine.connect() as conn:
            row = conn.execute(sa.text(query), self._pg_key_parts()).first()
        if row is None:
            return None
        name = str(row.application_name or "")
        return name.removeprefix("wom ") if name.startswith("wom ") else f"pid {row.pid}"

    def _pg_close(self, *, unlock: bool = False) -> None:
        conn, self._pg_conn = self._pg_conn, None
        if conn is None or conn.closed:
            return
        try:
            if unlock and self._pg_key is not None:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(self._pg_key)))
        except sa.exc.DBAPIError as e:
            _log.debug("unlock failed; closing the session frees the lock anyway: %s", _short(e))
        finally:
            conn.close()


def _dialect_insert(conn: Connection) -> Callable[..., sqlite.Insert | postgresql.Insert]:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _short(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
