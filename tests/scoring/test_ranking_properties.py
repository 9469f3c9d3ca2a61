"""Scoring properties end to end: import records, run the pipeline (match, classify, profile, alert) with a
classifier that answers known labels, and rank with the API's own `rank_authors`. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from benchmarks.ranking_world import LabelledClassifier
from monitor.classify.base import Sentiment
from monitor.config import Settings, settings_from_mapping
from monitor.pipeline import Pipeline
from monitor.read.rankings import RankedAuthor, Ranking, rank_authors
from monitor.records import parse_mention
from monitor.service.pipeline import run_pipeline_once
from monitor.storage.brands import sync_brands
from monitor.storage.mentions import store_mentions
from monitor.storage.models import Alert, AuthorBrandStats, AuthorIdentity, Mention, SegmentChange
from monitor.storage.tables import table_of

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
BRAND = "Kofra"
# distinct praise, so no author looks like a bot posting one text again and again
PRAISE = (
    "kofra beans arrived fast, love them",
    "the espresso roast from kofra is wonderful",
    "kofra support sorted my order in minutes",
    "best decaf I have had, thanks kofra",
    "ordered from kofra again, never disappoints",
    "kofra's filter blend makes my mornings",
    "my friends now all buy their coffee at kofra",
    "kofra grinder arrived well packed and works great",
    "lovely tasting notes on the new kofra single origin",
    "kofra delivery on a sunday, impressed",
)


class _World:
    """Records in the import format and the label of every text, built up by the test."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.labels: dict[str, Sentiment] = {}

    def post(
        self,
        handle: str,
        days_ago: float,
        text: str,
        label: Sentiment,
        *,
        followers: int = 100,
        likes: int = 0,
        source: str = "x",
    ) -> str:
        external_id = f"{handle}-{len(self.records)}"
        self.labels[text] = label
        self.records.append(
            {
                "source": source,
                "external_id": external_id,
                "text": text,
                "created_at": (NOW - timedelta(days=days_ago)).isoformat(),
                "author": {"handle": handle, "followers": followers},
                "engagement": {"likes": likes},
                "brand": BRAND,
            }
        )
        return external_id


def _settings() -> Settings:
    return settings_from_mapping(
        {
            "scoring": {"staff_handles": ["sanne_kofra"]},
            "brands": [{"name": BRAND, "keywords": ["kofra"], "handles": {"x": ["kofra"]}}],
        }
    )


def _process(engine: Engine, world: _World) -> Settings:
    settings = _settings()
    sync_brands(engine, settings)
    store_mentions(engine, [parse_mention(record) for record in world.records])
    classifier = LabelledClassifier(world.labels, confidence=0.9)
    run_pipeline_once(Pipeline(engine, settings, classifier_factory=lambda: classifier, now=lambda: NOW))
    return settings


def _ranked(engine: Engine, settings: Settings, ranking: Ranking) -> list[RankedAuthor]:
    with Session(engine) as session:
        return rank_authors(
            session,
            brand_id=1,
            ranking=ranking,
            now=NOW,
            half_life_days=settings.scoring.half_life_days,
            limit=50,
        )


def _handles(items: Sequence[RankedAuthor]) -> list[str]:
    return [item.handle for item in items]


def _mention_id(engine: Engine, external_id: str) -> int:
    mention = table_of(Mention)
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(mention.c.id).where(mention.c.external_id == external_id)).scalar_one()
        )


def _stats(engine: Engine, handle: str) -> sa.Row[Any]:
    stats, identity = table_of(AuthorBrandStats), table_of(AuthorIdentity)
    with engine.connect() as conn:
        return conn.execute(
            sa.select(stats)
            .join(identity, identity.c.author_id == stats.c.author_id)
            .where(identity.c.handle == handle)
        ).one()


def test_a_repeated_positive_author_outranks_one_offs_with_more_reach(engine: Engine) -> None:
    world = _World()
    for week in range(4):
        world.post("loyal", 7 * week + 1, PRAISE[week], "positive", followers=5_000)
    world.post("famous", 0.5, "tried kofra once, lovely", "positive", followers=1_000_000, likes=10_000)
    world.post("passer_by", 0.5, "kofra was nice today", "positive", followers=5_000)
    settings = _process(engine, world)

    ambassadors = _ranked(engine, settings, "ambassador")
    assert _handles(ambassadors) == ["loyal", "famous", "passer_by"]
    assert [item.segment for item in ambassadors] == ["ambassador", "occasional", "occasional"]
    famous = ambassadors[1].score_terms
    # one post counts half however far it reaches (repetition 1/2)
    assert (famous["positive_distinct"], famous["positive_repetition"]) == (1, 0.5)
    assert ambassadors[0].score_terms["positive_repetition"] == 1.0
    assert _ranked(engine, settings, "detractor") == []


