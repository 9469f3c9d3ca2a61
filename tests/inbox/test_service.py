"""What people do with inbox items (monitor.service.inbox) on SQLite and PostgreSQL: each action's state and
event, actions that do not fit the state, assignees, dismissing as spam (and undoing it), and two people
acting on one item at once."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.errors import (
    ForbiddenBrandError,
    InboxError,
    InboxStateError,
    UnknownAssigneeError,
    UnknownInboxItemError,
)
from monitor.inbox.rules import Action
from monitor.scoring.store import recompute_authors
from monitor.service.inbox import ItemChange, act_on_item, apply_action
from monitor.service.scope import BrandScope
from monitor.service.users import add_user
from monitor.storage.db import writable
from monitor.storage.models import AuthorBrandStats, AuthorSuppression, Classification
from monitor.storage.tables import table_of
from tests.inbox.world import ITEM, T0, InboxWorld

STATS = table_of(AuthorBrandStats)
CLASSIFICATION = table_of(Classification)
SUPPRESSION = table_of(AuthorSuppression)
LATER = T0 + timedelta(days=1)


def _one_item(world: InboxWorld) -> int:
    world.post("ann", hours=0)
    world.run()
    (item,) = world.items()
    return int(item["id"])


def _user(engine: Engine, name: str, *, active: bool = True) -> int:
    with engine.begin() as conn:
        return add_user(conn, name=name, email=f"{name}@example.com", role="manager", now=T0, active=active)


def _act(
    world: InboxWorld,
    item_id: int,
    action: str,
    *,
    actor: str = "user:mia",
    now: datetime = LATER,
    **kwargs: Any,
) -> ItemChange:
    return act_on_item(
        world.engine,
        item_id=item_id,
        action=cast(Action, action),
        actor=actor,
        settings=world.settings,
        now=now,
        **kwargs,
    )


def _item(world: InboxWorld, item_id: int) -> dict[str, Any]:
    return next(item for item in world.items() if item["id"] == item_id)


def test_ack_answer_resolve_reopen_change_the_state_and_log_who_did_it(engine: Engine) -> None:
    world = InboxWorld(engine)
    item_id = _one_item(world)
    change = _act(world, item_id, "ack", actor="user:mia")
    assert (change.from_status, change.to_status, change.version) == ("open", "acknowledged", 2)
    _act(world, item_id, "answer", actor="user:noor", now=LATER + timedelta(hours=1))
    item = _item(world, item_id)
    assert (item["status"], item["version"]) == ("answered", 3)
    assert item["first_response_at"] == item["answered_at"] == LATER + timedelta(hours=1)
    _act(world, item_id, "resolve", now=LATER + timedelta(hours=2))
    assert _item(world, item_id)["resolved_at"] == LATER + timedelta(hours=2)
    _act(world, item_id, "reopen", now=LATER + timedelta(hours=3))
    item = _item(world, item_id)
    assert (item["status"], item["resolved_at"], item["version"]) == ("open", None, 5)
    # the first response stays the first: a later answer moves answered_at only
    _act(world, item_id, "answer", now=LATER + timedelta(hours=4))
    item = _item(world, item_id)
    assert item["first_response_at"] == LATER + timedelta(hours=1)
    assert item["answered_at"] == LATER + timedelta(hours=4)
    assert item["updated_at"] == LATER + timedelta(hours=4)
    assert world.events(item_id) == [
        ("opened", None, "open", "pipeline"),
        ("ack", "open", "acknowledged", "user:mia"),
        ("answer", "acknowledged", "answered", "user:noor"),
        ("resolve", "answered", "resolved", "user:mia"),
        ("reopen", "resolved", "open", "user:mia"),
        ("answer", "open", "answered", "user:mia"),
    ]


def test_an_action_that_does_not_fit_the_state_names_the_state_and_changes_nothing(engine: Engine) -> None:
    world = InboxWorld(engine)
    item_id = _one_item(world)
    _act(world, item_id, "dismiss", reason="not_relevant")
    before = _item(world, item_id)
    assert (before["status"], before["dismiss_reason"]) == ("dismissed", "not_relevant")
    with pytest.raises(InboxStateError) as raised:
        _act(world, item_id, "resolve")
    assert (raised.value.code, raised.value.state) == ("wrong_state", "dismissed")
    assert str(raised.value) == (
        f"cannot resolve inbox item {item_id}: it is dismissed, and resolve fits an item that is open or "
        "acknowledged or answered; reload it to see what changed"
    )
    with pytest.raises(InboxStateError) as raised:
        _act(world, item_id, "ack")
    assert raised.value.state == "dismissed"
    assert _item(world, item_id) == before
    assert [event[0] for event in world.events(item_id)] == ["opened", "dismiss"]
    _act(world, item_id, "reopen")
    item = _item(world, item_id)
    assert (item["status"], item["dismiss_reason"]) == ("open", None)


def test_assign_keeps_the_state_and_an_unknown_or_inactive_assignee_is_refused(engine: Engine) -> None:
    world = InboxWorld(engine)
    item_id = _one_item(world)
    mia = _user(engine, "mia")
    gone = _user(engine, "gone", active=False)
    change = _act(world, item_id, "assign", assignee_user_id=mia)
    assert (change.from_status, change.to_status) == ("open", "open")
    assert _item(world, item_id)["assignee_user_id"] == mia
    for unknown in (gone, mia + 1000):
        with pytest.raises(UnknownAssigneeError) as raised:
            _act(world, item_id, "assign", assignee_user_id=unknown)
        assert (raised.value.code, raised.value.user_id) == ("unknown_assignee", unknown)
    assert _item(world, item_id)["assignee_user_id"] == mia
    _act(world, item_id, "assign", assignee_user_id=None)
    assert (_item(world, item_id)["assignee_user_id"], _item(world, item_id)["version"]) == (None, 3)
    with engine.connect() as conn:
        details = conn.execute(
            sa.text("SELECT detail FROM inboxevent WHERE action = 'assign' ORDER BY id")
        ).scalars()
        assert [d if isinstance(d, dict) else json.loads(d) for d in details] == [
            {"assignee_user_id": mia},
            {"assignee_user_id": None},
        ]


def test_unknown_items_reasons_actions_and_brands_outside_the_scope(engine: Engine) -> None:
    world = InboxWorld(engine)
    item_id = _one_item(world)
    with pytest.raises(UnknownInboxItemError) as missing:
        _act(world, item_id + 1, "ack")
    assert missing.value.code == "unknown_inbox_item"
    with pytest.raises(InboxError) as no_reason:
        _act(world, item_id, "dismiss")
    assert no_reason.value.code == "invalid_reason"
    with pytest.raises(InboxError) as bad_reason:
        _act(world, item_id, "dismiss", reason="boring")
    assert bad_reason.value.code == "invalid_reason"
    with pytest.raises(InboxError) as bad_action:
        _act(world, item_id, "escalate")
    assert bad_action.value.code == "invalid_action"
    globex = world.brands["Globex"]
    with pytest.raises(ForbiddenBrandError):
        _act(world, item_id, "ack", scope=BrandScope(globex, "Globex", frozenset({globex})))
    acme = world.brands["Acme"]
    _act(world, item_id, "ack", scope=BrandScope(acme, "Acme", frozenset({acme, globex})))
    assert _item(world, item_id)["status"] == "acknowledged"


def _classify_as_complaints(world: InboxWorld) -> None:
    """The model's classification of every mention so far (the scores read it, not the brand link)."""
    with world.engine.begin() as conn:
        conn.execute(sa.delete(CLASSIFICATION))
        conn.execute(
            sa.insert(CLASSIFICATION),
            [
                dict(
                    mention_id=mention_id,
                    model_name="test",
                    model_version="1",
                    sentiment="negative",
                    confidence=0.9,
                    score=-0.8,
                    lang="en",
                    intent="complaint",
                    intent_confidence=0.9,
                    created_at=T0,
                )
                for mention_id in world.ids.values()
            ],
        )


