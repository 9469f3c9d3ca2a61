"""Boundary values answer 422 in the error shape, never 500 (issue 13, item 5), on SQLite and PostgreSQL.

Times at the ends of what Python's datetime holds (year 1 at +14:00 is before 0001-01-01 in UTC, 9999-12-31
at -14:00 after 9999-12-31), cursors with ids past the database's integer or past 64 bits, and extreme
cursor times. What still fits is still answered (year 1 in UTC is a fine `since`).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy.engine import Engine

from tests.api.conftest import Seeded, TestClient, build_app, error_of

YEAR_1_EAST = "0001-01-01T00:00:00+14:00"  # 0000-12-31T10:00Z: before datetime.min in UTC
YEAR_9999_WEST = "9999-12-31T23:59:59-14:00"  # 10000-01-01T13:59Z: after datetime.max in UTC
LAST_SECOND = "9999-12-31T23:59:59Z"
FIRST_SECOND = "0001-01-01T00:00:00Z"
MAX_INT32 = 2**31 - 1


def cursor(at: str, item_id: Any) -> str:
    """A cursor as encode_cursor writes it, with any time and id."""
    payload = json.dumps([at, item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _refused(
    seeded: Seeded,
) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, query, the error code of the 422) for every boundary case."""
    author = seeded.authors["bob"]
    cases: list[tuple[str, str, dict[str, Any], str]] = []
    for at in (YEAR_1_EAST, YEAR_9999_WEST):
        for name in ("since", "until"):
            cases.append(("GET", "/api/v1/mentions", {name: at}, "invalid_request"))
            cases.append(("GET", "/api/v1/stats/sentiment", {"brand": "Acme", name: at}, "invalid_request"))
        for ranking in ("ambassadors", "detractors"):
            cases.append(("GET", f"/api/v1/{ranking}", {"brand": "Acme", "since": at}, "invalid_request"))
    for interval in ("hour", "day", "week"):
        stats = {"brand": "Acme", "interval": interval}
        # the default start would be before 0001-01-01; days and weeks would end past 9999-12-31
        cases.append(("GET", "/api/v1/stats/sentiment", stats | {"until": FIRST_SECOND}, "invalid_range"))
        if interval != "hour":
            cases.append(("GET", "/api/v1/stats/sentiment", stats | {"until": LAST_SECOND}, "invalid_range"))
    cursors = [
        cursor("2026-11-20T12:00:00+00:00", 2**64),
        cursor("2026-11-20T12:00:00+00:00", 2**63),
        cursor("2026-11-20T12:00:00+00:00", -(2**63) - 1),
        cursor("2026-11-20T12:00:00+00:00", MAX_INT32 + 1),  # past PostgreSQL's integer ids
        cursor("2026-11-20T12:00:00+00:00", 0),
        cursor(YEAR_1_EAST, 5),
        cursor(YEAR_9999_WEST, 5),
    ]
    for token in cursors:
        for path in ("/api/v1/mentions", "/api/v1/alerts", f"/api/v1/authors/{author}"):
            cases.append(("GET", path, {"cursor": token}, "invalid_cursor"))
        cases.append(("GET", "/api/v1/mentions", {"brand": "Acme", "cursor": token}, "invalid_cursor"))
    # ids are PostgreSQL integers
    cases.append(("GET", "/api/v1/mentions", {"author_id": MAX_INT32 + 1}, "invalid_request"))
    cases.append(("GET", "/api/v1/mentions", {"author_id": 2**63 - 1}, "invalid_request"))
    cases.append(("DELETE", f"/api/v1/mentions/{MAX_INT32 + 1}/label", {}, "invalid_request"))
    return cases


def test_boundary_values_are_422_in_the_error_shape(engine: Engine, seeded: Seeded) -> None:
    cases = _refused(seeded)
    answered = []
    with TestClient(build_app(engine), raise_server_exceptions=False) as client:
        for method, path, params, _ in cases:
            response = client.request(method, path, params=params)
            code = error_of(response)["code"] if response.status_code >= 400 else ""
            answered.append((method, path, params, response.status_code, code))
    assert answered == [(m, p, q, 422, code) for m, p, q, code in cases]


def test_label_of_an_id_past_the_database_integer_is_422(client: TestClient) -> None:
    response = client.put(f"/api/v1/mentions/{MAX_INT32 + 1}/label", json={"sentiment": "negative"})
    assert (response.status_code, error_of(response)["code"]) == (422, "invalid_request")
    assert "less than or equal to 2147483647" in error_of(response)["message"]


def test_messages_name_the_parameter_and_the_fix(client: TestClient) -> None:
    since = client.get("/api/v1/mentions", params={"since": YEAR_1_EAST})
    assert error_of(since)["message"] == (
        "query parameter 'since': is before 0001-01-01T00:00:00Z once converted to UTC; send a time from "
        "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. Fix the request and retry; /docs lists the values."
    )
    until = client.get("/api/v1/mentions", params={"until": YEAR_9999_WEST})
    assert error_of(until)["message"] == (
        "query parameter 'until': is after 9999-12-31T23:59:59Z once converted to UTC; send a time from "
        "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. Fix the request and retry; /docs lists the values."
    )
    stats = client.get("/api/v1/stats/sentiment", params={"brand": "Acme", "until": LAST_SECOND})
    assert error_of(stats)["message"] == (
        "the buckets from 'since' to 'until' reach past 9999-12-31 or before 0001-01-01; "
        "choose 'since' and 'until' further from the ends of the calendar"
    )


def test_extreme_times_that_fit_are_answered(client: TestClient, seeded: Seeded) -> None:
    everything = client.get("/api/v1/mentions", params={"limit": 200}).json()["items"]
    for params in ({"since": FIRST_SECOND}, {"until": LAST_SECOND}, {"since": "0001-01-01T00:00:00-14:00"}):
        response = client.get("/api/v1/mentions", params=params | {"limit": 200})
        assert (response.status_code, response.json()["items"]) == (200, everything)
    nothing = client.get("/api/v1/mentions", params={"cursor": cursor(FIRST_SECOND, MAX_INT32)})
    assert (nothing.status_code, nothing.json()["items"]) == (200, [])
    last = client.get("/api/v1/mentions", params={"cursor": cursor(LAST_SECOND, MAX_INT32), "limit": 200})
    assert (last.status_code, last.json()["items"]) == (200, everything)
    stats = client.get(
        "/api/v1/stats/sentiment",
        params={"brand": "Acme", "interval": "week", "until": "9998-12-31T00:00:00Z"},
    )
    assert stats.status_code == 200
    assert len(stats.json()["buckets"]) == 12