def test_the_brands_own_accounts_bots_and_a_giveaway_spammer_never_rank(engine: Engine) -> None:
    world = _World()
    for n, text in enumerate(PRAISE):
        world.post("kofra", n, f"{text}!", "positive", followers=100_000)  # the brand's own account
        world.post("kofra_deals_bot", n, f"{text}, says the bot", "positive", followers=50_000)
    for n, text in enumerate(PRAISE[:4]):
        world.post("sanne_kofra", n, f"{text} (staff)", "positive", followers=2_000)
        giveaway = f"{text} RT & follow to win a €50 Kofra voucher #giveaway"
        world.post("dealhunter", n, giveaway, "positive", followers=100_000, likes=2_000)
    world.post("kofra_critic_bot", 1, "Kofra is awful", "negative", followers=10_000)
    world.post("kofra_critic_bot", 2, "Kofra is awful again", "negative", followers=10_000)
    world.post("anna", 3, "kofra coffee made my morning", "positive")
    world.post("anna", 1, "ordered kofra again, lovely", "positive")
    settings = _process(engine, world)

    assert _handles(_ranked(engine, settings, "ambassador")) == ["anna"]
    assert _ranked(engine, settings, "detractor") == []
    expected = {
        "kofra": ("own account", "neutral"),
        "sanne_kofra": ("own account", "neutral"),
        "kofra_deals_bot": ("bot", "neutral"),
        "kofra_critic_bot": ("bot", "neutral"),
        "dealhunter": ("spam", "neutral"),
    }
    for handle, (discount, segment) in expected.items():
        stats = _stats(engine, handle)
        # the reason stays visible in the breakdown, and nothing counts
        assert (stats.score_terms["discount"], stats.segment) == (discount, segment), handle
        assert (stats.ambassador_score, stats.detractor_score) == (0.0, 0.0), handle
        assert stats.score_terms["positive_mass"] + stats.score_terms["negative_mass"] > 0, handle


def test_a_recent_negative_turn_changes_the_segment_and_raises_an_alert(engine: Engine) -> None:
    world = _World()
    for n, days_ago in enumerate((70, 60, 50, 40, 30, 20)):
        world.post("jan", days_ago, PRAISE[n], "positive", followers=3_000)
        world.post("piet", days_ago, PRAISE[n + 1], "positive", followers=3_000)
    world.post("jan", 6, "kofra sent the wrong beans and nobody answers", "negative", followers=3_000)
    turn = world.post("jan", 3, "still no refund from kofra, done with them", "negative", followers=3_000)
    world.post("jan", 1, "kofra support is a joke", "negative", followers=3_000)
    # one bad post of a fan, however well liked, is not a turn
    world.post("piet", 3, "kofra was late this time", "negative", followers=3_000, likes=5_000)
    settings = _process(engine, world)

    changes, alerts = table_of(SegmentChange), table_of(Alert)
    jan = _stats(engine, "jan")
    with engine.connect() as conn:
        history = conn.execute(
            sa.select(changes.c.from_segment, changes.c.to_segment, changes.c.mention_id)
            .where(changes.c.author_id == jan.author_id)
            .order_by(changes.c.changed_at)
        ).all()
        at_risk = conn.execute(
            sa.select(alerts.c.author_id, alerts.c.mention_id, alerts.c.title).where(
                alerts.c.kind == "ambassador_at_risk"
            )
        ).all()
    turned_at = _mention_id(engine, turn)
    # the second negative post turns him, while six praises still outweigh them in the slow scores
    assert [tuple(row) for row in history][-1] == ("ambassador", "critic", turned_at)
    assert [tuple(row) for row in at_risk] == [(jan.author_id, turned_at, "Ambassador jan is now critic")]
    assert jan.score_terms["positive_mass"] > jan.score_terms["negative_mass"]
    assert jan.segment == "critic"

    ambassadors = _ranked(engine, settings, "ambassador")
    detractors = _ranked(engine, settings, "detractor")
    assert _handles(ambassadors) == ["piet"]  # a critic is no longer listed as an ambassador
    assert (_handles(detractors), detractors[0].segment) == (["jan"], "critic")
    assert _stats(engine, "piet").segment == "ambassador"


def test_copy_paste_duplicates_count_once(engine: Engine) -> None:
    world = _World()
    text = "Kofra is the best coffee I ever had"
    # four copies (five near-identical texts would make it a bot)
    for n, days_ago in enumerate((30, 20, 10, 2)):
        world.post(
            "copier", days_ago, f"{text} https://copy.example/{n}", "positive", followers=80_000, likes=50
        )
    world.post("single", 2, f"{text} https://single.example/", "positive", followers=80_000, likes=50)
    world.post("duo", 9, "kofra beans, smooth and fresh", "positive", followers=1_000)
    world.post("duo", 4, "my second bag of kofra, still great", "positive", followers=1_000)
    settings = _process(engine, world)

    ambassadors = _ranked(engine, settings, "ambassador")
    by_handle = {item.handle: item for item in ambassadors}
    # five copies weigh what one post weighs (the latest copy stands for them)
    assert by_handle["copier"].score == by_handle["single"].score
    assert by_handle["copier"].positive_mentions == 4
    terms = by_handle["copier"].score_terms
    assert (terms["distinct_mentions"], terms["duplicates"], terms["positive_repetition"]) == (1, 3, 0.5)
    assert [e.mention_id for e in by_handle["copier"].evidence] == [_mention_id(engine, "copier-3")]
    assert by_handle["copier"].segment == "occasional"
    assert _handles(ambassadors)[0] == "duo"
