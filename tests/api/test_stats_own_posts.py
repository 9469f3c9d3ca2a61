"""GET /api/v1/stats/sentiment and GET /api/v1/brands count word of mouth only: once @bob is Acme's own
account, his posts leave Acme's volume, sentiment and share of voice and show as the buckets' own_posts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.models import Brand, Mention, MentionBrand
from monitor.storage.sentiment_hours import (
    computed_sentiment_hours,
    rebuild_sentiment_hours,
    stored_sentiment_hours,
)
from monitor.storage.tables import table_of
from tests.api.conftest import Seeded, TestClient

# local days from the kept hours; UTC hours whose last one is partial (10:00-10:30 holds @bob's m02),
# counted from the brand links
RANGES: list[dict[str, str]] = [
    {"interval": "day", "since": "2026-11-17T00:00:00+01:00"},
    {"interval": "hour", "since": "2026-11-20T07:00:00Z", "until": "2026-11-20T10:30:00Z"},
]


def _sentiment(client: TestClient, params: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/v1/stats/sentiment", params={"brand": "Acme", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _acme_listed(client: TestClient) -> int:
    brands: list[dict[str, Any]] = client.get("/api/v1/brands").json()["items"]
    return next(int(b["mentions"]) for b in brands if b["name"] == "Acme")


def _bobs_posts(engine: Engine, seeded: Seeded, body: dict[str, Any] | None = None) -> dict[str, int]:
    """@bob's Acme posts (in the body's range, when given) per effective sentiment, from the brand links."""
    mention, link = table_of(Mention), table_of(MentionBrand)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(link.c.sentiment, link.c.created_at)
            .join(mention, mention.c.id == link.c.mention_id)
            .where(link.c.brand_id == seeded.brands["Acme"], mention.c.author_handle == "@bob")
        ).all()
    counts: dict[str, int] = {}
    for sentiment, created in rows:
        if body is not None and not (
            datetime.fromisoformat(body["since"]) <= created < datetime.fromisoformat(body["until"])
        ):
            continue
        counts[sentiment or "unclassified"] = counts.get(sentiment or "unclassified", 0) + 1
    return counts


def test_own_posts_are_their_own_series_not_word_of_mouth(
    engine: Engine, client: TestClient, seeded: Seeded
) -> None:
    before = [_sentiment(client, params) for params in RANGES]
    listed_before = _acme_listed(client)
    assert all(bucket["own_posts"] == 0 for body in before for bucket in body["buckets"])
    with engine.begin() as conn:  # @bob becomes Acme's account on x; the documented rebuild follows
        conn.execute(
            sa.update(table_of(Brand))
            .where(table_of(Brand).c.id == seeded.brands["Acme"])
            .values(handles={"x": ["bob"]})
        )
        rebuild_sentiment_hours(conn)
        assert stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
    assert _acme_listed(client) == listed_before - sum(_bobs_posts(engine, seeded).values())

    for params, old in zip(RANGES, before, strict=True):
        new = _sentiment(client, params)
        bobs = _bobs_posts(engine, seeded, new)
        assert bobs.get("negative", 0) > 0, params  # his complaint is in range: it leaves the negatives
        own = sum(bobs.values())
        totals, old_totals = new["totals"], old["totals"]
        assert totals["own_posts"] == own == sum(bucket["own_posts"] for bucket in new["buckets"])
        assert totals["volume"] == old_totals["volume"] - own
        for sentiment in ("positive", "neutral", "negative"):
            assert totals[sentiment] == old_totals[sentiment] - bobs.get(sentiment, 0), (params, sentiment)
        acme_voice = new["share_of_voice"][0]
        assert (acme_voice["brand"], acme_voice["mentions"]) == (
            "Acme",
            old["share_of_voice"][0]["mentions"] - own,
        )
        # every bucket: what left its word of mouth is its own posts
        for new_bucket, old_bucket in zip(new["buckets"], old["buckets"], strict=True):
            assert new_bucket["volume"] + new_bucket["own_posts"] == old_bucket["volume"]
