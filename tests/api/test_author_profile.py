"""GET /api/v1/authors/{id}, POST /authors/merge and /authors/{id}/split, DELETE /authors/{id} (forget)
and GET /authors/{id}/export, on the seeded world of tests/api/conftest.py."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.scoring.store import as_comparable, compute_profiles, stored_profiles
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import AuthorIdentity, AuthorTombstone, Mention
from monitor.storage.tables import table_of
from monitor.storage.tombstones import identity_digest
from tests.api.conftest import NOW, Seeded, TestClient, error_of


def _identity_ids(engine: Engine) -> dict[str, int]:
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(identity.c.identity_key, identity.c.id)).all())


def _derived_of(engine: Engine, author_ids: list[int]) -> tuple[Any, Any]:
    """The stored rows of `author_ids` and what a rebuild computes for them, comparable."""
    with engine.connect() as conn:
        stored = stored_profiles(conn)
        stored.stats[:] = [row for row in stored.stats if row["author_id"] in author_ids]
        stored.changes[:] = [row for row in stored.changes if row["author_id"] in author_ids]
        return as_comparable(stored), as_comparable(
            compute_profiles(conn, author_ids=author_ids, settings=Settings())
        )


def test_profile_has_identities_decayed_scores_history_and_mentions(
    client: TestClient, seeded: Seeded
) -> None:
    response = client.get(f"/api/v1/authors/{seeded.authors['alice']}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["display_name"]) == (seeded.authors["alice"], "Alice")
    assert [(i["source"], i["handle"], i["reach"]) for i in body["identities"]] == [
        ("reddit", "u/alice", 120),
        ("x", "@alice_x", 5000),
    ]
    [acme] = body["brands"]
    # seeded as of m12, 90 days before NOW: one half-life (90 days) halves both scores
    assert (acme["brand"], acme["segment"], acme["ambassador_score"], acme["detractor_score"]) == (
        "Acme",
        "ambassador",
        2.0,
        0.25,
    )
    assert acme["score_terms"] == {"sentiment": 3.5, "reach": 0.5}
    assert acme["evidence"] == [seeded.mentions["m12"], seeded.mentions["m13"], 999_999]
    assert body["segment_history"] == []
    assert [m["id"] for m in body["mentions"]["items"]] == seeded.newest_first(["m12", "m13"])
    assert body["mentions"]["next_cursor"] is None


def test_profile_segment_history_and_mentions_page_on(client: TestClient, seeded: Seeded) -> None:
    bob = seeded.authors["bob"]
    body = client.get(f"/api/v1/authors/{bob}").json()
    assert [b["brand"] for b in body["brands"]] == ["Acme", "Rival"]  # no stats for Other were seeded
    assert body["segment_history"] == [
        {
            "brand": "Acme",
            "from_segment": "occasional",
            "to_segment": "critic",
            "changed_at": "2026-11-20T10:00:00Z",
            "mention_id": seeded.mentions["m02"],
        }
    ]
    newest_first = seeded.newest_first(["m02", "m03", "m06", "m11", "r1", "o1"])
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/api/v1/authors/{bob}", params=params).json()["mentions"]
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first


def test_a_brand_scoped_key_sees_only_its_brands(client: TestClient, seeded: Seeded, engine: Engine) -> None:
    key = create_api_key(engine, role="viewer", brand="Other", label="other viewer").key
    response = client.get(
        f"/api/v1/authors/{seeded.authors['bob']}", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["brands"] == []  # bob's figures are about Acme and Rival
    assert body["segment_history"] == []
    assert [m["id"] for m in body["mentions"]["items"]] == [seeded.mentions["o1"]]
    refused = client.get(
        f"/api/v1/authors/{seeded.authors['alice']}", headers={"Authorization": f"Bearer {key}"}
    )
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "forbidden_brand"


@pytest.mark.parametrize(
    ("path", "status", "code", "words"),
    [
        ("/api/v1/authors/424242", 404, "unknown_author", "there is no author 424242"),
        ("/api/v1/authors/0", 422, "invalid_request", "path parameter 'author_id'"),
        ("/api/v1/authors/abc", 422, "invalid_request", "path parameter 'author_id'"),
        ("/api/v1/authors/99999999999", 422, "invalid_request", "path parameter 'author_id'"),
        ("/api/v1/authors/424242/export", 404, "unknown_author", "there is no author 424242"),
    ],
)
def test_bad_author_ids(
    client: TestClient, seeded: Seeded, path: str, status: int, code: str, words: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code and words in error["message"]


def test_merge_moves_identities_and_recomputes(client: TestClient, seeded: Seeded, engine: Engine) -> None:
    alice, bob = seeded.authors["alice"], seeded.authors["bob"]
    response = client.post("/api/v1/authors/merge", json={"into": alice, "from": bob})
    assert response.status_code == 200
    assert response.json() == {
        "author_id": alice,
        "merged_author_id": bob,
        "identities_moved": 1,
        "profiles_recomputed": 3,  # Acme, Rival and Other
    }
    profile = client.get(f"/api/v1/authors/{alice}").json()
    assert [i["handle"] for i in profile["identities"]] == ["u/alice", "@alice_x", "@bob"]
    assert len(profile["mentions"]["items"]) == 8  # 2 of alice, 6 of bob
    assert error_of(client.get(f"/api/v1/authors/{bob}"))["code"] == "unknown_author"
    stored, rebuilt = _derived_of(engine, [alice, bob])
    assert stored == rebuilt and stored[0] != []


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"into": "ALICE", "from": "BOB"}, 422, "same_author", "cannot merge author"),
        ({"into": "ALICE", "from": 424242}, 404, "unknown_author", "there is no author 424242"),
        ({"into": "ALICE"}, 422, "invalid_request", "field 'body.from': Field required"),
        ({"into": "ALICE", "from": "x"}, 422, "invalid_request", "field 'body.from'"),
        ({"into": "ALICE", "from": "BOB", "and": 3}, 422, "invalid_request", "field 'body.and'"),
        ({"into": "ALICE", "from": 2**40}, 422, "invalid_request", "field 'body.from'"),
    ],
)
def test_merge_bad_input_changes_nothing(
    client: TestClient,
    seeded: Seeded,
    engine: Engine,
    body: dict[str, Any],
    status: int,
    code: str,
    words: str,
) -> None:
    ids = {
        "ALICE": seeded.authors["alice"],
        "BOB": seeded.authors["alice"] if code == "same_author" else seeded.authors["bob"],
    }
    body = {key: ids.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
    before = _identity_ids(engine)
    response = client.post("/api/v1/authors/merge", json=body)
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code and words in error["message"]
    assert _identity_ids(engine) == before


def test_split_makes_a_new_author(client: TestClient, seeded: Seeded, engine: Engine) -> None:
    alice = seeded.authors["alice"]
    x_identity = _identity_ids(engine)["@alice_x"]
    response = client.post(f"/api/v1/authors/{alice}/split", json={"identity_ids": [x_identity]})
    assert response.status_code == 200
    result = response.json()
    new = result["new_author_id"]
    assert result == {
        "author_id": alice,
        "new_author_id": new,
        "identities_moved": 1,
        "profiles_recomputed": 2,
    }
    profile = client.get(f"/api/v1/authors/{new}").json()
    assert (profile["display_name"], [i["handle"] for i in profile["identities"]]) == (
        "Alice A.",
        ["@alice_x"],
    )
    assert [m["id"] for m in profile["mentions"]["items"]] == [seeded.mentions["m13"]]
    stored, rebuilt = _derived_of(engine, [alice, new])
    assert stored == rebuilt


def test_split_bad_input(client: TestClient, seeded: Seeded, engine: Engine) -> None:
    ids = _identity_ids(engine)
    alice, bob = seeded.authors["alice"], seeded.authors["bob"]
    cases = [
        (
            alice,
            {"identity_ids": [ids["u/alice"], ids["@alice_x"]]},
            409,
            "split_all_identities",
            "keep at least one",
        ),
        (
            alice,
            {"identity_ids": [ids["@bob"]]},
            422,
            "unknown_identity",
            f"identities {ids['@bob']} are not",
        ),
        (alice, {"identity_ids": []}, 422, "invalid_request", "field 'body.identity_ids'"),
        (alice, {}, 422, "invalid_request", "field 'body.identity_ids': Field required"),
        (424242, {"identity_ids": [ids["@bob"]]}, 404, "unknown_author", "there is no author 424242"),
        (bob, {"identity_ids": [0]}, 422, "invalid_request", "field 'body.identity_ids.0'"),
    ]
    for author, body, status, code, words in cases:
        response = client.post(f"/api/v1/authors/{author}/split", json=body)
        assert response.status_code == status, (body, response.text)
        error = error_of(response)
        assert error["code"] == code and words in error["message"], error
    assert _identity_ids(engine) == ids


def test_delete_forgets_the_author(client: TestClient, seeded: Seeded, engine: Engine) -> None:
    erin = seeded.authors["erin"]
    response = client.delete(f"/api/v1/authors/{erin}")
    assert response.status_code == 200
    assert response.json() == {
        "author_id": erin,
        "identities": 1,
        "mentions": 4,
        "classifications": 5,
        "labels": 0,
        "brand_links": 4,
        "alerts": 0,
        "deliveries": 0,
        "profiles": 1,
        "segment_changes": 0,
    }
    assert error_of(client.get(f"/api/v1/authors/{erin}"))["code"] == "unknown_author"
    assert client.get("/api/v1/mentions", params={"author_id": erin}).json()["items"] == []
    with engine.connect() as conn:
        texts = conn.execute(sa.select(table_of(Mention).c.text)).scalars().all()
        digests = conn.execute(sa.select(table_of(AuthorTombstone).c.identity_digest)).scalars().all()
    assert not {"Acme at midnight", "Rival broke down"} & set(texts)
    assert digests == [identity_digest("reddit", "u/erin")]
    again = client.delete(f"/api/v1/authors/{erin}")
    assert again.status_code == 404 and error_of(again)["code"] == "unknown_author"


def test_export_is_the_persons_json(client: TestClient, seeded: Seeded) -> None:
    carol = seeded.authors["carol"]
    response = client.get(f"/api/v1/authors/{carol}/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == f'attachment; filename="wom-author-{carol}.json"'
    data = orjson.loads(response.content)
    assert data["exported_at"] == NOW.isoformat()
    assert [m["id"] for m in data["mentions"]] == seeded.newest_first(["m01", "m04", "m08"])[::-1]
    assert [i["handle"] for i in data["identities"]] == ["@carol@social.example"]
    for other in ("acme billing is a mess again", "Acme saved my weekend", "@bob", "u/erin"):
        assert other not in response.text
