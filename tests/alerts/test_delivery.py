"""The e-mail queue (`deliver_pending`) against a real SMTP server, on SQLite and PostgreSQL.

Leases, retries with backoff, permanent refusals, one poison delivery among good ones, hostile author
handles in the subject (../shared/RELIABILITY.md D-8), and kill -9 at the two fault points of the send
window (D-2: a kill after the 250 resends once with the same Message-ID; D-3: a kill before the send
loses and doubles nothing).
"""

from __future__ import annotations

import base64
import dataclasses
import email.errors
import logging
import os
import signal
import smtplib
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.alerts.delivery import MAX_ATTEMPTS, DeliveryResult, deliver_pending
from monitor.alerts.email import send_email
from monitor.alerts.evaluate import store_alerts
from monitor.alerts.rules import MentionFacts, complaint_to_answer
from monitor.config import ConfigError, Settings, SmtpSettings, load_settings, settings_from_mapping
from monitor.storage.brands import sync_brands
from monitor.storage.models import Alert, NotificationDelivery, utcnow
from monitor.storage.tables import table_of
from tests.alerts.smtp_server import LoopbackController, Recorder, parsed

SENDER = "wom <wom@acme.example>"
OWNER = "owner@acme.example"
TEAM = "team@acme.example"
PASSWORD = "canary-smtp-password-9d2e"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_ALERT = table_of(Alert)
_DELIVERY = table_of(NotificationDelivery)

# what render_alert_email writes, and nothing else may reach the receiving side
HEADERS = sorted(
    [
        "auto-submitted",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "subject",
        "to",
        "x-auto-response-suppress",
        "x-wom-alert-id",
    ]
)
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
HOSTILE_HANDLES = [
    # CVE-2024-6923: the email package decodes the encoded word when it refolds the Subject
    "=?utf-8?q?=0D=0AReply-To:_attacker@evil.example?=",
    "=?utf-8?b?" + base64.b64encode(b"\r\nBcc: victim@example.com").decode() + "?=",
    "jan=?utf-8?q?=0ABcc:_victim@example.com?=x",
    "\r\nBcc: victim@example.com",
    "jan\u2028Bcc: victim@example.com\u2029Reply-To: attacker@evil.example",
    "jan\x85Reply-To: attacker@evil.example\x0b\x0c\x1c\x1d\x1eBcc: victim@example.com",
    "=?utf-8?q?" + "=0D=0AReply-To:_attacker@evil.example" * 3000 + "?=",  # 100 KB
    "x" * 100_000,
]
HOSTILE_TEXT = ("=?utf-8?q?=0D=0ABcc:_victim@example.com?=\r\nBcc: victim@example.com\u2028" * 1500)[:100_000]


def _settings(url: str, port: int, *, recipients: Sequence[str] = (OWNER,)) -> Settings:
    return settings_from_mapping(
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": ["acme"]}}],
            "alerts": {"email_to": list(recipients)},
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "sender": SENDER,
                "starttls": False,
                "timeout_seconds": 10,
            },
        }
    )


def _queue(
    engine: Engine,
    settings: Settings,
    *,
    handles: Sequence[str],
    text: str = "Acme lost my order",
    now: datetime,
) -> list[int]:
    """Alerts for complaints by `handles`, built by the real rule and stored with their deliveries."""
    brand_id = sync_brands(engine, settings)["Acme"]
    with engine.connect() as conn:
        first = int(conn.execute(sa.select(sa.func.count()).select_from(_ALERT)).scalar_one()) + 1
    drafts = []
    for number, handle in enumerate(handles, start=first):
        facts = MentionFacts(
            mention_id=number,
            brand_id=brand_id,
            author_id=None,
            source="x",
            author_handle=handle,
            text=text,
            created_at=now - timedelta(hours=1),
            sentiment="negative",
            confidence=0.9,
            intent="complaint",
            url=f"https://x.com/someone/status/{number}",
        )
        draft = complaint_to_answer(facts, settings=settings.alerts, now=now)
        assert draft is not None
        drafts.append(dataclasses.replace(draft, mention_id=None))  # no mention rows in these tests
    keys = [draft.dedupe_key for draft in drafts]
    with engine.begin() as conn:
        store_alerts(conn, drafts=drafts, recipients=settings.alerts.email_to, now=now)
        ids = conn.execute(sa.select(_ALERT.c.id).where(_ALERT.c.dedupe_key.in_(keys)).order_by(_ALERT.c.id))
        return list(ids.scalars())


