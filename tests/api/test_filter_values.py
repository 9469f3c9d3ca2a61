"""A filter value outside its set is a 422 naming the allowed values, not an empty list that looks right."""

import pytest
from fastapi.testclient import TestClient

from monitor.scoring.profile import SEGMENTS
from tests.api.conftest import Seeded, error_of

AFTER = ". Fix the request and retry; /docs lists the values."


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (
            "/api/v1/alerts",
            {"status": "foo"},
            "query parameter 'status': Input should be 'open', 'acknowledged', 'resolved' or 'withdrawn'",
        ),
        (
            "/api/v1/alerts",
            {"status": "OPEN"},
            "query parameter 'status': Input should be 'open', 'acknowledged', 'resolved' or 'withdrawn'",
        ),
        (
            "/api/v1/ambassadors",
            {"brand": "Acme", "segment": "fans"},
            "query parameter 'segment': Input should be 'ambassador', 'fan', 'occasional', 'neutral', "
            "'critic' or 'detractor'",
        ),
        (
            "/api/v1/detractors",
            {"brand": "Acme", "segment": "hater"},
            "query parameter 'segment': Input should be 'ambassador', 'fan', 'occasional', 'neutral', "
            "'critic' or 'detractor'",
        ),
        (
            "/api/v1/mentions",
            {"sentiment": "angry"},
            "query parameter 'sentiment': Input should be 'negative', 'neutral' or 'positive'",
        ),
    ],
)
def test_a_value_outside_the_set_is_a_422_naming_the_allowed_values(
    client: TestClient, seeded: Seeded, path: str, params: dict[str, str], message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert error_of(response) == {"code": "invalid_request", "message": message + AFTER}


@pytest.mark.parametrize("status", ["open", "acknowledged", "resolved", "withdrawn"])
def test_every_alert_status_is_accepted(client: TestClient, seeded: Seeded, status: str) -> None:
    assert client.get("/api/v1/alerts", params={"status": status}).status_code == 200


@pytest.mark.parametrize("segment", SEGMENTS)
@pytest.mark.parametrize("ranking", ["ambassadors", "detractors"])
def test_every_segment_is_accepted(client: TestClient, seeded: Seeded, ranking: str, segment: str) -> None:
    assert client.get(f"/api/v1/{ranking}", params={"brand": "Acme", "segment": segment}).status_code == 200
