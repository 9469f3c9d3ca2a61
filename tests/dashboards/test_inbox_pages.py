"""The inbox page on the real app and database, over the seeded world's inbox (tests.api.inbox_seed): the
list with its filters, each item's thread, author, reach and due time, and the actions as forms, signed in
as a manager; a viewer sees but cannot act, a form without its token is refused, a conflict is a message.

Items by priority: m10 (erin, 6 days old), m05 (erin, 25 hours), m03 (bob, 3 hours), m07 (an anonymous
review, 3 days), m04 (carol, a day); due 24 hours after opening, so m10, m05 and m07 are overdue at NOW.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.inbox import suppressed_authors
from monitor.storage.models import InboxEvent, InboxItem, MentionLabel
from monitor.storage.tables import table_of
from tests.api.conftest import HOSTILE_SCRIPT, KeylessClient, Seeded, build_app, seed
from tests.api.inbox_seed import seed_inbox
from tests.dashboards.signin_helpers import browser, form_token, make_user, sign_in

BY_PRIORITY = ["m10", "m05", "m03", "m07", "m04"]


@dataclass
class World:
    engine: Engine
    seeded: Seeded
    users: dict[str, int]

    def item(self, key: str) -> int:
        return self.seeded.inbox[key]

    def row(self, key: str) -> Any:
        with self.engine.connect() as conn:
            items = table_of(InboxItem)
            return conn.execute(sa.select(items).where(items.c.id == self.item(key))).one()


@pytest.fixture
def world(engine: Engine) -> World:
    seeded = seed(engine)
    seed_inbox(engine, seeded)
    users = {
        name: make_user(engine, name, role=role, timezone="Europe/Amsterdam")
        for name, role in (("vera", "viewer"), ("max", "manager"), ("noor", "manager"))
    }
    return World(engine, seeded, users)


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


def _item_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="item[^"]*" id="item-(\d+)"', html)]


def _article(html: str, item_id: int) -> str:
    found = re.search(rf'<article class="item[^"]*" id="item-{item_id}".*?</article>', html, re.DOTALL)
    assert found is not None
    return found.group(0)


def _act(client: KeylessClient, world: World, key: str, action: str, **fields: str) -> Any:
    page = client.get("/inbox")
    data = {"csrf": form_token(page.text), "next": "/inbox?status=all", **fields}
    return client.post(f"/inbox/{world.item(key)}/{action}", data=data)


def test_the_list_is_by_priority_or_age_with_thread_author_reach_and_due_time(
    manager: KeylessClient, world: World
) -> None:
    page = manager.get("/inbox")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert _item_ids(page.text) == [world.item(k) for k in BY_PRIORITY]
    assert _item_ids(manager.get("/inbox", params={"sort": "age"}).text) == [
        world.item(k) for k in ["m10", "m07", "m05", "m04", "m03"]
    ]
    bob = _article(page.text, world.item("m03"))
    assert "question · @bob" in bob
    assert "Overdue" not in bob
    # due 24 h after 2026-11-20 09:00 UTC, shown in max's zone (Amsterdam, UTC+1)
    assert "due 2026-11-21 10:00" in bob
    assert "assigned to nobody" in bob
    # the thread: bob's complaint folded into his question, both as text
    assert bob.count('<p class="text">') == 2
    erin = _article(page.text, world.item("m10"))
    assert '<strong class="due-late">Overdue: was due' in erin
    # the reach of the author's largest account
    assert re.search(r"reach \d+", bob)
    assert '<script src="/static/inbox.js" defer></script>' in page.text
    assert HOSTILE_SCRIPT not in page.text and "javascript:" not in page.text


def test_filters_by_status_assignee_brand_and_overdue(manager: KeylessClient, world: World) -> None:
    overdue = manager.get("/inbox", params={"overdue": "yes"}).text
    assert _item_ids(overdue) == [world.item(k) for k in ["m10", "m05", "m07"]]
    on_time = manager.get("/inbox", params={"overdue": "no"}).text
    assert _item_ids(on_time) == [world.item(k) for k in ["m03", "m04"]]
    assert _item_ids(manager.get("/inbox", params={"brand": "Other"}).text) == []
    assert _item_ids(manager.get("/inbox", params={"brand": "Acme"}).text) == [
        world.item(k) for k in BY_PRIORITY
    ]
    unknown = manager.get("/inbox", params={"brand": "Nope"})
    assert unknown.status_code == 404
    assert "unknown brand &#39;Nope&#39;" in unknown.text

    assert _act(manager, world, "m03", "assign", assignee=str(world.users["noor"])).status_code == 303
    noor = manager.get("/inbox", params={"assignee": str(world.users["noor"])}).text
    assert _item_ids(noor) == [world.item("m03")]
    assert "assigned to noor" in noor
    nobody = manager.get("/inbox", params={"assignee": "none"}).text
    assert _item_ids(nobody) == [world.item(k) for k in ["m10", "m05", "m07", "m04"]]

    assert _act(manager, world, "m04", "resolve").status_code == 303
    assert world.item("m04") not in _item_ids(manager.get("/inbox").text)  # still to do: not resolved
    resolved = manager.get("/inbox", params={"status": "resolved"}).text
    assert _item_ids(resolved) == [world.item("m04")]
    assert _item_ids(manager.get("/inbox", params={"status": "all"}).text) == [
        world.item(k) for k in BY_PRIORITY
    ]


def test_an_item_is_worked_through_its_states(manager: KeylessClient, world: World) -> None:
    steps = [
        ("ack", {}, "acknowledged"),
        ("answer", {}, "answered"),
        ("resolve", {}, "resolved"),
        ("reopen", {}, "open"),
        ("dismiss", {"reason": "not_relevant"}, "dismissed"),
    ]
    for action, fields, status in steps:
        response = _act(manager, world, "m03", action, **fields)
        assert (response.status_code, response.headers["location"]) == (303, "/inbox?status=all")
        assert world.row("m03").status == status
        article = _article(manager.get("/inbox", params={"status": "all"}).text, world.item("m03"))
        assert f'<span class="state">{status}</span>' in article
    assert world.row("m03").dismiss_reason == "not_relevant"
    with world.engine.connect() as conn:
        events = table_of(InboxEvent)
        done = conn.execute(
            sa.select(events.c.action, events.c.actor)
            .where(events.c.item_id == world.item("m03"), events.c.actor != "pipeline")
            .order_by(events.c.id)
        ).all()
    assert [tuple(row) for row in done] == [(action, "user:max") for action, _, _ in steps]


def test_only_the_actions_that_fit_the_state_are_offered(manager: KeylessClient, world: World) -> None:
    article = _article(manager.get("/inbox").text, world.item("m03"))
    actions = re.findall(rf'action="/inbox/{world.item("m03")}/(\w+)"', article)
    # one row of next steps; assign, dismiss, spam, bot and the label folded under "More actions"
    assert actions == ["ack", "answer", "resolve", "assign", "dismiss", "dismiss", "dismiss"]
    more = article.split('<details class="more">')[1]
    assert more.startswith("\n      <summary>More actions</summary>") and 'action$="/ack"' not in more
    assert re.findall(r'name="reason" value="(\w+)"', more) == ["spam", "bot"]
    assert f'action="/mentions/{world.row("m03").first_mention_id}/sentiment"' in more
    _act(manager, world, "m03", "resolve")
    article = _article(manager.get("/inbox", params={"status": "all"}).text, world.item("m03"))
    assert re.findall(rf'action="/inbox/{world.item("m03")}/(\w+)"', article) == ["reopen"]


def test_a_conflict_is_a_message_not_a_crash(manager: KeylessClient, world: World) -> None:
    version = world.row("m03").version
    assert _act(manager, world, "m03", "ack", version=str(version)).status_code == 303
    stale = _act(manager, world, "m03", "resolve", version=str(version))  # another tab's old page
    assert stale.status_code == 409
    assert "Someone else changed item" in stale.text and "it is now acknowledged" in stale.text
    assert '<a href="/inbox?status=all">Back to the list, to look again</a>' in stale.text
    again = _act(manager, world, "m03", "ack")  # acknowledged already
    assert again.status_code == 409
    assert "That does not fit item" in again.text
    assert world.row("m03").status == "acknowledged"


def test_a_dutch_manager_reads_the_page_and_its_messages_in_dutch(world: World) -> None:
    make_user(world.engine, "sanne", role="manager", language="nl")
    with browser(build_app(world.engine)) as client:
        sign_in(client, "sanne")
        page = client.get("/inbox").text
        assert "<h1>Inbox</h1>" in page
        assert "Bevestigen" in page and "Te laat" in page
        _act(client, world, "m03", "ack")
        refused = _act(client, world, "m03", "ack")
        assert refused.status_code == 409
        assert "bevestigd" in refused.text


def test_a_viewer_sees_the_inbox_but_cannot_act(viewer: KeylessClient, world: World) -> None:
    page = viewer.get("/inbox")
    assert _item_ids(page.text) == [world.item(k) for k in BY_PRIORITY]
    assert 'action="/inbox/' not in page.text
    refused = _act(viewer, world, "m03", "ack")
    assert refused.status_code == 403
    assert world.row("m03").status == "open"


def test_a_form_without_its_token_is_refused(manager: KeylessClient, world: World) -> None:
    url = f"/inbox/{world.item('m03')}/ack"
    assert manager.post(url, data={"next": "/inbox"}).status_code == 403
    assert manager.post(url, data={"csrf": "forged", "next": "/inbox"}).status_code == 403
    token = form_token(manager.get("/inbox").text)
    cross_site = manager.post(url, data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    assert world.row("m03").status == "open"


def test_a_browser_without_a_session_signs_in_first(world: World) -> None:
    with browser(build_app(world.engine)) as client:
        response = client.get("/inbox", params={"overdue": "yes"})
        assert (response.status_code, response.headers["location"]) == (
            303,
            "/signin?next=%2Finbox%3Foverdue%3Dyes",
        )
        assert client.post(f"/inbox/{world.item('m03')}/ack", data={}).status_code == 403


def _label(world: World, key: str) -> Any:
    """The label of item `key`'s first mention (the one its form corrects)."""
    mention = world.row(key).first_mention_id
    with world.engine.connect() as conn:
        labels = table_of(MentionLabel)
        return conn.execute(sa.select(labels).where(labels.c.mention_id == mention)).first()


