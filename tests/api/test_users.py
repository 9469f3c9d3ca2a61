"""/api/v1/users on the real app and database: an admin manages every user; a key that belongs to a user
reads and changes that user's own settings and preferences, never their role; a viewer lists nobody."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.service.users import add_user
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import MentionLabel, User
from monitor.storage.tables import table_of
from tests.api.conftest import NOW, KeylessClient, Seeded, build_app, error_of, seed

CREATED = "2026-11-20T12:00:00Z"


@dataclass
class World:
    client: KeylessClient
    seeded: Seeded
    users: dict[str, int]
    keys: dict[str, str]

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[who]}"}
        return self.client.request(method, f"/api/v1{path}", json=body, headers=headers)


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    seeded = seed(engine)
    users: dict[str, int] = {}
    with engine.begin() as conn:
        users["ann"] = add_user(conn, name="ann", email="ann@example.org", role="admin", now=NOW)
        users["vic"] = add_user(
            conn,
            name="vic",
            email="vic@example.org",
            role="viewer",
            language="nl",
            timezone="Europe/Amsterdam",
            brands=["Acme"],
            now=NOW,
        )
        users["max"] = add_user(conn, name="max", email="max@example.org", role="manager", now=NOW)
    keys = {
        "admin": create_api_key(engine, role="admin", user="ann").key,
        "viewer": create_api_key(engine, role="viewer", brand="Acme", user="vic").key,
        "manager": create_api_key(engine, role="manager", user="max").key,
        "plain admin": create_api_key(engine, role="admin").key,
        "admin of Acme": create_api_key(engine, role="admin", brand="Acme").key,
    }
    with KeylessClient(build_app(engine)) as client:
        yield World(client, seeded, users, keys)


def _vic(world: World) -> dict[str, Any]:
    return {
        "id": world.users["vic"],
        "name": "vic",
        "display_name": "vic",
        "email": "vic@example.org",
        "role": "viewer",
        "language": "nl",
        "timezone": "Europe/Amsterdam",
        "brands": ["Acme"],
        "preferences": {
            "alert_kinds": [],
            "min_severity": "critical",
            "delivery": "immediate",
            "digest_hour": 8,
            "quiet_hours": None,
        },
        "has_password": False,
        "active": True,
        "created_at": CREATED,
    }


def test_an_admin_lists_and_reads_users(world: World) -> None:
    listed = world.call("admin", "GET", "/users")
    assert listed.status_code == 200, listed.text
    assert [u["name"] for u in listed.json()["items"]] == ["ann", "max", "vic"]
    assert listed.json()["items"][2] == _vic(world)
    assert "password_hash" not in listed.text
    one = world.call("plain admin", "GET", f"/users/{world.users['vic']}")
    assert (one.status_code, one.json()) == (200, _vic(world))


@pytest.mark.parametrize("who", ["viewer", "manager"])
def test_a_viewer_or_manager_cannot_list_or_change_users(world: World, who: str) -> None:
    for method, path, body in [
        ("GET", "/users", None),
        ("POST", "/users", {"name": "eve", "email": "eve@example.org"}),
        ("GET", f"/users/{world.users['ann']}", None),
        ("PATCH", f"/users/{world.users['ann']}", {"role": "viewer"}),
        ("DELETE", f"/users/{world.users['ann']}", None),
    ]:
        response = world.call(who, method, path, body)
        assert (response.status_code, error_of(response)["code"]) == (403, "forbidden_role"), path
    assert world.call("admin", "GET", f"/users/{world.users['ann']}").json()["role"] == "admin"


def test_a_brand_scoped_admin_key_manages_no_users(world: World) -> None:
    response = world.call("admin of Acme", "GET", "/users")
    assert (response.status_code, error_of(response)["code"]) == (403, "forbidden_brand")


def test_a_user_reads_and_changes_their_own_settings_and_preferences(world: World) -> None:
    me = world.call("viewer", "GET", "/users/me")
    assert (me.status_code, me.json()) == (200, _vic(world))
    changed = world.call(
        "viewer",
        "PATCH",
        "/users/me",
        {"display_name": "Vic V.", "timezone": "America/New_York", "preferences": {"digest_hour": 6}},
    )
    assert changed.status_code == 200, changed.text
    want = _vic(world) | {"display_name": "Vic V.", "timezone": "America/New_York"}
    want["preferences"] = want["preferences"] | {"digest_hour": 6}
    assert changed.json() == want
    preferences = world.call(
        "viewer",
        "PATCH",
        "/users/me/preferences",
        {
            "alert_kinds": ["negative_spike"],
            "min_severity": "warning",
            "delivery": "digest_only",
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
    )
    assert preferences.status_code == 200, preferences.text
    assert preferences.json() == {
        "alert_kinds": ["negative_spike"],
        "min_severity": "warning",
        "delivery": "digest_only",
        "digest_hour": 6,
        "quiet_hours": {"start": "22:00:00", "end": "07:00:00"},
    }
    assert world.call("viewer", "GET", "/users/me/preferences").json() == preferences.json()
    cleared = world.call("viewer", "PATCH", "/users/me/preferences", {"quiet_hours": None})
    assert cleared.json()["quiet_hours"] is None and cleared.json()["delivery"] == "digest_only"


@pytest.mark.parametrize("field", ["role", "brands", "name", "active"])
def test_a_user_cannot_change_their_own_role_brands_name_or_activity(world: World, field: str) -> None:
    value = {"role": "admin", "brands": [], "name": "root", "active": True}[field]
    response = world.call("viewer", "PATCH", "/users/me", {field: value})
    assert response.status_code == 422
    assert error_of(response)["message"].startswith(f"field 'body.{field}': Extra inputs are not permitted")
    assert world.call("viewer", "GET", "/users/me").json() == _vic(world)


def test_me_needs_a_key_that_belongs_to_a_user(world: World) -> None:
    response = world.call("plain admin", "GET", "/users/me")
    assert response.status_code == 404
    assert error_of(response) == {
        "code": "no_user",
        "message": "this API key belongs to no user, so it has no /users/me; an admin makes a key "
        "that does with `wom apikey create --user NAME`",
    }


def test_an_admin_adds_changes_and_removes_a_user(world: World) -> None:
    added = world.call(
        "admin",
        "POST",
        "/users",
        {
            "name": "Eve",
            "email": "eve@example.org",
            "role": "manager",
            "brands": ["acme", "Rival"],
            "preferences": {
                "alert_kinds": ["complaint_to_answer"],
                "quiet_hours": {"start": "23:30", "end": "06:00"},
            },
        },
    )
    assert added.status_code == 201, added.text
    eve = added.json()
    assert (eve["name"], eve["display_name"], eve["role"], eve["brands"]) == (
        "eve",
        "eve",
        "manager",
        ["Acme", "Rival"],
    )
    assert eve["preferences"]["quiet_hours"] == {"start": "23:30:00", "end": "06:00:00"}
    assert eve["preferences"]["alert_kinds"] == ["complaint_to_answer"]
    changed = world.call(
        "admin", "PATCH", f"/users/{eve['id']}", {"role": "viewer", "brands": [], "active": False}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["brands"], changed.json()["active"]) == (
        "viewer",
        [],
        False,
    )
    assert changed.json()["preferences"] == eve["preferences"]
    removed = world.call("admin", "DELETE", f"/users/{eve['id']}")
    assert (removed.status_code, removed.json()) == (200, {"id": eve["id"], "api_keys_revoked": 0})
    gone = world.call("admin", "GET", f"/users/{eve['id']}")
    assert (gone.status_code, error_of(gone)["code"]) == (404, "unknown_user")


def test_unknown_user_404_duplicate_409_bad_value_422(world: World) -> None:
    for method, body in [("GET", None), ("PATCH", {"language": "en"}), ("DELETE", None)]:
        response = world.call("admin", method, "/users/9999", body)
        assert (response.status_code, error_of(response)["code"]) == (404, "unknown_user"), method
        assert "there is no user with id 9999" in error_of(response)["message"]
    duplicate = world.call("admin", "POST", "/users", {"name": "VIC", "email": "v2@example.org"})
    assert (duplicate.status_code, error_of(duplicate)) == (
        409,
        {"code": "name_taken", "message": "there is already a user named 'vic'; pick another name"},
    )
    rename = world.call("admin", "PATCH", f"/users/{world.users['ann']}", {"name": "max"})
    assert (rename.status_code, error_of(rename)["code"]) == (409, "name_taken")
    for body, field in [
        ({"timezone": "Europe/Atlantis"}, "'timezone'"),
        ({"email": "not an address"}, "'email'"),
        ({"email": "a@example.org\nBcc: b@example.org"}, "'email'"),
        ({"brands": ["Nope"]}, "'brands'"),
        ({"preferences": {"alert_kinds": ["storm"]}}, "'alert_kinds'"),
        ({"preferences": {"quiet_hours": {"start": "22:00", "end": "22:00"}}}, "'quiet_hours'"),
    ]:
        response = world.call("admin", "PATCH", f"/users/{world.users['vic']}", body)
        assert response.status_code == 422, body
        assert field in error_of(response)["message"], (body, response.text)
    for body, field in [
        ({"language": "de"}, "language"),
        ({"preferences": {"digest_hour": 24}}, "digest_hour"),
        ({"preferences": {"min_severity": "high"}}, "min_severity"),
        ({"role": "owner"}, "role"),
    ]:
        response = world.call("admin", "PATCH", f"/users/{world.users['vic']}", body)
        assert (response.status_code, error_of(response)["code"]) == (422, "invalid_request"), body
        assert field in error_of(response)["message"], response.text
    assert world.call("admin", "GET", f"/users/{world.users['vic']}").json() == _vic(world)


def test_a_users_key_records_actions_as_that_user(world: World, engine: Engine) -> None:
    mention_id = world.seeded.mentions["m02"]
    labelled = world.call("manager", "PUT", f"/mentions/{mention_id}/label", {"sentiment": "neutral"})
    assert labelled.status_code == 200, labelled.text
    assert labelled.json()["label"]["labeled_by"] == "user:max"
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(table_of(MentionLabel).c.labeled_by).where(
                table_of(MentionLabel).c.mention_id == mention_id
            )
        ).scalar_one()
    assert stored == "user:max"


def test_a_key_acts_within_its_users_current_role_and_stops_with_them(world: World, engine: Engine) -> None:
    assert world.call("admin", "GET", "/users").status_code == 200
    demoted = world.call("plain admin", "PATCH", f"/users/{world.users['ann']}", {"role": "viewer"})
    assert demoted.status_code == 200, demoted.text
    refused = world.call("admin", "GET", "/users")
    assert (refused.status_code, error_of(refused)["code"]) == (403, "forbidden_role")
    assert "this key has role viewer" in error_of(refused)["message"]
    world.call("plain admin", "PATCH", f"/users/{world.users['ann']}", {"active": False})
    inactive = world.call("admin", "GET", "/brands")
    assert (inactive.status_code, error_of(inactive)["code"]) == (401, "inactive_user")
    assert "`wom user set ann --active`" in error_of(inactive)["message"]
    removed = world.call("plain admin", "DELETE", f"/users/{world.users['max']}")
    assert removed.json()["api_keys_revoked"] == 1
    revoked = world.call("manager", "GET", "/brands")
    assert (revoked.status_code, error_of(revoked)["code"]) == (401, "revoked_api_key")


def test_an_api_write_is_one_transaction(engine: Engine) -> None:
    # on PostgreSQL the write engine was once writable(read_only(engine)), which still autocommitted:
    # a failed route kept what it had written before the failure
    app = build_app(engine, include_dashboard=False)
    users = table_of(User)
    with pytest.raises(RuntimeError), app.state.write_engine.begin() as conn:
        add_user(conn, name="half", email="half@example.org", now=NOW)
        raise RuntimeError("the route failed after its first write")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 0
