"""A small world of people for the author tests, built through the real import and pipeline stages.

Lines go in with `import_file`; the real match, profile and alert stages run over them. Only the
classifier is replaced by the sentiment each line is written with (set here as the classify stage would),
so the figures are known. Times are relative to NOW, the pipeline's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.alerts.evaluate import store_alerts
from monitor.alerts.rules import MentionFacts, complaint_to_answer
from monitor.config import Settings, settings_from_mapping
from monitor.importer import ImportSummary, import_file
from monitor.pipeline import Pipeline
from monitor.scoring.store import as_comparable, compute_profiles, stored_profiles
from monitor.storage.brands import sync_brands
from monitor.storage.classifications import store_classifications
from monitor.storage.models import AuthorIdentity, Brand, Mention, MentionBrand
from monitor.storage.sentiment_hours import computed_sentiment_hours, stored_sentiment_hours
from monitor.storage.tables import table_of

__all__ = [
    "LINES",
    "NOW",
    "Line",
    "World",
    "assert_equals_rebuild",
    "author_of",
    "build_world",
    "import_lines",
    "process",
    "store_old_complaint_alerts",
    "table_rows",
    "world_settings",
]

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Line:
    external_id: str
    source: str
    handle: str
    platform_id: str | None
    reach: int | None
    days_ago: float
    text: str
    sentiment: str
    intent: str

    def as_json(self) -> dict[str, Any]:
        author: dict[str, Any] = {"handle": self.handle}
        if self.platform_id:
            author["id"] = self.platform_id
        if self.reach is not None:
            author["followers"] = self.reach
        return {
            "source": self.source,
            "external_id": self.external_id,
            "text": self.text,
            "created_at": (NOW - timedelta(days=self.days_ago)).isoformat(),
            "author": author,
            "engagement": {"likes": 2},
        }


# fmt: off
LINES: list[Line] = [
    # anna: one person on X and on Reddit, an Acme fan on both
    Line("x-a1", "x", "anna", "x-100", 1200, 40, "Acme coffee is lovely", "positive", "praise"),
    Line("x-a2", "x", "anna", "x-100", 1250, 20, "Another great Acme roast", "positive", "praise"),
    Line("x-a3", "x", "anna", "x-100", 1300, 5, "Acme delivered fast again", "positive", "praise"),
    Line("rd-a1", "reddit", "Anna", "t2_anna", 300, 30, "Acme beans are the best I had", "positive", "praise"),
    Line("rd-a2", "reddit", "Anna", "t2_anna", 310, 3, "Still loving Acme", "positive", "praise"),
    Line("rd-a3", "reddit", "Anna", "t2_anna", 320, 2, "Rival lost my parcel", "negative", "complaint"),
    # bob: complains about Acme on X, once on Mastodon
    Line("x-b1", "x", "bob", "x-200", 800, 6, "Acme billing charged me twice", "negative", "complaint"),
    Line("x-b2", "x", "bob", "x-200", 800, 4, "Acme support never answers", "negative", "complaint"),
    Line("x-b3", "x", "bob", "x-200", 800, 1, "Does Acme ship to Belgium?", "neutral", "question"),
    Line("md-b1", "mastodon", "bob@mastodon.social", "https://mastodon.social/@bob", 90, 2,
         "acme is a mess", "negative", "other"),
    # carl: one old Acme post, one recent
    Line("x-c1", "x", "carl", "x-300", 50, 200, "Acme was fine", "positive", "praise"),
    Line("x-c2", "x", "carl", "x-300", 55, 10, "Acme price went up", "neutral", "other"),
    # dora: only old posts
    Line("rd-d1", "reddit", "dora", "t2_dora", 10, 220, "Acme mugs are cute", "positive", "praise"),
    Line("rd-d2", "reddit", "dora", "t2_dora", 10, 190, "Acme again, nice", "positive", "praise"),
    # erin: a fan turning critic
    Line("x-e1", "x", "erin", "x-500", 4000, 60, "Acme is my daily coffee", "positive", "praise"),
    Line("x-e2", "x", "erin", "x-500", 4000, 45, "Love the new Acme blend", "positive", "praise"),
    Line("x-e3", "x", "erin", "x-500", 4000, 30, "Acme never disappoints", "positive", "praise"),
    Line("x-e4", "x", "erin", "x-500", 4100, 3, "Acme quality dropped a lot", "negative", "complaint"),
    Line("x-e5", "x", "erin", "x-500", 4100, 2, "Done with Acme, stale beans", "negative", "complaint"),
    Line("x-e6", "x", "erin", "x-500", 4100, 1, "Acme refund still missing", "negative", "complaint"),
    # the brand's own account
    Line("x-o1", "x", "acme", "x-900", 9000, 8, "Acme: new roast out today", "positive", "praise"),
]
# fmt: on


def world_settings(**privacy: Any) -> Settings:
    return settings_from_mapping(
        {
            "alerts": {"email_to": ["owner@example.com"], "influential_min_reach": 1000},
            "smtp": {"host": "127.0.0.1"},
            "privacy": privacy,
            "brands": [
                {
                    "name": "Acme",
                    "keywords": ["acme"],
                    "handles": {"x": ["acme"]},
                    "competitors": [{"name": "Rival", "keywords": ["rival"]}],
                }
            ],
        }
    )


def import_lines(engine: Engine, path: Path, lines: Sequence[Line]) -> ImportSummary:
    path.write_bytes(b"".join(orjson.dumps(line.as_json()) + b"\n" for line in lines))
    return import_file(engine, path)


def _classify(engine: Engine, lines: Sequence[Line]) -> None:
    """What the classify stage writes, with each line's own sentiment."""
    sentiments = {line.external_id: (line.sentiment, line.intent) for line in lines}
    mention = table_of(Mention)
    with engine.begin() as conn:
        pending = conn.execute(
            sa.select(mention.c.id, mention.c.external_id).where(
                mention.c.matched_at.is_not(None), mention.c.classified_at.is_(None)
            )
        ).all()
        rows = []
        for mention_id, external_id in pending:
            sentiment, intent = sentiments[external_id]
            rows.append(
                {
                    "mention_id": mention_id,
                    "model_name": "test-lines",
                    "model_version": "1",
                    "sentiment": sentiment,
                    "confidence": 0.9,
                    "score": {"positive": 0.8, "neutral": 0.0, "negative": -0.8}[sentiment],
                    "lang": "en",
                    "intent": intent,
                    "intent_confidence": 0.8,
                    "worker": "tests",
                    "created_at": NOW,
                }
            )
        store_classifications(conn, rows)
        conn.execute(
            sa.update(mention).where(mention.c.id.in_([row[0] for row in pending])).values(classified_at=NOW)
        )