def _deliveries(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_DELIVERY).order_by(_DELIVERY.c.id)).mappings()
        return [dict(row) for row in rows]


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _alert_ids(messages: Sequence[EmailMessage]) -> Counter[int]:
    return Counter(int(str(message["X-Wom-Alert-Id"])) for message in messages)


# --- hostile text in headers (D-8) ----------------------------------------------------------------


def test_hostile_handles_reach_only_the_configured_recipients(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    settings = _settings(database_url, smtp_server.port, recipients=(OWNER, TEAM))
    alerts = _queue(engine, settings, handles=[*HOSTILE_HANDLES, "@jan"], text=HOSTILE_TEXT, now=T0)
    later = alerts[-1]  # an ordinary complaint queued after the hostile ones

    result = deliver_pending(engine, settings, now=_at(T0))

    assert result == DeliveryResult(sent=2 * len(alerts))
    assert sorted(tuple(envelope.rcpt_tos) for envelope in recorder.envelopes) == sorted(
        [(OWNER,), (TEAM,)] * len(alerts)
    )
    for envelope in recorder.envelopes:
        message = parsed(envelope)
        assert sorted(key.lower() for key in message) == HEADERS, message.keys()
        assert message["To"] == envelope.rcpt_tos[0]
        assert message["From"] == SENDER
        subject = str(message["Subject"])
        assert subject.splitlines() == [subject]
        assert not set(subject) & set(LINE_BREAKS)
        assert "=?" not in subject
        assert len(subject) <= 200
    assert _alert_ids(recorder.messages()) == Counter({alert_id: 2 for alert_id in alerts})
    assert {(row["status"], row["attempts"]) for row in _deliveries(engine)} == {("sent", 1)}
    with engine.connect() as conn:
        later_rows = conn.execute(sa.select(_DELIVERY.c.status).where(_DELIVERY.c.alert_id == later)).all()
    assert [status for (status,) in later_rows] == ["sent", "sent"]


@pytest.mark.parametrize(
    "odd", ["ops,victim@example.com", "ops:victim@example.com", "=?x?q?ops?=victim@example.com"]
)
def test_a_recipient_that_is_several_addresses_is_refused(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder, odd: str
) -> None:
    # a To header reads a comma as a list, a colon as a group and an encoded word as a display name, so the
    # envelope would name someone else; the config refuses such an entry now, but a delivery queued under an
    # older config (or written by hand) must still not reach the hidden address
    with pytest.raises(ConfigError, match="one address per entry"):
        _settings(database_url, smtp_server.port, recipients=(OWNER, odd))
    settings = _settings(database_url, smtp_server.port)
    queued = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"email_to": [OWNER, odd]})}
    )
    _queue(engine, queued, handles=["@ann"], now=T0)

    assert deliver_pending(engine, settings, now=_at(T0)) == DeliveryResult(sent=1, failed=1)
    assert [envelope.rcpt_tos for envelope in recorder.envelopes] == [[OWNER]]
    odd_row = next(row for row in _deliveries(engine) if row["recipient"] == odd)
    assert (odd_row["status"], odd_row["attempts"]) == ("failed", 1)
    assert "alerts.email_to" in odd_row["last_error"]


# --- one delivery's error stays with that delivery ------------------------------------------------

