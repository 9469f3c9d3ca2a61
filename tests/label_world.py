"""A small world for corrections: three people writing about Acme, stored through the real import path,
matched by the real matcher, with the classifications the model stored for them, then profiled and
alerted on by the real pipeline stages, as of NOW.

    anna   four warm posts, 2,000 followers        the top ambassador, until a person reads her sarcasm
    carl   three warm posts, 300 followers          an ambassador below anna
    ben    two complaints and a rant, 1,000 followers  the detractor
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.classify.factory import build_classifier
from monitor.config import Settings, settings_from_mapping
from monitor.pipeline import Pipeline
from monitor.records import AuthorRecord, MentionRecord
from monitor.service.labels import LabelEffects, apply_label, remove_label
from monitor.storage.brands import sync_brands
from monitor.storage.classifications import store_classifications
from monitor.storage.mentions import store_mentions
from monitor.storage.models import AuthorBrandStats, AuthorIdentity, Brand, Mention
from monitor.storage.tables import table_of

__all__ = ["NOW", "World", "build_world", "world_settings"]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MODEL = ("e5-heads", "test")

# handle: (followers, [(key, days before NOW, text, sentiment, intent)])
PEOPLE: dict[str, tuple[int, list[tuple[str, float, str, str, str]]]] = {
    "anna": (
        2000,
        [
            ("anna1", 20, "Acme coffee is lovely, as always", "positive", "praise"),
            ("anna2", 16, "Acme again: great beans, quick delivery", "positive", "praise"),
            ("anna3", 8, "Thanks Acme, a week late, wonderful", "positive", "praise"),
            ("anna4", 4, "Oh sure Acme, lose my parcel, love it", "positive", "praise"),
        ],
    ),
    "carl": (
        300,
        [
            ("carl1", 14, "Acme espresso tastes good", "positive", "praise"),
            ("carl2", 11, "Happy with my Acme grinder", "positive", "praise"),
            ("carl3", 6, "Acme beans again, still good", "positive", "praise"),
        ],
    ),
    "ben": (
        1000,
        [
            ("ben1", 10, "Acme lost my order", "negative", "complaint"),
            ("ben2", 5, "Acme refund still missing after two weeks", "negative", "complaint"),
            ("ben3", 2, "Acme never again", "negative", "other"),
        ],
    ),
}


def world_settings(url: str, **alerts: Any) -> Settings:
    return settings_from_mapping(
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": ["acme"]}}],
            "alerts": {"influential_min_reach": 100_000, "email_to": ["owner@acme.example"], **alerts},
            "smtp": {"host": "127.0.0.1"},  # deliveries are only queued here, never sent
        }
    )


@dataclass
class World:
    engine: Engine
    settings: Settings
    pipeline: Pipeline
    mentions: dict[str, int]
    authors: dict[str, int]
    brand_id: int

    def label(self, key: str, *, sentiment: str | None = None, intent: str | None = None) -> LabelEffects:
        with self.engine.begin() as conn:
            return apply_label(
                conn,
                mention_id=self.mentions[key],
                sentiment=sentiment,
                intent=intent,
                labeled_by="tests",
                settings=self.settings,
                now=NOW,
            )

    def unlabel(self, key: str) -> LabelEffects | None:
        with self.engine.begin() as conn:
            return remove_label(conn, mention_id=self.mentions[key], settings=self.settings, now=NOW)

    def ranked(self, score: str) -> list[str]:
        """Handles by `score` (ambassador or detractor), best first, leaving out zero scores."""
        stats, identity = table_of(AuthorBrandStats), table_of(AuthorIdentity)
        column = stats.c[f"{score}_score"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(identity.c.handle)
                .join(stats, stats.c.author_id == identity.c.author_id)
                .where(stats.c.brand_id == self.brand_id, column > 0)
                .order_by(column.desc())
            ).scalars()
            return list(rows)

    def stats_of(self, handle: str) -> dict[str, Any]:
        stats = table_of(AuthorBrandStats)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(stats).where(
                    stats.c.author_id == self.authors[handle], stats.c.brand_id == self.brand_id
                )
            ).mappings()
            return dict(row.one())


def _records() -> list[MentionRecord]:
    return [
        MentionRecord(
            source="x",
            external_id=key,
            text=text,
            created_at=NOW - timedelta(days=days),
            author=AuthorRecord(
                handle=handle, platform_id=f"id-{handle}", reach=followers, reach_kind="followers"
            ),
            engagement={"likes": 3},
        )
        for handle, (followers, posts) in PEOPLE.items()
        for key, days, text, _, _ in posts
    ]


def _store_classifications(engine: Engine, ids: dict[str, int]) -> None:
    """What the classify stage stores for these texts (the model's answers are part of the fixture)."""
    rows = [
        {
            "mention_id": ids[key],
            "model_name": MODEL[0],
            "model_version": MODEL[1],
            "sentiment": sentiment,
            "confidence": 0.9,
            "score": {"positive": 0.85, "neutral": 0.0, "negative": -0.85}[sentiment],
            "lang": "en",
            "intent": intent,
            "intent_confidence": 0.8,
            "worker": "tests",
            "created_at": NOW,
        }
        for _, (_, posts) in PEOPLE.items()
        for key, _, _, sentiment, intent in posts
    ]
    with engine.begin() as conn:
        store_classifications(conn, rows)
        conn.execute(sa.update(table_of(Mention)).values(classified_at=NOW))


def build_world(
    engine: Engine, url: str, *, now: Callable[[], datetime] = lambda: NOW, **alerts: Any
) -> World:
    """Store, match, classify (as above), profile and alert, as of NOW."""
    settings = world_settings(url, **alerts)
    brands = sync_brands(engine, settings)
    store_mentions(engine, _records())
    pipeline = Pipeline(
        engine, settings, classifier_factory=lambda: build_classifier(settings.classifier), now=now
    )
    pipeline.run_stage("match")
    mention, identity = table_of(Mention), table_of(AuthorIdentity)
    with engine.connect() as conn:
        ids = {
            row.external_id: row.id for row in conn.execute(sa.select(mention.c.external_id, mention.c.id))
        }
        authors = {
            row.handle: row.author_id
            for row in conn.execute(sa.select(identity.c.handle, identity.c.author_id))
        }
    _store_classifications(engine, ids)
    pipeline.run_stage("profile")
    pipeline.run_stage("alert")
    brand = table_of(Brand)
    with engine.connect() as conn:
        brand_id = conn.execute(sa.select(brand.c.id).where(brand.c.name == "Acme")).scalar_one()
    assert brands["Acme"] == brand_id
    return World(engine, settings, pipeline, ids, authors, brand_id)
