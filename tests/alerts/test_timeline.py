"""Timeline acceptance test in Alertmanager's style (../shared/RELIABILITY.md A-8): alerts pushed at fake
times, the deliver job every minute, and every notification counted where it arrives (a real SMTP server,
a real HTTP receiver) against the windows it is wanted in, for rules x channels. The figure is the number
of mismatches: wanted notifications missing or outside their window, and notifications nobody wanted."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from tests.alerts.http_receiver import serve_receiver
from tests.alerts.outbox_world import (
    SECRET,
    SECRET_ENV,
    brand_ids,
    make_user,
    set_alert,
    step,
    store_alert,
    world_settings,
)
from tests.alerts.smtp_server import LoopbackController, Recorder

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CHANNELS = ("email:ann@acme.example", "slack", "webhook")


@dataclass(frozen=True)
class Want:
    title: str
    channel: str
    between: tuple[int, int]  # minutes after T0, [a, b)
    reminder: bool = False


def _spike(at: datetime) -> dict[str, object]:
    return {"start": at.isoformat(), "end": None}


def test_notifications_arrive_in_their_windows_for_rules_and_channels(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver() as hook:
        hooks = [
            {"name": "ops", "kind": "standard", "url": hook.url, "secret_env": SECRET_ENV},
            {"name": "team", "kind": "slack", "url": hook.url.replace("/hook", "/slack")},
        ]
        settings = world_settings(
            database_url,
            smtp_port=smtp_server.port,
            hook_port=hook.port,
            hooks=hooks,
            # a cap of 10 an hour leaves reminders room (half of it) besides the pushes within their hour
            alerts={"group_wait_minutes": 5, "repeat_hours": 1, "max_immediate_per_hour": 10},
        )
        ids = brand_ids(engine, settings)
        make_user(engine, "ann", now=T0)
        make_user(engine, "ben", now=T0, delivery="digest_only")
        acme, globex = ids["Acme"], ids["Globex"]
        stored: dict[str, int] = {}

        def push(title: str, **values: object) -> Callable[[datetime], None]:
            def run(at: datetime) -> None:
                stored[title] = store_alert(engine, title=title, at=at, **values)  # type: ignore[arg-type]

            return run

        def resolve(title: str) -> Callable[[datetime], None]:
            return lambda at: set_alert(engine, stored[title], status="resolved")

        timeline: dict[int, list[Callable[[datetime], None]]] = {
            0: [push("C1 complaint", brand_id=acme, kind="complaint_to_answer")],
            10: [
                push(
                    "S1 spike",
                    brand_id=acme,
                    kind="negative_spike",
                    detail=_spike(T0 + timedelta(minutes=10)),
                )
            ],
            12: [push("I1 influential", brand_id=acme, kind="influential_negative")],
            20: [
                push(
                    "S2 flap",
                    brand_id=globex,
                    kind="negative_spike",
                    detail=_spike(T0 + timedelta(minutes=20)),
                )
            ],
            22: [resolve("S2 flap")],
            30: [push("W1 warning", brand_id=globex, kind="complaint_to_answer", severity="warning")],
            100: [resolve("S1 spike")],
        }
        wants = [
            *(Want("C1 complaint", channel, (0, 1)) for channel in CHANNELS),
            *(Want("S1 spike", channel, (15, 16)) for channel in CHANNELS),  # after group_wait
            *(
                Want("W1 warning", channel, (30, 31)) for channel in ("slack", "webhook")
            ),  # ann: critical only
            *(Want("C1 complaint", channel, (60, 61), reminder=True) for channel in CHANNELS),
            *(Want("C1 complaint", channel, (120, 121), reminder=True) for channel in CHANNELS),
            *(Want("S1 spike", channel, (75, 76), reminder=True) for channel in CHANNELS),
            *(Want("W1 warning", channel, (90, 91), reminder=True) for channel in ("slack", "webhook")),
            # nothing for I1 (inhibited by S1), S2 (over within group_wait), ben (digest only), S1 after 100
        ]

        arrivals: list[tuple[int, str, str]] = []
        seen_mail = seen_hooks = 0
        for minute in range(0, 150):
            at = T0 + timedelta(minutes=minute)
            for event in timeline.get(minute, []):
                event(at)
            step(engine, settings, at)
            for message in recorder.messages()[seen_mail:]:
                arrivals.append((minute, f"email:{message['To']}", str(message["Subject"])))
            for request in hook.requests[seen_hooks:]:
                body = json.loads(request.body)
                text = body["text"] if request.path == "/slack" else f"{body['type']} {body['data']['title']}"
                arrivals.append((minute, "slack" if request.path == "/slack" else "webhook", text))
            seen_mail, seen_hooks = len(recorder.envelopes), len(hook.requests)

    def matches(want: Want, arrival: tuple[int, str, str]) -> bool:
        minute, channel, text = arrival
        reminded = "Reminder" in text or "alert.reminder" in text
        return (
            channel == want.channel
            and want.title in text
            and reminded == want.reminder
            and want.between[0] <= minute < want.between[1]
        )

    unmatched = list(arrivals)
    missing = []
    for want in wants:
        found = next((a for a in unmatched if matches(want, a)), None)
        if found is None:
            missing.append(want)
        else:
            unmatched.remove(found)
    assert (missing, unmatched) == ([], [])  # mismatches: 0
