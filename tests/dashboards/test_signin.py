"""Signing in to the dashboard (../shared/RELIABILITY.md S-9, S-10): sessions, limited attempts, form
tokens on every POST, roles, expiry, and the language a page is in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from monitor.service.sessions import SESSION_IDLE, SESSION_LIFETIME
from monitor.storage.models import MentionLabel, User, WebSession
from monitor.storage.tables import table_of
from tests.api.conftest import NOW, KeylessClient, Seeded, build_app, seed
from tests.dashboards.signin_helpers import PASSWORD, browser, form_token, make_user, now_is, sign_in


@pytest.fixture
def seeded_ids(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def app(engine: Engine, seeded_ids: Seeded) -> FastAPI:
    for name, role in (("vera", "viewer"), ("max", "manager"), ("ada", "admin")):
        make_user(engine, name, role=role)
    return build_app(engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[KeylessClient]:
    with browser(app) as test_client:
        yield test_client


def _session_cookie(response: Any) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "wom_session=" in v]
    assert len(cookies) == 1, response.headers
    return str(cookies[0])


def _labels(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table_of(MentionLabel))).all())


def test_a_browser_without_a_session_is_sent_to_sign_in(client: KeylessClient) -> None:
    response = client.get("/", params={"brand": "Rival"})
    assert (response.status_code, response.headers["location"]) == (303, "/signin?next=%2F%3Fbrand%3DRival")
    page = client.get("/signin")
    assert page.status_code == 200
    assert '<input id="password" name="password" type="password"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_sign_in_sets_a_server_side_session_cookie(client: KeylessClient, engine: Engine) -> None:
    response = sign_in(client, "max", next_page="/?brand=Rival")
    assert (response.status_code, response.headers["location"]) == (303, "/?brand=Rival")
    cookie = _session_cookie(response)
    token = re.match(r"wom_session=([^;]+);", cookie)
    assert token is not None
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax"} <= attributes
    assert "secure" not in attributes  # over http; see the https test
    # the cookie is random, not an API key or anything about the user; the table holds only its digest
    assert not token.group(1).startswith("wom_") and "max" not in token.group(1)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table_of(WebSession))).all()
    assert len(rows) == 1 and token.group(1) not in str(tuple(rows[0]))
    assert rows[0].expires_at == NOW + SESSION_LIFETIME
    page = client.get("/", params={"brand": "Rival"})
    assert page.status_code == 200
    assert '<span class="who">max <span class="role">(manager)</span></span>' in page.text


def test_cookie_is_secure_over_https(app: FastAPI) -> None:
    with browser(app, base_url="https://testserver") as secure:
        cookie = _session_cookie(sign_in(secure, "vera"))
        assert cookie.startswith("__Host-wom_session=")
        assert "secure" in cookie.lower()
        assert secure.get("/").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(client: KeylessClient) -> None:
    answers = [sign_in(client, "max", "not the password at all"), sign_in(client, "nobody", PASSWORD)]
    for answer in answers:
        assert answer.status_code == 401
        assert "That user name and password do not match." in answer.text
        assert "wom_session=" not in answer.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303


def test_failed_attempts_are_limited_per_user_name(client: KeylessClient) -> None:
    for _ in range(5):
        assert sign_in(client, "max", "wrong password, again").status_code == 401
    refused = sign_in(client, "max")  # the right password no longer helps for now
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too many failed attempts." in refused.text
    assert sign_in(client, "vera").status_code == 303  # another name is not held up


def test_failed_attempts_are_limited_per_address(client: KeylessClient) -> None:
    for number in range(20):
        assert sign_in(client, f"guess{number}", "wrong password here").status_code == 401
    assert sign_in(client, "vera").status_code == 429


def test_sign_out_ends_the_session_and_the_old_cookie_is_worthless(
    app: FastAPI, client: KeylessClient
) -> None:
    sign_in(client, "vera")
    page = client.get("/")
    assert page.status_code == 200
    old_cookie = dict(client.cookies)
    assert client.get("/signout").status_code == 405  # no GET has side effects
    out = client.post("/signout", data={"csrf": form_token(page.text)})
    assert (out.status_code, out.headers["location"]) == (303, "/signin")
    assert 'wom_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    with browser(app, cookies=old_cookie) as replay:
        assert replay.get("/").status_code == 303
        replay.headers["Accept"] = "application/json"
        assert replay.get("/").status_code == 401


def test_a_post_without_the_form_token_is_refused(
    client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    sign_in(client, "max")
    token = form_token(client.get("/").text)
    mention = seeded_ids.mentions["m02"]
    url = f"/mentions/{mention}/sentiment"
    refused = [
        client.post(url, data={"sentiment": "positive"}),
        client.post(url, data={"sentiment": "positive", "csrf": "x" + token[1:]}),
        client.post(
            url, data={"sentiment": "positive", "csrf": token}, headers={"Origin": "https://evil.example"}
        ),
        client.post(
            url, data={"sentiment": "positive", "csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}
        ),
        client.post("/signout", data={}),
        client.post("/language", data={"language": "nl"}),
    ]
    assert [r.status_code for r in refused] == [403] * 6
    assert _labels(engine) == []
    done = client.post(
        url,
        data={"sentiment": "positive", "csrf": token, "next": "/"},
        headers={"Origin": "http://testserver"},
    )
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert [(row.mention_id, row.sentiment, row.labeled_by) for row in _labels(engine)] == [
        (mention, "positive", "user:max")
    ]


def test_a_token_from_another_session_is_refused(
    app: FastAPI, client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    with browser(app) as other:
        sign_in(other, "ada")
        other_token = form_token(other.get("/").text)
    sign_in(client, "max")
    url = f"/mentions/{seeded_ids.mentions['m02']}/sentiment"
    assert client.post(url, data={"sentiment": "positive", "csrf": other_token}).status_code == 403
    assert _labels(engine) == []


def test_a_viewer_sees_but_cannot_act(
    app: FastAPI, client: KeylessClient, engine: Engine, seeded_ids: Seeded
) -> None:
    sign_in(client, "vera")
    page = client.get("/").text
    assert "/sentiment" not in page  # no correction forms for a viewer
    url = f"/mentions/{seeded_ids.mentions['m02']}/sentiment"
    refused = client.post(url, data={"sentiment": "positive", "csrf": form_token(page)})
    assert refused.status_code == 403
    # a page for the person, with the API's message, their navigation and the way back
    assert refused.headers["content-type"].startswith("text/html")
    assert "<h1>Not allowed</h1>" in refused.text
    assert "your account may not do it" in refused.text
    assert "correcting a label needs the role manager or admin" in refused.text
    assert 'href="/inbox"' in refused.text
    assert _labels(engine) == []
    # a script reading with a key keeps the API's JSON
    assert (
        client.get("/authors/999999", headers={"authorization": f"Bearer {app.state.test_key}"}).json()[
            "error"
        ]["code"]
        == "unknown_author"
    )


def test_a_missing_page_is_explained_in_the_visitors_language(client: KeylessClient) -> None:
    sign_in(client, "vera")
    english = client.get("/authors/999999")
    assert english.status_code == 404
    assert "<h1>Not found</h1>" in english.text and "an author may have been merged" in english.text
    assert "Niet gevonden" not in english.text
    client.post("/language", data={"language": "nl", "csrf": form_token(client.get("/").text)})
    dutch = client.get("/authors/999999")
    assert dutch.status_code == 404
    assert dutch.headers["content-type"].startswith("text/html")
    assert "<h1>Niet gevonden</h1>" in dutch.text
    assert "een auteur kan met een andere zijn samengevoegd of vergeten" in dutch.text
    assert "there is no author 999999" in dutch.text  # the API's message stays, as the detail


def test_a_manager_sees_the_correction_forms(client: KeylessClient) -> None:
    sign_in(client, "max")
    assert 'action="/mentions/' in client.get("/").text


def test_a_session_ends_when_idle_and_at_its_lifetime(app: FastAPI, client: KeylessClient) -> None:
    sign_in(client, "vera")
    now_is(app, NOW + SESSION_IDLE - timedelta(minutes=1))
    assert client.get("/").status_code == 200  # the request keeps it alive
    now_is(app, NOW + 2 * SESSION_IDLE - timedelta(minutes=2))
    assert client.get("/").status_code == 200
    now_is(app, NOW + 3 * SESSION_IDLE)
    assert client.get("/").status_code == 303  # idle too long
    sign_in(client, "vera")
    for hours in range(6, 24 * 7, 6):  # used all week, never idle
        now_is(app, NOW + 3 * SESSION_IDLE + timedelta(hours=hours))
        assert client.get("/").status_code == 200
    now_is(app, NOW + 3 * SESSION_IDLE + SESSION_LIFETIME)
    assert client.get("/").status_code == 303


def test_an_inactive_user_is_signed_out(client: KeylessClient, engine: Engine) -> None:
    sign_in(client, "vera")
    assert client.get("/").status_code == 200
    with engine.begin() as conn:
        conn.execute(sa.update(table_of(User)).where(table_of(User).c.name == "vera").values(active=False))
    assert client.get("/").status_code == 303


def test_language_from_the_browser_then_switched_and_kept(client: KeylessClient, engine: Engine) -> None:
    assert (
        "<h1>Aanmelden</h1>"
        in client.get("/signin", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}).text
    )
    assert "<h1>Sign in</h1>" in client.get("/signin", headers={"Accept-Language": "de, en;q=0.5"}).text
    sign_in(client, "vera")
    page = client.get("/")
    assert '<html lang="en">' in page.text and ">Overview</a>" in page.text
    switched = client.post(
        "/language", data={"language": "nl", "csrf": form_token(page.text), "next": "/?brand=Rival"}
    )
    assert (switched.status_code, switched.headers["location"]) == (303, "/?brand=Rival")
    page = client.get("/", params={"brand": "Rival"}, headers={"Accept-Language": "en"})
    assert (
        '<html lang="nl">' in page.text
        and ">Overzicht</a>" in page.text
        and ">Afmelden</button>" in page.text
    )
    with engine.connect() as conn:
        language = conn.execute(
            sa.select(table_of(User).c.language).where(table_of(User).c.name == "vera")
        ).scalar()
    assert language == "nl"  # the person's preference, on every browser they sign in on


def test_times_are_in_the_users_time_zone(engine: Engine, app: FastAPI) -> None:
    make_user(engine, "tokyo", role="viewer", timezone="Asia/Tokyo")
    with browser(app) as client:
        sign_in(client, "tokyo")
        html = client.get("/sources").text
    assert "Times in Asia/Tokyo" in html
    # the runs started at 11:00 and 11:30 UTC, nine hours on in Tokyo
    assert "2026-11-20 20:00" in html and "2026-11-20 20:30" in html
    assert "2026-11-20 11:00" not in html


def test_next_never_leaves_the_site(client: KeylessClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = sign_in(client, "vera", next_page=target)
        assert response.headers["location"] == "/", target
