"""Tombstones of forgotten identities: a digest per (source, identity key), nothing in the clear.

`store_mentions` asks `tombstoned` once per batch and refuses the mentions of a tombstoned identity, so
a collector or an import cannot bring a forgotten person back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.storage.models import AuthorTombstone
from monitor.storage.tables import table_of

__all__ = ["add_tombstones", "identity_digest", "tombstoned"]

_TOMBSTONE = table_of(AuthorTombstone)


def identity_digest(source: str, identity_key: str) -> str:
    """SHA-256 (hex) of `source` + NUL + `identity_key`: the form `AuthorTombstone` keeps."""
    return hashlib.sha256(f"{source}\x00{identity_key}".encode()).hexdigest()


def tombstoned(conn: Connection, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (source, identity key) pairs among `keys` that were forgotten; one primary-key lookup."""
    if not keys or conn.execute(sa.select(_TOMBSTONE.c.identity_digest).limit(1)).first() is None:
        # no one was ever forgotten: sending 2,000 digests (130 kB) would cost 5 ms a batch on PostgreSQL
        return set()
    by_digest = {identity_digest(source, key): (source, key) for source, key in keys}
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT identity_digest FROM authortombstone "
                "WHERE identity_digest = ANY(CAST(:digests AS varchar[]))"
            ),
            {"digests": list(by_digest)},
        )
    else:
        rows = conn.exec_driver_sql(
            "SELECT identity_digest FROM authortombstone "
            "WHERE identity_digest IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(by_digest)).decode(),),
        )
    return {by_digest[row[0]] for row in rows}


def add_tombstones(conn: Connection, keys: Iterable[tuple[str, str]], *, now: datetime) -> None:
    """Tombstone every (source, identity key); an existing tombstone is kept."""
    rows = [
        {"identity_digest": digest, "forgotten_at": now} for digest in {identity_digest(*k) for k in keys}
    ]
    if rows:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_TOMBSTONE)
        conn.execute(insert.on_conflict_do_nothing(), rows)
