"""PUT and DELETE /api/v1/mentions/{id}/label: the correction wins in mention output, filters and stats,
the author's scores are recomputed at once (equal to a rebuild), roles and brand scopes are enforced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.scoring.store import as_comparable, compute_profiles, stored_profiles
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import AuthorBrandStats, Classification, MentionLabel
from monitor.storage.sentiment_hours import refresh_mentions
from monitor.storage.tables import table_of
from tests.api.conftest import HOSTILE_SCRIPT, KeylessClient, Seeded, TestClient, build_app, error_of


def _label_url(seeded: Seeded, key: str) -> str:
    return f"/api/v1/mentions/{seeded.mentions[key]}/label"


def _ids(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/api/v1/mentions", params={"limit": 200, "brand": "Acme", **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _totals(client: TestClient) -> dict[str, Any]:
    params = {"brand": "Acme", "interval": "week", "since": "2026-08-01T00:00:00Z"}
    response = client.get("/api/v1/stats/sentiment", params=params)
    assert response.status_code == 200, response.text
    totals = response.json()["totals"]
    return {k: totals[k] for k in ("volume", "positive", "neutral", "negative")}


@pytest.fixture
def keys(engine: Engine, seeded: Seeded) -> dict[str, str]:
    """Keys by role; `scoped` is a manager limited to the brand Other."""
    made = {role: create_api_key(engine, role=role).key for role in ("viewer", "manager")}
    made["scoped"] = create_api_key(engine, role="manager", brand="Other").key
    return made


@pytest.fixture
def manager(engine: Engine, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(build_app(engine), headers={"Authorization": f"Bearer {keys['manager']}"}) as client:
        yield client


def test_label_wins_in_the_answer_filters_and_stats(
    client: TestClient, manager: TestClient, seeded: Seeded
) -> None:
    before = _totals(client)
    assert seeded.mentions["m01"] in _ids(client, sentiment="positive")
    response = manager.put(_label_url(seeded, "m01"), json={"sentiment": "negative"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == seeded.mentions["m01"]
    assert body["classification"] == {
        "sentiment": "negative",
        "confidence": 1.0,
        "score": -1.0,
        "intent": "other",  # praise followed the sentiment
        "intent_confidence": 1.0,
        "lang": "en",
        "model": "e5-heads",
        "model_version": "1",
    }
    label = body["label"]
    assert (label["sentiment"], label["intent"]) == ("negative", None)
    assert label["labeled_by"].startswith("apikey:") and label["labeled_at"] == "2026-11-20T12:00:00Z"
    listed = {
        item["id"]: item for item in client.get("/api/v1/mentions", params={"limit": 200}).json()["items"]
    }
    assert listed[seeded.mentions["m01"]] == body  # GET shows what PUT answered
    assert seeded.mentions["m01"] in _ids(client, sentiment="negative")
    assert seeded.mentions["m01"] not in _ids(client, sentiment="positive")
    assert seeded.mentions["m01"] in _ids(client, intent="other")
    assert seeded.mentions["m01"] not in _ids(client, intent="praise")
    after = _totals(client)
    assert after == before | {"positive": before["positive"] - 1, "negative": before["negative"] + 1}


def test_a_label_on_an_unclassified_mention_counts_once_classified(
    engine: Engine, client: TestClient, manager: TestClient, seeded: Seeded
) -> None:
    before = _totals(client)
    body = manager.put(_label_url(seeded, "m09"), json={"sentiment": "positive", "intent": "praise"}).json()
    assert body["classification"] is None  # the model has not spoken yet: the label waits for it
    assert (body["label"]["sentiment"], body["label"]["intent"]) == ("positive", "praise")
    assert seeded.mentions["m09"] not in _ids(client, sentiment="positive")
    assert _totals(client) == before
    with engine.begin() as conn:  # what the classify stage then stores
        conn.execute(
            sa.insert(table_of(Classification)).values(
                mention_id=seeded.mentions["m09"],
                model_name="e5-heads",
                model_version="1",
                sentiment="negative",
                confidence=0.6,
                score=-0.5,
                lang="en",
                intent="complaint",
                intent_confidence=0.6,
            )
        )
        refresh_mentions(conn, [seeded.mentions["m09"]])
    assert seeded.mentions["m09"] in _ids(client, sentiment="positive", intent="praise")
    assert seeded.mentions["m09"] not in _ids(client, sentiment="negative")
    assert _totals(client) == before | {"positive": before["positive"] + 1}  # no longer unclassified


def test_scores_follow_and_equal_a_rebuild(engine: Engine, manager: TestClient, seeded: Seeded) -> None:
    stats = table_of(AuthorBrandStats)
    carol = seeded.authors["carol"]
    assert manager.put(_label_url(seeded, "m08"), json={"sentiment": "negative"}).status_code == 200
    assert manager.put(_label_url(seeded, "m01"), json={"sentiment": "negative"}).status_code == 200
    with engine.connect() as conn:
        stored = [r for r in stored_profiles(conn).stats if r["author_id"] == carol]
        rebuilt = compute_profiles(conn, author_ids=[carol], settings=manager.app.state.settings)  # type: ignore[attr-defined]
        rows = conn.execute(
            sa.select(stats.c.brand_id, stats.c.negative).where(stats.c.author_id == carol)
        ).all()
    assert as_comparable(type(rebuilt)(stats=stored, changes=[])) == as_comparable(
        type(rebuilt)(stats=rebuilt.stats, changes=[])
    )
    # m04 (neutral question) names Acme and Rival: both of carol's brands were recomputed
    assert sorted(tuple(r) for r in rows) == [(seeded.brands["Acme"], 2), (seeded.brands["Rival"], 0)]


def test_undo_gives_the_model_back(client: TestClient, manager: TestClient, seeded: Seeded) -> None:
    original = next(
        item
        for item in client.get("/api/v1/mentions", params={"limit": 200}).json()["items"]
        if item["id"] == seeded.mentions["m02"]
    )
    assert manager.put(_label_url(seeded, "m02"), json={"intent": "question"}).json()["classification"][
        "intent"
    ] == ("question")
    response = manager.delete(_label_url(seeded, "m02"))
    assert response.status_code == 200, response.text
    assert response.json() == original
    again = manager.delete(_label_url(seeded, "m02"))
    assert again.status_code == 404
    assert error_of(again) == {
        "code": "no_label",
        "message": f"mention {seeded.mentions['m02']} has no label; there is nothing to undo",
    }


def test_hostile_text_comes_back_as_stored(manager: TestClient, seeded: Seeded) -> None:
    body = manager.put(_label_url(seeded, "m05"), json={"intent": "other"}).json()
    assert body["text"] == HOSTILE_SCRIPT


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "give 'sentiment', 'intent' or both; to undo a label, DELETE it"),
        ({"sentiment": None, "intent": None}, "give 'sentiment', 'intent' or both"),
        ({"sentiment": "angry"}, "field 'body.sentiment'"),
        ({"intent": "rant"}, "field 'body.intent'"),
        ({"sentiment": "negative\x00"}, "field 'body.sentiment'"),
        ({"sentimnet": "negative"}, "field 'body.sentimnet': Extra inputs are not permitted"),
        (["negative"], "field 'body'"),
    ],
)
def test_bad_labels_answer_422_and_change_nothing(
    engine: Engine, manager: TestClient, seeded: Seeded, body: Any, words: str
) -> None:
    response = manager.put(_label_url(seeded, "m01"), json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert words in error["message"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(MentionLabel))).scalar_one() == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_unknown_mention_is_404(manager: TestClient, method: str) -> None:
    response = manager.request(method, "/api/v1/mentions/999999/label", json={"sentiment": "negative"})
    assert response.status_code == 404
    assert error_of(response) == {
        "code": "unknown_mention",
        "message": "there is no mention 999999; take ids from GET /mentions",
    }


@pytest.mark.parametrize("path_id", ["0", "x", "9223372036854775808"])
def test_bad_mention_id_is_422(manager: TestClient, path_id: str) -> None:
    response = manager.put(f"/api/v1/mentions/{path_id}/label", json={"sentiment": "negative"})
    assert response.status_code == 422
    assert "path parameter 'mention_id'" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("none", 401, "missing_api_key"),
        ("viewer", 403, "forbidden_role"),
        ("scoped", 403, "forbidden_brand"),  # a manager for Other, asking about an Acme mention
        ("manager", 200, None),
        ("admin", 200, None),
    ],
)
def test_roles_and_brand_scopes(
    engine: Engine, seeded: Seeded, keys: dict[str, str], who: str, status: int, code: str | None
) -> None:
    app = build_app(engine)
    headers = {} if who in ("none", "admin") else {"Authorization": f"Bearer {keys[who]}"}
    client_class = KeylessClient if who == "none" else TestClient
    with client_class(app, headers=headers) as client:
        for method in ("PUT", "DELETE"):
            response = client.request(method, _label_url(seeded, "m01"), json={"sentiment": "neutral"})
            assert response.status_code == status, response.text
            if code is not None:
                assert error_of(response)["code"] == code
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(MentionLabel))).scalar_one() == 0


def test_a_scoped_key_labels_its_own_brand(engine: Engine, seeded: Seeded, keys: dict[str, str]) -> None:
    with TestClient(build_app(engine), headers={"Authorization": f"Bearer {keys['scoped']}"}) as client:
        response = client.put(_label_url(seeded, "o1"), json={"sentiment": "neutral"})
    assert response.status_code == 200, response.text
    assert response.json()["classification"]["sentiment"] == "neutral"


def test_the_dashboard_shows_the_correction(client: TestClient, manager: TestClient, seeded: Seeded) -> None:
    manager.put(_label_url(seeded, "m01"), json={"sentiment": "negative"})
    manager.put(_label_url(seeded, "m09"), json={"sentiment": "positive"})
    page = client.get("/", params={"brand": "Acme"})
    assert page.status_code == 200
    html = page.text
    negative = html.split("Recent negative mentions", 1)[1].split("Recent mentions", 1)[0]
    assert "Acme support fixed my router in minutes" in negative  # m01, now negative
    before_m09 = html.split("acme_fan_club rocks", 1)[0]
    m09 = before_m09[before_m09.rindex("<article") :]  # labelled, not classified yet
    assert m09.startswith('<article class="mention positive">')
    assert ' · positive · <span class="corrected"' in m09
    assert html.count('title="corrected by apikey:') == 3  # m01 in both lists, m09 in the recent one
