"""Authorisation (../shared/RELIABILITY.md S-2): every route of the OpenAPI schema, the dashboard and
/metrics, each with every kind of key, against the table of what each kind may do.

New routes are covered as they appear: reads need a viewer key; a route with another method must be
listed in `WRITE_ROLE` (and given a request in `REQUESTS` when an empty body is not enough to pass the
role check), or the test fails and says so.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api.main import create_app
from monitor.config import Settings
from monitor.storage.api_keys import create_api_key, revoke_api_key
from monitor.storage.db import connect
from tests.api.conftest import KeylessClient, Seeded, build_app, error_of, seed
from tests.api.inbox_seed import seed_inbox

INBOX_ACTIONS = ("ack", "answer", "assign", "dismiss", "reopen", "resolve")
# method, path template -> the lowest role that may call it (anything else is a read: viewer)
WRITE_ROLE = {
    ("POST", "/api/v1/mentions"): "manager",
    ("PUT", "/api/v1/mentions/{mention_id}/label"): "manager",
    ("DELETE", "/api/v1/mentions/{mention_id}/label"): "manager",
    ("POST", "/api/v1/authors/merge"): "manager",
    ("POST", "/api/v1/authors/{author_id}/split"): "manager",
    ("DELETE", "/api/v1/authors/{author_id}"): "admin",
    ("GET", "/api/v1/authors/{author_id}/export"): "admin",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("GET", "/api/v1/users/{user_id}"): "admin",
    ("PATCH", "/api/v1/users/{user_id}"): "admin",
    ("DELETE", "/api/v1/users/{user_id}"): "admin",
    ("PATCH", "/api/v1/users/me"): "viewer",
    ("PATCH", "/api/v1/users/me/preferences"): "viewer",
    **{("POST", f"/api/v1/inbox/{{item_id}}/{action}"): "manager" for action in INBOX_ACTIONS},
    ("POST", "/api/v1/alerts/{alert_id}/ack"): "manager",
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): "manager",
}
# writes that touch no brand's data (one's own settings): a key of any brand may make them
OWN_SETTINGS = {("PATCH", "/api/v1/users/me"), ("PATCH", "/api/v1/users/me/preferences")}
# answers that cover every brand: a key limited to one brand may not have them, whatever its role
EVERY_BRAND = {
    ("GET", "/api/v1/status"),
    ("GET", "/metrics"),
    ("DELETE", "/api/v1/authors/{author_id}"),
    ("GET", "/api/v1/authors/{author_id}/export"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{user_id}"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("DELETE", "/api/v1/users/{user_id}"),
}
OPEN = {("GET", "/healthz")}
CODES = {
    401: {"missing_api_key", "invalid_api_key", "revoked_api_key"},
    403: {"forbidden_role", "forbidden_brand"},
}
ROLES = ("viewer", "manager", "admin")


@dataclass(frozen=True)
class Caller:
    name: str
    role: str | None  # None: no valid key
    brand: str | None = None  # the brand a scoped key is limited to


CALLERS = [  # those refused come first: the allowed ones may change what later requests see
    Caller("no key", None),
    Caller("unknown key", None),
    Caller("revoked admin", None),
    Caller("viewer", "viewer"),
    Caller("viewer of Other", "viewer", "Other"),
    Caller("admin of Other", "admin", "Other"),
    Caller("viewer of Acme", "viewer", "Acme"),
    Caller("manager of Acme", "manager", "Acme"),
    Caller("manager", "manager"),
    Caller("admin", "admin"),
]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template
    params: frozenset[str]  # query parameter names

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def schema_operations(app: FastAPI) -> list[Operation]:
    operations = []
    for path, methods in app.openapi()["paths"].items():
        for method, spec in methods.items():
            names = frozenset(p["name"] for p in spec.get("parameters", []) if p["in"] == "query")
            operations.append(Operation(method.upper(), path, names))
    return operations


def all_operations() -> list[Operation]:
    """Every operation of the schema, and the dashboard page (not in the schema)."""
    app = create_app(Settings(), connect("sqlite://"))  # building the schema reads no database
    return [*schema_operations(app), Operation("GET", "/", frozenset({"brand"}))]


OPERATIONS = all_operations()


def _path(op: Operation, seeded: Seeded) -> str:
    # carol writes about Acme (and Rival) only, so a key of Other must not reach her or her mentions
    # no user is seeded: a user route that lets a caller through answers 404
    values = {
        "mentions": seeded.mentions["m01"],
        "authors": seeded.authors["carol"],
        "users": 1,
        "inbox": seeded.inbox["m02"],
        "alerts": seeded.alerts["a1"],  # Acme's open spike
    }

    def value(match: re.Match[str]) -> str:
        resource = op.path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        return str(values[resource])

    return re.sub(r"\{[^}]+\}", value, op.path)


def _body(op: Operation, seeded: Seeded) -> Any:
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/mentions"): {
            "source": "website",
            "external_id": "matrix-1",
            "text": "Acme review from the shop",
            "created_at": "2026-11-20T10:00:00Z",
            "author": {"handle": "shopper"},
            "brand": "Acme",
        },
        ("PUT", "/api/v1/mentions/{mention_id}/label"): {"sentiment": "negative"},
        ("POST", "/api/v1/authors/merge"): {"into": seeded.authors["carol"], "from": seeded.authors["erin"]},
        # identity 1 is alice's, not carol's: refused (422), after the role and brand checks
        ("POST", "/api/v1/authors/{author_id}/split"): {"identity_ids": [1]},
        # the item's brand is checked after the body is read: a body that passes, so that check answers
        ("POST", "/api/v1/inbox/{item_id}/assign"): {"assignee_user_id": None},
        ("POST", "/api/v1/inbox/{item_id}/dismiss"): {"reason": "not_relevant"},
    }
    return bodies.get(op.key)


def expected(op: Operation, caller: Caller) -> int | None:
    """401 or 403 as the table says, None where the request must get through to the route."""
    if op.key in OPEN:
        return None
    if caller.role is None:
        return 401
    if ROLES.index(caller.role) < ROLES.index(WRITE_ROLE.get(op.key, "viewer")):
        return 403
    if caller.brand is not None and op.key in EVERY_BRAND:
        return 403
    touches_acme = "brand" in op.params or "{" in op.path or op.key in WRITE_ROLE
    touches_acme = touches_acme and op.key not in OWN_SETTINGS
    if caller.brand == "Other" and touches_acme:
        return 403
    return None


class Keys:
    """One real key per caller, made and revoked through the key store."""

    def __init__(self, engine: Engine) -> None:
        self.keys: dict[str, str] = {}
        for caller in CALLERS:
            if caller.role is not None:
                made = create_api_key(engine, role=caller.role, brand=caller.brand, label=caller.name)
                self.keys[caller.name] = made.key
        revoked = create_api_key(engine, role="admin", label="revoked")
        revoke_api_key(engine, str(revoked.info.id))
        self.keys["revoked admin"] = revoked.key
        self.keys["unknown key"] = "wom_" + "A" * 43

    def headers(self, caller: Caller) -> dict[str, str]:
        key = self.keys.get(caller.name)
        return {} if key is None else {"Authorization": f"Bearer {key}"}


@pytest.fixture
def world(engine: Engine) -> Iterator[tuple[KeylessClient, Seeded, Keys]]:
    seeded = seed(engine)
    seed_inbox(engine, seeded)
    keys = Keys(engine)
    with KeylessClient(build_app(engine)) as client:
        yield client, seeded, keys


def test_every_write_route_is_in_the_table() -> None:
    unknown = [op.key for op in OPERATIONS if op.method != "GET" and op.key not in WRITE_ROLE]
    assert unknown == [], "add these to WRITE_ROLE with the role they need"


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_route_role_brand_matrix(world: tuple[KeylessClient, Seeded, Keys], op: Operation) -> None:
    client, seeded, keys = world
    path = _path(op, seeded)
    params = {"brand": "Acme"} if "brand" in op.params else {}
    body = _body(op, seeded)
    mismatches = []
    for caller in CALLERS:
        response = client.request(op.method, path, params=params, json=body, headers=keys.headers(caller))
        want = expected(op, caller)
        got = response.status_code
        ok = got == want if want is not None else got not in (401, 403, 429) and got < 500
        if not ok:
            mismatches.append(f"{caller.name}: wanted {want or 'through'}, got {got} {response.text[:200]}")
        elif want is not None and response.headers["content-type"] == "application/json":  # not the page
            assert error_of(response)["code"] in CODES[want]
    assert mismatches == []


def test_401_says_how_to_get_a_key(world: tuple[KeylessClient, Seeded, Keys]) -> None:
    client, _, keys = world
    missing = client.get("/api/v1/brands")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="wom"'
    assert error_of(missing) == {
        "code": "missing_api_key",
        "message": "send an API key as 'Authorization: Bearer KEY'; an admin makes one with "
        "`wom apikey create --role viewer` (see README, The API)",
    }
    for header in (
        "Basic " + base64.b64encode(b"x:" + keys.keys["admin"].encode()).decode(),
        "Bearer",
        "Token x",
    ):
        response = client.get("/api/v1/brands", headers={"Authorization": header})
        assert (response.status_code, error_of(response)["code"]) == (401, "missing_api_key"), header
    unknown = client.get("/api/v1/brands", headers={"Authorization": "Bearer wom_nope"})
    assert unknown.status_code == 401 and unknown.headers["www-authenticate"] == 'Bearer realm="wom"'
    assert error_of(unknown)["message"].startswith(
        "this API key is not known; check that it was copied whole"
    )
    revoked = client.get("/api/v1/brands", headers={"Authorization": f"Bearer {keys.keys['revoked admin']}"})
    assert revoked.status_code == 401
    assert re.fullmatch(
        r"this API key was revoked at \d{4}-\d\d-\d\d \d\d:\d\d UTC; get a new one: an admin makes one .*",
        error_of(revoked)["message"],
    )


def test_revoking_takes_effect_on_the_next_request(
    engine: Engine, world: tuple[KeylessClient, Seeded, Keys]
) -> None:
    client, _, keys = world
    headers = {"Authorization": f"Bearer {keys.keys['viewer']}"}
    assert client.get("/api/v1/brands", headers=headers).status_code == 200
    assert client.get("/", headers=headers).status_code == 200
    revoke_api_key(engine, keys.keys["viewer"])
    assert error_of(client.get("/api/v1/brands", headers=headers))["code"] == "revoked_api_key"
    assert error_of(client.get("/", headers=headers))["code"] == "revoked_api_key"


def test_403_names_role_and_brand(world: tuple[KeylessClient, Seeded, Keys]) -> None:
    client, _, keys = world
    other = {"Authorization": f"Bearer {keys.keys['viewer of Other']}"}
    response = client.get("/api/v1/ambassadors", params={"brand": "acme"}, headers=other)
    assert (response.status_code, error_of(response)) == (
        403,
        {
            "code": "forbidden_brand",
            "message": "this API key is limited to brand 'Other' and its competitors, not 'Acme'; "
            "use a key made for that brand or without --brand",
        },
    )
    status = client.get("/api/v1/status", headers=other)
    assert error_of(status)["message"] == (
        "GET /api/v1/status covers every brand, and this API key is limited to brand 'Other'; "
        "use a key made without --brand"
    )
    unknown = client.get("/api/v1/ambassadors", params={"brand": "Nope"}, headers=other)
    assert (unknown.status_code, error_of(unknown)["message"]) == (
        404,
        "unknown brand 'Nope'; valid brands: 'Other'",
    )


def test_scoped_keys_list_only_their_brands(world: tuple[KeylessClient, Seeded, Keys]) -> None:
    client, seeded, keys = world
    acme = {"Authorization": f"Bearer {keys.keys['viewer of Acme']}"}
    other = {"Authorization": f"Bearer {keys.keys['viewer of Other']}"}
    everyone = {"Authorization": f"Bearer {keys.keys['viewer']}"}
    names = [b["name"] for b in client.get("/api/v1/brands", headers=acme).json()["items"]]
    assert names == ["Acme", "Rival"]
    assert [b["name"] for b in client.get("/api/v1/brands", headers=other).json()["items"]] == ["Other"]
    assert len(client.get("/api/v1/brands", headers=everyone).json()["items"]) == 3

    # without `brand`, a scoped key gets its own brand's mentions and alerts, never another's
    mentions = client.get("/api/v1/mentions", params={"limit": 200}, headers=other).json()["items"]
    assert [m["id"] for m in mentions] == [seeded.mentions["o1"]]
    alerts = client.get("/api/v1/alerts", headers=acme).json()["items"]
    assert {a["brand"] for a in alerts} == {"Acme"}
    assert client.get("/api/v1/alerts", headers=other).json()["items"] == []
    rival = client.get("/api/v1/alerts", params={"brand": "Rival"}, headers=acme).json()["items"]
    assert [a["id"] for a in rival] == [seeded.alerts["a4"]]
    assert len(client.get("/api/v1/mentions", params={"limit": 200}, headers=everyone).json()["items"]) == 18


def test_dashboard_asks_the_browser_for_the_key(world: tuple[KeylessClient, Seeded, Keys]) -> None:
    client, _, keys = world
    asked = client.get("/")
    assert asked.status_code == 401
    assert asked.headers["www-authenticate"] == 'Basic realm="wom", charset="UTF-8"'
    basic = base64.b64encode(f"anyone:{keys.keys['viewer of Acme']}".encode()).decode()
    page = client.get("/", headers={"Authorization": f"Basic {basic}"})
    assert page.status_code == 200
    assert '<option value="Acme" selected>Acme</option>' in page.text
    assert '<option value="Other"' not in page.text
    other = client.get("/", params={"brand": "Other"}, headers={"Authorization": f"Basic {basic}"})
    assert other.status_code == 403
    assert (
        "this API key is limited to brand &#39;Acme&#39; and its competitors, not &#39;Other&#39;"
        in other.text
    )
    wrong = base64.b64encode(b"anyone:wom_wrong").decode()
    assert client.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    assert client.get("/static/style.css").status_code == 200  # styles carry no data


def test_open_routes_need_no_key(world: tuple[KeylessClient, Seeded, Keys]) -> None:
    client, _, _ = world
    for path in ("/healthz", "/docs", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_openapi_declares_the_bearer_scheme(world: tuple[KeylessClient, Seeded, Keys]) -> None:
    client, _, _ = world
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            if (method.upper(), path) not in OPEN:
                assert spec.get("security") == [{"ApiKey": []}], (method, path)
                assert {"401", "403", "429"} <= set(spec["responses"]), (method, path)
