"""The whole pipeline on the demo's story, with the real classifier, on SQLite and PostgreSQL."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from monitor.classify.cache import CachedClassifier
from monitor.classify.factory import build_classifier
from monitor.config import Settings, settings_from_mapping
from monitor.demo.config import demo_config_toml
from monitor.demo.story import DEMO_STORY
from monitor.importer import import_file
from monitor.pipeline import STAGE_ORDER, Pipeline
from monitor.read.series import sentiment_series
from monitor.scoring.profile import is_own_account
from monitor.scoring.store import as_comparable, compute_profiles, stored_profiles
from monitor.service.pipeline import run_pipeline_once
from monitor.storage.brands import sync_brands
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.models import (
    Alert,
    AuthorBrandStats,
    AuthorIdentity,
    Brand,
    Classification,
    InboxItem,
    InboxItemMention,
    Mention,
    MentionBrand,
)
from monitor.storage.sentiment_hours import computed_sentiment_hours, stored_sentiment_hours
from monitor.storage.tables import table_of
from tests.conftest import drop_postgres_schema, make_postgres_url, postgres_base_url

SAMPLE = Path(__file__).resolve().parents[1] / "monitor" / "demo" / "sample_mentions.jsonl"


def _settings(url: str) -> Settings:
    return settings_from_mapping(tomllib.loads(demo_config_toml(url)))


@pytest.fixture(scope="module")
def classifier() -> CachedClassifier:
    """One classifier for the module: the second backend reads the same texts from its cache."""
    return CachedClassifier(build_classifier(_settings("sqlite://").classifier))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def processed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, classifier: CachedClassifier
) -> Iterator[tuple[Engine, Settings, Pipeline]]:
    """The demo sample imported and processed once per backend, as of the story's last day."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('pipeline') / 'wom.db'}"
    else:
        base = postgres_base_url()
        url, schema = make_postgres_url(base)
    engine = connect(url)
    try:
        upgrade_schema(engine)
        settings = _settings(url)
        sync_brands(engine, settings)
        summary = import_file(engine, SAMPLE)
        assert summary.rejected == []
        pipeline = Pipeline(
            engine, settings, classifier_factory=lambda: classifier, now=lambda: DEMO_STORY.as_of
        )
        run_pipeline_once(pipeline)
        yield engine, settings, pipeline
    finally:
        engine.dispose()
        if schema is not None:
            drop_postgres_schema(postgres_base_url(), schema)


def _ranked(engine: Engine, *, brand: str, score: str) -> list[tuple[str, str, float, str]]:
    stats, identity, brands = table_of(AuthorBrandStats), table_of(AuthorIdentity), table_of(Brand)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(identity.c.source, identity.c.handle, stats.c[f"{score}_score"], stats.c.segment)
            .join(identity, identity.c.author_id == stats.c.author_id)
            .join(brands, brands.c.id == stats.c.brand_id)
            .where(brands.c.name == brand)
            .order_by(stats.c[f"{score}_score"].desc())
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_every_mention_goes_through_every_stage_once(processed: tuple[Engine, Settings, Pipeline]) -> None:
    engine, _, pipeline = processed
    mention, classification = table_of(Mention), table_of(Classification)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(mention)).scalar_one()
        unfinished = conn.execute(
            sa.select(sa.func.count()).where(mention.c.alerted_at.is_(None))
        ).scalar_one()
        classified = conn.execute(sa.select(sa.func.count()).select_from(classification)).scalar_one()
    assert total == 392
    assert unfinished == 0
    assert classified == total
    again = run_pipeline_once(pipeline).stages
    assert [again[stage].claimed for stage in STAGE_ORDER] == [0, 0, 0, 0]


def test_exclusions_keep_the_barista_contest_out(processed: tuple[Engine, Settings, Pipeline]) -> None:
    engine, _, _ = processed
    mention, link, brands = table_of(Mention), table_of(MentionBrand), table_of(Brand)
    with engine.connect() as conn:
        contest = (
            conn.execute(
                sa.select(mention.c.id).where(sa.func.lower(mention.c.text).like(f"%{DEMO_STORY.exclusion}%"))
            )
            .scalars()
            .all()
        )
        linked = (
            conn.execute(
                sa.select(link.c.mention_id)
                .join(brands, brands.c.id == link.c.brand_id)
                .where(link.c.mention_id.in_(contest), brands.c.name == DEMO_STORY.brand)
            )
            .scalars()
            .all()
        )
    assert len(contest) >= 3
    assert linked == []


