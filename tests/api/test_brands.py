"""GET /api/v1/brands: every brand, its competitors, mention counts."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.api.conftest import Seeded, TestClient, build_app


def test_brands_with_competitors_and_counts(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/api/v1/brands")
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "id": seeded.brands["Acme"],
                "name": "Acme",
                "competitor_of": None,
                "competitors": ["Rival"],
                "active": True,
                "timezone": "Europe/Amsterdam",
                "mentions": 15,
            },
            {
                "id": seeded.brands["Other"],
                "name": "Other",
                "competitor_of": None,
                "competitors": [],
                "active": True,
                "timezone": "UTC",
                "mentions": 1,
            },
            {
                "id": seeded.brands["Rival"],
                "name": "Rival",
                "competitor_of": "Acme",
                "competitors": [],
                "active": True,
                "timezone": "Europe/Amsterdam",
                "mentions": 3,
            },
        ]
    }


def test_no_brands_yet(engine: Engine) -> None:
    with TestClient(build_app(engine)) as client:
        response = client.get("/api/v1/brands")
    assert response.status_code == 200
    assert response.json() == {"items": []}
