"""The kept sentiment counts per brand and UTC hour: equal to a rebuild after every kind of change, filled
by the migration, and the sentiment trend read from them equals counting the mentions one by one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.config import Settings
from monitor.read.series import bucket_starts, sentiment_series
from monitor.read.source_counts import source_counts
from monitor.service.labels import apply_label, remove_label
from monitor.storage.classifications import store_classifications
from monitor.storage.db import _alembic_config, connect, upgrade_schema
from monitor.storage.erase import erase_mentions
from monitor.storage.models import Brand, Mention, MentionBrand
from monitor.storage.sentiment_hours import (
    cells_of,
    computed_sentiment_hours,
    rebuild_sentiment_hours,
    refresh_cells,
    stored_sentiment_hours,
)
from monitor.storage.tables import table_of
from tests.conftest import drop_postgres_schema, make_postgres_url, postgres_base_url

NOW = datetime(2026, 11, 20, 12, 17, 41, tzinfo=UTC)
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)
SENTIMENTS = ("positive", "neutral", "negative")


def _brands(conn: sa.Connection, timezone: str) -> tuple[int, int]:
    acme = conn.execute(
        _BRAND.insert().values(name="Acme", timezone=timezone, active=True).returning(_BRAND.c.id)
    ).scalar_one()
    rival = conn.execute(
        _BRAND.insert()
        .values(name="Rival", timezone=timezone, competitor_of_id=acme, active=True)
        .returning(_BRAND.c.id)
    ).scalar_one()
    return int(acme), int(rival)


def _mentions(conn: sa.Connection, rng: random.Random, brands: tuple[int, int], count: int) -> list[int]:
    ids = []
    for n in range(count):
        created = NOW - timedelta(seconds=rng.uniform(0, 20 * 86_400))
        mention_id = conn.execute(
            _MENTION.insert()
            .values(
                source=rng.choice(("x", "reddit", "trustpilot")),
                external_id=f"m{n}",
                url=f"https://example.com/{n}",
                text=f"acme {n}",
                created_at=created,
                collected_at=created,
                content_key=f"k{n}",
            )
            .returning(_MENTION.c.id)
        ).scalar_one()
        linked = [b for b in brands if rng.random() < 0.7] or [brands[0]]
        conn.execute(_LINK.insert(), [{"mention_id": mention_id, "brand_id": b} for b in linked])
        ids.append(int(mention_id))
    return ids


def _classification(mention_id: int, sentiment: str, version: str = "1") -> dict[str, Any]:
    return {
        "mention_id": mention_id,
        "model_name": "tests",
        "model_version": version,
        "sentiment": sentiment,
        "confidence": 0.8,
        "score": 0.0,
        "lang": "en",
        "intent": "other",
        "intent_confidence": 0.8,
        "worker": "tests",
        "created_at": NOW,
    }


def _expected(
    engine: Engine, *, brand_id: int, starts: list[datetime], until: datetime
) -> list[dict[str, int]]:
    """The oracle: every mention of the brand read one by one, its effective sentiment decided in Python."""
    model: dict[int, str] = {}
    with engine.connect() as conn:
        for mention_id, sentiment in conn.execute(
            sa.text("SELECT mention_id, sentiment FROM classification ORDER BY id")
        ):
            model[mention_id] = sentiment  # the newest classification wins
        labels = dict(conn.execute(sa.text("SELECT mention_id, sentiment FROM mentionlabel")).all())
        rows = conn.execute(
            sa.select(_MENTION.c.id, _MENTION.c.created_at)
            .join(_LINK, _LINK.c.mention_id == _MENTION.c.id)
            .where(_LINK.c.brand_id == brand_id)
        ).all()
    buckets = [{"positive": 0, "neutral": 0, "negative": 0, "volume": 0} for _ in starts]
    for mention_id, created in rows:
        if not starts[0] <= created < until:
            continue
        index = max(i for i, start in enumerate(starts) if start <= created)
        buckets[index]["volume"] += 1
        if mention_id in model:
            sentiment = labels.get(mention_id) or model[mention_id]
            buckets[index][sentiment] += 1
    return buckets


def _assert_series_match(engine: Engine, brand_id: int, rng: random.Random) -> None:
    with engine.connect() as conn:
        timezone = conn.execute(sa.select(_BRAND.c.timezone).where(_BRAND.c.id == brand_id)).scalar_one()
    zone = ZoneInfo(timezone)
    # the last: over 4,000 hours, grouped into buckets in SQL rather than in Python
    for interval, span in (
        ("hour", timedelta(hours=30)),
        ("day", timedelta(days=9)),
        ("week", timedelta(days=25)),
        ("week", timedelta(days=200)),
    ):
        until = NOW - timedelta(seconds=rng.uniform(0, 3 * 86_400))
        since = until - span
        starts = bucket_starts(since, until, interval=interval, zone=zone)
        expected = _expected(engine, brand_id=brand_id, starts=starts, until=until)
        with Session(engine) as session:
            brand = session.get(Brand, brand_id)
            assert brand is not None
            series = sentiment_series(session, brand=brand, interval=interval, since=since, until=until)
        got = [
            {"positive": b.positive, "neutral": b.neutral, "negative": b.negative, "volume": b.volume}
            for b in series.buckets
        ]
        assert got == expected, (interval, span)
        assert series.share_of_voice[0].mentions == sum(b["volume"] for b in expected)


@pytest.mark.parametrize("timezone", ["Europe/Amsterdam", "Asia/Kolkata"])
def test_trend_from_kept_counts_equals_counting_mentions(engine: Engine, timezone: str) -> None:
    """Whole-hour zones read the kept counts plus the mentions of the last, partial hour; Kolkata (+05:30)
    counts mentions. Both equal the oracle, before and after classifying, labelling and erasing."""
    rng = random.Random(6)
    settings = Settings()
    with engine.begin() as conn:
        brands = _brands(conn, timezone)
        ids = _mentions(conn, rng, brands, 300)
        store_classifications(conn, [_classification(i, rng.choice(SENTIMENTS)) for i in ids[:200]])
    with engine.connect() as conn:
        # 100 mentions were linked behind the pipeline's back, so they are not counted yet
        assert stored_sentiment_hours(conn).hours != []
        assert stored_sentiment_hours(conn) != computed_sentiment_hours(conn)
    with engine.begin() as conn:
        rebuild_sentiment_hours(conn)
    _assert_series_match(engine, brands[0], rng)

    with engine.begin() as conn:
        store_classifications(conn, [_classification(i, rng.choice(SENTIMENTS)) for i in ids[200:280]])
        store_classifications(conn, [_classification(i, "negative", version="2") for i in ids[:30]])
        for mention_id in rng.sample(ids, 40):
            apply_label(
                conn,
                mention_id=mention_id,
                sentiment=rng.choice(SENTIMENTS),
                intent=None,
                labeled_by="tests",
                settings=settings,
                now=NOW,
            )
        for mention_id in ids[:10]:
            remove_label(conn, mention_id=mention_id, settings=settings, now=NOW)
        gone = rng.sample(ids, 25)
        cells = cells_of(conn, gone)
        erase_mentions(conn, gone)
        refresh_cells(conn, cells)
    with engine.connect() as conn:
        stored = stored_sentiment_hours(conn)
        assert stored == computed_sentiment_hours(conn)
        # per source: every word-of-mouth link in one row of its brand, hour and source
        assert {row[2] for row in stored.source_hours} == {"x", "reddit", "trustpilot"}
        assert sum(sum(row[3:]) for row in stored.source_hours) == sum(sum(row[2:6]) for row in stored.hours)
    _assert_series_match(engine, brands[0], rng)
    _assert_series_match(engine, brands[1], rng)
    _assert_source_counts_match(engine, brands[0], rng)


def _assert_source_counts_match(engine: Engine, brand_id: int, rng: random.Random) -> None:
    """The kept per-source hours plus the partial hours at the ends equal counting the links one by one,
    for periods on and off the hour, shorter than an hour and longer than the data."""
    with engine.connect() as conn:
        links = conn.execute(
            sa.select(_LINK.c.source, _LINK.c.sentiment, _LINK.c.created_at).where(
                _LINK.c.brand_id == brand_id, _LINK.c.own.is_(False)
            )
        ).all()
        periods = [(NOW - timedelta(days=30), NOW), (NOW - timedelta(minutes=20), NOW)]
        periods.append((NOW.replace(minute=0, second=0) - timedelta(days=3), NOW.replace(minute=0, second=0)))
        for _ in range(6):
            until = NOW - timedelta(seconds=rng.uniform(0, 10 * 86_400))
            periods.append((until - timedelta(seconds=rng.uniform(60, 6 * 86_400)), until))
        for since, until in periods:
            expected: dict[str, dict[str, int]] = {}
            for source, sentiment, created in links:
                if since <= created < until:
                    per = expected.setdefault(source, {})
                    key = sentiment if sentiment in SENTIMENTS else "unclassified"
                    per[key] = per.get(key, 0) + 1
            got = {
                c.source: {k: v for k, v in c.model_dump().items() if k not in ("source", "mentions") and v}
                for c in source_counts(conn, brand_id=brand_id, since=since, until=until)
            }
            assert got == expected, (since, until)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url, schema = make_postgres_url(postgres_base_url())
    engine = connect(url)
    yield engine
    engine.dispose()
    if schema is not None:
        drop_postgres_schema(postgres_base_url(), schema)


def test_the_migration_counts_the_mentions_already_stored(unmigrated: Engine) -> None:
    command.upgrade(_alembic_config(unmigrated), "0004")
    rng = random.Random(3)
    with unmigrated.begin() as conn:
        brands = _brands(conn, "Europe/Amsterdam")
        ids = _mentions(conn, rng, brands, 60)
        conn.execute(
            sa.text(
                "INSERT INTO classification (mention_id, model_name, model_version, sentiment, confidence,"
                " score, lang, intent, intent_confidence, worker) VALUES (:m, 'tests', '1', :s, 0.8, 0, 'en',"
                " 'other', 0.8, 'tests')"
            ),
            [{"m": i, "s": rng.choice(SENTIMENTS)} for i in ids[:40]],
        )
    upgrade_schema(unmigrated)
    with unmigrated.connect() as conn:
        stored = stored_sentiment_hours(conn)
        links = conn.execute(sa.select(sa.func.count()).select_from(_LINK)).scalar_one()
        assert stored == computed_sentiment_hours(conn)
    assert sum(sum(row[2:]) for row in stored.hours) == links == sum(stored.brand_volumes.values())
    assert sum(sum(row[3:]) for row in stored.source_hours) == links  # filled by 0014
    assert sum(sum(row[2:5]) for row in stored.hours) > 0 and sum(row[5] for row in stored.hours) > 0
