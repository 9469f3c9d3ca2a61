"""Storing mention batches: one transaction per batch, duplicates skipped by `(source, external_id)`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.handles import handle_key
from monitor.storage.models import Author, AuthorIdentity, Mention, utcnow
from monitor.storage.tables import table_of
from monitor.storage.tombstones import tombstoned

__all__ = [
    "StoreResult",
    "content_key",
    "existing_keys",
    "refresh_statistics",
    "store_mentions",
    "stored_ids",
]

_MENTION = table_of(Mention)
_IDENTITY = table_of(AuthorIdentity)
_AUTHOR = table_of(Author)


@dataclass(frozen=True, slots=True)
class StoreResult:
    """`forgotten`: refused because their author's identity was forgotten (see monitor.storage.tombstones).

    `new_keys`: the `(source, external_id)` of the rows this call inserted (the API reports created or
    duplicate per item); None only when `checked_new` on SQLite met rows that were stored meanwhile, where
    the count is exact but not which rows.
    """

    new: int
    duplicate: int
    forgotten: int = 0
    new_keys: frozenset[tuple[str, str]] | None = frozenset()


def _insert(conn: Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def existing_keys(conn: Connection, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """The `(source, external_id)` pairs among `keys` already stored."""
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    found: set[tuple[str, str]] = set()
    if conn.dialect.name == "postgresql":
        # one array parameter instead of hundreds of IN parameters psycopg would parse and quote in Python
        for source, ids in by_source.items():
            rows = conn.execute(
                sa.text(
                    "SELECT external_id FROM mention WHERE source = :source AND external_id = ANY(CAST(:ids AS varchar[]))"
                ),
                {"source": source, "ids": ids},
            )
            found.update((source, row[0]) for row in rows)
        return found
    # SQLite: the keys as one JSON array parameter instead of an IN list SQLAlchemy compiles per batch
    for source, ids in by_source.items():
        rows = conn.exec_driver_sql(
            "SELECT external_id FROM mention WHERE source = ? AND external_id IN (SELECT value FROM json_each(?))",
            (source, orjson.dumps(ids).decode()),
        )
        found.update((source, row[0]) for row in rows)
    return found


def _identity_rows(
    conn: Connection, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int | None]]:
    """(source, identity_key) -> (identity id, reach) for the keys that exist."""
    by_source: dict[str, list[str]] = {}
    for source, key in keys:
        by_source.setdefault(source, []).append(key)
    found: dict[tuple[str, str], tuple[int, int | None]] = {}
    if conn.dialect.name == "postgresql":
        for source, identity_keys in by_source.items():
            rows = conn.execute(
                sa.text(
                    "SELECT identity_key, id, reach FROM authoridentity "
                    "WHERE source = :source AND identity_key = ANY(CAST(:keys AS varchar[]))"
                ),
                {"source": source, "keys": identity_keys},
            )
            found.update(((source, key), (ident, reach)) for key, ident, reach in rows)
        return found
    for source, identity_keys in by_source.items():
        rows = conn.exec_driver_sql(
            "SELECT identity_key, id, reach FROM authoridentity "
            "WHERE source = ? AND identity_key IN (SELECT value FROM json_each(?))",
            (source, orjson.dumps(identity_keys).decode()),
        )
        found.update(((source, key), (ident, reach)) for key, ident, reach in rows)
    return found


def _insert_authors(conn: Connection, records: list[AuthorRecord], now: datetime) -> list[int]:
    """One new author per record; returns their ids in order."""
    rows = [
        {"display_name": record.name or record.handle, "created_at": now, "forgotten": False}
        for record in records
    ]
    if conn.dialect.name == "sqlite":
        # SQLAlchemy inserts row by row to return ids in order on SQLite; instead, take the ids
        # max(id)+1.. ourselves: BEGIN IMMEDIATE holds the write lock, so nobody else inserts meanwhile.
        start = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_AUTHOR.c.id), 0))).scalar_one())
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        stamp = _sqlite_value(now, "timestamp")
        cursor.executemany(
            "INSERT INTO author (id, display_name, created_at, forgotten) VALUES (?, ?, ?, 0)",
            [(start + i + 1, row["display_name"], stamp) for i, row in enumerate(rows)],
        )
        return [start + i + 1 for i in range(len(rows))]
    # PostgreSQL: take the ids from the sequence, then COPY the rows with them
    ids = [
        int(row[0])
        for row in conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('author', 'id')) FROM generate_series(1, %(n)s)",
            {"n": len(rows)},
        )
    ]
    stamp = now.astimezone(UTC).replace(tzinfo=None)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy("COPY author (id, display_name, created_at, forgotten) FROM STDIN") as copy:
        for author_id, row in zip(ids, rows, strict=True):
            copy.write_row((author_id, row["display_name"], stamp, False))
    return ids


def _ensure_identities(
    conn: Connection,
    authors: dict[tuple[str, str], tuple[AuthorRecord, datetime]],
    now: datetime,
    *,
    known: dict[tuple[str, str], tuple[int, int | None]],
) -> dict[tuple[str, str], int]:
    """Create missing authors and identities; refresh reach from the newest mention. Returns key -> identity id.

    `known`: `_identity_rows` of the keys of `authors`."""
    missing = [key for key in authors if key not in known]
    if missing:
        author_ids = _insert_authors(conn, [authors[key][0] for key in missing], now)
        _insert_skipping_conflicts(
            conn,
            _IDENTITY,
            conflict=("source", "identity_key"),
            rows=[
                {
                    "author_id": author_id,
                    "source": key[0],
                    "identity_key": key[1],
                    "platform_id": authors[key][0].platform_id,
                    "handle": authors[key][0].handle,
                    "handle_key": handle_key(authors[key][0].handle),
                    "name": authors[key][0].name,
                    "reach": authors[key][0].reach,
                    "reach_kind": authors[key][0].reach_kind,
                    "updated_at": now,
                }
                for key, author_id in zip(missing, author_ids, strict=True)
            ],
        )
        known.update(_identity_rows(conn, set(missing)))
        # another process may have won the race for an identity: drop the authors left without one
        conn.execute(
            sa.delete(_AUTHOR).where(
                _AUTHOR.c.id.in_(author_ids),
                ~sa.exists().where(_IDENTITY.c.author_id == _AUTHOR.c.id),
            )
        )
    changed = [
        {"b_id": known[key][0], "b_reach": record.reach, "b_now": now}
        for key, (record, _) in authors.items()
        if key in known and record.reach is not None and record.reach != known[key][1]
    ]
    if changed and conn.dialect.name == "postgresql":
        # one statement instead of one round trip per identity
        conn.execute(
            sa.text(
                "UPDATE authoridentity AS i SET reach = d.reach, updated_at = :now "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:reaches AS bigint[])) AS d(id, reach) WHERE i.id = d.id"
            ),
            {
                "ids": [c["b_id"] for c in changed],
                "reaches": [c["b_reach"] for c in changed],
                "now": now.replace(tzinfo=None),
            },
        )
    elif changed:
        conn.execute(
            sa.update(_IDENTITY)
            .where(_IDENTITY.c.id == sa.bindparam("b_id"))
            .values(reach=sa.bindparam("b_reach"), updated_at=sa.bindparam("b_now")),
            changed,
        )
    return {key: value[0] for key, value in known.items()}


def content_key(text: str, lang: str | None) -> str:
    """Mentions with the same key get the same classification (the classifier sees only text and hint)."""
    return hashlib.sha1(f"{lang or ''}\x00{text}".encode(), usedforsecurity=False).hexdigest()


def _mention_row(record: MentionRecord, identity_id: int, now: datetime) -> dict[str, Any]:
    return {
        "source": record.source,
        "external_id": record.external_id,
        "url": record.url,
        "text": record.text,
        "lang": record.lang,
        "created_at": record.created_at,
        "collected_at": now,
        "author_identity_id": identity_id,
        "author_handle": record.author.handle,
        "reach": record.author.reach,
        "reach_kind": record.author.reach_kind,
        "engagement": record.engagement,
        "rating": record.rating,
        "in_reply_to": record.in_reply_to,
        "thread_id": record.thread_id,
        "brand_hint": record.brand,
        "scope_brand_id": record.scope_brand_id,
        "raw": record.raw,
        "text_sanitized": record.text_sanitized,
        "content_key": content_key(record.text, record.lang),
    }


# columns whose Python values need converting before a raw driver insert
_COLUMN_KINDS = {
    "created_at": "timestamp",
    "collected_at": "timestamp",
    "updated_at": "timestamp",
    "engagement": "json",
    "raw": "json",
}


def _sqlite_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return orjson.dumps(value).decode()
    if kind == "timestamp":
        # the text form SQLAlchemy's SQLite DateTime reads back
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def _insert_mentions(conn: Connection, rows: list[dict[str, Any]]) -> frozenset[tuple[str, str]] | int:
    """Insert rows, skipping existing ones; returns the keys inserted (PostgreSQL) or their number (SQLite)."""
    inserted = _insert_skipping_conflicts(
        conn, _MENTION, conflict=("source", "external_id"), rows=rows, returning_keys=True
    )
    return inserted if isinstance(inserted, int) else frozenset(inserted)


def _insert_skipping_conflicts(
    conn: Connection,
    table: sa.Table,
    *,
    conflict: tuple[str, ...],
    rows: list[dict[str, Any]],
    returning_keys: bool = False,
) -> Any:
    """Bulk insert with ON CONFLICT DO NOTHING; returns the number of rows inserted, or on PostgreSQL with
    `returning_keys` the `conflict` columns of each inserted row (exact even when a concurrent transaction
    stored some of them first).

    SQLite: sqlite3's executemany on plain tuples (3x faster than SQLAlchemy's per-row parameter
    processing). PostgreSQL: COPY into a temporary table, then one INSERT ... SELECT: binding arrays or
    multi-row VALUES makes psycopg quote every value in Python, and executemany is a round trip per row;
    COPY formats rows in C.
    """
    if not rows:
        return [] if returning_keys and conn.dialect.name != "sqlite" else 0
    columns = list(rows[0])
    kinds = [_COLUMN_KINDS.get(name, "") for name in columns]
    names = ", ".join(columns)
    target = ", ".join(conflict)
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({target}) DO NOTHING",
            [tuple(_sqlite_value(row[c], k) for c, k in zip(columns, kinds, strict=True)) for row in rows],
        )
        return int(cursor.rowcount)
    stage = f"{table.name}_stage"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {names} FROM {table.name} WITH NO DATA"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(_postgres_value(row[c], k) for c, k in zip(columns, kinds, strict=True)))
    # in key order: two transactions storing the same keys then queue on the first one instead of each
    # holding one the other waits for (a deadlock, seen with the same batch POSTed in opposite orders)
    insert = (
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} ORDER BY {target} "
        f"ON CONFLICT ({target}) DO NOTHING"
    )
    if returning_keys:
        keys = [tuple(row) for row in conn.exec_driver_sql(f"{insert} RETURNING {target}")]
        conn.exec_driver_sql(f"TRUNCATE {stage}")
        return keys
    inserted = conn.exec_driver_sql(insert).rowcount
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    return int(inserted)


def _postgres_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return orjson.dumps(value).decode()
    if kind == "timestamp":
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def store_mentions(
    engine: Engine,
    records: Sequence[MentionRecord],
    *,
    in_transaction: Callable[[Connection], None] | None = None,
    checked_new: bool = False,
) -> StoreResult:
    """Store a batch in one transaction; rows already stored (or repeated in the batch) count as duplicates,
    rows of a forgotten identity (a tombstone) are refused and counted as `forgotten`.

    `in_transaction` runs inside the same transaction (a collector saves its cursor there).
    """
    unique: dict[tuple[str, str], MentionRecord] = {}
    for record in records:
        unique.setdefault((record.source, record.external_id), record)
    now = utcnow()
    with engine.begin() as conn:
        # `checked_new`: the caller just looked the keys up; ON CONFLICT still guards against a race
        stored = set() if checked_new else existing_keys(conn, list(unique))
        fresh = [record for key, record in unique.items() if key not in stored]
        new = forgotten = 0
        new_keys: frozenset[tuple[str, str]] | None = frozenset()
        if fresh:
            newest: dict[tuple[str, str], tuple[AuthorRecord, datetime]] = {}
            for record in fresh:
                key = (record.source, record.author.identity_key)
                if key not in newest or record.created_at >= newest[key][1]:
                    newest[key] = (record.author, record.created_at)
            known = _identity_rows(conn, set(newest))
            # forgetting deletes the identity, so only one not stored can be a forgotten one
            refused = tombstoned(conn, [key for key in newest if key not in known])
            if refused:
                kept = [r for r in fresh if (r.source, r.author.identity_key) not in refused]
                forgotten, fresh = len(fresh) - len(kept), kept
                newest = {key: value for key, value in newest.items() if key not in refused}
        if fresh:
            identities = _ensure_identities(conn, newest, now, known=known)
            rows = [_mention_row(r, identities[(r.source, r.author.identity_key)], now) for r in fresh]
            inserted = _insert_mentions(conn, rows)
            if isinstance(inserted, frozenset):
                new, new_keys = len(inserted), inserted
            else:
                # SQLite: BEGIN IMMEDIATE held the write lock since the lookup above, so every row it did
                # not find went in; only after a `checked_new` caller's own lookup can some have been stored
                new = inserted
                fresh_keys = frozenset((r.source, r.external_id) for r in fresh)
                new_keys = fresh_keys if new == len(fresh_keys) else None
        if in_transaction is not None:
            in_transaction(conn)
    return StoreResult(
        new=new, duplicate=len(records) - new - forgotten, forgotten=forgotten, new_keys=new_keys
    )


def refresh_statistics(engine: Engine) -> None:
    """PostgreSQL: ANALYZE the tables an import writes, so its lookups keep using the indexes."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE mention, authoridentity")
        conn.commit()


def stored_ids(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """`(source, external_id)` -> mention id, for the keys among `keys` that are stored."""
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    found: dict[tuple[str, str], int] = {}
    for source, ids in by_source.items():
        rows = conn.execute(
            sa.select(_MENTION.c.external_id, _MENTION.c.id).where(
                _MENTION.c.source == source, _MENTION.c.external_id.in_(ids)
            )
        )
        found.update(((source, external_id), mention_id) for external_id, mention_id in rows)
    return found
