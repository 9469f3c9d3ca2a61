"""POST /api/v1/mentions: one mention or a list in the import format; created, duplicate, rejected (kept
apart, with the reason, while the rest is stored), limits, hostile text, roles and brand scopes, and the
stored mentions going through the pipeline. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.routes.ingest import MAX_BODY_BYTES, MAX_ITEMS
from monitor.classify.factory import build_classifier
from monitor.config import Settings
from monitor.pipeline import Pipeline
from monitor.records import MAX_DEPTH
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import AuthorIdentity, Brand, Mention, MentionBrand
from monitor.storage.tables import table_of
from tests.api.conftest import HOSTILE_SCRIPT, KeylessClient, Seeded, TestClient, build_app, error_of

_MENTION = table_of(Mention)


def review(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "source": "ownsite",
        "external_id": external_id,
        "text": f"Acme review {external_id}: quick delivery",
        "created_at": "2026-11-20T10:00:00Z",
        "author": {"handle": "shopper", "id": "c-1"},
        "rating": 4,
        **fields,
    }


def _count(engine: Engine, source: str = "ownsite") -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(_MENTION).where(_MENTION.c.source == source)
            ).scalar_one()
        )


@pytest.fixture
def keys(engine: Engine, seeded: Seeded) -> dict[str, str]:
    made = {role: create_api_key(engine, role=role).key for role in ("viewer", "manager")}
    made["scoped"] = create_api_key(engine, role="manager", brand="Other").key
    return made


@pytest.fixture
def manager(engine: Engine, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(build_app(engine), headers={"Authorization": f"Bearer {keys['manager']}"}) as client:
        yield client


def test_one_mention_is_created_then_a_duplicate(engine: Engine, manager: TestClient) -> None:
    first = manager.post("/api/v1/mentions", json=review("r-1", brand="acme"))
    assert first.status_code == 201, first.text
    report = first.json()
    mention_id = report["items"][0]["id"]
    assert report == {
        "created": 1,
        "duplicate": 0,
        "forgotten": 0,
        "rejected": 0,
        "items": [
            {
                "index": 0,
                "status": "created",
                "id": mention_id,
                "source": "ownsite",
                "external_id": "r-1",
                "reason": None,
            }
        ],
    }
    again = manager.post("/api/v1/mentions", json=[review("r-1", text="edited text")])
    assert again.status_code == 200
    assert again.json()["items"] == [report["items"][0] | {"status": "duplicate"}]
    assert _count(engine) == 1
    listed = manager.get("/api/v1/mentions", params={"source": "ownsite"}).json()["items"]
    assert [(m["id"], m["text"], m["rating"], m["classification"]) for m in listed] == [
        (mention_id, "Acme review r-1: quick delivery", 4.0, None)
    ]


def test_bad_items_are_reported_and_the_rest_is_kept(engine: Engine, manager: TestClient) -> None:
    assert manager.post("/api/v1/mentions", json=review("r-0")).status_code == 201
    body = [
        review("r-1"),
        {**review("r-2"), "created_at": None},
        review("r-0"),
        review("r-3", text="Acme\x00 nul\x07 and <script>alert(1)</script>"),
        review("r-1"),
        "not an object",
        review("r-4", brand="Nope"),
        review("r-5", rating=9),
    ]
    response = manager.post("/api/v1/mentions", json=body)
    assert response.status_code == 422
    report = response.json()
    assert report["error"]["code"] == "invalid_items"
    assert report["error"]["message"].startswith(
        "4 of 8 mentions were rejected and not stored (the first, item 1: 'created_at' is missing)"
    )
    assert [(i["index"], i["status"], i["external_id"]) for i in report["items"]] == [
        (0, "created", "r-1"),
        (1, "rejected", None),
        (2, "duplicate", "r-0"),
        (3, "created", "r-3"),
        (4, "duplicate", "r-1"),
        (5, "rejected", None),
        (6, "rejected", None),
        (7, "rejected", None),
    ]
    reasons = [i["reason"] for i in report["items"] if i["status"] == "rejected"]
    assert reasons == [
        "'created_at' is missing",
        "each line must be a JSON object, got str",
        "'brand' 'Nope' is not configured; add it to [[brands]] or drop the field",
        "'rating' must be a number from 1 to 5, got 9",
    ]
    assert (report["created"], report["duplicate"], report["forgotten"], report["rejected"]) == (2, 2, 0, 4)
    assert report["items"][4]["id"] == report["items"][0]["id"]
    assert _count(engine) == 3
    with engine.connect() as conn:
        text, sanitized = conn.execute(
            sa.select(_MENTION.c.text, _MENTION.c.text_sanitized).where(_MENTION.c.external_id == "r-3")
        ).one()
    assert (text, sanitized) == ("Acme nul and <script>alert(1)</script>", True)  # NUL and BEL removed


def test_hostile_text_is_stored_as_sent(manager: TestClient) -> None:
    response = manager.post(
        "/api/v1/mentions", json=review("r-x", text=HOSTILE_SCRIPT, url="https://shop.example/r?x=<b>")
    )
    assert response.status_code == 201
    listed = manager.get("/api/v1/mentions", params={"source": "ownsite"}).json()["items"]
    assert (listed[0]["text"], listed[0]["url"]) == (HOSTILE_SCRIPT, "https://shop.example/r?x=<b>")


@pytest.mark.parametrize(
    ("content", "status", "code", "words"),
    [
        (b"{not json", 422, "invalid_json", "the body is not valid JSON"),
        (b"", 422, "invalid_json", "the body is not valid JSON"),
        (b'{"text": "\\ud800"}', 422, "invalid_json", "send one mention object or a JSON array of them"),
        (b"\xff\xfe", 422, "invalid_json", "UTF-8 encoded"),
        (b"42", 422, "invalid_body", "the body is a JSON int; send one mention object or an array of them"),
        (b"[]", 422, "invalid_body", "the array is empty; send at least one mention"),
        (json.dumps([review(str(n)) for n in range(MAX_ITEMS + 1)]).encode(), 413, "payload_too_large",
         f"the body holds {MAX_ITEMS + 1:,} mentions; send at most {MAX_ITEMS:,} mentions and 5 MB"),
        (b'["' + b"x" * MAX_BODY_BYTES + b'"]', 413, "payload_too_large", "send at most 1,000 mentions and 5 MB"),
    ],
)  # fmt: skip
def test_whole_body_problems_store_nothing(
    engine: Engine, manager: TestClient, content: bytes, status: int, code: str, words: str
) -> None:
    response = manager.post("/api/v1/mentions", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code
    assert words in error["message"]
    assert _count(engine) == 0


def test_a_full_batch_is_taken(engine: Engine, manager: TestClient) -> None:
    response = manager.post("/api/v1/mentions", json=[review(str(n)) for n in range(MAX_ITEMS)])
    assert response.status_code == 201
    assert response.json()["created"] == MAX_ITEMS
    assert _count(engine) == MAX_ITEMS


def test_concurrent_posts_create_each_mention_once(engine: Engine, keys: dict[str, str]) -> None:
    items = [review(f"c-{n}", author={"handle": f"buyer{n % 7}"}) for n in range(40)]
    reports: list[dict[str, Any]] = []
    app = build_app(engine)

    def post(order: list[dict[str, Any]]) -> None:
        with TestClient(app, headers={"Authorization": f"Bearer {keys['manager']}"}) as client:
            response = client.post("/api/v1/mentions", json=order)
            assert response.status_code in (200, 201), response.text
            reports.append(response.json())

    threads = [threading.Thread(target=post, args=(items[::step],)) for step in (1, -1, 1, -1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [i["external_id"] for report in reports for i in report["items"] if i["status"] == "created"]
    assert sorted(created) == sorted(i["external_id"] for i in items)  # each exactly once
    assert _count(engine) == len(items)


def test_stored_mentions_go_through_the_pipeline(engine: Engine, manager: TestClient, seeded: Seeded) -> None:
    response = manager.post(
        "/api/v1/mentions", json=[review("p-1"), review("p-2", text="Other thing", brand="Other")]
    )
    assert response.status_code == 201
    ids = [i["id"] for i in response.json()["items"]]
    settings = Settings()
    pipeline = Pipeline(engine, settings, classifier_factory=lambda: build_classifier(settings.classifier))
    pipeline.run_stage("match")
    link, brand = table_of(MentionBrand), table_of(Brand)
    with engine.connect() as conn:
        matched = conn.execute(
            sa.select(link.c.mention_id, brand.c.name)
            .join(brand, brand.c.id == link.c.brand_id)
            .where(link.c.mention_id.in_(ids))
            .order_by(link.c.mention_id)
        ).all()
        pending = conn.execute(
            sa.select(sa.func.count()).where(_MENTION.c.id.in_(ids), _MENTION.c.classified_at.is_(None))
        ).scalar_one()
    assert [tuple(row) for row in matched] == [
        (ids[0], "Acme"),
        (ids[1], "Other"),
    ]  # keyword; the brand field
    assert pending == 2  # next: the classify stage


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("none", 401, "missing_api_key"), ("viewer", 403, "forbidden_role"), ("scoped", 403, "forbidden_brand")],
)
def test_roles_and_brand_scopes_store_nothing(
    engine: Engine, keys: dict[str, str], who: str, status: int, code: str
) -> None:
    headers = {} if who == "none" else {"Authorization": f"Bearer {keys[who]}"}
    client_class = KeylessClient if who == "none" else TestClient
    with client_class(build_app(engine), headers=headers) as client:
        response = client.post(
            "/api/v1/mentions", json=[review("s-1", brand="Other"), review("s-2", brand="Acme")]
        )
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code
    assert _count(engine) == 0


def test_a_scoped_key_posts_for_its_own_brand(engine: Engine, keys: dict[str, str]) -> None:
    with TestClient(build_app(engine), headers={"Authorization": f"Bearer {keys['scoped']}"}) as client:
        response = client.post("/api/v1/mentions", json=[review("s-1"), review("s-2", brand="other")])
    assert response.status_code == 201, response.text
    with engine.connect() as conn:
        hints = conn.execute(
            sa.select(_MENTION.c.brand_hint).where(_MENTION.c.source == "ownsite").order_by(_MENTION.c.id)
        ).scalars()
        assert list(hints) == ["Other", "other"]  # no brand: the key's own


def test_a_forgotten_author_is_not_brought_back(engine: Engine, manager: TestClient) -> None:
    from monitor.authors.forget import forget_author

    first = manager.post("/api/v1/mentions", json=review("f-1")).json()["items"][0]
    identity, mention = table_of(AuthorIdentity), _MENTION
    with engine.begin() as conn:
        author_id = conn.execute(
            sa.select(identity.c.author_id)
            .join(mention, mention.c.author_identity_id == identity.c.id)
            .where(mention.c.id == first["id"])
        ).scalar_one()
        forget_author(conn, author_id)
    response = manager.post(
        "/api/v1/mentions", json=[review("f-1"), review("f-2"), review("f-3", author={"handle": "other"})]
    )
    assert response.status_code == 201, response.text
    assert [(i["status"], i["id"] is None) for i in response.json()["items"]] == [
        ("forgotten", True),
        ("forgotten", True),
        ("created", False),
    ]
    assert _count(engine) == 1


@pytest.mark.parametrize("depth", [256, 1000])
def test_a_deeply_nested_item_is_rejected_and_the_rest_is_kept(
    engine: Engine, manager: TestClient, depth: int
) -> None:
    # by hand: json.dumps recurses in C and stops at about 1,000 levels
    nested = "[" * depth + '"bottom"' + "]" * depth
    body = json.dumps([review("d-1"), review("d-2", extra={"payload": "NESTED"}), review("d-3")])
    response = manager.post(
        "/api/v1/mentions",
        content=body.replace('"NESTED"', nested).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    report = response.json()
    assert [(i["index"], i["status"], i["reason"]) for i in report["items"]] == [
        (0, "created", None),
        (1, "rejected", f"'extra' is nested deeper than {MAX_DEPTH} levels; flatten it or leave it out"),
        (2, "created", None),
    ]
    assert _count(engine) == 2
