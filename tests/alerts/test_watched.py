"""The alerts time raises (monitor.service.watch): first response missed, source down or silent, review
rating drop. On SQLite and PostgreSQL, with an injected clock: each fires when it should and not when it
should not, reprocessing adds nothing, and it resolves when the cause ends."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.config import Settings, settings_from_mapping
from monitor.service.watch import watch_alerts
from monitor.storage.brands import sync_brands
from monitor.storage.models import Alert, Mention, MentionBrand, NotificationDelivery
from monitor.storage.source_state import record_outcome
from monitor.storage.tables import table_of
from tests.inbox.world import T0, InboxWorld, inbox_settings

ALERT = table_of(Alert)
DELIVERY = table_of(NotificationDelivery)
MENTION = table_of(Mention)
LINK = table_of(MentionBrand)
OWNER = "owner@acme.example"


def alerts(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(row)
            for row in conn.execute(
                sa.select(ALERT).where(ALERT.c.kind == kind).order_by(ALERT.c.id)
            ).mappings()
        ]


def deliveries(engine: Engine, alert_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(sa.select(DELIVERY).where(DELIVERY.c.alert_id == alert_id)).mappings()
        ]


# --- first response missed -------------------------------------------------------------------------


def test_first_response_missed_is_one_alert_per_brand_updated_then_resolved(engine: Engine) -> None:
    settings = inbox_settings()
    settings.alerts.email_to = [OWNER]
    world = InboxWorld(engine, settings)
    ann = world.post("ann", hours=0)
    bob = world.post("bob", hours=1, intent="question", sentiment="neutral")
    world.post("cy", hours=2, brand="Globex")  # a competitor's complaint is not the brand's to answer
    world.run()

    assert watch_alerts(engine, settings, now=T0 + timedelta(hours=23)).opened == 0
    assert alerts(engine, "first_response_missed") == []

    first = watch_alerts(engine, settings, now=T0 + timedelta(hours=24, minutes=30))
    assert first.kinds["first_response_missed"].opened == 1
    [alert] = alerts(engine, "first_response_missed")
    assert alert["brand_id"] == world.brands["Acme"]
    assert alert["detail"]["count"] == 1
    assert alert["detail"]["mention_ids"] == [world.ids[ann]]
    assert alert["severity"] == "warning"
    assert alert["detail"]["reason"]["args"]["count"] == 1
    assert len(deliveries(engine, alert["id"])) == 1  # e-mailed like the others ([alerts] email_to)

    # bob's question is overdue too: the same alert lists both, no second alert and no second e-mail
    later = T0 + timedelta(hours=26)
    watch_alerts(engine, settings, now=later)
    [alert] = alerts(engine, "first_response_missed")
    assert alert["detail"]["count"] == 2
    assert alert["detail"]["mention_ids"] == [world.ids[ann], world.ids[bob]]
    assert len(deliveries(engine, alert["id"])) == 1
    again = watch_alerts(engine, settings, now=later)
    assert (again.opened, again.resolved) == (0, 0)
    assert alerts(engine, "first_response_missed") == [alert]

    # the brand answers ann: one left; then bob: none left, and the alert is resolved
    world.post("acme", hours=27, intent="other", sentiment="neutral", reply_to=ann)
    world.run()
    watch_alerts(engine, settings, now=T0 + timedelta(hours=27, minutes=5))
    [alert] = alerts(engine, "first_response_missed")
    assert (alert["status"], alert["detail"]["count"]) == ("open", 1)
    world.post("acme", hours=28, intent="other", sentiment="neutral", reply_to=bob)
    world.run()
    done = watch_alerts(engine, settings, now=T0 + timedelta(hours=28, minutes=5))
    assert done.kinds["first_response_missed"].resolved == 1
    [alert] = alerts(engine, "first_response_missed")
    assert alert["status"] == "resolved"
    assert alert["detail"]["state"] == "ended"


def test_first_response_missed_can_be_turned_off(engine: Engine) -> None:
    settings = inbox_settings()
    settings.alerts.first_response_missed = False
    world = InboxWorld(engine, settings)
    world.post("ann", hours=0)
    world.run()
    watch_alerts(engine, settings, now=T0 + timedelta(hours=48))
    assert alerts(engine, "first_response_missed") == []


# --- sources -----------------------------------------------------------------------------------------


def source_settings(**alerts: Any) -> Settings:
    return settings_from_mapping(
        {
            "brands": [
                {"name": "Acme", "keywords": ["acme"], "collect": {"hackernews": {"queries": ["acme"]}}},
                {"name": "Initech", "keywords": ["initech"]},
            ],
            "alerts": {"email_to": [OWNER], **alerts},
            "smtp": {"host": "127.0.0.1"},
        }
    )


def test_source_down_after_the_threshold_and_resolved_on_recovery(engine: Engine) -> None:
    settings = source_settings(source_down_hours=6)
    brands = sync_brands(engine, settings)
    record_outcome(engine, "hackernews", now=T0, succeeded=True, new=3)
    for hours in (1, 2, 3):
        record_outcome(
            engine, "hackernews", now=T0 + timedelta(hours=hours), succeeded=False, new=0, reason="HTTP 503"
        )
    assert watch_alerts(engine, settings, now=T0 + timedelta(hours=5)).opened == 0

    watch_alerts(engine, settings, now=T0 + timedelta(hours=7))
    [alert] = alerts(engine, "source_down")
    assert alert["brand_id"] == brands["Acme"]
    assert alert["detail"]["source"] == "hackernews"
    assert alert["detail"]["consecutive_failures"] == 3
    assert alert["severity"] == "warning"
    # still down a day later: the same alert, now critical; a second pass changes nothing
    watch_alerts(engine, settings, now=T0 + timedelta(hours=30))
    watch_alerts(engine, settings, now=T0 + timedelta(hours=30))
    [alert] = alerts(engine, "source_down")
    assert alert["severity"] == "critical"
    assert len(deliveries(engine, alert["id"])) == 1

    record_outcome(engine, "hackernews", now=T0 + timedelta(hours=31), succeeded=True, new=1)
    assert watch_alerts(engine, settings, now=T0 + timedelta(hours=31)).kinds["source_down"].resolved == 1
    assert [a["status"] for a in alerts(engine, "source_down")] == ["resolved"]


def _deliver(engine: Engine, brand_id: int, times: list[datetime]) -> None:
    with engine.begin() as conn:
        for n, at in enumerate(times):
            key = f"hn{at.timestamp():.0f}-{n}"
            mention_id = conn.execute(
                sa.insert(MENTION)
                .values(
                    source="hackernews",
                    external_id=key,
                    text="acme",
                    created_at=at,
                    collected_at=at,
                    content_key=key,
                )
                .returning(MENTION.c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(LINK).values(
                    mention_id=mention_id,
                    brand_id=brand_id,
                    matched_by="keyword",
                    created_at=at,
                    source="hackernews",
                )
            )


def _daytime(start: datetime, days: int) -> list[datetime]:
    """A delivery every hour from 08:00 to 23:00 UTC, nothing at night, for `days` days from `start`."""
    return [start + timedelta(days=d, hours=h) for d in range(days) for h in range(8, 24)]


def test_source_silent_at_night_as_usual_is_no_alert_but_a_long_silence_is(engine: Engine) -> None:
    settings = source_settings(source_silent_min_hours=3, source_silent_factor=2.0)
    brands = sync_brands(engine, settings)
    day0 = datetime(2026, 11, 2, tzinfo=UTC)
    times = _daytime(day0, 14)
    _deliver(engine, brands["Acme"], times)
    last = times[-1]  # 23:00 on day 13
    record_outcome(engine, "hackernews", now=last, succeeded=True, new=1)

    # 07:30 the next morning: 8.5 h of quiet, as every night (its usual longest gap is 9 h)
    record_outcome(engine, "hackernews", now=last + timedelta(hours=8, minutes=30), succeeded=True, new=0)
    assert watch_alerts(engine, settings, now=last + timedelta(hours=8, minutes=30)).opened == 0
    # past noon and still nothing, yet runs succeed: not silent yet (2 x 9 h = 18 h)
    assert watch_alerts(engine, settings, now=last + timedelta(hours=14)).opened == 0
    # 20 h: silent
    watch_alerts(engine, settings, now=last + timedelta(hours=20))
    [alert] = alerts(engine, "source_silent")
    assert alert["detail"]["usual_gap_hours"] == 9.0
    assert alert["detail"]["threshold_hours"] == 18.0
    assert alert["detail"]["last_delivery_at"] == last.isoformat()
    watch_alerts(engine, settings, now=last + timedelta(hours=21))
    assert len(alerts(engine, "source_silent")) == 1
    assert alerts(engine, "source_down") == []

    # it delivers again: resolved
    again = last + timedelta(hours=22)
    _deliver(engine, brands["Acme"], [again])
    record_outcome(engine, "hackernews", now=again, succeeded=True, new=1)
    assert watch_alerts(engine, settings, now=again).kinds["source_silent"].resolved == 1
    assert [a["status"] for a in alerts(engine, "source_silent")] == ["resolved"]


def test_a_source_without_enough_history_is_not_called_silent(engine: Engine) -> None:
    settings = source_settings()
    brands = sync_brands(engine, settings)
    day0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
    _deliver(engine, brands["Acme"], [day0 + timedelta(hours=h) for h in range(5)])
    record_outcome(engine, "hackernews", now=day0 + timedelta(hours=4), succeeded=True, new=1)
    assert watch_alerts(engine, settings, now=day0 + timedelta(days=5)).opened == 0


# --- review rating drop ------------------------------------------------------------------------------


def _ratings(engine: Engine, brand_id: int, rated: list[tuple[datetime, int]]) -> None:
    with engine.begin() as conn:
        for n, (at, stars) in enumerate(rated):
            key = f"r{at.timestamp():.0f}-{n}"
            mention_id = conn.execute(
                sa.insert(MENTION)
                .values(
                    source="appstore",
                    external_id=key,
                    text="review",
                    created_at=at,
                    rating=stars,
                    content_key=key,
                )
                .returning(MENTION.c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(LINK).values(
                    mention_id=mention_id,
                    brand_id=brand_id,
                    matched_by="keyword",
                    created_at=at,
                    source="appstore",
                )
            )


def _stars(rng: random.Random, n: int, weights: list[int]) -> list[int]:
    return rng.choices([1, 2, 3, 4, 5], weights=weights, k=n)


def test_review_rating_drop_fires_on_a_real_drop_and_resolves(engine: Engine) -> None:
    settings = source_settings()
    brands = sync_brands(engine, settings)
    rng = random.Random(7)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    good = [5, 5, 10, 30, 50]  # mean about 4.1
    baseline = [
        (now - timedelta(days=60) + timedelta(hours=12 * i), s) for i, s in enumerate(_stars(rng, 100, good))
    ]
    recent = [
        (now - timedelta(days=6) + timedelta(hours=3 * i), s)
        for i, s in enumerate(_stars(rng, 40, [40, 25, 15, 10, 10]))
    ]
    _ratings(engine, brands["Acme"], baseline + recent)
    _ratings(engine, brands["Initech"], [(at, 1) for at, _ in recent])  # no baseline: no alert

    watch_alerts(engine, settings, now=now)
    [alert] = alerts(engine, "review_rating_drop")
    assert alert["brand_id"] == brands["Acme"]
    assert alert["severity"] == "critical"
    assert alert["detail"]["p_value"] < 0.01
    assert alert["detail"]["recent_count"] == 40
    assert len(alert["detail"]["mention_ids"]) == 40
    watch_alerts(engine, settings, now=now + timedelta(hours=1))
    assert len(alerts(engine, "review_rating_drop")) == 1

    # the next weeks are good again: once the bad week leaves the window, the alert resolves
    later = now + timedelta(days=8)
    _ratings(
        engine,
        brands["Acme"],
        [(now + timedelta(days=1, hours=4 * i), s) for i, s in enumerate(_stars(rng, 40, good))],
    )
    assert watch_alerts(engine, settings, now=later).kinds["review_rating_drop"].resolved == 1
    assert [a["status"] for a in alerts(engine, "review_rating_drop")] == ["resolved"]


def test_a_rating_dip_within_noise_is_no_alert(engine: Engine) -> None:
    settings = source_settings()
    brands = sync_brands(engine, settings)
    rng = random.Random(11)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    weights = [10, 10, 20, 30, 30]
    rated = [
        (now - timedelta(days=60) + timedelta(hours=6 * i), s)
        for i, s in enumerate(_stars(rng, 240, weights))
    ]
    # a week of 12 ratings from the same distribution whose mean happens to be 0.5 below
    recent = [1, 3, 3, 4, 2, 5, 3, 4, 2, 5, 3, 4]
    rated += [(now - timedelta(days=5) + timedelta(hours=8 * i), s) for i, s in enumerate(recent)]
    _ratings(engine, brands["Acme"], rated)
    watch_alerts(engine, settings, now=now)
    assert alerts(engine, "review_rating_drop") == []


@pytest.mark.parametrize("count", [3, 9])
def test_too_few_ratings_raise_nothing(engine: Engine, count: int) -> None:
    settings = source_settings()
    brands = sync_brands(engine, settings)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    rated = [(now - timedelta(days=30, hours=i), 5) for i in range(50)]
    rated += [(now - timedelta(hours=i + 1), 1) for i in range(count)]
    _ratings(engine, brands["Acme"], rated)
    watch_alerts(engine, settings, now=now)
    assert alerts(engine, "review_rating_drop") == []


@pytest.mark.parametrize(
    ("alerts", "named"),
    [
        ({"rating_window_days": 30, "rating_baseline_days": 30}, "rating_window_days"),
        ({"source_silent_min_hours": 400, "source_history_days": 14}, "source_silent_min_hours"),
        ({"source_down_hours": 0}, "source_down_hours"),
        ({"rating_p_value": 0.7}, "rating_p_value"),
    ],
)
def test_watch_settings_are_validated(alerts: dict[str, Any], named: str) -> None:
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match=named):
        settings_from_mapping({"alerts": alerts})


def test_a_watched_alert_reaches_a_user_by_email_with_its_why_in_their_language(
    engine: Engine, database_url: str, smtp_server: Any, recorder: Any
) -> None:
    from tests.alerts.outbox_world import make_user, step, world_settings
    from tests.alerts.smtp_server import parsed

    settings = world_settings(database_url, smtp_port=smtp_server.port)
    brands = sync_brands(engine, settings)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    make_user(engine, "ann", now=now, language="nl", timezone="Europe/Amsterdam", min_severity="warning")
    make_user(engine, "ben", now=now, language="en", min_severity="warning")
    rated = [(now - timedelta(days=40, hours=i), 5) for i in range(30)]
    rated += [(now - timedelta(hours=i + 1), 1) for i in range(12)]
    _ratings(engine, brands["Acme"], rated)

    watch_alerts(engine, settings, now=now)
    step(engine, settings, now + timedelta(minutes=1))
    watch_alerts(
        engine, settings, now=now + timedelta(minutes=2)
    )  # still dropped: updated, not e-mailed again
    step(engine, settings, now + timedelta(minutes=3))
    messages = {envelope.rcpt_tos[0]: parsed(envelope) for envelope in recorder.envelopes}
    assert len(recorder.envelopes) == 2
    dutch = messages["ann@acme.example"].get_body(preferencelist=("plain",))
    english = messages["ben@acme.example"].get_body(preferencelist=("plain",))
    assert dutch is not None and english is not None
    assert "Waarom: De gemiddelde sterrenscore daalde naar 1 van 5" in dutch.get_content()
    assert "Why: The mean star rating fell to 1 from 5" in english.get_content()
    assert "CET" in dutch.get_content()  # the user's clock
