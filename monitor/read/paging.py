"""The newest-first keyset cursor every paged list shares: items strictly older than (at, id) come next."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

__all__ = ["PageCursor", "encode_cursor", "older_than"]


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where the previous page stopped: items strictly older than (at, id) come next."""

    at: datetime
    id: int


def encode_cursor(at: datetime, item_id: int) -> str:
    """The opaque `next_cursor` for a page whose last item is (at, item_id)."""
    payload = json.dumps([at.astimezone(UTC).isoformat(), item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def older_than(at: Any, item_id: Any, cursor: PageCursor) -> ColumnElement[bool]:
    """Keyset condition for newest-first paging on (at, id), where `at` is indexed."""
    # the leading `at <=` gives both planners a range on the index; the OR alone made PostgreSQL scan
    # from the newest row every time (58 ms near the top, 206 ms a year deep, at 100k mentions)
    return and_(at <= cursor.at, or_(at < cursor.at, item_id < cursor.id))
