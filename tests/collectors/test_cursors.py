"""A page of mentions and its cursor are stored together or not at all (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.collectors.cursors import CursorKey, load_cursor, save_cursor, store_page
from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.models import Mention, utcnow
from monitor.storage.tables import table_of
from tests.collectors.brands import brand_query


def _page(ids: range) -> list[MentionRecord]:
    now = utcnow()
    return [
        MentionRecord(
            source="hackernews",
            external_id=str(i),
            text=f"acme {i}",
            created_at=now,
            author=AuthorRecord(handle=f"u{i}"),
        )
        for i in ids
    ]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(Mention))).scalar_one())


def test_cursor_moves_with_its_page_and_a_repeat_adds_nothing(engine: Engine) -> None:
    key = CursorKey("hackernews", brand_query(engine).brand_id, "acme")
    assert load_cursor(engine, key) == {}
    first = store_page(engine, _page(range(3)), key, {"newest": 3})
    assert (first.new, load_cursor(engine, key)) == (3, {"newest": 3})
    again = store_page(engine, _page(range(2, 5)), key, {"newest": 5})
    assert again.new == 2 and _count(engine) == 5
    assert load_cursor(engine, key) == {"newest": 5}
    other = CursorKey("hackernews", key[1], "acme shop")
    assert load_cursor(engine, other) == {}


def test_a_failed_cursor_save_rolls_the_page_back(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    key = CursorKey("hackernews", brand_query(engine).brand_id, "acme")
    store_page(engine, _page(range(2)), key, {"newest": 2})

    def broken(conn: sa.Connection, key: CursorKey, cursor: dict[str, int]) -> None:
        save_cursor(conn, key, cursor)
        raise RuntimeError("killed between the batch and the commit")

    monkeypatch.setattr("monitor.collectors.cursors.save_cursor", broken)
    with pytest.raises(RuntimeError, match="killed"):
        store_page(engine, _page(range(2, 6)), key, {"newest": 6})
    assert _count(engine) == 2
    assert load_cursor(engine, key) == {"newest": 2}
