"""A collector's cursor per (source, brand, query), saved in the same transaction as the batch it follows.

A run that dies between fetching and committing leaves the old cursor and no rows; the next run fetches
the same page again and duplicates are skipped by (source, external_id), so nothing is lost or doubled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.faults import fault_point
from monitor.records import MentionRecord
from monitor.storage.mentions import StoreResult, store_mentions
from monitor.storage.models import CollectorCursor, utcnow
from monitor.storage.tables import table_of

__all__ = ["CursorKey", "load_cursor", "save_cursor", "store_page"]

_CURSOR = table_of(CollectorCursor)


class CursorKey(tuple[str, int, str]):
    """(source, brand id, query key): one incremental stream."""

    __slots__ = ()

    def __new__(cls, source: str, brand_id: int, query_key: str) -> CursorKey:
        return super().__new__(cls, (source, brand_id, query_key))

    @property
    def where(self) -> sa.ColumnElement[bool]:
        source, brand_id, query_key = self
        return sa.and_(
            _CURSOR.c.source == source, _CURSOR.c.brand_id == brand_id, _CURSOR.c.query_key == query_key
        )


def load_cursor(engine: Engine, key: CursorKey) -> dict[str, Any]:
    """The saved cursor, or {} before the first successful batch."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(_CURSOR.c.cursor).where(key.where)).scalar_one_or_none()
    return dict(value or {})


def save_cursor(conn: Connection, key: CursorKey, cursor: Mapping[str, Any]) -> None:
    """Upserts the cursor inside the caller's transaction."""
    values = {"cursor": dict(cursor), "updated_at": utcnow()}
    if conn.execute(sa.update(_CURSOR).where(key.where).values(**values)).rowcount == 0:
        source, brand_id, query_key = key
        conn.execute(
            sa.insert(_CURSOR).values(source=source, brand_id=brand_id, query_key=query_key, **values)
        )


def store_page(
    engine: Engine, records: Sequence[MentionRecord], key: CursorKey, cursor: Mapping[str, Any]
) -> StoreResult:
    """Stores a page of mentions and moves the cursor past it, both or neither."""

    def with_cursor(conn: Connection) -> None:
        save_cursor(conn, key, cursor)
        fault_point("collector.after_insert_before_commit")

    return store_mentions(engine, records, in_transaction=with_cursor)
