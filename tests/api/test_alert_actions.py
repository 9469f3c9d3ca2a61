"""GET /api/v1/alerts/{id} and POST /api/v1/alerts/{id}/ack|resolve on the real app and database (SQLite
and PostgreSQL): the alert with its why and the mentions behind it, the moves that fit and the 409s that
name the status, who acted, brand scope, viewers refused, and two managers acknowledging at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from monitor.service.users import add_user
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import Alert
from monitor.storage.tables import table_of
from tests.api.conftest import HOSTILE_TITLE, NOW, Seeded, TestClient, build_app, error_of, seed

_ALERT = table_of(Alert)


@dataclass
class World:
    client: TestClient
    seeded: Seeded
    engine: Engine
    keys: dict[str, str]
    key_ids: dict[str, int]
    app: FastAPI

    def as_(self, caller: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[caller]}"}

    def post(self, alert: str, action: str, caller: str = "manager") -> Any:
        return self.client.post(
            f"/api/v1/alerts/{self.seeded.alerts[alert]}/{action}", headers=self.as_(caller)
        )


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    seeded = seed(engine)
    why = {
        "top_terms": [{"term": "delivery", "count": 4, "share": 0.8, "baseline_share": 0.1}],
        "top_sources": [{"source": "reddit", "count": 5, "share": 1.0, "baseline_share": 0.5}],
        "top_authors": [],
        "example_mention_ids": [seeded.mentions["m02"], seeded.mentions["m03"]],
        "baseline_mentions": 40,
    }
    detail = {"mention_count": 3, "mention_ids": [seeded.mentions["m03"], seeded.mentions["m05"]], "why": why}
    with engine.begin() as conn:
        conn.execute(sa.update(_ALERT).where(_ALERT.c.id == seeded.alerts["a1"]).values(detail=detail))
        add_user(conn, name="mia", email="mia@example.com", role="manager", now=NOW)
    made = {
        "manager": create_api_key(engine, role="manager"),
        "manager 2": create_api_key(engine, role="manager"),
        "mia": create_api_key(engine, role="manager", user="mia"),
        "viewer": create_api_key(engine, role="viewer"),
        "manager of Other": create_api_key(engine, role="manager", brand="Other"),
        "manager of Acme": create_api_key(engine, role="manager", brand="Acme"),
    }
    keys = {caller: key.key for caller, key in made.items()}
    key_ids = {caller: key.info.id for caller, key in made.items()}
    app = build_app(engine, include_dashboard=False)
    with TestClient(app) as client:
        yield World(client, seeded, engine, keys, key_ids, app)


def test_one_alert_with_its_why_and_the_mentions_behind_it(world: World) -> None:
    seeded = world.seeded
    response = world.client.get(f"/api/v1/alerts/{seeded.alerts['a1']}", headers=world.as_("viewer"))
    assert response.status_code == 200, response.text
    alert = response.json()
    assert (alert["kind"], alert["severity"], alert["status"], alert["brand"]) == (
        "negative_spike",
        "warning",
        "open",
        "Acme",
    )
    assert alert["why"]["top_terms"][0]["term"] == "delivery"
    # the why's examples first, then the rule's ids, each once
    expected = [seeded.mentions[k] for k in ("m02", "m03", "m05")]
    assert alert["mention_ids"] == expected
    assert [m["id"] for m in alert["mentions"]] == expected
    assert (alert["acknowledged_by"], alert["resolved_by"]) == (None, None)
    # an alert about one mention, without a why; its hostile title is data, returned as it is
    a2 = world.client.get(f"/api/v1/alerts/{seeded.alerts['a2']}").json()
    assert (a2["title"], a2["why"], a2["mention_ids"]) == (HOSTILE_TITLE, None, [seeded.mentions["m02"]])
    unknown = world.client.get("/api/v1/alerts/999999")
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "unknown_alert")
    assert world.client.get("/api/v1/alerts/0").status_code == 422


def test_ack_then_resolve_records_who_and_when_and_refusals_name_the_status(world: World) -> None:
    a1 = world.seeded.alerts["a1"]
    acked = world.post("a1", "ack")
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert (body["status"], body["acknowledged_by"], body["acknowledged_at"]) == (
        "acknowledged",
        f"apikey:{world.key_ids['manager']}",
        "2026-11-20T12:00:00Z",
    )
    again = world.post("a1", "ack", caller="manager 2")
    assert (again.status_code, error_of(again)) == (
        409,
        {
            "code": "wrong_state",
            "message": f"cannot ack alert {a1}: it is acknowledged, and ack fits an alert that is open; "
            "reload the page to see what changed",
        },
    )
    resolved = world.post("a1", "resolve", caller="mia")
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == ("resolved", "user:mia")
    assert resolved.json()["acknowledged_by"] == f"apikey:{world.key_ids['manager']}"
    late = world.post("a1", "resolve")
    assert (late.status_code, error_of(late)["code"]) == (409, "wrong_state")
    assert "it is resolved" in error_of(late)["message"]
    # resolve fits an open alert too
    assert world.post("a5", "resolve").json()["status"] == "resolved"
    unknown = world.client.post("/api/v1/alerts/999999/ack", headers=world.as_("manager"))
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "unknown_alert")
    with world.engine.connect() as conn:
        row = conn.execute(sa.select(_ALERT).where(_ALERT.c.id == a1)).one()
    assert (row.status, row.resolved_by) == ("resolved", "user:mia")


def test_viewers_are_refused_and_a_scoped_key_reaches_only_its_brands(world: World) -> None:
    viewer = world.post("a1", "ack", caller="viewer")
    assert (viewer.status_code, error_of(viewer)["code"]) == (403, "forbidden_role")
    other = world.post("a1", "ack", caller="manager of Other")
    assert (other.status_code, error_of(other)["code"]) == (403, "forbidden_brand")
    seen = world.client.get(
        f"/api/v1/alerts/{world.seeded.alerts['a1']}", headers=world.as_("manager of Other")
    )
    assert (seen.status_code, error_of(seen)["code"]) == (403, "forbidden_brand")
    # a key scoped to Acme reaches Acme's competitor Rival too, as it does in the list
    rival = world.client.get(
        f"/api/v1/alerts/{world.seeded.alerts['a4']}", headers=world.as_("manager of Acme")
    )
    assert (rival.status_code, rival.json()["brand"]) == (200, "Rival")
    status = world.client.get(f"/api/v1/alerts/{world.seeded.alerts['a1']}").json()["status"]
    assert status == "open"  # nothing changed
    mine = world.post("a1", "ack", caller="manager of Acme")
    assert (mine.status_code, mine.json()["status"]) == (200, "acknowledged")


def test_two_managers_acknowledging_at_once_one_wins(world: World) -> None:
    app = world.app
    start = threading.Barrier(4)
    results: list[tuple[str, int, str]] = []

    def ack(caller: str) -> None:
        with TestClient(app, headers=world.as_(caller)) as client:
            start.wait()
            response = client.post(f"/api/v1/alerts/{world.seeded.alerts['a1']}/ack")
            results.append((caller, response.status_code, response.text))

    threads = [
        threading.Thread(target=ack, args=(c,)) for c in ("manager", "manager 2", "mia", "manager of Acme")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for _, code, _ in results)
    assert codes == [200, 409, 409, 409], results
    winner = next(caller for caller, code, _ in results if code == 200)
    for _, code, text in results:
        if code == 409:
            assert "it is acknowledged" in text
    acked_by = world.client.get(f"/api/v1/alerts/{world.seeded.alerts['a1']}").json()["acknowledged_by"]
    assert acked_by == ("user:mia" if winner == "mia" else f"apikey:{world.key_ids[winner]}")
