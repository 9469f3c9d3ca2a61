"""Routing and the outbox against a real SMTP server and a real HTTP receiver, with a fake clock, on SQLite
and PostgreSQL: grouping and inhibition (../shared/RELIABILITY.md A-1), group_wait (A-2), the repeat
interval (A-3), the hourly cap and the digest (D-9), quiet hours and digest-only users, SMTP down then up
(D-1), and `[alerts] email_to` addresses that became users."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from monitor.alerts.delivery import DeliveryResult
from monitor.service.digest import queue_due_digests
from monitor.service.notify import route_alerts
from monitor.storage.db import connect
from tests.alerts.http_receiver import serve_receiver
from tests.alerts.outbox_world import (
    SECRET,
    SECRET_ENV,
    brand_ids,
    make_user,
    per_recipient,
    rows,
    set_alert,
    step,
    store_alert,
    world_settings,
)
from tests.alerts.smtp_server import LoopbackController, Recorder

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
USERS = ("ann", "ben", "cas")


def _spike_detail(start: datetime, end: datetime | None = None) -> dict[str, object]:
    return {"start": start.isoformat(), "end": end.isoformat() if end else None, "mention_count": 1000}


def test_a_storm_makes_one_spike_push_and_inhibits_influential_negatives(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A-1 at the routing stage: 1,000 negatives in 10 minutes are one incident (one spike alert, kept by
    # monitor.alerts.incidents), 30 of them by influential authors, 60 complaints to answer besides
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver() as hook:
        hooks = [
            {"name": "ops", "kind": "standard", "url": hook.url, "secret_env": SECRET_ENV},
            {"name": "team", "kind": "slack", "url": hook.url.replace("/hook", "/slack")},
        ]
        settings = world_settings(database_url, smtp_port=smtp_server.port, hook_port=hook.port, hooks=hooks)
        acme = brand_ids(engine, settings)["Acme"]
        for name in USERS:
            make_user(engine, name, now=T0)
        start = T0 - timedelta(minutes=10)
        spike = store_alert(
            engine,
            brand_id=acme,
            kind="negative_spike",
            title="1000 negatives",
            at=start,
            detail=_spike_detail(start),
            created_at=T0,
        )
        influential = [
            store_alert(
                engine,
                brand_id=acme,
                kind="influential_negative",
                title=f"big voice {n}",
                at=start + timedelta(seconds=20 * n),
                severity="critical",
                created_at=T0,
            )
            for n in range(30)
        ]
        inside = [
            store_alert(
                engine,
                brand_id=acme,
                kind="complaint_to_answer",
                title=f"complaint {n}",
                at=start + timedelta(seconds=10 * n),
                created_at=T0,
            )
            for n in range(60)
        ]
        globex = brand_ids(engine, settings)["Globex"]
        complaints: list[int] = []
        for minute in range(0, 61, 1):  # the deliver job every minute for an hour
            moment = T0 + timedelta(minutes=minute)
            if minute == 10:  # another brand's complaints, after the spike went out: these meet the cap
                complaints += [
                    store_alert(
                        engine, brand_id=globex, kind="complaint_to_answer", title=f"globex {n}", at=moment
                    )
                    for n in range(20)
                ]
                route_alerts(engine, settings, now=moment)
                slack_due = sorted(
                    r["next_attempt_at"] for r in rows(engine, channel="slack", status="pending")
                )
            step(engine, settings, moment)

        spike_rows = rows(engine, alert_id=spike)
        assert sorted((r["channel"], r["recipient"]) for r in spike_rows) == sorted(
            [("email", f"{n}@acme.example") for n in USERS] + [("webhook", "ops"), ("slack", "team")]
        )
        assert {r["status"] for r in spike_rows} == {"sent"}
        # inhibited: no message at all for the influential negatives and complaints inside the spike
        assert all(rows(engine, alert_id=alert_id) == [] for alert_id in [*influential, *inside])
        received = per_recipient(recorder)
        assert received == Counter({f"{n}@acme.example": 5 for n in USERS})  # the cap: 5 an hour each
        spike_mails = [m for m in recorder.messages() if str(m["X-Wom-Alert-Id"]) == str(spike)]
        assert len(spike_mails) == 3
        digest_rows = [r for r in rows(engine, status="digest") if r["alert_id"] in complaints]
        assert len(digest_rows) == 3 * (20 - 4)  # the spike and 4 complaints were the 5
        slack = [r for r in hook.requests if r.path == "/slack"]
        # Slack takes about 1 message a second: the 20 queued at once are spaced a second apart
        assert slack_due == [T0 + timedelta(minutes=10, seconds=n) for n in range(20)]
        assert len(slack) == 1 + 20
        bodies = [json.loads(r.body) for r in hook.requests if r.path == "/hook"]
        assert [b["data"]["kind"] for b in bodies].count("influential_negative") == 0


def test_a_spike_over_within_group_wait_is_recorded_not_pushed(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    #
    with serve_receiver() as hook:
        hooks = [{"name": "team", "kind": "slack", "url": hook.url}]
        settings = world_settings(
            database_url,
            smtp_port=smtp_server.port,
            hook_port=hook.port,
            hooks=hooks,
            alerts={"group_wait_minutes": 5},
        )
        acme = brand_ids(engine, settings)["Acme"]
        make_user(engine, "ann", now=T0)
        spike = store_alert(
            engine,
            brand_id=acme,
            kind="negative_spike",
            title="short burst",
            at=T0,
            detail=_spike_detail(T0),
            created_at=T0,
        )
        routed, _ = step(engine, settings, T0 + timedelta(minutes=1))
        assert routed.waiting == 1
        set_alert(engine, spike, status="resolved", detail=_spike_detail(T0, T0 + timedelta(minutes=3)))
        for minute in range(2, 60):
            step(engine, settings, T0 + timedelta(minutes=minute))
        assert recorder.envelopes == [] and hook.requests == []
        assert rows(engine) == []

        # a spike still open after group_wait is pushed once
        second = store_alert(
            engine,
            brand_id=acme,
            kind="negative_spike",
            title="real",
            at=T0 + timedelta(hours=2),
            detail=_spike_detail(T0 + timedelta(hours=2)),
            created_at=T0 + timedelta(hours=2),
        )
        for minute in range(0, 10):
            step(engine, settings, T0 + timedelta(hours=2, minutes=minute))
        assert [r["alert_id"] for r in rows(engine)] == [second, second]
        assert len(recorder.envelopes) == 1 and len(hook.requests) == 1


@pytest.mark.parametrize(
    ("repeat_hours", "max_reminders", "expected"), [(4.0, 10, 6), (5.0, 10, 4), (4.0, 3, 3), (0.0, 3, 0)]
)
def test_an_open_unchanged_alert_is_reminded_every_repeat_interval(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    recorder: Recorder,
    repeat_hours: float,
    max_reminders: int,
    expected: int,
) -> None:
    # floor(24 / repeat_hours) reminders in 24 h (checked every 10 minutes), at most max_reminders
    settings = world_settings(
        database_url,
        smtp_port=smtp_server.port,
        alerts={"repeat_hours": repeat_hours, "max_reminders": max_reminders},
    )
    acme = brand_ids(engine, settings)["Acme"]
    make_user(engine, "ann", now=T0)
    alert = store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="stuck", at=T0)
    for tick in range(0, 24 * 6 + 1):
        step(engine, settings, T0 + timedelta(minutes=10 * tick))
    subjects = [str(m["Subject"]) for m in recorder.messages()]
    assert len(subjects) == 1 + expected
    assert sum(s.startswith("[wom] Reminder: ") for s in subjects) == expected
    assert len({str(m["Message-ID"]) for m in recorder.messages()}) == 1 + expected

    # acknowledged: no more reminders
    set_alert(engine, alert, status="acknowledged")
    for tick in range(24 * 6 + 1, 24 * 6 * 2):
        step(engine, settings, T0 + timedelta(minutes=10 * tick))
    assert len(recorder.envelopes) == 1 + expected


def test_reminders_never_take_a_new_alerts_place_in_the_hourly_cap(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    # a cap of 4 an hour: reminders go out only while fewer than 2 (half the cap) e-mails went in the last
    # hour, after the pass's new alerts; a reminder without room is skipped, not queued for later
    settings = world_settings(
        database_url,
        smtp_port=smtp_server.port,
        alerts={"max_immediate_per_hour": 4, "repeat_hours": 1, "max_reminders": 3},
    )
    acme = brand_ids(engine, settings)["Acme"]
    make_user(engine, "ann", now=T0)

    def kinds() -> Counter[str]:
        return Counter(
            "reminder" if str(m["Subject"]).startswith("[wom] Reminder: ") else "alert"
            for m in recorder.messages()
        )

    first = [
        store_alert(engine, brand_id=acme, kind="influential_negative", title=f"a{n}", at=T0)
        for n in range(4)
    ]
    step(engine, settings, T0)
    assert kinds() == Counter({"alert": 4})

    # an hour later the 4 are due a reminder and 3 new alerts arrive: the new go first and use the room
    later = T0 + timedelta(minutes=61)
    [
        store_alert(
            engine, brand_id=acme, kind="influential_negative", title=f"b{n}", at=later, created_at=later
        )
        for n in range(3)
    ]
    routed, _ = step(engine, settings, later)
    assert routed.pushed == 3 and routed.reminders == 4
    attempts = routed.reminders
    assert kinds() == Counter({"alert": 7})
    assert not rows(engine, kind="reminder")  # skipped, not left for the digest or a later pass

    # a quiet hour later: 7 reminders due, room for 2 of them
    quiet = later + timedelta(hours=1, minutes=1)
    attempts += step(engine, settings, quiet)[0].reminders
    assert kinds() == Counter({"alert": 7, "reminder": 2})

    # a new alert in the same hour still goes out at once (the reminders left it the other half of the cap)
    store_alert(engine, brand_id=acme, kind="influential_negative", title="c", at=quiet, created_at=quiet)
    step(engine, settings, quiet + timedelta(minutes=5))
    assert kinds() == Counter({"alert": 8, "reminder": 2})

    # at most max_reminders reminders each, sent or skipped; then none, however long the alerts stay open
    attempts += sum(
        step(engine, settings, quiet + timedelta(hours=hour))[0].reminders for hour in range(2, 30)
    )
    assert attempts == 8 * 3
    reminded = Counter(r["alert_id"] for r in rows(engine, kind="reminder"))
    assert set(first) & set(reminded) and all(n <= 3 for n in reminded.values()), reminded
    count = kinds()["reminder"]
    for hour in range(30, 40):
        step(engine, settings, quiet + timedelta(hours=hour))
    assert kinds()["reminder"] == count


def test_forty_high_alerts_in_an_hour_make_five_emails_and_a_digest_of_forty(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    # D-9
    settings = world_settings(
        database_url, smtp_port=smtp_server.port, alerts={"max_immediate_per_hour": 5, "repeat_hours": 0}
    )
    acme = brand_ids(engine, settings)["Acme"]
    make_user(engine, "ann", now=T0, timezone="Europe/Amsterdam", digest_hour=8)
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    titles = [f"complaint number {n:02d}" for n in range(40)]
    for n, title in enumerate(titles):
        at = start + timedelta(seconds=90 * n)
        store_alert(engine, brand_id=acme, kind="complaint_to_answer", title=title, at=at)
        step(engine, settings, at)
    assert len(recorder.envelopes) == 5
    assert len(rows(engine, status="digest")) == 35
    recorder.envelopes.clear()

    morning = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
    assert queue_due_digests(engine, settings, now=morning - timedelta(minutes=1)) == 0
    assert queue_due_digests(engine, settings, now=morning) == 1
    assert queue_due_digests(engine, settings, now=morning + timedelta(hours=3)) == 0
    step(engine, settings, morning)
    [digest] = recorder.messages()
    text = digest.get_body(("plain",)).get_content()
    assert all(title in text for title in titles)
    html = digest.get_body(("html",)).get_content()
    assert all(title in html for title in titles)
    assert "2026-11-20 08:00 CET" in text and "2026-11-21 08:00 CET" in text


def test_quiet_hours_and_digest_only_users_get_no_immediate_email(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    settings = world_settings(database_url, smtp_port=smtp_server.port, alerts={"repeat_hours": 0})
    ids = brand_ids(engine, settings)
    make_user(engine, "ann", now=T0, timezone="Europe/Amsterdam", quiet=(time(22, 0), time(7, 0)))
    make_user(engine, "ben", now=T0, delivery="digest_only")
    make_user(engine, "cas", now=T0, brands=["Globex"])
    make_user(engine, "dia", now=T0, min_severity="warning")
    night = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 00:30 in Amsterdam
    store_alert(engine, brand_id=ids["Acme"], kind="complaint_to_answer", title="at night", at=night)
    store_alert(
        engine, brand_id=ids["Acme"], kind="complaint_to_answer", title="minor", at=night, severity="warning"
    )
    step(engine, settings, night)
    assert per_recipient(recorder) == Counter({"dia@acme.example": 2})
    assert sorted(r["recipient"] for r in rows(engine, status="digest")) == [
        "ann@acme.example",
        "ben@acme.example",
    ]

    morning = datetime(2026, 11, 21, 7, 30, tzinfo=UTC)  # 08:30 in Amsterdam: not quiet
    store_alert(engine, brand_id=ids["Acme"], kind="complaint_to_answer", title="morning", at=morning)
    step(engine, settings, morning)
    assert per_recipient(recorder)["ann@acme.example"] == 1


def test_smtp_down_then_up_delivers_each_user_message_once(
    engine: Engine, database_url: str, recorder: Recorder
) -> None:
    # D-1: 50 alerts to 3 users; nothing listens for the first 5 attempts, then 421, then 250; wom restarts
    # (a new engine, nothing kept in memory) in the middle of the backoff
    first = LoopbackController(recorder, hostname="127.0.0.1", port=0)
    first.start()
    port = first.port
    first.stop()
    settings = world_settings(database_url, smtp_port=port, alerts={"max_immediate_per_hour": 100})
    acme = brand_ids(engine, settings)["Acme"]
    for name in USERS:
        make_user(engine, name, now=T0)
    alerts = [
        store_alert(engine, brand_id=acme, kind="complaint_to_answer", title=f"c{n}", at=T0)
        for n in range(50)
    ]
    moment = T0
    attempt_times = []
    for attempt in range(1, 6):  # refused: the attempts follow the backoff, 1, 2, 4, 8 minutes apart
        attempt_times.append(moment)
        assert step(engine, settings, moment)[1] == DeliveryResult(retrying=150)
        assert {r["next_attempt_at"] for r in rows(engine, kind="alert")} == {
            moment + timedelta(minutes=2 ** (attempt - 1))
        }
        assert step(engine, settings, moment + timedelta(seconds=30))[1] == DeliveryResult()  # not due yet
        moment += timedelta(minutes=2 ** (attempt - 1))
        if attempt == 3:  # restart mid-backoff
            engine.dispose()
            engine = connect(database_url)
    assert [t - T0 for t in attempt_times] == [timedelta(minutes=m) for m in (0, 1, 3, 7, 15)]
    up = LoopbackController(recorder, hostname="127.0.0.1", port=port)
    up.start()
    try:
        recorder.data_reply = "421 4.3.0 try again later"
        assert step(engine, settings, moment)[1] == DeliveryResult(retrying=150)
        recorder.data_reply = "250 OK"
        moment += timedelta(minutes=32)
        assert step(engine, settings, moment)[1] == DeliveryResult(sent=150)
        assert step(engine, settings, moment + timedelta(days=1))[1] == DeliveryResult()
    finally:
        up.stop()
    ids = Counter(str(m["Message-ID"]) for m in recorder.messages())
    assert len(ids) == 150 and set(ids.values()) == {1}  # delivered once each: none lost, none twice
    assert sorted(ids) == sorted(r["message_id"] for r in rows(engine, kind="alert"))
    assert {int(str(m["X-Wom-Alert-Id"])) for m in recorder.messages()} == set(alerts)
    assert {(r["status"], r["attempts"]) for r in rows(engine)} == {("sent", 7)}
    engine.dispose()


class _SlowRecorder(Recorder):
    """Accepts the first message but answers 250 only after the client gave up (the RFC 1047 gap)."""

    slow: int = 1

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.slow:
            self.slow -= 1
            await asyncio.sleep(3)
        return reply


def test_a_250_after_the_client_timeout_duplicates_once_with_the_same_message_id(
    engine: Engine, database_url: str
) -> None:
    # D-4: the server kept the message but its 250 came after the 1 s timeout; the retry sends it again
    recorder = _SlowRecorder()
    server = LoopbackController(recorder, hostname="127.0.0.1", port=0)
    server.start()
    try:
        settings = world_settings(database_url, smtp_port=server.port)
        settings.smtp.timeout_seconds = 1
        acme = brand_ids(engine, settings)["Acme"]
        make_user(engine, "ann", now=T0)
        store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="slow", at=T0)
        assert step(engine, settings, T0)[1] == DeliveryResult(retrying=1)
        assert step(engine, settings, T0 + timedelta(minutes=1))[1] == DeliveryResult(sent=1)
    finally:
        server.stop()
    copies = Counter(str(m["Message-ID"]) for m in recorder.messages())
    [row] = rows(engine)
    assert copies == Counter({row["message_id"]: 2})  # at most one duplicate, and it carries the same id


def test_a_backfill_records_its_alerts_and_pushes_none(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    # alerts about a year of imported history are recorded; none is older than max_age_days and pushed
    settings = world_settings(database_url, smtp_port=smtp_server.port, alerts={"repeat_hours": 4})
    acme = brand_ids(engine, settings)["Acme"]
    make_user(engine, "ann", now=T0)
    for day in range(15, 365, 7):
        store_alert(
            engine,
            brand_id=acme,
            kind="negative_spike",
            title=f"old {day}",
            at=T0 - timedelta(days=day),
            detail=_spike_detail(T0 - timedelta(days=day)),
            created_at=T0,
        )
    routed = [step(engine, settings, T0 + timedelta(hours=h))[0] for h in range(0, 25)]
    assert routed[0].recorded == len(range(15, 365, 7)) and sum(r.pushed + r.reminders for r in routed) == 0
    assert recorder.envelopes == [] and rows(engine) == []


def test_email_to_addresses_that_are_users_follow_the_users_preferences(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    from monitor.storage.outbox import legacy_recipients

    settings = world_settings(
        database_url, smtp_port=smtp_server.port, email_to=["ann@acme.example", "old@acme.example"]
    )
    make_user(engine, "ann", now=T0, delivery="digest_only")
    with engine.connect() as conn:
        assert legacy_recipients(conn, settings.alerts.email_to) == ["old@acme.example"]


@pytest.mark.parametrize(
    ("language", "brand_label", "when_label", "reminder"),
    [
        ("nl", "Merk", "Wanneer", "[wom] Herinnering: Acme: "),
        ("en", "Brand", "When", "[wom] Reminder: Acme: "),
    ],
)
def test_a_users_alert_email_is_in_their_language_and_time_zone_and_hostile_text_stays_put(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    recorder: Recorder,
    language: str,
    brand_label: str,
    when_label: str,
    reminder: str,
) -> None:
    settings = world_settings(database_url, smtp_port=smtp_server.port, alerts={"repeat_hours": 4})
    acme = brand_ids(engine, settings)["Acme"]
    make_user(engine, "ann", now=T0, language=language, timezone="Europe/Amsterdam")
    hostile = "lost <script>x</script>\r\nBcc: victim@evil.example =?utf-8?q?=0D=0ABcc:_v@evil.example?="
    store_alert(engine, brand_id=acme, kind="complaint_to_answer", title=hostile, at=T0)
    step(engine, settings, T0)
    step(engine, settings, T0 + timedelta(hours=4))
    first, again = recorder.messages()
    assert [envelope.rcpt_tos for envelope in recorder.envelopes] == [["ann@acme.example"]] * 2
    text = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert f"{brand_label}: Acme" in text and f"{when_label}: 2026-11-20 13:00 CET" in text
    assert f'<html lang="{language}">' in html
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    for message in (first, again):
        subject = str(message["Subject"])
        assert subject.splitlines() == [subject] and "=?" not in subject
        assert "Bcc" not in {key for key in message}
    assert str(again["Subject"]).startswith(reminder)
    assert str(first["Message-ID"]) != str(again["Message-ID"])


def test_removing_a_user_and_erasing_alerts_keep_the_outbox_consistent(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    # foreign keys hold on PostgreSQL: a removed user's messages lose the user, unsent ones are not sent;
    # erased alerts take their deliveries and routing notes with them
    from monitor.service.users import remove_user
    from monitor.storage.erase import erase_alerts
    from tests.alerts.outbox_world import ALERT

    settings = world_settings(database_url, smtp_port=smtp_server.port, alerts={"max_immediate_per_hour": 1})
    acme = brand_ids(engine, settings)["Acme"]
    ann = make_user(engine, "ann", now=T0)
    make_user(engine, "ben", now=T0)
    first = store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="first", at=T0)
    step(engine, settings, T0)
    store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="second", at=T0)  # into the digest
    route_alerts(engine, settings, now=T0)
    with engine.begin() as conn:
        remove_user(conn, ann, now=T0)
    assert {
        (r["recipient"], r["status"], r["user_id"]) for r in rows(engine) if r["recipient"].startswith("ann")
    } == {
        ("ann@acme.example", "sent", None),
        ("ann@acme.example", "failed", None),
    }
    with engine.begin() as conn:
        erased = erase_alerts(conn, ALERT.c.id == first)
    assert (erased.alerts, erased.deliveries) == (1, 2)
    assert [r["alert_id"] for r in rows(engine)] != [] and first not in [r["alert_id"] for r in rows(engine)]
    assert step(engine, settings, T0 + timedelta(hours=2))[1] == DeliveryResult()
