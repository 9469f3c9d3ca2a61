"""GET /api/v1/alerts: newest event first, filters, cursor paging."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import HOSTILE_TITLE, Seeded, TestClient, error_of

# event_at: a1 and a5 1 h ago (a5 has the higher id, so it comes first), a2 2 h, a4 1 day, a3 3 days
NEWEST_FIRST = ["a5", "a1", "a2", "a4", "a3"]


def alert_ids(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/api/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_alerts_newest_first(client: TestClient, seeded: Seeded) -> None:
    assert alert_ids(client) == [seeded.alerts[k] for k in NEWEST_FIRST]


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"brand": "Acme"}, ["a5", "a1", "a2", "a3"]),
        ({"brand": "rival"}, ["a4"]),
        ({"status": "open"}, ["a5", "a1", "a2", "a4"]),
        ({"status": "resolved"}, ["a3"]),
        ({"kind": "negative_spike"}, ["a1", "a4", "a3"]),
        ({"brand": "Acme", "status": "open", "kind": "negative_spike"}, ["a1"]),
        ({"brand": "Other"}, []),
    ],
)
def test_alert_filters(client: TestClient, seeded: Seeded, params: dict[str, str], keys: list[str]) -> None:
    assert alert_ids(client, **params) == [seeded.alerts[k] for k in keys]


def test_alert_item(client: TestClient, seeded: Seeded) -> None:
    items = client.get("/api/v1/alerts", params={"kind": "influential_detractor"}).json()["items"]
    assert items == [
        {
            "id": seeded.alerts["a2"],
            "brand": "Acme",
            "kind": "influential_detractor",
            "severity": "critical",
            "status": "open",
            "title": HOSTILE_TITLE,
            "detail": {"count": 5},
            "mention_id": seeded.mentions["m02"],
            "author_id": None,
            "event_at": "2026-11-20T10:00:00Z",
            "created_at": "2026-11-20T10:01:00Z",
        }
    ]


@pytest.mark.parametrize("limit", [1, 2, 4, 5])
def test_alert_cursor_walks_each_once(client: TestClient, seeded: Seeded, limit: int) -> None:
    walked: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        page = client.get(
            "/api/v1/alerts", params={"limit": limit, **({"cursor": cursor} if cursor else {})}
        ).json()
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [seeded.alerts[k] for k in NEWEST_FIRST]


def test_alert_errors(client: TestClient) -> None:
    unknown = client.get("/api/v1/alerts", params={"brand": "Nope"})
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "unknown_brand"
    bad = client.get("/api/v1/alerts", params={"limit": 500})
    assert bad.status_code == 422
    assert "query parameter 'limit'" in error_of(bad)["message"]
