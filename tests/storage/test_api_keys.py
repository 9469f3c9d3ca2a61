"""API keys in the database: digest only, scoped to an own brand, revocable, found in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.errors import ApiKeyError
from monitor.storage import api_keys
from monitor.storage.api_keys import (
    create_api_key,
    find_api_key,
    key_digest,
    list_api_keys,
    revoke_api_key,
    role_allows,
    touch_api_key,
)
from monitor.storage.db import session_scope
from monitor.storage.models import ApiKey, Brand

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


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


def test_a_key_is_256_random_bits_behind_a_scanner_prefix(engine: Engine, brands: dict[str, int]) -> None:
    made = create_api_key(engine, role="viewer", label="grafana", now=T0)
    assert re.fullmatch(r"wom_[A-Za-z0-9_-]{43}", made.key)
    assert made.info.prefix == made.key[:12]
    assert (made.info.role, made.info.brand, made.info.label, made.info.created_at) == (
        "viewer",
        None,
        "grafana",
        T0,
    )
    with Session(engine) as session:
        row = session.get(ApiKey, made.info.id)
        assert row is not None
        assert row.digest == hashlib.sha256(made.key.encode()).hexdigest()
    other = create_api_key(engine, role="viewer")
    assert other.key != made.key and other.info.prefix != made.info.prefix


def test_find_goes_by_digest_and_sees_revocation(engine: Engine, brands: dict[str, int]) -> None:
    made = create_api_key(engine, role="manager", brand="acme")
    with Session(engine) as session:
        found = find_api_key(session, made.key)
        assert found is not None
        assert (found.id, found.role, found.brand, found.brand_id) == (
            made.info.id,
            "manager",
            "Acme",
            brands["Acme"],
        )
        assert find_api_key(session, made.key[:-1] + ("A" if made.key[-1] != "A" else "B")) is None
        assert find_api_key(session, made.info.prefix) is None
        assert find_api_key(session, "") is None
    revoked = revoke_api_key(engine, str(made.info.id), now=T0)
    assert revoked.revoked_at == T0
    with Session(engine) as session:
        found = find_api_key(session, made.key)
        assert found is not None and found.revoked_at == T0


def test_the_final_comparison_is_constant_time(
    engine: Engine, brands: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = create_api_key(engine, role="viewer")
    compared: list[tuple[Any, Any]] = []
    compare_digest = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", spy)
    with Session(engine) as session:
        assert find_api_key(session, made.key) is not None
    assert compared == [(key_digest(made.key).encode(), key_digest(made.key).encode())]


def test_revoke_by_prefix_or_whole_key_and_twice(engine: Engine, brands: dict[str, int]) -> None:
    first = create_api_key(engine, role="viewer")
    second = create_api_key(engine, role="admin")
    assert revoke_api_key(engine, first.info.prefix, now=T0).id == first.info.id
    assert revoke_api_key(engine, second.key, now=T0).id == second.info.id
    later = datetime(2026, 11, 2, tzinfo=UTC)
    assert revoke_api_key(engine, str(first.info.id), now=later).revoked_at == T0  # the first time stays
    assert [k.revoked_at for k in list_api_keys(engine)] == [T0, T0]


def test_revoke_names_the_fix_when_nothing_or_several_match(engine: Engine, brands: dict[str, int]) -> None:
    with pytest.raises(
        ApiKeyError, match=r"no API key has the id or prefix 'wom_nope'; `wom apikey list` shows them"
    ):
        revoke_api_key(engine, "wom_nope")
    a = create_api_key(engine, role="viewer")
    b = create_api_key(engine, role="viewer")
    with session_scope(engine) as session:  # two keys whose prefixes collide (48 bits: rare, not impossible)
        row = session.get(ApiKey, b.info.id)
        assert row is not None
        row.prefix = a.info.prefix
    with pytest.raises(
        ApiKeyError,
        match=rf"2 keys have the prefix '{a.info.prefix}' \(ids {a.info.id}, {b.info.id}\); revoke by id",
    ):
        revoke_api_key(engine, a.info.prefix)
    assert all(k.revoked_at is None for k in list_api_keys(engine))


def test_create_refuses_bad_role_brand_label_and_competitors(engine: Engine, brands: dict[str, int]) -> None:
    with pytest.raises(ApiKeyError, match="unknown role 'owner'; use one of viewer, manager, admin"):
        create_api_key(engine, role="owner")
    with pytest.raises(ApiKeyError, match="unknown brand 'Nope' for --brand; valid brands: 'Acme', 'Rival'"):
        create_api_key(engine, role="viewer", brand="Nope")
    with pytest.raises(ApiKeyError, match="'Rival' is a competitor of 'Acme'; scope the key to 'Acme'"):
        create_api_key(engine, role="viewer", brand="Rival")
    with pytest.raises(ApiKeyError, match="the label has 201 characters; keep it to 200"):
        create_api_key(engine, role="viewer", label="x" * 201)
    assert list_api_keys(engine) == []


def test_list_and_touch(engine: Engine, brands: dict[str, int]) -> None:
    viewer = create_api_key(engine, role="viewer", now=T0)
    manager = create_api_key(engine, role="manager", brand="Acme", label="shop webhook", now=T0)
    touch_api_key(engine, manager.info.id, now=datetime(2026, 11, 3, tzinfo=UTC))
    listed = list_api_keys(engine)
    assert [(k.id, k.role, k.brand, k.label, k.last_used_at) for k in listed] == [
        (viewer.info.id, "viewer", None, "", None),
        (manager.info.id, "manager", "Acme", "shop webhook", datetime(2026, 11, 3, tzinfo=UTC)),
    ]


def test_roles_are_ordered() -> None:
    assert [role_allows("viewer", r) for r in ("viewer", "manager", "admin")] == [True, False, False]
    assert [role_allows("manager", r) for r in ("viewer", "manager", "admin")] == [True, True, False]
    assert [role_allows("admin", r) for r in ("viewer", "manager", "admin")] == [True, True, True]
    assert role_allows("owner", "viewer") is False


def test_brand_is_found_ignoring_case_and_accents_like_the_matcher(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Brand(name="Café"))
    made = create_api_key(engine, role="viewer", brand="cafe")
    assert made.info.brand == "Café"
    assert create_api_key(engine, role="viewer", brand="CAFÉ").info.brand_id == made.info.brand_id
