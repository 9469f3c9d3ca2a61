"""Spike detection: the pure detector on small synthetic series, then through the real alert stage
(store, match, classify as the model would, profile, alert) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.alerts.spikes import Incident, MentionEvent, detect_spikes, evaluation_times
from monitor.alerts.why import WhyMention, incident_why, terms
from monitor.classify.factory import build_classifier
from monitor.config import AlertSettings, ConfigError, Settings, settings_from_mapping
from monitor.pipeline import Pipeline
from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.brands import sync_brands
from monitor.storage.classifications import store_classifications
from monitor.storage.mentions import store_mentions
from monitor.storage.models import Alert, Mention, NotificationDelivery
from monitor.storage.tables import table_of

SETTINGS = AlertSettings()
T = datetime(2026, 3, 10, 14, 5, tzinfo=UTC)  # an incident begins; the last usual negative was 13:30
USUAL = T - timedelta(minutes=35)  # the usual mentions run from here, a negative each hour on the half hour
_ALERT = table_of(Alert)
_DELIVERY = table_of(NotificationDelivery)
_MENTION = table_of(Mention)


def steady(
    start: datetime, end: datetime, *, per_hour: int, negative_every: int, first_id: int = 1
) -> list[MentionEvent]:
    """Evenly spaced mentions from `start`, every `negative_every`-th negative (the first at `start`)."""
    step = timedelta(hours=1) / per_hour
    count = int((end - start) / step)
    return [MentionEvent(start + i * step, first_id + i, i % negative_every == 0) for i in range(count)]


def burst(start: datetime, *, count: int, every: timedelta, first_id: int) -> list[MentionEvent]:
    return [MentionEvent(start + i * every, first_id + i, True) for i in range(count)]


def detect(
    events: Sequence[MentionEvent],
    *,
    now: datetime,
    kind: str = "negative_spike",
    settings: AlertSettings = SETTINGS,
    scan_from: datetime | None = None,
) -> list[Incident]:
    return detect_spikes(
        sorted(events, key=lambda e: e.at),
        kind=kind,
        scan_from=scan_from or T - timedelta(days=1),
        now=now,
        history_start=min(e.at for e in events),
        settings=settings,
    )


def history(weeks: float = 5) -> list[MentionEvent]:
    # six mentions an hour, one of them negative: the same every hour of the week
    return steady(
        T - timedelta(weeks=weeks) - timedelta(minutes=5),
        USUAL,
        per_hour=6,
        negative_every=6,
    )


def test_evaluation_grid_is_aligned_to_the_epoch() -> None:
    times = evaluation_times(
        datetime(2026, 3, 10, 14, 3, tzinfo=UTC), datetime(2026, 3, 10, 14, 30, tzinfo=UTC), step_minutes=10
    )
    assert times == [datetime(2026, 3, 10, 14, m, tzinfo=UTC) for m in (10, 20, 30)]


def test_an_incident_is_found_once_opens_updates_and_closes() -> None:
    usual = history()
    after = steady(USUAL, T + timedelta(hours=4), per_hour=6, negative_every=6, first_id=10**6)
    incident = burst(T, count=15, every=timedelta(minutes=2), first_id=2 * 10**6)
    events = [*usual, *after, *incident]

    # at 14:10 five complaints are too few of the window's mentions to tell from chance; at 14:20 ten are not
    assert detect(events, now=T + timedelta(minutes=10)) == []
    early = detect(events, now=T + timedelta(minutes=20))
    assert len(early) == 1
    assert early[0].start == T  # the first extra complaint, not the usual negative before it
    assert early[0].opened_at == T + timedelta(minutes=15)
    assert early[0].end is None
    assert early[0].baseline == "hour_of_week"

    later = detect(events, now=T + timedelta(minutes=40))
    assert [(i.start, i.opened_at, i.end) for i in later] == [(T, T + timedelta(minutes=15), None)]
    assert later[0].count > early[0].count
    assert set(e.mention_id for e in incident) <= set(later[0].mention_ids)

    done = detect(events, now=T + timedelta(hours=4))
    assert len(done) == 1
    assert (done[0].start, done[0].opened_at) == (T, T + timedelta(minutes=15))
    assert done[0].end is not None and T + timedelta(minutes=30) <= done[0].end <= T + timedelta(hours=2)
    assert done[0].count >= 15 and done[0].expected < 3
    assert done[0].negative_share > done[0].baseline_share
    # no incident in the steady weeks before it
    assert detect(events, now=T - timedelta(minutes=10), scan_from=T - timedelta(weeks=2)) == []


def flapping() -> list[MentionEvent]:
    # clusters of 4 negatives every 40 minutes for two hours: the 60-minute window holds two clusters
    # (fires) for twenty minutes of every forty and one (too few to open, enough to stay open) for the rest
    clusters = [
        event
        for k in range(4)
        for event in burst(
            T + k * timedelta(minutes=40), count=4, every=timedelta(seconds=20), first_id=10**6 + 10 * k
        )
    ]
    after = steady(USUAL, T + timedelta(hours=5), per_hour=6, negative_every=6, first_id=10**7)
    return [*history(), *after, *clusters]


def test_flapping_around_the_threshold_is_one_incident() -> None:
    single = SETTINGS.model_copy(update={"spike_windows_minutes": [60]})
    events = flapping()
    # the test alone, one evaluation at a time, flips between firing and not for two hours
    steps = evaluation_times(T, T + timedelta(hours=2), step_minutes=10)
    fired = [bool(detect(events, now=at, scan_from=at, settings=single)) for at in steps]
    flips = sum(1 for a, b in pairwise(fired) if a != b)
    assert flips >= 4, fired
    incidents = detect(events, now=T + timedelta(hours=5), settings=single)
    assert len(incidents) == 1
    assert incidents[0].start == T and incidents[0].end is not None


def test_a_volume_peak_with_a_normal_negative_share_is_a_volume_spike() -> None:
    # a campaign: three times the usual mentions for four hours, one in six negative as always
    campaign = steady(USUAL, T + timedelta(hours=4), per_hour=18, negative_every=6, first_id=10**6)
    quiet = steady(
        T + timedelta(hours=4), T + timedelta(hours=7), per_hour=6, negative_every=6, first_id=2 * 10**6
    )
    events = [*history(), *campaign, *quiet]
    now = T + timedelta(hours=7)
    assert detect(events, now=now) == []
    volume = detect(events, now=now, kind="volume_spike")
    assert len(volume) == 1
    assert volume[0].kind == "volume_spike"
    assert volume[0].count > 2 * volume[0].expected
    assert volume[0].negative_share == pytest.approx(1 / 6, abs=0.03)


@pytest.mark.parametrize(
    ("days", "baseline"), [(35, "hour_of_week"), (4, "time_of_day"), (1.5, "overall"), (0.5, None)]
)
def test_short_history_falls_back(days: float, baseline: str | None) -> None:
    usual = steady(USUAL - timedelta(days=days), T + timedelta(hours=3), per_hour=6, negative_every=6)
    events = [*usual, *burst(T, count=15, every=timedelta(minutes=2), first_id=10**6)]
    found = detect(events, now=T + timedelta(hours=3))
    if baseline is None:
        assert found == []  # less than a day of history: no baseline, nothing fires
    else:
        assert [(i.start, i.baseline) for i in found] == [(T, baseline)]


def test_settings_name_the_fix_and_old_keys_still_load() -> None:
    with pytest.raises(ConfigError, match=r"spike_keep_p_value.*spike_p_value"):
        settings_from_mapping({"alerts": {"spike_p_value": 0.01, "spike_keep_p_value": 0.001}})
    with pytest.raises(ConfigError, match="spike_windows_minutes"):
        settings_from_mapping({"alerts": {"spike_windows_minutes": [5]}})
    with pytest.raises(ConfigError, match="spike_min_history_weeks"):
        settings_from_mapping({"alerts": {"spike_history_weeks": 2, "spike_min_history_weeks": 3}})
    old = settings_from_mapping(
        {"alerts": {"spike_window_hours": 3, "spike_baseline_days": 7, "spike_factor": 2.0}}
    )
    assert old.alerts.spike_window_hours == 3
    assert old.alerts.spike_windows_minutes == [60, 360]


def test_why_ranks_what_is_new_in_the_incident() -> None:
    assert terms("Acme: de bezorging is WEER te laat! https://x.co/a", skip=frozenset({"acme"})) == {
        "bezorging",
        "laat",
    }
    usual = [WhyMention(i, "my order from acme is late", "x", f"@u{i}") for i in range(20)]
    incident = [
        WhyMention(
            100 + i,
            "acme delivery failed, my order is late",
            "reddit" if i % 3 else "x",
            f"@v{i % 4}",
            reach=i,
        )
        for i in range(9)
    ]
    why = incident_why(incident, usual, brand_words=["Acme"])
    assert [t["term"] for t in why["top_terms"]][:2] == ["delivery", "failed"]
    assert why["top_sources"][0] == {"source": "reddit", "count": 6, "share": 0.667, "baseline_share": 0.0}
    assert why["top_authors"][0] == {
        "author": "reddit:@v0",
        "count": 2,
        "share": 0.222,
        "baseline_share": 0.0,
    }
    assert why["example_mention_ids"] == [108, 107, 106, 105, 104]


# --- through the real alert stage -------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)


@dataclass
class Feed:
    engine: Engine
    settings: Settings
    clock: list[datetime]
    pipeline: Pipeline
    sentiments: dict[str, str]

    def add(self, posts: Sequence[tuple[str, datetime, str, str, str]], *, at: datetime) -> None:
        """Store (key, created_at, handle, text, sentiment) posts and run match, profile and alert at `at`."""
        self.clock[0] = at
        store_mentions(
            self.engine,
            [
                MentionRecord(
                    source="x",
                    external_id=key,
                    text=text,
                    created_at=created,
                    author=AuthorRecord(
                        handle=handle, platform_id=f"id-{handle}", reach=50, reach_kind="followers"
                    ),
                )
                for key, created, handle, text, _ in posts
            ],
        )
        self.sentiments.update({key: sentiment for key, _, _, _, sentiment in posts})
        self.pipeline.run_stage("match")
        with self.engine.begin() as conn:
            ids = dict(
                conn.execute(
                    sa.select(_MENTION.c.external_id, _MENTION.c.id).where(_MENTION.c.classified_at.is_(None))
                ).all()
            )
            store_classifications(
                conn,
                [
                    {
                        "mention_id": mention_id,
                        "model_name": "e5-heads",
                        "model_version": "test",
                        "sentiment": self.sentiments[key],
                        "confidence": 0.9,
                        "score": {"positive": 0.8, "neutral": 0.0, "negative": -0.8}[self.sentiments[key]],
                        "lang": "en",
                        "intent": "other",
                        "intent_confidence": 0.8,
                        "worker": "tests",
                        "created_at": at,
                    }
                    for key, mention_id in ids.items()
                ],
            )
            conn.execute(
                sa.update(_MENTION).where(_MENTION.c.id.in_(list(ids.values()))).values(classified_at=at)
            )
        self.pipeline.run_stage("profile")
        self.pipeline.run_stage("alert")

    def spikes(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(_ALERT)
                .where(_ALERT.c.kind.in_(("negative_spike", "volume_spike")))
                .order_by(_ALERT.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def deliveries(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_DELIVERY)).scalar_one())


def _feed(engine: Engine, url: str) -> Feed:
    settings = settings_from_mapping(
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": ["acme"]}}],
            "alerts": {"influential_min_reach": 100_000, "email_to": ["owner@acme.example"]},
            "smtp": {"host": "127.0.0.1"},  # deliveries are only queued here, never sent
        }
    )
    sync_brands(engine, settings)
    clock = [NOW]
    pipeline = Pipeline(
        engine,
        settings,
        classifier_factory=lambda: build_classifier(settings.classifier),
        now=lambda: clock[0],
    )
    return Feed(engine, settings, clock, pipeline, {})


def usual_posts(start: datetime, hours: int, *, prefix: str) -> list[tuple[str, datetime, str, str, str]]:
    """Two mentions an hour, one negative every fourth hour, by different people."""
    posts = []
    for h in range(hours):
        at = start + timedelta(hours=h)
        posts.append((f"{prefix}{h}a", at, f"@fan{h % 7}", "acme coffee this morning", "positive"))
        sentiment = "negative" if h % 4 == 0 else "neutral"
        posts.append(
            (
                f"{prefix}{h}b",
                at + timedelta(minutes=30),
                f"@user{h % 5}",
                "acme order arrived slowly",
                sentiment,
            )
        )
    return posts


def complaints(start: datetime, count: int, *, first: int) -> list[tuple[str, datetime, str, str, str]]:
    return [
        (
            f"c{first + i}",
            start + timedelta(minutes=2 * i),
            f"@angry{first + i}",
            "acme delivery failed again, parcel lost",
            "negative",
        )
        for i in range(count)
    ]


def test_one_alert_per_incident_updated_then_resolved(engine: Engine, database_url: str) -> None:
    feed = _feed(engine, database_url)
    feed.add(usual_posts(NOW - timedelta(days=4), 4 * 24, prefix="h"), at=NOW - timedelta(minutes=1))
    assert feed.spikes() == []  # four steady days raise nothing

    # eight complaints in a quarter of an hour, and the brand's own apology (never counted)
    own = [("own1", NOW + timedelta(minutes=5), "acme", "acme: sorry, we are on it", "negative")]
    feed.add([*complaints(NOW, 8, first=0), *own], at=NOW + timedelta(minutes=20))
    [opened] = feed.spikes()
    assert (opened["kind"], opened["status"], opened["severity"]) == ("negative_spike", "open", "warning")
    assert opened["event_at"].replace(tzinfo=UTC) == NOW
    assert opened["dedupe_key"].endswith(f":{NOW.isoformat()}")
    assert opened["detail"]["state"] == "ongoing" and opened["detail"]["count"] == 8
    assert opened["detail"]["baseline"] == "time_of_day"
    assert [t["term"] for t in opened["detail"]["why"]["top_terms"]][:3] == ["delivery", "failed", "lost"]
    assert opened["title"].startswith("Negative spike: 8 negative mentions in 20 min (expected ")
    assert feed.deliveries() == 1

    feed.add(complaints(NOW + timedelta(minutes=16), 8, first=8), at=NOW + timedelta(minutes=40))
    [updated] = feed.spikes()
    assert updated["id"] == opened["id"] and updated["status"] == "open"
    assert updated["detail"]["count"] == 16 and len(updated["detail"]["mention_ids"]) == 16
    assert updated["severity"] == "critical"
    assert feed.deliveries() == 1  # updated, not sent again

    feed.add(usual_posts(NOW + timedelta(hours=1), 3, prefix="l"), at=NOW + timedelta(hours=4))
    [resolved] = feed.spikes()
    assert resolved["id"] == opened["id"]
    assert (resolved["status"], resolved["detail"]["state"]) == ("resolved", "ended")
    assert resolved["detail"]["end"] is not None
    assert feed.deliveries() == 1


def test_a_backfilled_incident_is_recorded_resolved_and_never_pushed(
    engine: Engine, database_url: str
) -> None:
    feed = _feed(engine, database_url)
    year_ago = NOW - timedelta(days=365)
    feed.add(
        [
            *usual_posts(year_ago - timedelta(days=4), 4 * 24 + 6, prefix="h"),
            *complaints(year_ago, 16, first=0),
        ],
        at=NOW,
    )
    [old] = feed.spikes()
    assert (old["kind"], old["status"]) == ("negative_spike", "resolved")
    assert old["event_at"].replace(tzinfo=UTC) == year_ago
    assert feed.deliveries() == 0
