"""The author page: accounts, figures, segment history and timeline; merge (with a suggestion) and split by a
manager, forget and export by an admin; viewers and forms without their token refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from monitor.storage.models import Author, AuthorIdentity
from monitor.storage.tables import table_of
from tests.api.conftest import NOW, KeylessClient, Seeded, build_app, seed
from tests.dashboards.signin_helpers import browser, form_token, make_user, sign_in

_IDENTITY = table_of(AuthorIdentity)


@pytest.fixture
def seeded_ids(engine: Engine) -> Seeded:
    seeded = seed(engine)
    with engine.begin() as conn:  # bob on reddit as a second author: the same handle, a merge suggestion
        bob2 = conn.execute(
            sa.insert(table_of(Author)).values(
                display_name="", forgotten=False, created_at=NOW - timedelta(days=1)
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(_IDENTITY).values(
                author_id=bob2,
                source="reddit",
                identity_key="u/bob",
                handle="u/bob",
                name="",
                reach=5,
                reach_kind="followers",
                updated_at=NOW,
            )
        )
    seeded.authors["bob2"] = bob2
    return seeded


@pytest.fixture
def app(engine: Engine, seeded_ids: Seeded) -> FastAPI:
    for name, role in (("vera", "viewer"), ("max", "manager"), ("ada", "admin")):
        make_user(engine, name, role=role, timezone="Europe/Amsterdam")
    return build_app(engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[KeylessClient]:
    with browser(app) as test_client:
        yield test_client


def _owners(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(_IDENTITY.c.handle, _IDENTITY.c.author_id)).all())  # type: ignore[arg-type]


def test_the_page_shows_accounts_history_and_timeline(client: KeylessClient, seeded_ids: Seeded) -> None:
    sign_in(client, "vera")
    response = client.get(f"/authors/{seeded_ids.authors['bob']}")
    assert response.status_code == 200
    html = response.text
    assert "<title>wom · Bob</title>" in html
    assert '<td data-label="Handle">@bob</td>' in html
    assert "2026-11-20 11:00 · Acme: occasional → critic" in html  # 10:00 UTC in Amsterdam
    assert "acme billing is a mess again" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt; acme" in html
    assert "/merge" not in html and "/split" not in html and "/forget" not in html  # a viewer's page
    assert client.get("/authors/999999").status_code == 404


def test_a_manager_merges_a_suggested_author(
    client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    bob, bob2 = seeded_ids.authors["bob"], seeded_ids.authors["bob2"]
    sign_in(client, "max")
    html = client.get(f"/authors/{bob}").text
    assert "Same handle bob: reddit u/bob" in html
    assert f"Merge author {bob2} into this one" in html
    assert "/forget" not in html  # forgetting is for admins
    done = client.post(f"/authors/{bob}/merge", data={"csrf": form_token(html), "merged": str(bob2)})
    assert (done.status_code, done.headers["location"]) == (303, f"/authors/{bob}")
    assert _owners(engine)["u/bob"] == bob
    after = client.get(f"/authors/{bob}").text
    assert '<td data-label="Handle">u/bob</td>' in after and "Same handle" not in after


def test_a_manager_splits_an_account_off(client: KeylessClient, engine: Engine, seeded_ids: Seeded) -> None:
    alice = seeded_ids.authors["alice"]
    sign_in(client, "max")
    html = client.get(f"/authors/{alice}").text
    identity = _IDENTITY.c
    with engine.connect() as conn:
        reddit = conn.execute(sa.select(identity.id).where(identity.handle == "u/alice")).scalar_one()
    done = client.post(f"/authors/{alice}/split", data={"csrf": form_token(html), "identity": str(reddit)})
    assert done.status_code == 303
    new_author = _owners(engine)["u/alice"]
    assert new_author != alice and done.headers["location"] == f"/authors/{new_author}"
    assert _owners(engine)["@alice_x"] == alice


def test_an_admin_exports_and_forgets(client: KeylessClient, engine: Engine, seeded_ids: Seeded) -> None:
    erin = seeded_ids.authors["erin"]
    sign_in(client, "ada")
    html = client.get(f"/authors/{erin}").text
    exported = client.get(f"/authors/{erin}/export.json")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == f'attachment; filename="wom-author-{erin}.json"'
    assert "u/erin" in json.dumps(json.loads(exported.text))
    unconfirmed = client.post(f"/authors/{erin}/forget", data={"csrf": form_token(html)})
    assert unconfirmed.status_code == 422 and "u/erin" in _owners(engine)
    done = client.post(f"/authors/{erin}/forget", data={"csrf": form_token(html), "confirm": "yes"})
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert "u/erin" not in _owners(engine)
    assert client.get(f"/authors/{erin}").status_code == 404


def test_viewers_managers_and_missing_tokens_are_refused(
    app: FastAPI, client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    bob, bob2, erin = (seeded_ids.authors[k] for k in ("bob", "bob2", "erin"))
    before = _owners(engine)
    sign_in(client, "vera")
    token = form_token(client.get(f"/authors/{bob}").text)
    assert client.post(f"/authors/{bob}/merge", data={"csrf": token, "merged": str(bob2)}).status_code == 403
    assert client.get(f"/authors/{erin}/export.json").status_code == 403
    with browser(app) as manager:
        sign_in(manager, "max")
        token = form_token(manager.get(f"/authors/{bob}").text)
        forget = manager.post(f"/authors/{erin}/forget", data={"csrf": token, "confirm": "yes"})
        assert forget.status_code == 403
        assert manager.post(f"/authors/{bob}/merge", data={"merged": str(bob2)}).status_code == 403
    assert _owners(engine) == before