def _detractor_score(engine: Engine, author_id: int, brand_id: int) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(
                sa.select(STATS.c.detractor_score).where(
                    STATS.c.author_id == author_id, STATS.c.brand_id == brand_id
                )
            ).scalar_one()
        )


def test_dismissing_as_spam_stops_new_items_and_scores_until_the_item_is_reopened(engine: Engine) -> None:
    world = InboxWorld(engine)
    world.post("ann", hours=0, reach=5000)
    world.post("ann", hours=1)
    world.run()
    (item,) = world.items()
    ann, acme = world.authors["ann"], world.brands["Acme"]
    _classify_as_complaints(world)
    with engine.begin() as conn:
        recompute_authors(conn, author_ids=[ann], settings=world.settings)
    scored = _detractor_score(engine, ann, acme)
    assert scored > 0

    change = _act(world, item["id"], "dismiss", reason="spam", actor="user:mia")
    assert change.suppressed_author is True
    assert _detractor_score(engine, ann, acme) == 0.0
    with engine.connect() as conn:
        suppression = conn.execute(sa.select(SUPPRESSION)).mappings().one()
    assert (suppression["author_id"], suppression["reason"], suppression["item_id"]) == (
        ann,
        "spam",
        item["id"],
    )
    assert suppression["suppressed_by"] == "user:mia"
    # within the fold window and after it: no item, and the dismissed one is not reopened
    world.post("ann", hours=2)
    world.post("ann", hours=200, intent="question")
    counts = world.run()
    assert (counts.opened, counts.reopened) == (0, 0)
    assert [i["id"] for i in world.items()] == [item["id"]]
    assert _item(world, item["id"])["status"] == "dismissed"
    _classify_as_complaints(world)
    with engine.begin() as conn:
        recompute_authors(conn, author_ids=[ann], settings=world.settings)
    assert _detractor_score(engine, ann, acme) == 0.0

    change = _act(world, item["id"], "reopen", actor="user:noor", now=LATER + timedelta(hours=1))
    assert change.unsuppressed_author is True
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SUPPRESSION)).scalar_one() == 0
    assert _detractor_score(engine, ann, acme) > scored  # four complaints now, not two
    world.post("ann", hours=400)
    assert world.run().opened == 1
    assert [event[:3] for event in world.events(item["id"])][1:] == [
        ("dismiss", "open", "dismissed"),
        ("reopen", "dismissed", "open"),
    ]


