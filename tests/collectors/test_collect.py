"""The collect loop: pages stored with their cursors, resumption after a failure, nothing doubled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from monitor.collectors.base import BrandQuery, Page, RateLimitedError, collect
from monitor.records import AuthorRecord, MentionRecord
from tests.collectors.brands import brand_query


class ListCollector:
    """A source whose items live in a list, newest last; the cursor is the index after the last stored."""

    source = "listsource"

    def __init__(self, items: list[str], page_size: int, fail_after_pages: int | None = None) -> None:
        self.items = items
        self.page_size = page_size
        self.fail_after_pages = fail_after_pages

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        start = int(cursor.get("next", 0))
        for served, offset in enumerate(range(start, len(self.items), self.page_size)):
            if self.fail_after_pages is not None and served == self.fail_after_pages:
                raise RateLimitedError("429 from listsource", datetime.now(UTC) + timedelta(minutes=15))
            chunk = self.items[offset : offset + self.page_size]
            records = [
                MentionRecord(
                    source=self.source,
                    external_id=item,
                    text=f"{query.brand} {item}",
                    created_at=datetime(2026, 11, 1, tzinfo=UTC),
                    author=AuthorRecord(handle=f"author-{item}"),
                )
                for item in chunk
            ]
            yield Page(records, {"next": offset + len(chunk)})


def test_second_run_adds_nothing(engine: Engine) -> None:
    query = brand_query(engine)
    collector = ListCollector([f"m{i}" for i in range(7)], page_size=3)
    first = collect(engine, collector, query)
    assert (first.pages, first.read, first.new, first.cursor) == (3, 7, 7, {"next": 7})
    second = collect(engine, collector, query)
    assert (second.pages, second.new) == (0, 0)


def test_a_rate_limit_mid_run_keeps_what_was_stored_and_resumes(engine: Engine) -> None:
    query = brand_query(engine)
    items = [f"m{i}" for i in range(9)]
    with pytest.raises(RateLimitedError) as raised:
        collect(engine, ListCollector(items, page_size=3, fail_after_pages=2), query)
    assert raised.value.retry_at > datetime.now(UTC)
    resumed = collect(engine, ListCollector(items, page_size=3), query)
    assert (resumed.pages, resumed.new, resumed.duplicate) == (1, 3, 0)