def test_the_story_comes_out(processed: tuple[Engine, Settings, Pipeline]) -> None:
    engine, _, _ = processed
    ambassadors = _ranked(engine, brand=DEMO_STORY.brand, score="ambassador")
    detractors = _ranked(engine, brand=DEMO_STORY.brand, score="detractor")
    top_ambassadors = [(source, handle) for source, handle, _, _ in ambassadors[:3]]
    top_detractors = [(source, handle) for source, handle, _, _ in detractors[:3]]
    assert (DEMO_STORY.ambassador.source, DEMO_STORY.ambassador.handle) in top_ambassadors
    assert (DEMO_STORY.detractor.source, DEMO_STORY.detractor.handle) in top_detractors
    not_fans = set(DEMO_STORY.not_fan_handles) | {DEMO_STORY.spammer.handle, DEMO_STORY.bot.handle}
    assert not not_fans & {handle for _, handle, _, _ in ambassadors[:5]}
    own = [score for _, handle, score, _ in ambassadors if handle in DEMO_STORY.not_fan_handles]
    assert own and set(own) == {0.0}

    alert = table_of(Alert)
    with engine.connect() as conn:
        kinds = dict(conn.execute(sa.select(alert.c.kind, sa.func.count()).group_by(alert.c.kind)).all())
        at_risk = (
            conn.execute(sa.select(alert.c.title).where(alert.c.kind == "ambassador_at_risk")).scalars().all()
        )
        spikes = (
            conn.execute(sa.select(alert.c.event_at).where(alert.c.kind == "negative_spike")).scalars().all()
        )
    assert any(DEMO_STORY.turning_ambassador.handle in title for title in at_risk), at_risk
    with engine.connect() as conn:
        entered = set(
            conn.execute(
                sa.select(alert.c.kind, alert.c.title).where(
                    alert.c.kind.in_(("new_ambassador", "detractor_emerging"))
                )
            ).all()
        )
    # the story's ambassador and detractor enter their segments within the alert age, and each is told once
    assert ("new_ambassador", f"New ambassador: {DEMO_STORY.ambassador.handle}") in entered
    assert any(
        kind == "detractor_emerging" and DEMO_STORY.detractor.handle in title for kind, title in entered
    ), entered
    assert not any(
        DEMO_STORY.spammer.handle in title or DEMO_STORY.bot.handle in title for _, title in entered
    )
    burst_windows = (
        DEMO_STORY.burst_start - (DEMO_STORY.burst_end - DEMO_STORY.burst_start),
        DEMO_STORY.burst_end,
    )
    # the burst raises a spike, and nothing else does (the brand's own replies are not counted)
    assert spikes and all(burst_windows[0] <= at <= burst_windows[1] for at in spikes), spikes
    # complaints and questions are the inbox's work queue: they open items, not alerts, and a complaint's
    # influential negative folds into its item
    assert "complaint_to_answer" not in kinds
    item_mention = table_of(InboxItemMention)
    with engine.connect() as conn:
        in_items = set(conn.execute(sa.select(item_mention.c.mention_id)).scalars())
        influential = set(
            conn.execute(
                sa.select(alert.c.mention_id).where(alert.c.kind == "influential_negative")
            ).scalars()
        )
    assert len(in_items) > 10
    assert not in_items & influential
    with engine.connect() as conn:
        competitor_alerts = conn.execute(
            sa.select(sa.func.count())
            .select_from(alert.join(table_of(Brand), table_of(Brand).c.id == alert.c.brand_id))
            .where(table_of(Brand).c.name == DEMO_STORY.competitor)
        ).scalar_one()
    assert competitor_alerts == 0


