"""Storing the model's classifications of mentions (the classify stage)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.storage.models import Classification
from monitor.storage.sentiment_hours import refresh_mentions
from monitor.storage.tables import table_of

__all__ = ["store_classifications"]

_CLASSIFICATION = table_of(Classification)


def store_classifications(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (Classification columns), keeping a mention's existing row for the same model and
    version, then recount the sentiment hours of their mentions; the last write of the transaction."""
    if not rows:
        return
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_CLASSIFICATION)
    conn.execute(
        insert.on_conflict_do_nothing(index_elements=["mention_id", "model_name", "model_version"]), rows
    )
    refresh_mentions(conn, [row["mention_id"] for row in rows])
