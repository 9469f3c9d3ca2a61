"""A brand-scoped key (`wom apikey create --brand`): the mentions it posts are linked only to its brand and
that brand's competitors, whatever their text names, also when matched again; and it reads only those
brands' names on mentions that are about other brands too. SQLite and PostgreSQL, through the real app."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.classify.factory import build_classifier
from monitor.config import Settings
from monitor.pipeline import Pipeline
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import Brand, Mention, MentionBrand
from monitor.storage.tables import table_of
from tests.api.conftest import Seeded, TestClient, build_app

_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)


def _review(external_id: str, text: str, **fields: object) -> dict[str, object]:
    return {
        "source": "ownsite",
        "external_id": external_id,
        "text": text,
        "created_at": "2026-11-20T10:00:00Z",
        "author": {"handle": "shopper"},
        **fields,
    }


def _match(engine: Engine) -> None:
    settings = Settings()
    Pipeline(engine, settings, classifier_factory=lambda: build_classifier(settings.classifier)).run_stage(
        "match"
    )


def _links(engine: Engine, ids: Sequence[int]) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_LINK.c.mention_id, _BRAND.c.name)
            .join(_BRAND, _BRAND.c.id == _LINK.c.brand_id)
            .where(_LINK.c.mention_id.in_(ids))
            .order_by(_LINK.c.mention_id, _BRAND.c.name)
        ).all()
    return [(mention_id, name) for mention_id, name in rows]


def _client(engine: Engine, key: str) -> TestClient:
    return TestClient(build_app(engine), headers={"Authorization": f"Bearer {key}"})


def test_a_scoped_keys_mentions_are_linked_only_to_its_brands(engine: Engine, seeded: Seeded) -> None:
    key = create_api_key(engine, role="manager", brand="Acme").key
    with _client(engine, key) as client:
        response = client.post(
            "/api/v1/mentions",
            json=[
                _review("k-1", "Acme, Rival or Other: which one?"),
                _review("k-2", "Other is the best, truly"),
                _review("k-3", "Rival and other shops", brand="Rival"),
            ],
        )
    assert response.status_code == 201, response.text
    ids = [item["id"] for item in response.json()["items"]]
    _match(engine)
    expected = [
        (ids[0], "Acme"),  # the key's brand (no brand given)
        (ids[0], "Rival"),  # a competitor of Acme, named in the text
        (ids[1], "Acme"),  # not Other, although the text names it
        (ids[2], "Rival"),
    ]
    assert _links(engine, ids) == expected
    # matched again from scratch (the brand rules changed, a re-run), the links are the same
    with engine.begin() as conn:
        conn.execute(sa.delete(_LINK).where(_LINK.c.mention_id.in_(ids)))
        conn.execute(sa.update(_MENTION).where(_MENTION.c.id.in_(ids)).values(matched_at=None))
    _match(engine)
    assert _links(engine, ids) == expected


def test_a_key_without_brand_still_links_every_brand_named(engine: Engine, seeded: Seeded) -> None:
    key = create_api_key(engine, role="manager").key
    with _client(engine, key) as client:
        response = client.post("/api/v1/mentions", json=[_review("u-1", "Acme, Rival or Other?")])
    assert response.status_code == 201, response.text
    mention_id = response.json()["items"][0]["id"]
    _match(engine)
    assert _links(engine, [mention_id]) == [
        (mention_id, "Acme"),
        (mention_id, "Other"),
        (mention_id, "Rival"),
    ]


@pytest.fixture
def shared(engine: Engine, seeded: Seeded) -> Iterator[int]:
    """m01 (carol, about Acme) is about Other too, as a collector matching both would leave it."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(_LINK).values(mention_id=seeded.mentions["m01"], brand_id=seeded.brands["Other"])
        )
    yield seeded.mentions["m01"]


def _brands_of(items: list[dict[str, object]], mention_id: int) -> object:
    return next(item["brands"] for item in items if item["id"] == mention_id)


def test_a_scoped_key_sees_only_its_brands_names_on_a_shared_mention(
    engine: Engine, seeded: Seeded, shared: int
) -> None:
    with TestClient(build_app(engine)) as admin:
        listed = admin.get("/api/v1/mentions", params={"brand": "Acme", "limit": 100}).json()["items"]
        assert _brands_of(listed, shared) == ["Acme", "Other"]  # a key without --brand sees every brand
    acme_key = create_api_key(engine, role="manager", brand="Acme").key
    other_key = create_api_key(engine, role="viewer", brand="Other").key
    with _client(engine, acme_key) as acme, _client(engine, other_key) as other:
        listed = acme.get("/api/v1/mentions", params={"limit": 100}).json()["items"]
        assert _brands_of(listed, shared) == ["Acme"]
        assert _brands_of(listed, seeded.mentions["m04"]) == ["Acme", "Rival"]  # its competitor: seen
        assert all("Other" not in item["brands"] for item in listed)
        listed = other.get("/api/v1/mentions", params={"brand": "Other"}).json()["items"]
        assert _brands_of(listed, shared) == ["Other"]
        profile = acme.get(f"/api/v1/authors/{seeded.authors['carol']}").json()
        assert _brands_of(profile["mentions"]["items"], shared) == ["Acme"]
        profile = other.get(f"/api/v1/authors/{seeded.authors['carol']}").json()
        assert [item["brands"] for item in profile["mentions"]["items"]] == [["Other"]]
        labelled = acme.put(f"/api/v1/mentions/{shared}/label", json={"sentiment": "negative"})
        assert labelled.status_code == 200, labelled.text
        assert labelled.json()["brands"] == ["Acme"]
        undone = acme.delete(f"/api/v1/mentions/{shared}/label")
        assert undone.json()["brands"] == ["Acme"]
