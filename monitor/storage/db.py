"""Engine creation and schema upgrades for SQLite (WAL) and PostgreSQL from one code path."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.config import mask_url_password
from monitor.errors import StorageError

__all__ = [
    "connect",
    "database_answers",
    "is_postgres",
    "read_only",
    "redact_url",
    "schema_is_current",
    "session_scope",
    "upgrade_schema",
    "writable",
]

_MIGRATIONS = Path(__file__).parent / "migrations"
_READ_ONLY = "wom_read_only"


def connect(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    kwargs: dict[str, Any] = {
        "echo": echo,
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if url.startswith("sqlite"):
        _ensure_sqlite_parent(url)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(url, **kwargs)
    except (sa.exc.ArgumentError, ModuleNotFoundError, ValueError) as e:
        # ValueError: a port that is not a number; its message names only the port, never the password
        hint = (
            "pip install 'wom[postgres]'" if "psycopg" in str(e) else "fix WOM_DATABASE_URL or [database] url"
        )
        raise StorageError(f"cannot use database url {redact_url(url)!r}: {e} ({hint})") from e
    if url.startswith("sqlite"):
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin_immediate)
    else:
        sa.event.listen(engine, "connect", _postgres_settings)
    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(engine: Engine | None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    try:
        command.upgrade(_alembic_config(engine), "head")
    except sa.exc.OperationalError as e:
        raise StorageError(
            f"cannot upgrade the database at {redact_url(str(engine.url))}: {e.orig}. "
            "Check that the server runs and WOM_DATABASE_URL is right."
        ) from e


@functools.cache
def _newest_revision() -> str | None:
    # the migrations ship with the code, so their head is fixed for the process; reading the scripts
    # costs ~30 ms, too much for a status page that asks on every view
    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()


def schema_is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current == _newest_revision()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _ensure_sqlite_parent(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # the pysqlite driver opens transactions lazily; take control so BEGIN IMMEDIATE works (see _begin)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    # JIT compiling pays off for long analytical queries, not for wom's short ones: with a million
    # mentions it added 85 ms to a 50-row page whose plan costs crossed jit_above_cost
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.commit()


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    # writers take the write lock at BEGIN, so two writers queue on busy_timeout instead of failing
    # on lock upgrade; readers (read_only engines) begin deferred and never block anyone under WAL
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")


def database_answers(engine: Engine) -> None:
    """Runs a trivial query; raises sqlalchemy.exc.SQLAlchemyError when the database cannot answer."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def read_only(engine: Engine) -> Engine:
    """The same engine for readers (API, dashboard, status): on SQLite its transactions take no write lock;
    on PostgreSQL each statement commits by itself, which spares a BEGIN and a ROLLBACK round trip per
    request and changes nothing for reads: under READ COMMITTED every statement takes a fresh snapshot
    inside a transaction too."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{_READ_ONLY: True}, isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{_READ_ONLY: True})


def writable(engine: Engine) -> Engine:
    """`engine` for writers again, where `read_only` was applied (the API's write routes): on SQLite its
    transactions take the write lock at BEGIN, so they queue on busy_timeout instead of failing; on
    PostgreSQL its statements run in transactions again."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{_READ_ONLY: False}, isolation_level="READ COMMITTED")
    return engine.execution_options(**{_READ_ONLY: False})


def redact_url(url: str) -> str:
    """`url` with its password as ***, also when SQLAlchemy cannot parse it."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return mask_url_password(url)
