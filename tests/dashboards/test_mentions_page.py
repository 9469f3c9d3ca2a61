"""The mentions page: filters, cursor paging, hostile text as text, and label correction by a manager
(a viewer is refused, a form without its token is refused)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from monitor.storage.models import AuthorBrandStats, MentionLabel
from monitor.storage.tables import table_of
from tests.api.conftest import HOSTILE_SCRIPT, KeylessClient, Seeded, build_app, seed
from tests.dashboards.signin_helpers import browser, form_token, make_user, sign_in


@pytest.fixture
def seeded_ids(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def app(engine: Engine, seeded_ids: Seeded) -> FastAPI:
    for name, role in (("vera", "viewer"), ("max", "manager")):
        make_user(engine, name, role=role, timezone="Europe/Amsterdam")
    return build_app(engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[KeylessClient]:
    with browser(app) as test_client:
        yield test_client


def _texts(html: str) -> list[str]:
    return re.findall(r'<p class="text">([^<]*)</p>', html)


def _labels(engine: Engine) -> list[tuple[int, str | None, str | None, str]]:
    label = table_of(MentionLabel).c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(label.mention_id, label.sentiment, label.intent, label.labeled_by))
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_filters_narrow_the_list(client: KeylessClient, seeded_ids: Seeded) -> None:
    sign_in(client, "vera")
    everything = client.get("/mentions")
    assert everything.status_code == 200
    assert len(_texts(everything.text)) == len(seeded_ids.mentions)
    complaints = client.get("/mentions", params={"brand": "Acme", "intent": "complaint", "period": "7"})
    # m10's newest classification (a complaint) wins over its first; m07 is 3 days old, m10 6 days
    assert _texts(complaints.text) == [
        "acme billing is a mess again",
        HOSTILE_SCRIPT.replace("<", "&lt;").replace(">", "&gt;"),
        "ACME delivered late, 2 stars",
        "Acme: eerst positief, later negatief",
    ]
    dutch = client.get("/mentions", params={"lang": "NL", "sentiment": "neutral"})
    assert _texts(dutch.text) == ["Acme of Rival? Rival is goedkoper"]
    searched = client.get("/mentions", params={"q": "ROUTER", "source": "mastodon"})
    assert _texts(searched.text) == ["Acme support fixed my router in minutes"]
    by_alice = client.get("/mentions", params={"author": str(seeded_ids.authors["alice"])})
    assert _texts(by_alice.text) == ["Acme saved my weekend", "Acme customer for 10 years"]
    assert 'value="' + str(seeded_ids.authors["alice"]) + '"' in by_alice.text


def test_times_are_local_and_links_only_http(client: KeylessClient, seeded_ids: Seeded) -> None:
    sign_in(client, "vera")
    html = client.get("/mentions", params={"q": "midnight"}).text
    assert "2026-11-19 00:30" in html  # 23:30 UTC in Amsterdam
    html = client.get("/mentions", params={"source": "reddit", "brand": "Acme"}).text
    assert "javascript:" not in html and "<script>alert" not in html
    hrefs = [h for h in re.findall(r'href="([^"]*)"', html) if h.startswith("http")]
    assert hrefs == []  # erin's javascript: URL is not drawn; the other reddit mentions have none


def test_an_unknown_brand_is_a_404_naming_the_brands(client: KeylessClient) -> None:
    sign_in(client, "vera")
    response = client.get("/mentions", params={"brand": "Nope"})
    assert response.status_code == 404
    assert "unknown brand &#39;Nope&#39;; valid brands: &#39;Acme&#39;" in response.text


def test_pages_follow_the_cursor(
    client: KeylessClient, seeded_ids: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dashboards.mention_pages.PAGE_SIZE", 7)
    sign_in(client, "vera")
    seen: list[str] = []
    url: str | None = "/mentions?brand=Acme&q=acme"
    pages = 0
    while url is not None:
        html = client.get(url).text
        seen += _texts(html)
        pages += 1
        older = re.search(r'<p class="older"><a href="([^"]*)">', html)
        url = older.group(1).replace("&amp;", "&") if older else None
        if url is not None:
            assert parse_qs(urlsplit(url).query)["brand"] == ["Acme"]  # the filters stay
    acme = [k for k in seeded_ids.mentions if k.startswith("m")]
    assert pages == 3
    assert len(seen) == len(set(seen)) == len(acme) == 15  # 7, 7 and 1, each once


def test_a_manager_corrects_a_label_and_the_rank_follows(
    client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    sign_in(client, "max")
    page = client.get("/mentions", params={"brand": "Acme", "q": "billing"})
    assert 'action="/mentions/' in page.text and 'name="intent"' in page.text
    mention = seeded_ids.mentions["m02"]
    done = client.post(
        f"/mentions/{mention}/sentiment",
        data={
            "csrf": form_token(page.text),
            "sentiment": "positive",
            "intent": "praise",
            "next": "/mentions?q=billing",
        },
    )
    assert (done.status_code, done.headers["location"]) == (303, "/mentions?q=billing")
    assert _labels(engine) == [(mention, "positive", "praise", "user:max")]
    after = client.get("/mentions", params={"q": "billing"}).text
    assert "corrected by user:max" in after
    assert '<option value="praise" selected>' in after
    stats = table_of(AuthorBrandStats).c
    with engine.connect() as conn:
        segment = conn.execute(
            sa.select(stats.segment).where(
                stats.author_id == seeded_ids.authors["bob"], stats.brand_id == seeded_ids.brands["Acme"]
            )
        ).scalar_one()
    assert segment != "critic"  # recomputed from bob's mentions with the label


def test_a_bad_intent_is_refused(client: KeylessClient, engine: Engine, seeded_ids: Seeded) -> None:
    sign_in(client, "max")
    token = form_token(client.get("/mentions").text)
    response = client.post(
        f"/mentions/{seeded_ids.mentions['m02']}/sentiment",
        data={"csrf": token, "sentiment": "positive", "intent": "rant"},
    )
    assert response.status_code == 422
    assert _labels(engine) == []


def test_a_viewer_sees_no_form_and_cannot_correct(
    client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    sign_in(client, "vera")
    page = client.get("/mentions").text
    assert "/sentiment" not in page
    refused = client.post(
        f"/mentions/{seeded_ids.mentions['m02']}/sentiment",
        data={"csrf": form_token(page), "sentiment": "positive", "intent": "praise"},
    )
    assert refused.status_code == 403
    assert _labels(engine) == []


def test_a_correction_without_the_form_token_is_refused(
    client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    sign_in(client, "max")
    response = client.post(
        f"/mentions/{seeded_ids.mentions['m02']}/sentiment",
        data={"sentiment": "positive", "intent": "praise"},
    )
    assert response.status_code == 403
    assert _labels(engine) == []
