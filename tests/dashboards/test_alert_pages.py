"""The alerts page on the real app and database: open and acknowledged alerts, then the recently resolved,
each with its why and the mentions behind it; a manager acknowledges and resolves, a viewer cannot, a form
without its token is refused, and a change that no longer fits is a message.

The seeded alerts (tests.api.conftest): a1 Acme spike open, a2 Acme influential detractor open (hostile
title, mention m02), a3 Acme spike resolved, a4 Rival spike open, a5 Acme new detractor open; the tests
add s1, an Acme spike with the detector's why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.storage.models import Alert
from monitor.storage.tables import table_of
from tests.api.conftest import HOSTILE_TITLE, NOW, KeylessClient, Seeded, build_app, seed
from tests.dashboards.signin_helpers import browser, form_token, make_user, sign_in

WHY = {
    "top_terms": [
        {"term": "delivery", "count": 4, "share": 0.8, "baseline_share": 0.1},
        {"term": "late", "count": 3, "share": 0.6, "baseline_share": 0.05},
    ],
    "top_sources": [{"source": "x", "count": 5, "share": 1.0, "baseline_share": 0.5}],
    "top_authors": [{"author": "x:@bob", "count": 2, "share": 0.4, "baseline_share": 0.0}],
}


@dataclass
class World:
    engine: Engine
    seeded: Seeded

    def status(self, key: str) -> str:
        with self.engine.connect() as conn:
            alerts = table_of(Alert)
            return str(
                conn.execute(sa.select(alerts.c.status).where(alerts.c.id == self.alert(key))).scalar_one()
            )

    def alert(self, key: str) -> int:
        return self.seeded.alerts[key]


@pytest.fixture
def world(engine: Engine) -> World:
    seeded = seed(engine)
    examples = [seeded.mentions["m02"], seeded.mentions["m03"]]
    with Session(engine) as session:
        spike = Alert(
            brand_id=seeded.brands["Acme"],
            kind="negative_spike",
            dedupe_key="spike:s1",
            severity="critical",
            title="Negative spike: 12 in 1h",
            detail={
                "mention_count": 12,
                "mention_ids": examples,
                "why": WHY | {"example_mention_ids": examples},
            },
            status="open",
            event_at=NOW - timedelta(minutes=30),
            created_at=NOW - timedelta(minutes=29),
        )
        session.add(spike)
        session.commit()
        assert spike.id is not None
        seeded.alerts["s1"] = spike.id
    for name, role in (("vera", "viewer"), ("max", "manager")):
        make_user(engine, name, role=role, timezone="Europe/Amsterdam")
    return World(engine, seeded)


def _client(world: World, name: str) -> Iterator[KeylessClient]:
    with browser(build_app(world.engine)) as client:
        assert sign_in(client, name).status_code == 303
        yield client


@pytest.fixture
def manager(world: World) -> Iterator[KeylessClient]:
    yield from _client(world, "max")


@pytest.fixture
def viewer(world: World) -> Iterator[KeylessClient]:
    yield from _client(world, "vera")


def _section(html: str, css: str) -> str:
    found = re.search(rf'<section class="alerts {css}">.*?</section>', html, re.DOTALL)
    assert found is not None
    return found.group(0)


def _alert_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="alert [^"]*" id="alert-(\d+)"', html)]


def _article(html: str, alert_id: int) -> str:
    found = re.search(rf'<article class="alert [^"]*" id="alert-{alert_id}".*?</article>', html, re.DOTALL)
    assert found is not None
    return found.group(0)


def _act(client: KeylessClient, world: World, key: str, action: str) -> Any:
    token = form_token(client.get("/alerts").text)
    return client.post(
        f"/alerts/{world.alert(key)}/{action}", data={"csrf": token, "next": "/alerts?brand=Acme"}
    )


def test_open_and_recent_alerts_with_their_why_and_mentions(manager: KeylessClient, world: World) -> None:
    page = manager.get("/alerts")
    assert page.status_code == 200
    live = _section(page.text, "live")
    # newest event first (a5 and a1 at the same time: the later id first); Rival's too
    assert _alert_ids(live) == [world.alert(k) for k in ("s1", "a5", "a1", "a2", "a4")]
    assert _alert_ids(_section(page.text, "recent")) == [world.alert("a3")]
    spike = _article(page.text, world.alert("s1"))
    assert "open</span> · critical · negative spike · Acme · 2026-11-20 12:30 · 12 mentions" in spike
    assert '<li>delivery <span class="sub">(4 times, 80% against 10% usually)</span></li>' in spike
    assert '<li>x:@bob <span class="sub">(2 times, 40% against 0% usually)</span></li>' in spike
    assert spike.count('<span class="text">') == 2  # the two example mentions
    detractor = _article(page.text, world.alert("a2"))
    assert HOSTILE_TITLE not in page.text
    assert "&lt;" in detractor  # the hostile title is text
    assert detractor.count('<span class="text">') == 1  # the mention behind it
    only_rival = manager.get("/alerts", params={"brand": "Rival"}).text
    assert _alert_ids(only_rival) == [world.alert("a4")]


def test_a_manager_acknowledges_and_resolves(manager: KeylessClient, world: World) -> None:
    article = _article(manager.get("/alerts").text, world.alert("s1"))
    assert re.findall(rf'action="/alerts/{world.alert("s1")}/(\w+)"', article) == ["ack", "resolve"]
    response = _act(manager, world, "s1", "ack")
    assert (response.status_code, response.headers["location"]) == (303, "/alerts?brand=Acme")
    assert world.status("s1") == "acknowledged"
    article = _article(manager.get("/alerts").text, world.alert("s1"))
    assert '<span class="state">acknowledged</span>' in article
    assert re.findall(rf'action="/alerts/{world.alert("s1")}/(\w+)"', article) == ["resolve"]
    assert _act(manager, world, "s1", "resolve").status_code == 303
    assert world.status("s1") == "resolved"
    alerts = table_of(Alert)
    with world.engine.connect() as conn:
        actors = conn.execute(
            sa.select(alerts.c.acknowledged_by, alerts.c.resolved_by).where(alerts.c.id == world.alert("s1"))
        ).one()
    assert tuple(actors) == ("user:max", "user:max")  # the signed-in manager, as the API records a user
    page = manager.get("/alerts").text
    assert world.alert("s1") in _alert_ids(_section(page, "recent"))
    assert 'action="/alerts/{}/'.format(world.alert("s1")) not in page


def test_what_no_longer_fits_is_a_message(manager: KeylessClient, world: World) -> None:
    refused = _act(manager, world, "a3", "ack")  # resolved already
    assert refused.status_code == 409
    assert f"That does not fit alert {world.alert('a3')} any more: it is resolved." in refused.text
    assert world.status("a3") == "resolved"
    token = form_token(manager.get("/alerts").text)
    assert manager.post("/alerts/999999/ack", data={"csrf": token}).status_code == 404


def test_a_viewer_sees_but_cannot_act(viewer: KeylessClient, world: World) -> None:
    page = viewer.get("/alerts").text
    assert world.alert("s1") in _alert_ids(page)
    assert 'action="/alerts/' not in page
    assert _act(viewer, world, "s1", "ack").status_code == 403
    assert world.status("s1") == "open"


def test_a_form_without_its_token_is_refused(manager: KeylessClient, world: World) -> None:
    url = f"/alerts/{world.alert('s1')}/resolve"
    assert manager.post(url, data={}).status_code == 403
    assert manager.post(url, data={"csrf": "forged"}).status_code == 403
    token = form_token(manager.get("/alerts").text)
    assert (
        manager.post(url, data={"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    )
    assert world.status("s1") == "open"


def test_in_dutch(world: World) -> None:
    make_user(world.engine, "sanne", role="manager", language="nl")
    with browser(build_app(world.engine)) as client:
        sign_in(client, "sanne")
        page = client.get("/alerts").text
        assert "<h2>Open en bevestigd</h2>" in page and "Woorden die vaker dan gewoonlijk vallen" in page
        assert "(4 keer, 80% tegen gewoonlijk 10%)" in page
        refused = _act(client, world, "a3", "resolve")
        assert "die is afgehandeld" in refused.text
