"""The brand's own posts (its own and staff accounts, monitor.scoring.profile.is_own_account) count in no
word-of-mouth figure: `mentionbrand.own` leaves them out of the hourly counts, the volumes, the trend and
share of voice and puts them in the hours' `own` column; it follows the configured handles, equals a
rebuild, and the migration fills it for the links already stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from monitor.config import Settings, settings_from_mapping
from monitor.read.brands import list_brands
from monitor.read.series import SentimentSeries, sentiment_series
from monitor.storage.brands import sync_brands
from monitor.storage.classifications import store_classifications
from monitor.storage.db import _alembic_config, connect, upgrade_schema
from monitor.storage.models import Brand, Mention, MentionBrand
from monitor.storage.sentiment_hours import (
    computed_sentiment_hours,
    rebuild_sentiment_hours,
    stored_sentiment_hours,
)
from monitor.storage.tables import table_of
from tests.conftest import drop_postgres_schema, make_postgres_url, postgres_base_url

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)
# key: (source, author, text, sentiment, minutes past HOUR, brands)
POSTS: dict[str, tuple[str, str, str, str, int, tuple[str, ...]]] = {
    "apology": ("x", "@Acme", "Sorry for the delay, we are on it", "negative", 5, ("Acme", "Rival")),
    "complaint": ("x", "bob", "acme late again", "negative", 10, ("Acme",)),
    "elsewhere": ("bluesky", "acme", "acme, where is my order", "negative", 15, ("Acme",)),
    "staff_thanks": ("x", "carla_support", "thanks for your patience with acme", "positive", 20, ("Acme",)),
}


def _settings(handles: dict[str, list[str]], staff: list[str] | None = None) -> Settings:
    return settings_from_mapping(
        {
            "brands": [
                {
                    "name": "Acme",
                    "keywords": ["acme"],
                    "handles": handles,
                    "competitors": [{"name": "Rival", "keywords": ["rival"]}],
                }
            ],
            "scoring": {"staff_handles": staff or []},
        }
    )


def _classification(mention_id: int, sentiment: str) -> dict[str, Any]:
    return {
        "mention_id": mention_id,
        "model_name": "tests",
        "model_version": "1",
        "sentiment": sentiment,
        "confidence": 0.8,
        "score": 0.0,
        "lang": "en",
        "intent": "other",
        "intent_confidence": 0.8,
        "worker": "tests",
        "created_at": HOUR,
    }


def _post(conn: sa.Connection, brand_ids: dict[str, int]) -> dict[str, int]:
    """The posts linked to their brands as the match stage links them, then classified (which refreshes
    the links and the counts, monitor.storage.classifications)."""
    ids: dict[str, int] = {}
    for key, (source, author, text, _, minutes, brands) in POSTS.items():
        created = HOUR + timedelta(minutes=minutes)
        ids[key] = conn.execute(
            _MENTION.insert()
            .values(
                source=source,
                external_id=key,
                url=f"https://example.com/{key}",
                text=text,
                author_handle=author,
                created_at=created,
                collected_at=created,
                content_key=key,
            )
            .returning(_MENTION.c.id)
        ).scalar_one()
        conn.execute(_LINK.insert(), [{"mention_id": ids[key], "brand_id": brand_ids[b]} for b in brands])
    store_classifications(conn, [_classification(ids[key], POSTS[key][3]) for key in POSTS])
    return ids


def _series(engine: Engine, name: str) -> SentimentSeries:
    with Session(engine) as session:
        brand = session.exec(select(Brand).where(col(Brand.name) == name)).one()
        return sentiment_series(
            session, brand=brand, interval="hour", since=HOUR, until=HOUR + timedelta(hours=2)
        )


def _assert_counts(engine: Engine, *, negative: int, positive: int, own: int, rival_negative: int) -> None:
    """Stored equals rebuilt, and the trend, share of voice and brand list say what is expected."""
    with engine.connect() as conn:
        assert stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
    acme, rival = _series(engine, "Acme"), _series(engine, "Rival")
    first = acme.buckets[0]
    assert (first.negative, first.positive, first.own_posts) == (negative, positive, own)
    assert first.volume == negative + positive == acme.totals.volume
    assert acme.totals.own_posts == own
    assert [(s.brand, s.mentions) for s in acme.share_of_voice] == [
        ("Acme", negative + positive),
        ("Rival", rival_negative),
    ]
    assert (rival.totals.negative, rival.totals.own_posts) == (rival_negative, 0)
    with Session(engine) as session:
        listed = {brand.name: brand.mentions for brand in list_brands(session)}
    assert listed == {"Acme": negative + positive, "Rival": rival_negative}


def test_own_posts_follow_the_handles_and_equal_a_rebuild(engine: Engine) -> None:
    brand_ids = sync_brands(engine, _settings({"x": ["acme"]}))
    with engine.begin() as conn:
        _post(conn, brand_ids)
    # the apology by @Acme on x is Acme's own (not Rival's); "acme" on bluesky is someone else
    _assert_counts(engine, negative=2, positive=1, own=1, rival_negative=1)

    sync_brands(engine, _settings({"x": ["acme"], "bluesky": ["acme"]}, staff=["x:@carla_support"]))
    _assert_counts(engine, negative=1, positive=0, own=3, rival_negative=1)
    with engine.begin() as conn:
        before = stored_sentiment_hours(conn)
        rebuild_sentiment_hours(conn)
        assert stored_sentiment_hours(conn) == before

    sync_brands(engine, _settings({}))
    _assert_counts(engine, negative=3, positive=1, own=0, rival_negative=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
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


def _per_sentiment(conn: sa.Connection) -> dict[tuple[int, str], int]:
    rows = conn.execute(
        sa.text("SELECT brand_id, positive, neutral, negative, unclassified FROM sentimenthour")
    )
    totals: dict[tuple[int, str], int] = {}
    for brand_id, *counts in rows:
        for name, count in zip(("positive", "neutral", "negative", "unclassified"), counts, strict=True):
            totals[(brand_id, name)] = totals.get((brand_id, name), 0) + count
    return {key: count for key, count in totals.items() if count}


def test_the_migration_leaves_own_posts_out_of_the_counts_already_stored(unmigrated: Engine) -> None:
    command.upgrade(_alembic_config(unmigrated), "0010")
    with unmigrated.begin() as conn:
        brand_ids = {
            name: conn.execute(
                sa.text(
                    "INSERT INTO brand (name, timezone, active, handles) VALUES (:n, 'UTC', :a, :h) RETURNING id"
                ),
                {"n": name, "a": True, "h": handles},
            ).scalar_one()
            for name, handles in (("Acme", '{"x": ["acme"]}'), ("Rival", "{}"))
        }
        ids = {}
        for key, (source, author, text, sentiment, minutes, brands) in POSTS.items():
            created = HOUR + timedelta(minutes=minutes)
            ids[key] = conn.execute(
                _MENTION.insert()
                .values(
                    source=source,
                    external_id=key,
                    url=f"https://example.com/{key}",
                    text=text,
                    author_handle=author,
                    created_at=created,
                    collected_at=created,
                    content_key=key,
                )
                .returning(_MENTION.c.id)
            ).scalar_one()
            for brand in brands:
                conn.execute(
                    sa.text(
                        "INSERT INTO mentionbrand (mention_id, brand_id, matched_by) VALUES (:m, :b, 'keyword')"
                    ),
                    {"m": ids[key], "b": brand_ids[brand]},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO classification (mention_id, model_name, model_version, sentiment, confidence,"
                    " score, lang, intent, intent_confidence, worker) VALUES (:m, 'tests', '1', :s, 0.8, 0,"
                    " 'en', 'other', 0.8, 'tests')"
                ),
                {"m": ids[key], "s": sentiment},
            )
    upgrade_schema(unmigrated)
    acme, rival = brand_ids["Acme"], brand_ids["Rival"]
    with unmigrated.connect() as conn:
        assert stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
        own = dict(
            conn.execute(sa.select(_LINK.c.mention_id, _LINK.c.own).where(_LINK.c.brand_id == acme)).all()
        )
        assert {key for key in POSTS if own[ids[key]]} == {"apology"}
        assert _per_sentiment(conn) == {(acme, "negative"): 2, (acme, "positive"): 1, (rival, "negative"): 1}
        assert conn.execute(sa.text("SELECT sum(own) FROM sentimenthour")).scalar_one() == 1
    # the staff handles come with the first sync after the upgrade
    sync_brands(unmigrated, _settings({"x": ["acme"]}, staff=["carla_support"]))
    with unmigrated.connect() as conn:
        assert stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
        assert _per_sentiment(conn) == {(acme, "negative"): 2, (rival, "negative"): 1}

    # back to 0010: the counts include the own posts again, as that code counted them
    command.downgrade(_alembic_config(unmigrated), "0010")
    with unmigrated.connect() as conn:
        assert _per_sentiment(conn) == {
            (acme, "negative"): 3,
            (acme, "positive"): 1,
            (rival, "negative"): 1,
        }
        volumes: dict[int, int] = dict(
            conn.execute(sa.text("SELECT brand_id, mentions FROM brandvolume")).all()
        )
        assert volumes == {acme: 4, rival: 1}
