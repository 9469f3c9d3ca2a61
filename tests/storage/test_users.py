"""Users in the database (SQLite and PostgreSQL): added, read, changed and removed through the service,
every bad value a UserError naming its field, keys that belong to a user."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.errors import ApiKeyError, UnknownUserError, UserError
from monitor.read.users import PreferencesOut, QuietHours, UserOut, get_user, list_users, user_named
from monitor.service.passwords import password_matches
from monitor.service.users import (
    add_user,
    import_email_recipients,
    remove_user,
    set_password,
    set_user,
)
from monitor.storage.api_keys import KeyOwner, create_api_key, find_api_key, list_api_keys
from monitor.storage.db import session_scope
from monitor.storage.models import Brand, User
from monitor.storage.tables import table_of

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def brands(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        acme = Brand(name="Acme")
        session.add(acme)
        session.flush()
        rival = Brand(name="Rival", competitor_of_id=acme.id)
        session.add(rival)
        session.flush()
        assert acme.id is not None and rival.id is not None
        return {"Acme": acme.id, "Rival": rival.id}


def _add(engine: Engine, **fields: Any) -> int:
    with engine.begin() as conn:
        return add_user(conn, now=T0, **fields)


def _user(engine: Engine, user_id: int) -> UserOut:
    with Session(engine) as session:
        found = get_user(session, user_id)
    assert found is not None
    return found


def test_a_new_user_has_the_documented_defaults(engine: Engine) -> None:
    user_id = _add(engine, name="  Ann ", email="ann@example.org")
    assert _user(engine, user_id) == UserOut(
        id=user_id,
        name="ann",
        display_name="ann",
        email="ann@example.org",
        role="viewer",
        language="en",
        timezone="UTC",
        brands=[],
        preferences=PreferencesOut(
            alert_kinds=[], min_severity="critical", delivery="immediate", digest_hour=8, quiet_hours=None
        ),
        has_password=False,
        active=True,
        created_at=T0,
    )


def test_every_field_is_stored_and_read_back(engine: Engine, brands: dict[str, int]) -> None:
    user_id = _add(
        engine,
        name="bram",
        email="bram@example.nl",
        role="manager",
        display_name="Bram de Vries",
        language="nl",
        timezone="Europe/Amsterdam",
        brands=["rival", "ACME"],
        alert_kinds=["negative_spike", "complaint_to_answer"],
        min_severity="warning",
        delivery="digest_only",
        digest_hour=7,
        quiet_hours=(time(22, 0), time(7, 30)),
        password="correct horse battery",
    )
    user = _user(engine, user_id)
    assert (user.name, user.display_name, user.role, user.language, user.timezone) == (
        "bram",
        "Bram de Vries",
        "manager",
        "nl",
        "Europe/Amsterdam",
    )
    assert user.brands == ["Acme", "Rival"]
    assert user.preferences == PreferencesOut(
        alert_kinds=["complaint_to_answer", "negative_spike"],
        min_severity="warning",
        delivery="digest_only",
        digest_hour=7,
        quiet_hours=QuietHours(start=time(22, 0), end=time(7, 30)),
    )
    assert user.has_password
    with engine.connect() as conn:
        stored = conn.execute(sa.select(table_of(User).c.brand_ids, table_of(User).c.password_hash)).one()
    assert sorted(stored.brand_ids) == sorted(brands.values())
    assert stored.password_hash.startswith("$argon2id$")
    assert password_matches(stored.password_hash, "correct horse battery")
    assert not password_matches(stored.password_hash, "correct horse batterY")


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("name", "ann smith", "a-z, 0-9"),
        ("name", "", "a-z, 0-9"),
        ("email", "ann", "name@example.org"),
        ("email", "ann@example.org\r\nBcc: x@evil.test", "control characters"),
        ("role", "owner", "viewer, manager, admin"),
        ("language", "de", "nl, en"),
        ("timezone", "Mars/Olympus", "IANA"),
        ("timezone", "../../etc/passwd", "IANA"),
        ("alert_kinds", ["storm"], "complaint_to_answer"),
        ("min_severity", "high", "info, warning, critical"),
        ("delivery", "weekly", "immediate, digest_only"),
        ("digest_hour", 24, "0 to 23"),
        ("digest_hour", True, "0 to 23"),
        ("quiet_hours", (time(22, 0), time(22, 0)), "two different times"),
        ("display_name", "x" * 201, "keep it to 200"),
        ("password", "short", "12 to 1024"),
    ],
)
def test_a_bad_value_names_its_field_and_the_fix(engine: Engine, field: str, value: Any, hint: str) -> None:
    fields: dict[str, Any] = {"name": "ann", "email": "ann@example.org", field: value}
    with pytest.raises(UserError) as raised:
        _add(engine, **fields)
    assert (raised.value.code, raised.value.field) == ("invalid_value", field)
    assert f"'{field}'" in str(raised.value) or field == "password"
    assert hint in str(raised.value)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table_of(User))).scalar_one() == 0


def test_an_unknown_brand_names_the_valid_ones(engine: Engine, brands: dict[str, int]) -> None:
    with pytest.raises(UserError) as raised:
        _add(engine, name="ann", email="ann@example.org", brands=["Acme", "Nope"])
    assert (raised.value.code, raised.value.field) == ("unknown_brand", "brands")
    assert "'Nope'" in str(raised.value) and "'Acme', 'Rival'" in str(raised.value)


def test_names_are_unique_whatever_their_case(engine: Engine) -> None:
    first = _add(engine, name="ann", email="ann@example.org")
    with pytest.raises(UserError) as raised:
        _add(engine, name="ANN", email="other@example.org")
    assert raised.value.code == "name_taken"
    other = _add(engine, name="bob", email="bob@example.org")
    with engine.begin() as conn, pytest.raises(UserError) as renamed:
        set_user(conn, other, {"name": "Ann"})
    assert renamed.value.code == "name_taken"
    with engine.begin() as conn:
        set_user(conn, first, {"name": "ann"})  # its own name is no clash
    assert [u.name for u in _list(engine)] == ["ann", "bob"]


def _list(engine: Engine) -> list[UserOut]:
    with Session(engine) as session:
        return list_users(session)


def test_set_changes_only_what_it_is_given(engine: Engine, brands: dict[str, int]) -> None:
    user_id = _add(engine, name="ann", email="ann@example.org", quiet_hours=(time(22), time(7)))
    before = _user(engine, user_id)
    with engine.begin() as conn:
        set_user(conn, user_id, {"timezone": "America/New_York", "brands": ["Rival"], "quiet_hours": None})
    after = _user(engine, user_id)
    assert after == before.model_copy(
        update={
            "timezone": "America/New_York",
            "brands": ["Rival"],
            "preferences": before.preferences.model_copy(update={"quiet_hours": None}),
        }
    )
    with engine.begin() as conn, pytest.raises(UserError) as raised:
        set_user(conn, user_id, {"password_hash": "x"})
    assert raised.value.field == "password_hash"
    with engine.begin() as conn, pytest.raises(UnknownUserError) as unknown:
        set_user(conn, user_id + 100, {"language": "nl"})
    assert unknown.value.code == "unknown_user"
    assert f"id {user_id + 100}" in str(unknown.value)


def test_a_password_is_set_and_cleared(engine: Engine) -> None:
    user_id = _add(engine, name="ann", email="ann@example.org")
    with engine.begin() as conn:
        set_password(conn, user_id, "a long enough passphrase")
    assert _user(engine, user_id).has_password
    with engine.begin() as conn:
        set_password(conn, user_id, None)
    assert not _user(engine, user_id).has_password


def test_a_key_of_a_user_acts_within_the_users_role_and_brands(
    engine: Engine, brands: dict[str, int]
) -> None:
    user_id = _add(engine, name="ann", email="ann@example.org", role="manager", brands=["Acme"])
    with pytest.raises(ApiKeyError, match="role manager"):
        create_api_key(engine, role="admin", brand="Acme", user="ann")
    with pytest.raises(ApiKeyError, match="follows only Acme; give one of them as --brand"):
        create_api_key(engine, role="viewer", user="ann")
    with pytest.raises(ApiKeyError, match="no user is named 'zoe'"):
        create_api_key(engine, role="viewer", user="zoe")
    made = create_api_key(engine, role="manager", brand="Acme", user="ANN", now=T0)
    owner = KeyOwner(id=user_id, name="ann", role="manager", active=True)
    assert made.info.user == owner
    with Session(engine) as session:
        found = find_api_key(session, made.key)
    assert found is not None and found.user == owner
    assert [k.user for k in list_api_keys(engine)] == [owner]
    unowned = create_api_key(engine, role="admin")
    with Session(engine) as session:
        found = find_api_key(session, unowned.key)
    assert found is not None and found.user is None
    with engine.begin() as conn:
        set_user(conn, user_id, {"active": False})
    with pytest.raises(ApiKeyError, match="inactive"):
        create_api_key(engine, role="viewer", brand="Acme", user="ann")


def test_removing_a_user_revokes_its_keys(engine: Engine, brands: dict[str, int]) -> None:
    user_id = _add(engine, name="ann", email="ann@example.org", role="admin")
    kept = _add(engine, name="bob", email="bob@example.org", role="admin")
    made = create_api_key(engine, role="viewer", user="ann")
    other = create_api_key(engine, role="viewer", user="bob")
    later = datetime(2026, 12, 2, tzinfo=UTC)
    bob = _user(engine, kept)
    with engine.begin() as conn:
        assert remove_user(conn, user_id, now=later) == 1
    with Session(engine) as session:
        found = find_api_key(session, made.key)
        assert get_user(session, user_id) is None
        assert user_named(session, "Bob") == bob
        still = find_api_key(session, other.key)
    assert found is not None and (found.revoked_at, found.user) == (later, None)
    assert still is not None and still.revoked_at is None
    with engine.begin() as conn, pytest.raises(UnknownUserError):
        remove_user(conn, user_id, now=later)


def test_email_to_addresses_become_viewer_users_once(engine: Engine) -> None:
    _add(engine, name="ops", email="Ops@Example.org", role="admin")
    addresses = ["ops@example.org", "ops@other.example", "Jan.Jansen+wom@example.nl"]
    with engine.begin() as conn:
        made, skipped = import_email_recipients(conn, addresses, now=T0)
    assert made == [("ops-2", "ops@other.example"), ("jan.jansen-wom", "Jan.Jansen+wom@example.nl")]
    assert skipped == ["ops@example.org"]
    users = {u.name: u for u in _list(engine)}
    assert {name: users[name].role for name in ("ops-2", "jan.jansen-wom")} == {
        "ops-2": "viewer",
        "jan.jansen-wom": "viewer",
    }
    with engine.begin() as conn:
        again = import_email_recipients(conn, addresses, now=T0)
    assert again == ([], addresses)