def _suppressed(world: World) -> dict[int, str]:
    with world.engine.connect() as conn:
        return suppressed_authors(conn)


def test_a_label_is_corrected_from_the_inbox(manager: KeylessClient, world: World) -> None:
    """The item's first mention, through the mentions page's correction: back to the inbox, and the thread
    shows the new label."""
    page = manager.get("/inbox")
    article = _article(page.text, world.item("m03"))
    mention = world.row("m03").first_mention_id
    form = re.search(
        rf'<form method="post" action="/mentions/{mention}/sentiment".*?</form>', article, re.DOTALL
    )
    assert form is not None and 'value="question" selected' in form.group(0)
    assert _label(world, "m03") is None
    data = {"csrf": form_token(page.text), "next": "/inbox", "sentiment": "positive", "intent": "praise"}
    response = manager.post(f"/mentions/{mention}/sentiment", data=data)
    assert (response.status_code, response.headers["location"]) == (303, "/inbox")
    label = _label(world, "m03")
    assert (label.sentiment, label.intent, label.labeled_by) == ("positive", "praise", "user:max")
    article = _article(manager.get("/inbox").text, world.item("m03"))
    assert "· positive</p>" in article and 'value="praise" selected' in article
    # the same rules as on the mentions page: a value it does not offer is refused
    bad = manager.post(f"/mentions/{mention}/sentiment", data=data | {"sentiment": "furious"})
    assert bad.status_code == 422 and _label(world, "m03").sentiment == "positive"