def _no_classifier() -> Any:
    raise AssertionError("the author tests classify with each line's own sentiment")


def process(engine: Engine, settings: Settings, *, lines: Sequence[Line] = LINES) -> None:
    """The pipeline over what is pending: match, classify (as `lines` say), profile, alert."""
    pipeline = Pipeline(engine, settings, classifier_factory=_no_classifier, now=lambda: NOW)
    pipeline.run_stage("match")
    _classify(engine, lines)
    pipeline.run_stage("profile")
    pipeline.run_stage("alert")


@dataclass(frozen=True, slots=True)
class World:
    settings: Settings
    authors: dict[str, int]  # by handle, lower case ("anna" has two identities, one author each)


def author_of(engine: Engine, source: str, platform_id: str) -> int:
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(identity.c.author_id).where(
                    identity.c.source == source, identity.c.identity_key == platform_id
                )
            ).scalar_one()
        )


def store_old_complaint_alerts(engine: Engine, settings: Settings, *, lines: Sequence[Line] = LINES) -> int:
    """The `complaint_to_answer` alerts an older wom raised for the own brand's complaints and questions
    (the alert stage no longer does: they are the inbox's work), stored as it stored them, so that merging,
    splitting, exporting and erasing are tested on the alert rows an upgraded database holds."""
    mention, link, brand, identity = (
        table_of(Mention),
        table_of(MentionBrand),
        table_of(Brand),
        table_of(AuthorIdentity),
    )
    by_id = {line.external_id: line for line in lines if line.intent in ("complaint", "question")}
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(mention, link.c.brand_id, identity.c.author_id)
            .select_from(
                mention.join(link, link.c.mention_id == mention.c.id)
                .join(brand, brand.c.id == link.c.brand_id)
                .join(identity, identity.c.id == mention.c.author_identity_id)
            )
            .where(mention.c.external_id.in_(list(by_id)), brand.c.competitor_of_id.is_(None))
        ).mappings()
        drafts = [
            draft
            for row in rows
            if (
                draft := complaint_to_answer(
                    MentionFacts(
                        mention_id=row["id"],
                        brand_id=row["brand_id"],
                        author_id=row["author_id"],
                        source=row["source"],
                        author_handle=row["author_handle"],
                        text=row["text"],
                        created_at=row["created_at"],
                        sentiment=by_id[row["external_id"]].sentiment,
                        confidence=1.0,
                        intent=by_id[row["external_id"]].intent,
                        reach=row["reach"],
                    ),
                    settings=settings.alerts,
                    now=NOW,
                )
            )
        ]
        return store_alerts(conn, drafts=drafts, recipients=settings.alerts.email_to, now=NOW)


def build_world(engine: Engine, tmp_path: Path, settings: Settings | None = None) -> World:
    settings = settings or world_settings()
    sync_brands(engine, settings)
    summary = import_lines(engine, tmp_path / "world.jsonl", LINES)
    assert (summary.new, summary.rejected) == (len(LINES), [])
    process(engine, settings)
    store_old_complaint_alerts(engine, settings)
    authors = {
        "anna_x": author_of(engine, "x", "x-100"),
        "anna_reddit": author_of(engine, "reddit", "t2_anna"),
        "bob_x": author_of(engine, "x", "x-200"),
        "bob_mastodon": author_of(engine, "mastodon", "https://mastodon.social/@bob"),
        "carl": author_of(engine, "x", "x-300"),
        "dora": author_of(engine, "reddit", "t2_dora"),
        "erin": author_of(engine, "x", "x-500"),
        "acme": author_of(engine, "x", "x-900"),
    }
    return World(settings=settings, authors=authors)


def assert_equals_rebuild(engine: Engine, settings: Settings) -> None:
    """The stored author stats, segment history and sentiment hours are exactly what a rebuild from
    scratch computes."""
    with engine.connect() as conn:
        stored = as_comparable(stored_profiles(conn))
        rebuilt = as_comparable(compute_profiles(conn, author_ids=None, settings=settings))
        stored_hours, rebuilt_hours = stored_sentiment_hours(conn), computed_sentiment_hours(conn)
    assert stored == rebuilt
    assert stored_hours == rebuilt_hours


def table_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, for scans ("is anything of theirs left?") and before/after checks."""
    metadata = sa.MetaData()
    metadata.reflect(bind=engine)
    with engine.connect() as conn:
        return {
            # ordered by key: PostgreSQL returns heap order, which an UPDATE elsewhere in the table changes
            name: [
                dict(row)
                for row in conn.execute(
                    sa.select(table).order_by(*(table.primary_key.columns or table.columns))
                ).mappings()
            ]
            # by name: PostgreSQL reflects tables in no fixed order
            for name, table in sorted(metadata.tables.items())
            if name != "alembic_version"
        }
