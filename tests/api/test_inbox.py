"""/api/v1/inbox and /api/v1/stats/response-times on the real app and database, over the seeded world's
inbox as the real stage leaves it (tests.api.inbox_seed): five Acme items, none for Other.

Items by their first mention: m10 (erin, 6 days old, priority 71.0), m05 (erin, 25 hours, 68.7), m03 (bob's
question 3 hours ago, his complaint m02 folded in, 60.6), m07 (an anonymous review, 3 days, 59.8), m04
(carol's question a day ago, her praise m01 folded in, 57.9). Due 24 hours after opening.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.service.users import add_user
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import AuthorBrandStats, AuthorSuppression
from monitor.storage.tables import table_of
from tests.api.conftest import NOW, Seeded, TestClient, build_app, error_of, seed
from tests.api.inbox_seed import seed_inbox

BY_PRIORITY = ["m10", "m05", "m03", "m07", "m04"]
BY_AGE = ["m10", "m07", "m05", "m04", "m03"]


@dataclass
class Inbox:
    client: TestClient
    seeded: Seeded
    engine: Engine
    keys: dict[str, str]
    key_ids: dict[str, int]

    def item(self, key: str) -> int:
        return self.seeded.inbox[key]

    def actor(self, caller: str) -> str:
        return f"apikey:{self.key_ids[caller]}"

    def as_(self, caller: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[caller]}"}

    def ids(self, **params: Any) -> list[int]:
        response = self.client.get("/api/v1/inbox", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    def post(self, key: str, action: str, body: Any = None, caller: str = "manager") -> Any:
        return self.client.post(
            f"/api/v1/inbox/{self.item(key)}/{action}", json=body, headers=self.as_(caller)
        )


@pytest.fixture
def inbox(engine: Engine) -> Iterator[Inbox]:
    seeded = seed(engine)
    seed_inbox(engine, seeded)
    with engine.begin() as conn:
        add_user(conn, name="mia", email="mia@example.com", role="manager", now=NOW)
        add_user(conn, name="noor", email="noor@example.com", role="manager", now=NOW)
        add_user(conn, name="gone", email="gone@example.com", role="manager", now=NOW, active=False)
    made = {
        "manager": create_api_key(engine, role="manager"),
        "manager 2": create_api_key(engine, role="manager"),
        "viewer": create_api_key(engine, role="viewer"),
        "manager of Other": create_api_key(engine, role="manager", brand="Other"),
        "viewer of Other": create_api_key(engine, role="viewer", brand="Other"),
        "viewer of Acme": create_api_key(engine, role="viewer", brand="Acme"),
    }
    keys = {caller: key.key for caller, key in made.items()}
    key_ids = {caller: key.info.id for caller, key in made.items()}
    with TestClient(build_app(engine, include_dashboard=False)) as client:
        yield Inbox(client, seeded, engine, keys, key_ids)


def _cursor(payload: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _user_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text('SELECT id FROM "user" WHERE name = :n'), {"n": name}).scalar_one())


def test_the_list_is_by_priority_or_age_and_pages_with_a_cursor(inbox: Inbox) -> None:
    assert inbox.ids() == [inbox.item(k) for k in BY_PRIORITY]
    assert inbox.ids(sort="age") == [inbox.item(k) for k in BY_AGE]
    items = inbox.client.get("/api/v1/inbox").json()["items"]
    assert [item["priority"] for item in items] == [71.0, 68.7, 60.6, 59.8, 57.9]
    bob = items[2]
    assert (bob["author_handle"], bob["intent"], bob["mentions"], bob["status"]) == (
        "@bob",
        "question",
        2,
        "open",
    )
    assert (bob["opened_at"], bob["due_at"], bob["overdue"]) == (
        "2026-11-20T09:00:00Z",
        "2026-11-21T09:00:00Z",
        False,
    )
    for sort, order in (("priority", BY_PRIORITY), ("age", BY_AGE)):
        seen: list[int] = []
        cursor = None
        for _ in range(3):
            params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = inbox.client.get("/api/v1/inbox", params=params).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
        assert (seen, cursor) == ([inbox.item(k) for k in order], None)
    priority_cursor = inbox.client.get("/api/v1/inbox", params={"limit": 2}).json()["next_cursor"]
    crafted = [
        {"sort": "age", "cursor": _cursor(["age", "0001-01-01T00:00:00+05:00", 1])},  # before UTC's year 1
        {"cursor": _cursor(["priority", 50.0, 2**40])},  # no id is that large
        {"cursor": _cursor(["priority", "NaN", 1])},
    ]
    for params in ({"sort": "age", "cursor": priority_cursor}, {"cursor": "garbage"}, *crafted):
        response = inbox.client.get("/api/v1/inbox", params=params)
        assert (response.status_code, error_of(response)["code"]) == (422, "invalid_cursor")


def test_the_filters(inbox: Inbox) -> None:
    def keys(**params: Any) -> list[str]:
        by_item = {item_id: key for key, item_id in inbox.seeded.inbox.items() if key in BY_PRIORITY}
        return [by_item[item_id] for item_id in inbox.ids(**params)]

    assert keys(status="open") == BY_PRIORITY
    assert keys(status="answered") == []
    assert keys(intent="question") == ["m03", "m04"]
    assert keys(min_priority=60) == ["m10", "m05", "m03"]
    # due before NOW without a response; carol's is due at NOW exactly: not yet overdue
    assert keys(overdue=True) == ["m10", "m05", "m07"]
    assert keys(overdue=False) == ["m03", "m04"]
    assert keys(brand="Other") == []
    mia = _user_id(inbox.engine, "mia")
    assert inbox.post("m07", "assign", {"assignee_user_id": mia}).status_code == 200
    assert keys(assignee_id=mia) == ["m07"]
    assert keys(unassigned=True) == ["m10", "m05", "m03", "m04"]
    assert keys(intent="complaint", overdue=True, min_priority=60) == ["m10", "m05"]
    both = inbox.client.get("/api/v1/inbox", params={"assignee_id": mia, "unassigned": True})
    assert (both.status_code, error_of(both)["code"]) == (422, "invalid_filter")
    bad = inbox.client.get("/api/v1/inbox", params={"status": "closed"})
    assert bad.status_code == 422
    # a brand-scoped key without `brand` gets its own brand's items, never another's
    scoped = inbox.client.get("/api/v1/inbox", headers=inbox.as_("viewer of Other"))
    assert scoped.json() == {"items": [], "next_cursor": None}
    other = inbox.client.get("/api/v1/inbox", params={"brand": "Acme"}, headers=inbox.as_("viewer of Other"))
    assert (other.status_code, error_of(other)["code"]) == (403, "forbidden_brand")
    acme = inbox.client.get("/api/v1/inbox", headers=inbox.as_("viewer of Acme"))
    assert len(acme.json()["items"]) == 5


def test_one_item_with_its_thread_and_events(inbox: Inbox) -> None:
    response = inbox.client.get(f"/api/v1/inbox/{inbox.item('m02')}")
    assert response.status_code == 200
    item = response.json()
    assert [(m["external_id"], m["role"], m["sentiment"], m["intent"]) for m in item["thread"]] == [
        ("x-m03", "author", "neutral", "question"),
        ("x-m02", "author", "negative", "complaint"),
    ]
    assert item["thread"][1]["text"] == "acme billing is a mess again"
    assert [(e["action"], e["to_status"], e["actor"]) for e in item["events"]] == [
        ("opened", "open", "pipeline")
    ]
    assert (item["version"], item["first_mention_id"]) == (2, inbox.seeded.mentions["m03"])
    missing = inbox.client.get("/api/v1/inbox/999999")
    assert (missing.status_code, error_of(missing)) == (
        404,
        {
            "code": "unknown_inbox_item",
            "message": "there is no inbox item 999999; take ids from GET /api/v1/inbox",
        },
    )
    other = inbox.client.get(f"/api/v1/inbox/{inbox.item('m02')}", headers=inbox.as_("viewer of Other"))
    assert (other.status_code, error_of(other)["code"]) == (403, "forbidden_brand")
    mine = inbox.client.get(f"/api/v1/inbox/{inbox.item('m02')}", headers=inbox.as_("viewer of Acme"))
    assert mine.json() == item


def test_actions_change_the_state_and_record_who_acted(inbox: Inbox) -> None:
    acked = inbox.post("m05", "ack")
    assert acked.status_code == 200, acked.text
    assert (acked.json()["status"], acked.json()["version"]) == ("acknowledged", 2)
    answered = inbox.post("m05", "answer", {"version": 2}, caller="manager 2").json()
    assert (answered["status"], answered["first_response_at"], answered["answered_at"]) == (
        "answered",
        "2026-11-20T12:00:00Z",
        "2026-11-20T12:00:00Z",
    )
    resolved = inbox.client.post(f"/api/v1/inbox/{inbox.item('m05')}/resolve").json()  # the admin key
    assert (resolved["status"], resolved["resolved_at"]) == ("resolved", "2026-11-20T12:00:00Z")
    reopened = inbox.post("m05", "reopen").json()
    assert (reopened["status"], reopened["resolved_at"], reopened["version"]) == ("open", None, 5)
    actors = [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in reopened["events"]]
    assert actors[:3] == [
        ("opened", None, "open", "pipeline"),
        ("ack", "open", "acknowledged", inbox.actor("manager")),
        ("answer", "acknowledged", "answered", inbox.actor("manager 2")),
    ]
    assert actors[3][:3] == ("resolve", "answered", "resolved") and actors[3][3].startswith("apikey:")
    assert actors[3][3] not in (inbox.actor("manager"), inbox.actor("manager 2"))  # the admin key
    assert actors[4] == ("reopen", "resolved", "open", inbox.actor("manager"))


def test_refusals_name_the_state_the_item_and_the_assignee(inbox: Inbox) -> None:
    dismissed = inbox.post("m07", "dismiss", {"reason": "handled_elsewhere"})
    assert (dismissed.json()["status"], dismissed.json()["dismiss_reason"]) == (
        "dismissed",
        "handled_elsewhere",
    )
    item = inbox.item("m07")
    resolving = inbox.post("m07", "resolve")
    assert (resolving.status_code, error_of(resolving)) == (
        409,
        {
            "code": "wrong_state",
            "message": f"cannot resolve inbox item {item}: it is dismissed, and resolve fits an item that is "
            "open or acknowledged or answered; reload it to see what changed",
        },
    )
    # the second manager acts on what they read before the first acknowledged it
    assert inbox.post("m03", "ack", {"version": 2}).status_code == 200
    late = inbox.post("m03", "resolve", {"version": 2}, caller="manager 2")
    assert (late.status_code, error_of(late)["code"]) == (409, "version_conflict")
    assert "it is now acknowledged" in error_of(late)["message"]
    unknown = inbox.client.post("/api/v1/inbox/999999/ack", headers=inbox.as_("manager"))
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "unknown_inbox_item")
    for assignee in (_user_id(inbox.engine, "gone"), 999_999):
        refused = inbox.post("m03", "assign", {"assignee_user_id": assignee})
        assert (refused.status_code, error_of(refused)) == (
            422,
            {
                "code": "unknown_assignee",
                "message": f"there is no active user {assignee} to assign; list them with `wom user list`",
            },
        )
    assigned = inbox.post("m03", "assign", {"assignee_user_id": _user_id(inbox.engine, "noor")}).json()
    assert (assigned["assignee"], assigned["status"]) == ("noor", "acknowledged")
    no_reason = inbox.post("m03", "dismiss", {})
    assert no_reason.status_code == 422
    viewer = inbox.post("m03", "resolve", caller="viewer")
    assert (viewer.status_code, error_of(viewer)["code"]) == (403, "forbidden_role")
    other = inbox.post("m03", "resolve", caller="manager of Other")
    assert (other.status_code, error_of(other)["code"]) == (403, "forbidden_brand")
    assert inbox.client.get(f"/api/v1/inbox/{inbox.item('m03')}").json()["status"] == "acknowledged"


def test_dismissing_as_spam_takes_the_author_out_of_the_scores_until_reopened(inbox: Inbox) -> None:
    stats, suppression = table_of(AuthorBrandStats), table_of(AuthorSuppression)
    erin, acme = inbox.seeded.authors["erin"], inbox.seeded.brands["Acme"]

    def erin_detractor() -> float:
        with inbox.engine.connect() as conn:
            return float(
                conn.execute(
                    sa.select(stats.c.detractor_score).where(
                        stats.c.author_id == erin, stats.c.brand_id == acme
                    )
                ).scalar_one()
            )

    assert inbox.post("m05", "dismiss", {"reason": "spam"}).status_code == 200
    assert erin_detractor() == 0.0
    with inbox.engine.connect() as conn:
        assert conn.execute(sa.select(suppression.c.author_id, suppression.c.suppressed_by)).all() == [
            (erin, inbox.actor("manager"))
        ]
    assert inbox.ids(status="open").count(inbox.item("m10")) == 1  # her other item stays
    assert inbox.post("m05", "reopen").json()["status"] == "open"
    assert erin_detractor() > 0.0
    with inbox.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(suppression)).scalar_one() == 0


def test_response_times_per_brand_and_week(inbox: Inbox) -> None:
    for key in ("m03", "m04", "m05", "m07"):  # answered at NOW: after 3, 24, 25 and 72 hours
        assert inbox.post(key, "answer").status_code == 200
    response = inbox.client.get("/api/v1/stats/response-times")
    assert response.status_code == 200
    body = response.json()
    assert (body["since"], body["until"]) == ("2026-08-28T12:00:00Z", "2026-11-20T12:00:00Z")
    assert body["weeks"] == [
        {
            "brand": "Acme",
            "week": "2026-W46",
            "week_start": "2026-11-09",
            "opened": 1,
            "responded": 0,
            "median_hours": None,
            "p90_hours": None,
            "missed_target": 1,
            "waiting": 1,
        },
        {
            "brand": "Acme",
            "week": "2026-W47",
            "week_start": "2026-11-16",
            "opened": 4,
            "responded": 4,
            "median_hours": 24.5,
            # linear between the 3rd and 4th of 3, 24, 25, 72: 25 + 0.7 * 47
            "p90_hours": 57.9,
            "missed_target": 2,  # 25 and 72 hours; 24 is on target
            "waiting": 0,
        },
    ]
    assert body["backlog"] == [
        {"brand": "Acme", "waiting": 1, "overdue": 1},
        {"brand": "Other", "waiting": 0, "overdue": 0},
    ]
    narrow = inbox.client.get(
        "/api/v1/stats/response-times",
        params={"brand": "Acme", "since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z"},
    ).json()
    assert [(w["week"], w["opened"], w["median_hours"], w["p90_hours"]) for w in narrow["weeks"]] == [
        ("2026-W47", 1, 3.0, 3.0)
    ]
    assert narrow["backlog"] == [{"brand": "Acme", "waiting": 1, "overdue": 1}]
    scoped = inbox.client.get("/api/v1/stats/response-times", headers=inbox.as_("viewer of Other")).json()
    assert (scoped["weeks"], scoped["backlog"]) == ([], [{"brand": "Other", "waiting": 0, "overdue": 0}])
    backwards = inbox.client.get(
        "/api/v1/stats/response-times",
        params={"since": "2026-11-20T00:00:00Z", "until": "2026-11-19T00:00:00Z"},
    )
    assert (backwards.status_code, error_of(backwards)["code"]) == (422, "invalid_range")
    # the default 12 weeks before an `until` in year 1 start at the calendar's first day
    early = inbox.client.get("/api/v1/stats/response-times", params={"until": "0001-01-05T00:00:00Z"}).json()
    assert (early["since"], early["weeks"]) == ("0001-01-01T00:00:00Z", [])


def test_a_key_of_a_user_acts_as_that_user(inbox: Inbox) -> None:
    mia = create_api_key(inbox.engine, role="manager", user="mia").key
    acked = inbox.client.post(
        f"/api/v1/inbox/{inbox.item('m04')}/ack", headers={"Authorization": f"Bearer {mia}"}
    )
    assert [(e["action"], e["actor"]) for e in acked.json()["events"]][-1] == ("ack", "user:mia")
