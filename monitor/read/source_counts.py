"""A brand's word-of-mouth mentions per source over a period, by effective sentiment, from the copies of
source and sentiment each mention-brand link keeps (monitor.storage.brand_links): one query over the
brand's links in the period, no mention read."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from monitor.storage.models import MentionBrand
from monitor.storage.tables import table_of

__all__ = ["SourceCount", "source_counts"]

_LINK = table_of(MentionBrand)
_SENTIMENTS = ("positive", "neutral", "negative")


class SourceCount(BaseModel):
    """One source's mentions of a brand; `unclassified` have no sentiment yet."""

    source: str
    mentions: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unclassified: int = 0


def source_counts(conn: Connection, *, brand_id: int, since: datetime, until: datetime) -> list[SourceCount]:
    """Per source, the brand's mentions created in [since, until), the brand's own posts left out; most
    mentions first, then by name."""
    rows = conn.execute(
        sa.select(_LINK.c.source, _LINK.c.sentiment, sa.func.count())
        .where(
            _LINK.c.brand_id == brand_id,
            _LINK.c.created_at >= since,
            _LINK.c.created_at < until,
            _LINK.c.own == sa.false(),
        )
        .group_by(_LINK.c.source, _LINK.c.sentiment)
    )
    counts: dict[str, dict[str, int]] = {}
    for source, sentiment, count in rows:
        per_sentiment = counts.setdefault(str(source or ""), {})
        key = sentiment if sentiment in _SENTIMENTS else "unclassified"
        per_sentiment[key] = per_sentiment.get(key, 0) + int(count)
    out = [SourceCount(source=s, mentions=sum(c.values()), **c) for s, c in counts.items()]
    return sorted(out, key=lambda c: (-c.mentions, c.source))