@pytest.mark.parametrize("reason", ["spam", "bot"])
def test_the_author_is_marked_as_spam_or_bot_and_reopening_undoes_it(
    manager: KeylessClient, world: World, reason: str
) -> None:
    author = world.row("m03").author_id
    assert author is not None and author not in _suppressed(world)
    version = str(world.row("m03").version)
    response = _act(manager, world, "m03", "dismiss", reason=reason, version=version)
    assert (response.status_code, response.headers["location"]) == (303, "/inbox?status=all")
    assert (world.row("m03").status, world.row("m03").dismiss_reason) == ("dismissed", reason)
    assert _suppressed(world) == {author: reason}
    assert world.item("m03") not in _item_ids(manager.get("/inbox").text)
    article = _article(manager.get("/inbox", params={"status": "dismissed"}).text, world.item("m03"))
    assert f"({reason})" in article
    assert "Reopening this item undoes that." in article
    assert re.findall(rf'action="/inbox/{world.item("m03")}/(\w+)"', article) == ["reopen"]
    assert _act(manager, world, "m03", "reopen").status_code == 303
    assert world.row("m03").status == "open" and _suppressed(world) == {}


def test_a_viewer_cannot_correct_a_label_or_mark_an_author(viewer: KeylessClient, world: World) -> None:
    page = viewer.get("/inbox").text
    assert "More actions" not in page and "/sentiment" not in page
    mention = world.row("m03").first_mention_id
    token = form_token(page)
    refused = viewer.post(
        f"/mentions/{mention}/sentiment", data={"csrf": token, "next": "/inbox", "sentiment": "positive"}
    )
    assert refused.status_code == 403 and _label(world, "m03") is None
    assert _act(viewer, world, "m03", "dismiss", reason="spam").status_code == 403
    assert world.row("m03").status == "open" and _suppressed(world) == {}


def test_label_and_spam_forms_without_their_token_are_refused(manager: KeylessClient, world: World) -> None:
    mention = world.row("m03").first_mention_id
    for data in ({"sentiment": "positive"}, {"sentiment": "positive", "csrf": "forged"}):
        assert manager.post(f"/mentions/{mention}/sentiment", data=data).status_code == 403
    url = f"/inbox/{world.item('m03')}/dismiss"
    assert manager.post(url, data={"reason": "spam"}).status_code == 403
    assert manager.post(url, data={"reason": "bot", "csrf": "forged"}).status_code == 403
    assert _label(world, "m03") is None and _suppressed(world) == {}
