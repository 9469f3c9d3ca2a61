"""GET /api/v1/mentions: filters, classification and brands per item, cursor paging, query count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.api.conftest import HOSTILE_SCRIPT, Seeded, TestClient, count_queries, error_of

ACME = [
    "m01",
    "m02",
    "m03",
    "m04",
    "m05",
    "m06",
    "m07",
    "m08",
    "m09",
    "m10",
    "m11",
    "m12",
    "m13",
    "m14",
    "m15",
]
ALL = [*ACME, "r1", "r2", "o1"]


def ids(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/api/v1/mentions", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return [item["id"] for item in response.json()["items"]]


def test_all_mentions_newest_first(client: TestClient, seeded: Seeded) -> None:
    assert ids(client) == seeded.newest_first(ALL)


def test_brand_filter_is_case_insensitive(client: TestClient, seeded: Seeded) -> None:
    assert ids(client, brand="Acme") == seeded.newest_first(ACME)
    assert ids(client, brand="aCME") == seeded.newest_first(ACME)
    assert ids(client, brand="Rival") == seeded.newest_first(["r1", "m04", "r2"])


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"source": "x"}, ["m02", "m03", "m06", "m09", "m11", "m13", "m14"]),
        ({"source": "trustpilot"}, ["m07"]),
        ({"sentiment": "negative"}, ["m02", "m05", "m06", "m07", "m10"]),  # m10: newest classification wins
        ({"sentiment": "positive"}, ["m01", "m08", "m12", "m13", "m14"]),
        ({"intent": "question"}, ["m03", "m04"]),
        ({"lang": "nl"}, ["m04", "m10"]),
        ({"q": "ACME B"}, ["m02"]),
        ({"q": "100%"}, ["m08"]),  # % is a literal, not a wildcard: m11 says "1000"
        ({"q": "e_f"}, ["m09"]),  # so is _
        ({"q": "<script>"}, ["m05"]),
        ({"since": "2026-11-18T12:00:00Z", "until": "2026-11-20T11:00:00Z"},
         ["m02", "m03", "m04", "m05", "m06", "m15"]),  # since inclusive (m06), until exclusive (m01)
        ({"since": "2026-11-18T13:00:00+01:00", "until": "2026-11-20T11:00:00"}, ["m02", "m03", "m04", "m05", "m06", "m15"]),
        ({"source": "x", "sentiment": "negative"}, ["m02", "m06"]),
    ],
)  # fmt: skip
def test_filters(client: TestClient, seeded: Seeded, params: dict[str, str], keys: list[str]) -> None:
    assert ids(client, brand="Acme", **params) == seeded.newest_first(keys)


def test_author_filter(client: TestClient, seeded: Seeded) -> None:
    assert ids(client, author_id=seeded.authors["carol"]) == seeded.newest_first(["m01", "m04", "m08"])
    assert ids(client, author_id=seeded.authors["bob"], brand="Rival") == seeded.newest_first(["r1"])
    assert ids(client, author_id=999_999) == []


def test_item_carries_current_classification_and_brands(client: TestClient, seeded: Seeded) -> None:
    items = {i["id"]: i for i in client.get("/api/v1/mentions", params={"limit": 200}).json()["items"]}
    m10 = items[seeded.mentions["m10"]]
    assert m10["classification"] == {
        "sentiment": "negative",
        "confidence": 0.9,
        "score": -0.8,
        "intent": "complaint",
        "intent_confidence": 0.7,
        "lang": "nl",
        "model": "e5-heads",
        "model_version": "2",
    }
    assert m10["author_id"] == seeded.authors["erin"]
    assert items[seeded.mentions["m04"]]["brands"] == ["Acme", "Rival"]
    assert items[seeded.mentions["m09"]]["classification"] is None
    m07 = items[seeded.mentions["m07"]]
    assert m07 == {
        "id": seeded.mentions["m07"],
        "source": "trustpilot",
        "external_id": "trustpilot-m07",
        "url": "https://www.trustpilot.com/reviews/7",
        "text": "ACME delivered late, 2 stars",
        "lang": None,
        "created_at": "2026-11-17T12:00:00Z",
        "author_id": None,
        "author_handle": "@anon",
        "reach": 70,
        "engagement": {"likes": 6},
        "rating": 2.0,
        "brands": ["Acme"],
        "classification": m07["classification"] | {"sentiment": "negative", "model_version": "1"},
        "label": None,
    }
    assert items[seeded.mentions["m05"]]["text"] == HOSTILE_SCRIPT  # JSON carries text as stored


def walk(client: TestClient, **params: Any) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    for _ in range(100):
        response = client.get("/api/v1/mentions", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params["limit"]
        yield page
        cursor = page["next_cursor"]
        if cursor is None:
            return
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 18, 200])
def test_cursor_walks_every_mention_exactly_once(client: TestClient, seeded: Seeded, limit: int) -> None:
    pages = list(walk(client, limit=limit))
    walked = [item["id"] for page in pages for item in page["items"]]
    assert walked == seeded.newest_first(ALL)  # m07 and m08 share a timestamp: the id breaks the tie
    assert len(pages) == max(1, -(-len(ALL) // limit))
    assert all(len(page["items"]) == limit for page in pages[:-1])


def test_cursor_walk_keeps_filters(client: TestClient, seeded: Seeded) -> None:
    walked = [
        i["id"] for page in walk(client, limit=2, brand="Acme", sentiment="negative") for i in page["items"]
    ]
    assert walked == seeded.newest_first(["m02", "m05", "m06", "m07", "m10"])


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"limit": 0}, "invalid_request", "query parameter 'limit'"),
        ({"limit": 201}, "invalid_request", "query parameter 'limit'"),
        ({"sentiment": "angry"}, "invalid_request", "query parameter 'sentiment'"),
        ({"intent": "rant"}, "invalid_request", "query parameter 'intent'"),
        ({"since": "yesterday"}, "invalid_request", "query parameter 'since'"),
        ({"author_id": "bob"}, "invalid_request", "query parameter 'author_id'"),
        ({"q": "ac\x00me"}, "invalid_request", "NUL"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor", "next_cursor"),
        ({"cursor": "WzEsMl0"}, "invalid_cursor", "next_cursor"),  # base64 of [1,2]
        ({"since": "2026-11-20T00:00:00Z", "until": "2026-11-19T00:00:00Z"}, "invalid_range", "swap"),
    ],
)
def test_bad_parameters_answer_422(client: TestClient, params: dict[str, Any], code: str, words: str) -> None:
    response = client.get("/api/v1/mentions", params=params)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == code
    assert words in error["message"]


def test_unknown_brand_names_the_valid_ones(client: TestClient) -> None:
    response = client.get("/api/v1/mentions", params={"brand": "Nope"})
    assert response.status_code == 404
    assert error_of(response) == {
        "code": "unknown_brand",
        "message": "unknown brand 'Nope'; valid brands: 'Acme', 'Other', 'Rival'",
    }


def test_brand_parameter_ignores_case_and_accents_like_the_matcher(client: TestClient) -> None:
    plain = client.get("/api/v1/mentions", params={"brand": "Acme"})
    folded = client.get("/api/v1/mentions", params={"brand": "ÀCMÉ"})
    assert (plain.status_code, folded.status_code) == (200, 200)
    assert folded.json() == plain.json()


def test_query_count_does_not_grow_with_the_page(engine: Engine, client: TestClient) -> None:
    one = count_queries(engine, client, "/api/v1/mentions", {"limit": 1, "brand": "Acme"})
    many = count_queries(engine, client, "/api/v1/mentions", {"limit": 200, "brand": "Acme"})
    assert one == many
