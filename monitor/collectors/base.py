"""The collector interface, its errors, and the loop that stores each page with its cursor.

A collector turns one brand query and the saved cursor into pages of mention records, each page with
the cursor to save once that page is stored. It never sleeps and never stores anything itself: rate
limits and faults come back as exceptions so that the runner records them and backs off that source only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from monitor.collectors.cursors import CursorKey, load_cursor, store_page
from monitor.errors import CollectorError, MissingCredentialError, RateLimitedError, TransientError
from monitor.faults import fault_point
from monitor.records import MentionRecord, text_problem

__all__ = [
    "BrandQuery",
    "CollectResult",
    "Collector",
    "CollectorError",
    "MissingCredentialError",
    "Page",
    "RateLimitedError",
    "TransientError",
    "collect",
]


@dataclass(frozen=True, slots=True)
class BrandQuery:
    """What one collector stream looks for: the brand's terms as the source's query language needs them."""

    brand_id: int
    brand: str
    query_key: str  # stable name of the stream, part of the cursor key (e.g. the query text)
    terms: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    # what a rate limit met by this stream pauses: None for the whole source; else a name for the part of
    # it that has its own limit (a Mastodon instance, a feed's host), so the source's other parts go on
    rate_limit_scope: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    records: list[MentionRecord]
    cursor: dict[str, Any]  # saved together with `records`
    skipped: tuple[str, ...] = ()  # why items of this page could not be mapped (counted as failed)


class Collector(Protocol):
    """One platform. `pages` yields pages newest-cursor-last; it may raise CollectorError subclasses.

    `close` releases the HTTP sessions the collector holds; it may be called more than once."""

    source: str

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class CollectResult:
    source: str
    brand: str
    pages: int = 0
    read: int = 0
    new: int = 0
    duplicate: int = 0
    forgotten: int = 0  # of a forgotten author's identity, refused by its tombstone
    failed: int = 0
    skipped: list[str] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)


def _with_text(records: Sequence[MentionRecord]) -> tuple[list[MentionRecord], list[str]]:
    """The records that pass the importer's text rule, and why each other one is left out."""
    kept: list[MentionRecord] = []
    refused: list[str] = []
    for record in records:
        if (problem := text_problem(record.text)) is None:
            kept.append(record)
        else:
            refused.append(f"{record.source} item {record.external_id}: {problem}")
    return kept, refused


def collect(
    engine: Engine,
    collector: Collector,
    query: BrandQuery,
    *,
    on_page: Callable[[CollectResult], None] | None = None,
) -> CollectResult:
    """Runs one stream from its saved cursor, storing every page with its cursor in one transaction.

    Pages stored before an error stay stored (with their cursor); the error propagates to the caller.
    `on_page` sees the running totals after each stored page (progress, heartbeats).
    """
    key = CursorKey(collector.source, query.brand_id, query.query_key)
    result = CollectResult(collector.source, query.brand, cursor=load_cursor(engine, key))
    for page in collector.pages(query, dict(result.cursor)):
        fault_point("collector.after_fetch")
        if result.pages == 1:
            fault_point("collector.mid_pagination")
        records, refused = _with_text(page.records)
        stored = store_page(engine, records, key, page.cursor)
        fault_point("collector.after_commit")
        skipped = [*page.skipped, *refused]
        result.pages += 1
        result.read += len(page.records)
        result.new += stored.new
        result.duplicate += stored.duplicate
        result.forgotten += stored.forgotten
        result.failed += len(skipped)
        result.skipped.extend(skipped[: max(0, 20 - len(result.skipped))])
        result.cursor = dict(page.cursor)
        if on_page is not None:
            on_page(result)
    return result
