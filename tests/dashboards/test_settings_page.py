"""The settings pages on the real app and database (SQLite and PostgreSQL): one's own preferences and
password, API keys (shown once, working against /api/v1 until revoked), and the users an admin keeps;
every form refused without its token or for a role that may not make it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.read.users import UserOut, get_user, user_named
from tests.api.conftest import HOSTILE_TITLE, KeylessClient, build_app, seed
from tests.dashboards.signin_helpers import PASSWORD, browser, form_token, make_user, sign_in

NEW_PASSWORD = "a brand new passphrase for ada"


@pytest.fixture
def world(engine: Engine) -> Engine:
    seed(engine)
    make_user(engine, "ada", role="admin", timezone="Europe/Amsterdam")
    make_user(engine, "max", role="manager")
    make_user(engine, "vera", role="viewer", language="nl")
    return engine


def _signed_in(engine: Engine, name: str, password: str = PASSWORD) -> KeylessClient:
    client = browser(build_app(engine))
    assert sign_in(client, name, password).status_code == 303
    return client


@pytest.fixture
def admin(world: Engine) -> Iterator[KeylessClient]:
    with _signed_in(world, "ada") as client:
        yield client


@pytest.fixture
def viewer(world: Engine) -> Iterator[KeylessClient]:
    with _signed_in(world, "vera") as client:
        yield client


def _user(engine: Engine, name: str) -> UserOut:
    with Session(engine) as session:
        found = user_named(session, name)
    assert found is not None
    return found


def _post(client: KeylessClient, page: str, action: str, data: dict[str, str]) -> Any:
    return client.post(action, data={"csrf": form_token(client.get(page).text), **data})


PREFERENCES = {
    "display_name": "Ada L.",
    "language": "en",
    "timezone": "America/Curacao",
    "kind-negative_spike": "on",
    "kind-complaint_to_answer": "on",
    "min_severity": "warning",
    "delivery": "digest_only",
    "digest_hour": "7",
    "quiet_start": "22:00",
    "quiet_end": "06:30",
}


def test_saving_preferences_changes_the_user(admin: KeylessClient, world: Engine) -> None:
    saved = _post(admin, "/settings", "/settings/preferences", PREFERENCES)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/settings?done=saved"
    ada = _user(world, "ada")
    assert (ada.display_name, ada.language, ada.timezone) == ("Ada L.", "en", "America/Curacao")
    prefs = ada.preferences
    assert prefs.alert_kinds == ["complaint_to_answer", "negative_spike"]
    assert (prefs.min_severity, prefs.delivery, prefs.digest_hour) == ("warning", "digest_only", 7)
    assert prefs.quiet_hours is not None
    assert (prefs.quiet_hours.start, prefs.quiet_hours.end) == (time(22, 0), time(6, 30))
    page = admin.get("/settings?done=saved").text
    assert '<p class="notice done" role="status">Saved</p>' in page
    assert (
        'value="America/Curacao"' in page
        and 'id="kind-negative_spike" name="kind-negative_spike" checked' in page
    )
    # no quiet hours, and in Dutch from now on
    _post(
        admin,
        "/settings",
        "/settings/preferences",
        PREFERENCES | {"quiet_start": "", "quiet_end": "", "language": "nl"},
    )
    assert _user(world, "ada").preferences.quiet_hours is None
    dutch = admin.get("/settings?done=saved").text
    assert '<html lang="nl">' in dutch and ">Opgeslagen</p>" in dutch and ">Instellingen</a>" in dutch


def test_a_kind_raised_no_more_is_offered_only_to_those_who_follow_it(
    admin: KeylessClient, world: Engine
) -> None:
    box = 'id="kind-complaint_to_answer"'
    page = admin.get("/settings").text
    assert 'id="kind-negative_spike"' in page and box not in page
    # preferences that name it keep it on the page, ticked, and saving the page keeps it
    _post(admin, "/settings", "/settings/preferences", PREFERENCES)
    assert f'{box} name="kind-complaint_to_answer" checked' in admin.get("/settings").text
    _post(admin, "/settings", "/settings/preferences", PREFERENCES | {"display_name": "Ada"})
    assert _user(world, "ada").preferences.alert_kinds == ["complaint_to_answer", "negative_spike"]
    # dropped once, it is offered no more
    without = {k: v for k, v in PREFERENCES.items() if k != "kind-complaint_to_answer"}
    _post(admin, "/settings", "/settings/preferences", without)
    assert _user(world, "ada").preferences.alert_kinds == ["negative_spike"]
    assert box not in admin.get("/settings").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "That is not a time zone; give a name like Europe/Amsterdam or UTC."),
        ("digest_hour", "24", "Give the hour of the digest as a whole number from 0 to 23."),
        ("digest_hour", "seven", "Give the hour of the digest as a whole number from 0 to 23."),
        ("quiet_end", "", "Give a start and an end (like 22:00 and 07:00) that differ, or leave both empty."),
    ],
)
def test_a_bad_value_is_refused_next_to_its_field(
    admin: KeylessClient, world: Engine, field: str, value: str, message: str
) -> None:
    before = _user(world, "ada")
    refused = _post(admin, "/settings", "/settings/preferences", PREFERENCES | {field: value})
    assert refused.status_code == 422
    text = refused.text
    problem_id = "prefs-quiet_hours-problem" if field.startswith("quiet") else f"prefs-{field}-problem"
    assert f'<p class="problem" id="{problem_id}">{message}</p>' in text
    assert f'aria-describedby="{problem_id}"' in text or f' {problem_id}"' in text
    assert f'value="{value}"' in text or field == "quiet_end"  # what was typed stays in the field
    assert _user(world, "ada") == before  # nothing was saved


def test_a_bad_zone_is_refused_in_dutch(viewer: KeylessClient, world: Engine) -> None:
    refused = _post(
        viewer,
        "/settings",
        "/settings/preferences",
        PREFERENCES | {"language": "nl", "timezone": "Amsterdam"},
    )
    assert refused.status_code == 422
    assert "Dat is geen tijdzone; geef een naam als Europe/Amsterdam of UTC." in refused.text
    assert _user(world, "vera").timezone == "UTC"


def test_changing_the_password_ends_the_other_sessions(world: Engine) -> None:
    with _signed_in(world, "ada") as here, _signed_in(world, "ada") as elsewhere:
        wrong = _post(
            here,
            "/settings",
            "/settings/password",
            {"current_password": "not it at all!", "password": NEW_PASSWORD, "repeat": NEW_PASSWORD},
        )
        assert wrong.status_code == 422
        assert "That is not your current password." in wrong.text
        differ = _post(
            here,
            "/settings",
            "/settings/password",
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"},
        )
        assert "The two new passwords differ" in differ.text
        short = _post(
            here,
            "/settings",
            "/settings/password",
            {"current_password": PASSWORD, "password": "short", "repeat": "short"},
        )
        assert short.status_code == 422 and "Use 12 to 1024 characters" in short.text
        assert elsewhere.get("/settings").status_code == 200  # nothing changed so far

        changed = _post(
            here,
            "/settings",
            "/settings/password",
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD},
        )
        assert changed.status_code == 303
        assert here.get("/settings?done=password").status_code == 200  # this session goes on
        gone = elsewhere.get("/settings")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")
    with browser(build_app(world)) as client:
        assert sign_in(client, "ada").status_code == 401
        assert sign_in(client, "ada", NEW_PASSWORD).status_code == 303


def _new_key(page: str) -> str:
    found = re.findall(r'<code class="secret" id="new-key">([^<]+)</code>', page)
    assert len(found) == 1, page[:300]
    return found[0]


def test_a_key_is_shown_once_works_and_is_revoked(world: Engine) -> None:
    with _signed_in(world, "max") as manager:
        made = _post(
            manager,
            "/settings/keys",
            "/settings/keys",
            {"role": "viewer", "brand": "Acme", "label": "<b>report</b>"},
        )
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        key = _new_key(made.text)
        page = manager.get("/settings/keys").text
        assert key not in page and "new-key" not in page  # never again
        assert f"<code>{key[:12]}…</code>" in page and "&lt;b&gt;report&lt;/b&gt;" in page
        api = KeylessClient(build_app(world))
        assert api.get("/api/v1/brands", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        found = re.search(r'action="/settings/keys/(\d+)/revoke"', page)
        assert found is not None
        revoked = _post(manager, "/settings/keys", f"/settings/keys/{found.group(1)}/revoke", {})
        assert revoked.status_code == 303
        assert api.get("/api/v1/brands", headers={"Authorization": f"Bearer {key}"}).status_code == 401
        assert key[:12] not in manager.get("/settings/keys?done=revoked").text
    # another user cannot revoke a key that is not theirs; an admin sees and revokes every key
    with _signed_in(world, "max") as manager:
        other = _new_key(
            _post(manager, "/settings/keys", "/settings/keys", {"role": "manager", "brand": ""}).text
        )
    with _signed_in(world, "ada") as admin:
        row = re.search(
            rf"<code>{other[:12]}….*?action=\"/settings/keys/(\d+)/revoke\"",
            admin.get("/settings/keys").text,
            re.DOTALL,
        )
        assert row is not None
        key_id = int(row.group(1))
    with _signed_in(world, "vera") as viewer:
        assert _post(viewer, "/settings/keys", f"/settings/keys/{key_id}/revoke", {}).status_code == 404
    with _signed_in(world, "ada") as admin:
        page = admin.get("/settings/keys").text
        assert f"<code>{other[:12]}…</code>" in page and ">max</td>" in page
        assert _post(admin, "/settings/keys", f"/settings/keys/{key_id}/revoke", {}).status_code == 303
        assert other[:12] not in admin.get("/settings/keys").text


def test_a_viewer_cannot_make_a_manager_key(viewer: KeylessClient) -> None:
    page = viewer.get("/settings/keys").text
    assert '<option value="manager"' not in page  # not offered
    refused = _post(viewer, "/settings/keys", "/settings/keys", {"role": "manager", "brand": ""})
    assert refused.status_code == 403
    assert "<code>wom_" not in viewer.get("/settings/keys").text


def test_only_an_admin_keeps_users(world: Engine) -> None:
    with _signed_in(world, "max") as manager:
        assert manager.get("/settings/users").status_code == 403
        assert 'href="/settings/users"' not in manager.get("/settings").text
        ada = _user(world, "ada").id
        added = _post(
            manager,
            "/settings",
            "/settings/users",
            {"name": "eve", "email": "eve@acme.example", "role": "admin"},
        )
        assert added.status_code == 403
        assert _post(manager, "/settings", f"/settings/users/{ada}", {"role": "viewer"}).status_code == 403
        assert _post(manager, "/settings", f"/settings/users/{ada}/remove", {}).status_code == 403
    assert _user(world, "ada").role == "admin"
    with Session(world) as session:
        assert user_named(session, "eve") is None


def test_an_admin_adds_changes_and_removes_users(admin: KeylessClient, world: Engine) -> None:
    listed = admin.get("/settings/users").text
    assert listed.count('<article class="user') == 3 and "vera@acme.example" in listed
    added = _post(
        admin,
        "/settings/users",
        "/settings/users",
        {
            "name": "Eve",
            "email": "eve@acme.example",
            "display_name": "Eve",
            "role": "manager",
            "language": "nl",
            "brand-1": "on",
        },
    )
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    password = re.search(r'<code class="secret" id="new-password">([^<]+)</code>', added.text)
    assert password is not None
    eve = _user(world, "eve")
    assert (eve.role, eve.language, eve.brands, eve.active) == ("manager", "nl", ["Acme"], True)
    with browser(build_app(world)) as client:
        assert sign_in(client, "eve", password.group(1)).status_code == 303
    taken = _post(
        admin,
        "/settings/users",
        "/settings/users",
        {"name": "eve", "email": "x@acme.example", "role": "viewer", "language": "en"},
    )
    assert taken.status_code == 422 and "That login name is taken; choose another." in taken.text
    bad_mail = _post(
        admin,
        "/settings/users",
        "/settings/users",
        {"name": "fay", "email": "fay at home", "role": "viewer", "language": "en"},
    )
    assert 'id="new_user-email-problem">Give one e-mail address, like name@example.org.' in bad_mail.text

    changed = _post(admin, "/settings/users", f"/settings/users/{eve.id}", {"role": "viewer"})
    assert changed.status_code == 303
    eve = _user(world, "eve")
    assert (eve.role, eve.brands, eve.active) == ("viewer", [], False)  # unticked: every brand, inactive
    removed = _post(admin, "/settings/users", f"/settings/users/{eve.id}/remove", {})
    assert removed.status_code == 303
    with Session(world) as session:
        assert get_user(session, eve.id) is None


def test_the_last_admin_stays(admin: KeylessClient, world: Engine) -> None:
    ada = _user(world, "ada").id
    for action, data, field in (
        (f"/settings/users/{ada}", {"role": "manager", "active": "on"}, "role"),
        (f"/settings/users/{ada}", {"role": "admin"}, "active"),
        (f"/settings/users/{ada}/remove", {}, "remove"),
    ):
        refused = _post(admin, "/settings/users", action, data)
        assert refused.status_code == 422, action
        assert (
            f'id="user-{ada}-{field}-problem">This is the only active admin: make another user admin first.'
            in refused.text
        )
    ada_now = _user(world, "ada")
    assert (ada_now.role, ada_now.active) == ("admin", True)
    # with a second admin, the first may step down
    max_id = _user(world, "max").id
    assert (
        _post(
            admin, "/settings/users", f"/settings/users/{max_id}", {"role": "admin", "active": "on"}
        ).status_code
        == 303
    )
    assert (
        _post(
            admin, "/settings/users", f"/settings/users/{ada}", {"role": "manager", "active": "on"}
        ).status_code
        == 303
    )
    assert _user(world, "ada").role == "manager"


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("/settings/preferences", PREFERENCES),
        (
            "/settings/password",
            {"current_password": PASSWORD, "password": NEW_PASSWORD, "repeat": NEW_PASSWORD},
        ),
        ("/settings/keys", {"role": "viewer", "brand": ""}),
        ("/settings/users", {"name": "eve", "email": "eve@acme.example", "role": "admin"}),
    ],
)
def test_a_form_without_its_token_is_refused(
    admin: KeylessClient, world: Engine, action: str, data: dict[str, str]
) -> None:
    before = _user(world, "ada")
    assert admin.post(action, data=data).status_code == 403
    assert admin.post(action, data=data | {"csrf": "forged"}).status_code == 403
    token = form_token(admin.get("/settings").text)
    cross = admin.post(action, data=data | {"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert _user(world, "ada") == before
    with Session(world) as session:
        assert user_named(session, "eve") is None
    assert "<code>wom_" not in admin.get("/settings/keys").text.split("Every API key")[0]


def test_hostile_display_names_are_text(admin: KeylessClient, world: Engine) -> None:
    hostile = HOSTILE_TITLE + " <img src=x onerror=alert(4)>"
    saved = _post(admin, "/settings", "/settings/preferences", PREFERENCES | {"display_name": hostile})
    assert saved.status_code == 303
    for page in ("/settings", "/settings/users"):
        text = admin.get(page).text
        assert hostile not in text and "<script>" not in text and "<img" not in text
        assert "&lt;img src=x onerror=alert(4)&gt;" in text


def test_signed_out_and_key_visitors(world: Engine) -> None:
    app = build_app(world)
    with browser(app) as anonymous:
        gone = anonymous.get("/settings")
        assert gone.status_code == 303 and gone.headers["location"] == "/signin?next=%2Fsettings"
    with KeylessClient(app) as script:
        key = {"Authorization": f"Bearer {app.state.test_key}"}
        assert script.get("/settings", headers=key).status_code == 403  # settings are a person's