def test_derived_tables_equal_a_rebuild_and_reprocessing_adds_nothing(
    processed: tuple[Engine, Settings, Pipeline],
) -> None:
    engine, settings, pipeline = processed
    mention, alert = table_of(Mention), table_of(Alert)
    with engine.connect() as conn:
        alerts_before = conn.execute(sa.select(sa.func.count()).select_from(alert)).scalar_one()
        assert as_comparable(stored_profiles(conn)) == as_comparable(
            compute_profiles(conn, author_ids=None, settings=settings)
        )
    with engine.begin() as conn:
        conn.execute(sa.update(mention).values(profiled_at=None, alerted_at=None))
    run_pipeline_once(pipeline)
    with engine.connect() as conn:
        alerts_after = conn.execute(sa.select(sa.func.count()).select_from(alert)).scalar_one()
        assert as_comparable(stored_profiles(conn)) == as_comparable(
            compute_profiles(conn, author_ids=None, settings=settings)
        )
        assert stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
        assert (
            sum(sum(row[2:]) for row in stored_sentiment_hours(conn).hours)
            == conn.execute(sa.select(sa.func.count()).select_from(table_of(MentionBrand))).scalar_one()
        )
    assert alerts_after == alerts_before


def test_the_shops_own_posts_are_a_series_of_their_own_not_word_of_mouth(
    processed: tuple[Engine, Settings, Pipeline],
) -> None:
    """The shop's own and staff accounts' posts (its answers and apologies) count in no negative, volume or
    share of voice of the trend: they are the buckets' `own_posts`."""
    engine, settings, _ = processed
    mention, link, brand_table = table_of(Mention), table_of(MentionBrand), table_of(Brand)
    with engine.connect() as conn:
        handles = dict(conn.execute(sa.select(brand_table.c.id, brand_table.c.handles)).all())
        rows = conn.execute(
            sa.select(
                link.c.brand_id, link.c.own, link.c.sentiment, mention.c.source, mention.c.author_handle
            ).join(mention, mention.c.id == link.c.mention_id)
        ).all()
    decided = [
        is_own_account(
            row.author_handle or "",
            source=row.source,
            brand_handles=handles[row.brand_id],
            staff_handles=settings.scoring.staff_handles,
        )
        for row in rows
    ]
    assert [bool(row.own) for row in rows] == decided  # the match stage decided it as scoring does
    with Session(engine) as session:
        shop = session.exec(select(Brand).where(col(Brand.name) == DEMO_STORY.brand)).one()
        assert shop.id is not None
        series = sentiment_series(
            session, brand=shop, interval="week", since=DEMO_STORY.first_day, until=DEMO_STORY.as_of
        )
    shop_rows = [row for row in rows if row.brand_id == shop.id]
    own_negatives = [row for row in shop_rows if row.own and row.sentiment == "negative"]
    word_of_mouth = [row for row in shop_rows if not row.own]
    assert own_negatives  # the shop's apologies read as negative
    assert series.totals.negative == sum(1 for row in word_of_mouth if row.sentiment == "negative")
    assert series.totals.volume == len(word_of_mouth) == series.share_of_voice[0].mentions
    assert (
        series.totals.own_posts
        == sum(1 for row in shop_rows if row.own)
        == sum(bucket.own_posts for bucket in series.buckets)
    )


def test_complaints_the_brand_answered_are_answered_in_the_inbox(
    processed: tuple[Engine, Settings, Pipeline],
) -> None:
    engine, _, _ = processed
    mention, alert = table_of(Mention), table_of(Alert)
    reply = mention.alias("reply")
    with engine.connect() as conn:
        answered = set(
            conn.execute(
                sa.select(mention.c.id)
                .join(
                    reply,
                    sa.and_(reply.c.in_reply_to == mention.c.external_id, reply.c.source == mention.c.source),
                )
                .where(reply.c.author_handle.in_(DEMO_STORY.not_fan_handles))
            ).scalars()
        )
        alerted = set(
            conn.execute(
                sa.select(alert.c.mention_id).where(
                    alert.c.kind.in_(("complaint_to_answer", "influential_negative"))
                )
            ).scalars()
        )
        item, item_mention = table_of(InboxItem), table_of(InboxItemMention)
        responded = dict(
            conn.execute(
                sa.select(item_mention.c.mention_id, item.c.first_response_at)
                .join(item, item.c.id == item_mention.c.item_id)
                .where(item_mention.c.mention_id.in_(answered))
            ).all()
        )
    assert len(answered) >= 10
    assert not answered & alerted
    # the brand's reply in the thread answered the item the complaint opened (its first response recorded)
    assert len(responded) >= 10 and all(at is not None for at in responded.values()), responded
