"""GET /api/v1/stats/sentiment (local-day buckets, share of voice) and GET /api/v1/status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from monitor.config import settings_from_mapping
from monitor.read.series import bucket_starts
from monitor.storage.source_state import record_outcome
from tests.api.conftest import NOW, Seeded, TestClient, build_app, error_of

SINCE = "2026-11-17T00:00:00+01:00"


def sentiment(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/stats/sentiment", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bucket(
    start: str, volume: int, positive: int, neutral: int, negative: int, net: Any, own: int = 0
) -> dict[str, Any]:
    return {
        "start": start,
        "volume": volume,
        "positive": positive,
        "neutral": neutral,
        "negative": negative,
        "net_sentiment": net,
        "own_posts": own,
    }


def test_daily_buckets_follow_the_brand_time_zone(client: TestClient, seeded: Seeded) -> None:
    body = sentiment(client, brand="Acme", since=SINCE)
    assert body["buckets"] == [
        bucket("2026-11-17T00:00:00+01:00", 2, 1, 0, 1, 0.0),
        bucket("2026-11-18T00:00:00+01:00", 2, 0, 0, 1, -1.0),  # one of the two is not classified yet
        bucket("2026-11-19T00:00:00+01:00", 3, 0, 2, 1, pytest.approx(-1 / 3)),  # 23:30 UTC the 18th is here
        bucket("2026-11-20T00:00:00+01:00", 3, 1, 1, 1, 0.0),
    ]
    assert body["totals"] == bucket("2026-11-17T00:00:00+01:00", 10, 2, 3, 4, pytest.approx(-2 / 9))
    assert (body["brand"], body["interval"], body["timezone"]) == ("Acme", "day", "Europe/Amsterdam")
    assert (body["since"], body["until"]) == ("2026-11-17T00:00:00+01:00", "2026-11-20T12:00:00Z")


def test_share_of_voice_against_competitors_over_the_same_range(client: TestClient) -> None:
    acme = sentiment(client, brand="Acme", since=SINCE)["share_of_voice"]
    assert acme == [
        {"brand": "Acme", "mentions": 10, "share": pytest.approx(10 / 13)},
        {"brand": "Rival", "mentions": 3, "share": pytest.approx(3 / 13)},
    ]
    rival = sentiment(client, brand="Rival", since=SINCE)["share_of_voice"]
    assert [(s["brand"], s["mentions"]) for s in rival] == [("Rival", 3), ("Acme", 10)]
    other = sentiment(client, brand="Other", since=SINCE)["share_of_voice"]
    assert other == [{"brand": "Other", "mentions": 1, "share": 1.0}]
    empty = sentiment(client, brand="Other", since="2026-01-01T00:00:00Z", until="2026-01-02T00:00:00Z")
    assert empty["share_of_voice"] == [{"brand": "Other", "mentions": 0, "share": None}]
    assert empty["buckets"] == [bucket("2026-01-01T00:00:00Z", 0, 0, 0, 0, None)]


def test_default_range_is_thirty_local_days(client: TestClient) -> None:
    body = sentiment(client, brand="Acme")
    starts = [b["start"] for b in body["buckets"]]
    assert (len(starts), starts[0], starts[-1]) == (
        30,
        "2026-10-22T00:00:00+02:00",
        "2026-11-20T00:00:00+01:00",
    )
    assert body["totals"]["volume"] == 12  # all 15 but the three 40 days old or older


def test_weekly_buckets_start_on_local_mondays(client: TestClient) -> None:
    body = sentiment(client, brand="Acme", interval="week", since="2026-11-11T15:00:00Z")
    assert [b["start"] for b in body["buckets"]] == ["2026-11-09T00:00:00+01:00", "2026-11-16T00:00:00+01:00"]
    # the first week is counted whole, from its Monday: m14 (the 10th) and m10 (the 14th)
    assert [b["volume"] for b in body["buckets"]] == [2, 10]
    default = sentiment(client, brand="Acme", interval="week")["buckets"]
    assert (len(default), default[0]["start"]) == (12, "2026-08-31T00:00:00+02:00")


def test_bucket_starts_across_the_end_of_summer_time() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    starts = bucket_starts(
        datetime(2026, 10, 24, 12, tzinfo=UTC),
        datetime(2026, 10, 26, 12, tzinfo=UTC),
        interval="day",
        zone=zone,
    )
    assert [s.astimezone(UTC) for s in starts] == [
        datetime(2026, 10, 23, 22, tzinfo=UTC),
        datetime(2026, 10, 24, 22, tzinfo=UTC),  # the 25th lasts 25 hours
        datetime(2026, 10, 25, 23, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"brand": "Acme", "interval": "month"}, 422, "invalid_request"),
        ({"brand": "Acme", "since": "2020-01-01T00:00:00Z"}, 422, "range_too_long"),
        ({"brand": "Acme", "since": "2026-11-20T12:00:00Z"}, 422, "invalid_range"),
        ({}, 422, "invalid_request"),
        ({"brand": "Nope"}, 404, "unknown_brand"),
    ],
)
def test_sentiment_errors(client: TestClient, params: dict[str, str], status: int, code: str) -> None:
    response = client.get("/api/v1/stats/sentiment", params=params)
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_status_counts_tables_and_shows_the_newest_run_of_each_job(client: TestClient) -> None:
    response = client.get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    expected = {
        "brand": 3,
        "author": 5,
        "authoridentity": 6,
        "mention": 18,
        "mentionbrand": 19,
        "classification": 18,
        "authorbrandstats": 6,
        "segmentchange": 1,
        "alert": 5,
        "notificationdelivery": 0,
        "collectorcursor": 0,
        "jobrun": 3,
        "schedulerlease": 0,
    }
    assert {name: body["tables"][name] for name in expected} == expected
    assert body["schema_current"] is True
    assert [(j["kind"], j["name"], j["status"], j["error"]) for j in body["jobs"]] == [
        ("collector", "reddit", "failed", "reddit answered 429; retrying after 60 s"),
        ("pipeline", "classify", "ok", ""),
    ]
    assert body["jobs"][0]["started_at"] == "2026-11-20T11:00:00Z"


def test_status_shows_each_collector_source_with_its_backoff(engine: Engine, seeded: Seeded) -> None:
    settings = settings_from_mapping(
        {
            "brands": [
                {
                    "name": "Koffiekoning",
                    "keywords": ["koffiekoning"],
                    "collect": {"hackernews": {}, "x": {}},
                }
            ]
        },
        environ={},
    )
    retry_at = NOW + timedelta(minutes=15)
    record_outcome(engine, "hackernews", now=NOW, succeeded=False, new=0, retry_at=retry_at, reason="429")
    with TestClient(build_app(engine, settings)) as client:
        body = client.get("/api/v1/status").json()
    sources = {item["source"]: item for item in body["sources"]}
    assert sources["hackernews"]["state"] == "backing_off"
    assert sources["hackernews"]["backoff_until"] == retry_at.isoformat().replace("+00:00", "Z")
    assert sources["x"]["state"] == "disabled" and "WOM_X_BEARER_TOKEN" in sources["x"]["message"]


def test_hourly_buckets_are_utc_hours(client: TestClient) -> None:
    response = client.get(
        "/api/v1/stats/sentiment",
        params={
            "brand": "Acme",
            "interval": "hour",
            "since": "2026-11-19T10:30:00Z",
            "until": "2026-11-19T13:00:00Z",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [b["start"] for b in body["buckets"]] == [
        "2026-11-19T10:00:00Z",
        "2026-11-19T11:00:00Z",
        "2026-11-19T12:00:00Z",
    ]
    assert body["totals"]["volume"] == sum(b["volume"] for b in body["buckets"])
    too_long = client.get(
        "/api/v1/stats/sentiment",
        params={"brand": "Acme", "interval": "hour", "since": "2026-01-01T00:00:00Z"},
    )
    assert too_long.status_code == 422 and error_of(too_long)["code"] == "range_too_long"
