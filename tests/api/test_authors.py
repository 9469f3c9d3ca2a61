"""GET /api/v1/ambassadors and /detractors: ranking by score decayed to now, filters, item shape."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.config import ScoringSettings, Settings
from monitor.storage.models import Author, AuthorBrandStats
from tests.api.conftest import NOW, Seeded, TestClient, build_app, count_queries, error_of

HALF_LIFE = 90.0  # the default scoring.half_life_days


def decay(score: float, hours: float, half_life: float = HALF_LIFE) -> float:
    return float(score * 0.5 ** (hours / 24 / half_life))


def ranking(client: TestClient, path: str, **params: Any) -> list[tuple[int, Any]]:
    response = client.get(f"/api/v1/{path}", params=params)
    assert response.status_code == 200, response.text
    return [(item["author_id"], item["score"]) for item in response.json()["items"]]


def test_ambassadors_rank_by_decayed_score(client: TestClient, seeded: Seeded) -> None:
    # alice has the highest raw score (4.0) but her last mention is one half-life old; dan is forgotten
    a = seeded.authors
    assert ranking(client, "ambassadors", brand="Acme") == [
        (a["bob"], pytest.approx(decay(3.0, 2), rel=1e-12)),
        (a["carol"], pytest.approx(decay(2.5, 1), rel=1e-12)),
        (a["alice"], 2.0),
    ]


def test_detractors_rank_by_decayed_score_without_zero_scores(client: TestClient, seeded: Seeded) -> None:
    a = seeded.authors
    assert ranking(client, "detractors", brand="Acme") == [
        (a["bob"], pytest.approx(decay(5.0, 2), rel=1e-12)),
        (a["erin"], pytest.approx(decay(1.0, 25), rel=1e-12)),
        (a["alice"], 0.25),
    ]
    assert ranking(client, "detractors", brand="Rival") == [
        (a["bob"], pytest.approx(decay(1.0, 20), rel=1e-12))
    ]
    assert ranking(client, "ambassadors", brand="Rival") == []


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"limit": 1}, ["bob"]),
        ({"limit": 2}, ["bob", "carol"]),
        ({"segment": "ambassador"}, ["carol", "alice"]),
        ({"source": "x"}, ["bob", "alice"]),
        ({"source": "mastodon"}, ["carol"]),
        ({"since": "2026-10-21T12:00:00Z"}, ["bob", "carol"]),
        ({"segment": "ambassador", "source": "reddit"}, ["alice"]),
    ],
)
def test_ambassador_filters(
    client: TestClient, seeded: Seeded, params: dict[str, Any], names: list[str]
) -> None:
    ranked = ranking(client, "ambassadors", brand="Acme", **params)
    assert [author for author, _ in ranked] == [seeded.authors[n] for n in names]


def test_half_life_comes_from_settings(engine: Engine, seeded: Seeded) -> None:
    settings = Settings(scoring=ScoringSettings(half_life_days=1_000_000))
    with TestClient(build_app(engine, settings)) as client:
        ranked = ranking(client, "ambassadors", brand="Acme")
    assert [author for author, _ in ranked] == [seeded.authors[n] for n in ("alice", "bob", "carol")]
    assert ranked[0][1] == pytest.approx(decay(4.0, 90 * 24, 1_000_000), rel=1e-12)


def test_author_item(client: TestClient, seeded: Seeded) -> None:
    items = {
        i["author_id"]: i for i in client.get("/api/v1/ambassadors", params={"brand": "Acme"}).json()["items"]
    }
    assert items[seeded.authors["alice"]] == {
        "author_id": seeded.authors["alice"],
        "handle": "@alice_x",  # the widest-reaching account
        "name": "Alice A.",
        "sources": ["reddit", "x"],
        "segment": "ambassador",
        "score": 2.0,
        "score_terms": {"sentiment": 3.5, "reach": 0.5},
        "positive_mentions": 2,
        "neutral_mentions": 1,
        "negative_mentions": 3,
        "reach": 100,
        "last_mention_at": "2026-08-22T12:00:00Z",
        "evidence": [  # the stored id of a mention that no longer exists is left out
            {
                "mention_id": seeded.mentions["m12"],
                "source": "reddit",
                "url": None,
                "text": "Acme saved my weekend",
                "created_at": "2026-08-22T12:00:00Z",
            },
            {
                "mention_id": seeded.mentions["m13"],
                "source": "x",
                "url": None,
                "text": "Acme customer for 10 years",
                "created_at": "2026-08-17T12:00:00Z",
            },
        ],
    }
    carol = items[seeded.authors["carol"]]
    assert (carol["handle"], carol["name"], carol["sources"]) == (
        "@carol@social.example",
        "Carol",
        ["mastodon"],
    )


def test_brand_is_required_and_must_exist(client: TestClient) -> None:
    missing = client.get("/api/v1/detractors")
    assert missing.status_code == 422
    assert error_of(missing)["message"].startswith("query parameter 'brand': Field required")
    unknown = client.get("/api/v1/ambassadors", params={"brand": "Nope"})
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "unknown_brand"
    too_many = client.get("/api/v1/ambassadors", params={"brand": "Acme", "limit": 201})
    assert too_many.status_code == 422


def test_query_count_does_not_grow_with_the_list(engine: Engine, client: TestClient) -> None:
    one = count_queries(engine, client, "/api/v1/ambassadors", {"brand": "Acme", "limit": 1})
    many = count_queries(engine, client, "/api/v1/ambassadors", {"brand": "Acme", "limit": 200})
    assert one == many


def test_early_stop_matches_a_full_sort(engine: Engine, client: TestClient, seeded: Seeded) -> None:
    # many authors whose raw order differs from their decayed order; the ranking stops reading early
    rnd = random.Random(7)
    expected: list[tuple[float, int]] = []
    with Session(engine) as session:
        for _ in range(300):
            author = Author(display_name="many")
            session.add(author)
            session.flush()
            assert author.id is not None
            raw, age_days = round(rnd.uniform(0.1, 10), 3), rnd.randrange(0, 720)
            session.add(
                AuthorBrandStats(
                    author_id=author.id,
                    brand_id=seeded.brands["Other"],
                    ambassador_score=raw,
                    last_mention_at=NOW - timedelta(days=age_days),
                )
            )
            expected.append((decay(raw, age_days * 24), author.id))
        session.commit()
    best = sorted(expected, key=lambda e: (-e[0], e[1]))[:25]
    ranked = ranking(client, "ambassadors", brand="Other", limit=25)
    assert [author for author, _ in ranked] == [author for _, author in best]
    assert [score for _, score in ranked] == [pytest.approx(score, rel=1e-12) for score, _ in best]