def test_dismissing_as_a_bot_twice_keeps_the_first_suppression(engine: Engine) -> None:
    world = InboxWorld(engine)
    world.post("bot9", hours=0)
    world.post("bot9", hours=100)  # past the fold window: a second item
    world.run()
    first, second = world.items()
    assert _act(world, first["id"], "dismiss", reason="bot").suppressed_author is True
    assert _act(world, second["id"], "dismiss", reason="spam").suppressed_author is False
    with engine.connect() as conn:
        assert conn.execute(sa.select(SUPPRESSION.c.reason, SUPPRESSION.c.item_id)).one() == (
            "bot",
            first["id"],
        )
    # reopening either item dismissed as spam or bot says the author is not one: the suppression goes
    assert _act(world, second["id"], "reopen").unsuppressed_author is True


def test_an_item_changed_since_it_was_read_is_a_version_conflict(engine: Engine) -> None:
    world = InboxWorld(engine)
    item_id = _one_item(world)
    seen = int(_item(world, item_id)["version"])
    _act(world, item_id, "ack", version=seen, actor="user:mia")
    with pytest.raises(InboxStateError) as raised:
        _act(world, item_id, "resolve", version=seen, actor="user:noor")
    assert (raised.value.code, raised.value.state) == ("version_conflict", "acknowledged")
    assert _item(world, item_id)["status"] == "acknowledged"
    assert [event[3] for event in world.events(item_id)] == ["pipeline", "user:mia"]


@pytest.mark.postgres
def test_two_people_acting_at_once_on_postgresql_one_wins_the_other_gets_a_conflict(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: SQLite holds one writer at a time by itself")
    world = InboxWorld(engine)
    item_id = _one_item(world)
    outcome: dict[str, object] = {}
    noor_started = threading.Event()

    def noor_resolves() -> None:
        with writable(engine).connect() as conn, conn.begin():
            outcome["pid"] = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            noor_started.set()
            try:
                outcome["noor"] = apply_action(
                    conn,
                    item_id=item_id,
                    action="resolve",
                    actor="user:noor",
                    settings=world.settings,
                    now=LATER,
                )
            except InboxStateError as error:
                outcome["noor"] = error

    with writable(engine).connect() as mia, writable(engine).connect() as watcher:
        with mia.begin():
            apply_action(
                mia, item_id=item_id, action="ack", actor="user:mia", settings=world.settings, now=LATER
            )
            noor = threading.Thread(target=noor_resolves)
            noor.start()
            assert noor_started.wait(30)
            # until noor's UPDATE waits for the row mia updated: both read version 1, mia's write is uncommitted
            wait_event = None
            for _ in range(3000):
                wait_event = watcher.execute(
                    sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": outcome["pid"]},
                ).scalar()
                watcher.rollback()
                if wait_event == "Lock":
                    break
                noor.join(0.01)
            assert wait_event == "Lock"
        noor.join(30)
    error = outcome["noor"]
    assert isinstance(error, InboxStateError)
    assert (error.code, error.state) == ("version_conflict", "acknowledged")
    assert "it is now acknowledged" in str(error)
    item = _item(world, item_id)
    assert (item["status"], item["version"]) == ("acknowledged", 2)
    assert world.events(item_id)[1:] == [("ack", "open", "acknowledged", "user:mia")]
    with engine.connect() as conn:
        assert conn.execute(sa.select(ITEM.c.resolved_at).where(ITEM.c.id == item_id)).scalar() is None
