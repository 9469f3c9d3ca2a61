"""A brand's word-of-mouth mentions per source over a period, by effective sentiment: the whole UTC hours
from the kept counts (`sourcehour`, monitor.storage.sentiment_hours), the partial hours at either end
from the brand links' copies of source and sentiment. A few hundred rows whatever the period, no mention
read; equal to counting the links one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from monitor.storage.models import MentionBrand, SourceHour
from monitor.storage.sentiment_hours import floor_hour
from monitor.storage.tables import table_of

__all__ = ["SourceCount", "source_counts"]

_LINK = table_of(MentionBrand)
_SOURCE_HOURS = table_of(SourceHour)
_HOUR = timedelta(hours=1)
_SENTIMENTS = ("positive", "neutral", "negative")


class SourceCount(BaseModel):
    """One source's mentions of a brand; `unclassified` have no sentiment yet."""

    source: str
    mentions: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unclassified: int = 0


def _from_links(conn: Connection, brand_id: int, since: datetime, until: datetime) -> Iterable[Sequence[Any]]:
    return conn.execute(
        sa.select(_LINK.c.source, _LINK.c.sentiment, sa.func.count())
        .where(
            _LINK.c.brand_id == brand_id,
            _LINK.c.created_at >= since,
            _LINK.c.created_at < until,
            _LINK.c.own == sa.false(),
        )
        .group_by(_LINK.c.source, _LINK.c.sentiment)
    )


def _from_hours(conn: Connection, brand_id: int, since: datetime, until: datetime) -> Iterable[Sequence[Any]]:
    sums = [sa.func.sum(_SOURCE_HOURS.c[name]) for name in (*_SENTIMENTS, "unclassified")]
    rows = conn.execute(
        sa.select(_SOURCE_HOURS.c.source, *sums)
        .where(
            _SOURCE_HOURS.c.brand_id == brand_id,
            _SOURCE_HOURS.c.hour >= since,
            _SOURCE_HOURS.c.hour < until,
        )
        .group_by(_SOURCE_HOURS.c.source)
    )
    for source, *per_sentiment in rows:
        for sentiment, count in zip((*_SENTIMENTS, None), per_sentiment, strict=True):
            yield (source, sentiment, count or 0)


def source_counts(conn: Connection, *, brand_id: int, since: datetime, until: datetime) -> list[SourceCount]:
    """Per source, the brand's mentions created in [since, until), the brand's own posts left out; most
    mentions first, then by name."""
    first_whole = floor_hour(since) if floor_hour(since) == since else floor_hour(since) + _HOUR
    last_whole = floor_hour(until)
    if first_whole >= last_whole:  # no whole hour inside: the links alone
        parts = [_from_links(conn, brand_id, since, until)]
    else:
        parts = [
            _from_links(conn, brand_id, since, first_whole),
            _from_hours(conn, brand_id, first_whole, last_whole),
            _from_links(conn, brand_id, last_whole, until),
        ]
    counts: dict[str, dict[str, int]] = {}
    for rows in parts:
        for source, sentiment, count in rows:
            per_sentiment = counts.setdefault(str(source or ""), {})
            key = sentiment if sentiment in _SENTIMENTS else "unclassified"
            per_sentiment[key] = per_sentiment.get(key, 0) + int(count)
    out = [SourceCount(source=s, mentions=sum(c.values()), **c) for s, c in counts.items() if sum(c.values())]
    return sorted(out, key=lambda c: (-c.mentions, c.source))