# Python >= 3.11.10 refuses to write an injected header line with email.errors.HeaderWriteError
HeaderWriteError: type[Exception] = getattr(
    email.errors, "HeaderWriteError", type("HeaderWriteError", (email.errors.MessageError,), {})
)
POISONS: dict[str, Callable[[], Exception]] = {
    "header-write": lambda: HeaderWriteError("folded header contained newline: 'Reply-To: a@evil.example'"),
    "value": lambda: ValueError(f"Header values may not contain linefeed (login {PASSWORD})"),
    "smtp": lambda: smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    "os": lambda: ConnectionResetError(104, "Connection reset by peer"),
    "anything": lambda: RuntimeError(f"unexpected, with the password {PASSWORD} in it"),
}


def _poisoned_sender(
    alert_id: int, error: Callable[[], Exception]
) -> Callable[[EmailMessage, SmtpSettings], None]:
    """The real sender, but the message of `alert_id` fails while it is written or sent."""

    def send(message: EmailMessage, smtp: SmtpSettings) -> None:
        if str(message["X-Wom-Alert-Id"]) == str(alert_id):
            raise error()
        send_email(message, smtp=smtp)

    return send


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_an_error_while_sending_fails_only_that_delivery(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    poison: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WOM_SMTP_PASSWORD", PASSWORD)
    settings = _settings(database_url, smtp_server.port)
    alerts = _queue(engine, settings, handles=["@ann", "@ben", "@cas", "@dia"], now=T0)
    bad = alerts[1]
    send = _poisoned_sender(bad, POISONS[poison])

    assert deliver_pending(engine, settings, send=send, now=_at(T0)) == DeliveryResult(sent=3, retrying=1)
    assert _alert_ids(recorder.messages()) == Counter({alerts[0]: 1, alerts[2]: 1, alerts[3]: 1})
    rows = {row["alert_id"]: row for row in _deliveries(engine)}
    failed = rows.pop(bad)
    assert (failed["status"], failed["attempts"]) == ("pending", 1)
    assert failed["next_attempt_at"] == T0 + timedelta(minutes=1)
    assert type(POISONS[poison]()).__name__ in failed["last_error"]
    assert PASSWORD not in failed["last_error"] and PASSWORD not in caplog.text
    assert {(row["status"], row["attempts"]) for row in rows.values()} == {("sent", 1)}

    # the next run retries only the failed one; the others are not sent again
    later = T0 + timedelta(minutes=1)
    assert deliver_pending(engine, settings, send=send, now=_at(later)) == DeliveryResult(retrying=1)
    assert deliver_pending(engine, settings, now=_at(later + timedelta(minutes=2))) == DeliveryResult(sent=1)
    assert _alert_ids(recorder.messages()) == Counter(dict.fromkeys(alerts, 1))
    assert {(row["status"], row["attempts"]) for row in _deliveries(engine) if row["alert_id"] == bad} == {
        ("sent", 3)
    }


def test_an_alert_that_cannot_be_rendered_fails_only_its_delivery(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    settings = _settings(database_url, smtp_server.port)
    alerts = _queue(engine, settings, handles=["@ann", "@ben", "@cas"], now=T0)
    with engine.begin() as conn:  # a hand-edited or corrupt row: detail is a JSON string, not an object
        conn.execute(sa.update(_ALERT).where(_ALERT.c.id == alerts[0]).values(detail="not an object"))

    assert deliver_pending(engine, settings, now=_at(T0)) == DeliveryResult(sent=2, retrying=1)
    assert _alert_ids(recorder.messages()) == Counter({alerts[1]: 1, alerts[2]: 1})
    failed = _deliveries(engine)[0]
    assert (failed["alert_id"], failed["status"], failed["attempts"]) == (alerts[0], "pending", 1)
    assert failed["last_error"].startswith("ValueError: ")


# --- retries, permanent refusals, leases ----------------------------------------------------------


def test_smtp_down_then_up_delivers_each_once(engine: Engine, database_url: str, recorder: Recorder) -> None:
    first = LoopbackController(recorder, hostname="127.0.0.1", port=0)
    first.start()
    port = first.port
    first.stop()  # nothing listens on the port now: connection refused
    settings = _settings(database_url, port)
    alerts = _queue(engine, settings, handles=["@ann", "@ben", "@cas"], now=T0)

    assert deliver_pending(engine, settings, now=_at(T0)) == DeliveryResult(retrying=3)
    rows = _deliveries(engine)
    assert {(row["status"], row["attempts"], row["next_attempt_at"]) for row in rows} == {
        ("pending", 1, T0 + timedelta(minutes=1))
    }
    assert all("check smtp.host and smtp.port" in row["last_error"] for row in rows)
    assert deliver_pending(engine, settings, now=_at(T0 + timedelta(seconds=30))) == DeliveryResult()
    second_try = T0 + timedelta(minutes=1)
    assert deliver_pending(engine, settings, now=_at(second_try)) == DeliveryResult(retrying=3)
    assert {row["next_attempt_at"] for row in _deliveries(engine)} == {second_try + timedelta(minutes=2)}

    up = LoopbackController(recorder, hostname="127.0.0.1", port=port)
    up.start()
    try:
        third_try = second_try + timedelta(minutes=2)
        assert deliver_pending(engine, settings, now=_at(third_try)) == DeliveryResult(sent=3)
        assert deliver_pending(engine, settings, now=_at(third_try + timedelta(days=1))) == DeliveryResult()
    finally:
        up.stop()

    messages = recorder.messages()
    assert _alert_ids(messages) == Counter(dict.fromkeys(alerts, 1))
    rows = _deliveries(engine)
    assert {(row["status"], row["attempts"], row["last_error"]) for row in rows} == {("sent", 3, "")}
    assert sorted(str(message["Message-ID"]) for message in messages) == sorted(
        row["message_id"] for row in rows
    )
    assert len({row["message_id"] for row in rows}) == 3


def test_a_permanent_refusal_is_not_retried(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    recorder.rcpt_reply = "550 5.1.1 no such user"
    settings = _settings(database_url, smtp_server.port)
    _queue(engine, settings, handles=["@ann"], now=T0)

    assert deliver_pending(engine, settings, now=_at(T0)) == DeliveryResult(failed=1)
    for days in (1, 30):
        assert deliver_pending(engine, settings, now=_at(T0 + timedelta(days=days))) == DeliveryResult()
    [row] = _deliveries(engine)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "550" in row["last_error"] and "check alerts.email_to" in row["last_error"]
    assert recorder.envelopes == []


def test_a_temporary_refusal_is_retried_a_bounded_number_of_times(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    recorder.data_reply = "421 4.3.0 try again later"
    settings = _settings(database_url, smtp_server.port)
    _queue(engine, settings, handles=["@ann"], now=T0)

    days = MAX_ATTEMPTS + 4
    results = [deliver_pending(engine, settings, now=_at(T0 + timedelta(days=day))) for day in range(days)]

    assert results[: MAX_ATTEMPTS - 1] == [DeliveryResult(retrying=1)] * (MAX_ATTEMPTS - 1)
    assert results[MAX_ATTEMPTS - 1] == DeliveryResult(failed=1)
    assert results[MAX_ATTEMPTS:] == [DeliveryResult()] * (days - MAX_ATTEMPTS)
    [row] = _deliveries(engine)
    assert (row["status"], row["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert "421" in row["last_error"]


def test_an_expired_lease_is_taken_over(
    engine: Engine, database_url: str, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    settings = _settings(database_url, smtp_server.port)
    [alert_id] = _queue(engine, settings, handles=["@ann"], now=T0)
    with engine.begin() as conn:  # what a sender that died after claiming it at T0 leaves behind
        conn.execute(
            sa.update(_DELIVERY).values(
                status="sending", attempts=1, next_attempt_at=T0 + timedelta(minutes=5)
            )
        )

    assert deliver_pending(engine, settings, now=_at(T0 + timedelta(minutes=4))) == DeliveryResult()
    assert recorder.envelopes == []
    assert deliver_pending(engine, settings, now=_at(T0 + timedelta(minutes=5))) == DeliveryResult(sent=1)
    assert deliver_pending(engine, settings, now=_at(T0 + timedelta(minutes=30))) == DeliveryResult()
    assert _alert_ids(recorder.messages()) == Counter({alert_id: 1})
    [row] = _deliveries(engine)
    assert (row["status"], row["attempts"]) == ("sent", 2)


# --- kill -9 in the send window (D-2, D-3) --------------------------------------------------------

CONFIG = """
[database]
url = "{url}"

[alerts]
email_to = ["{recipient}"]

[smtp]
host = "127.0.0.1"
port = {port}
sender = "{sender}"
starttls = false

[[brands]]
name = "Acme"
keywords = ["acme"]
"""
KILLS = 3


def _crash_world(tmp_path: Path, database_url: str, port: int) -> tuple[Path, Settings]:
    config = tmp_path / "wom.toml"
    config.write_text(
        CONFIG.format(url=database_url, recipient=OWNER, port=port, sender=SENDER), encoding="utf-8"
    )
    return config, load_settings(config)


def _process(config: Path, *, fault: str | None = None) -> int:
    """`wom process` in a child process; returns its exit status (-9 when a fault point killed it)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("WOM_")}
    if fault:
        env["WOM_FAULT"] = fault
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "process", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stdout + done.stderr
    return done.returncode


@pytest.mark.slow
def test_kill_after_the_send_resends_once_with_the_same_message_id(
    engine: Engine, database_url: str, tmp_path: Path, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    config, settings = _crash_world(tmp_path, database_url, smtp_server.port)
    alerts = _queue(engine, settings, handles=["@ann", "@ben", "@cas"], now=utcnow())

    received_per_kill = []
    for _ in range(KILLS):  # each run claims the next delivery, sends it, and dies before marking it sent
        assert _process(config, fault="delivery.after_send_before_mark") == -signal.SIGKILL
        received_per_kill.append(len(recorder.envelopes))
    assert received_per_kill == [1, 2, 3]
    assert _process(config) == 0  # the leases still hold: nothing is sent twice yet
    assert len(recorder.envelopes) == KILLS

    after_lease = utcnow() + timedelta(minutes=6)
    assert deliver_pending(engine, settings, now=_at(after_lease)) == DeliveryResult(sent=KILLS)

    messages = recorder.messages()
    rows = _deliveries(engine)
    copies = Counter(str(message["Message-ID"]) for message in messages)
    assert _alert_ids(messages) == Counter(dict.fromkeys(alerts, 2))  # lost 0, each duplicated once
    assert copies == Counter({row["message_id"]: 2 for row in rows})  # ... and both copies share the id
    assert len(copies) == KILLS
    assert {(row["status"], row["attempts"]) for row in rows} == {("sent", 2)}


@pytest.mark.slow
def test_kill_before_the_send_loses_and_doubles_nothing(
    engine: Engine, database_url: str, tmp_path: Path, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    config, settings = _crash_world(tmp_path, database_url, smtp_server.port)
    alerts = _queue(engine, settings, handles=["@ann", "@ben", "@cas"], now=utcnow())

    for _ in range(KILLS):  # each run claims the next delivery and dies before talking to the server
        assert _process(config, fault="delivery.after_claim_before_send") == -signal.SIGKILL
    assert recorder.envelopes == []
    assert {row["status"] for row in _deliveries(engine)} == {"sending"}
    assert _process(config) == 0  # the leases still hold
    assert recorder.envelopes == []

    after_lease = utcnow() + timedelta(minutes=6)
    assert deliver_pending(engine, settings, now=_at(after_lease)) == DeliveryResult(sent=KILLS)

    messages = recorder.messages()
    rows = _deliveries(engine)
    assert _alert_ids(messages) == Counter(dict.fromkeys(alerts, 1))  # lost 0, duplicated 0
    assert sorted(str(message["Message-ID"]) for message in messages) == sorted(
        row["message_id"] for row in rows
    )
    assert {(row["status"], row["attempts"]) for row in rows} == {("sent", 2)}
