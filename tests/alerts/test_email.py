from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from monitor.alerts.email import TEMPLATE_ENV, DeliveryError, alert_message_id, render_alert_email, send_email
from monitor.config import SmtpSettings
from monitor.errors import WomError
from monitor.storage.models import Alert
from tests.alerts.smtp_server import LoopbackController, Recorder, parsed

SENDER = "wom <wom@acme.example>"
RECIPIENT = "owner@acme.example"
PASSWORD = "canary-smtp-password-4f1c"
HOSTILE_TEXT = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \u202e'


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"wom" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def auth_server(recorder: Recorder) -> Iterator[LoopbackController]:
    controller = LoopbackController(
        recorder, hostname="127.0.0.1", port=0, authenticator=_authenticate, auth_require_tls=False
    )
    controller.start()
    yield controller
    controller.stop()


def settings_for(server: LoopbackController, **changes: Any) -> SmtpSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": server.port, "sender": SENDER, "starttls": False}
    return SmtpSettings(**(values | changes))


def alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "id": 17,
        "brand_id": 3,
        "kind": "complaint_to_answer",
        "dedupe_key": "complaint:41",
        "severity": "warning",
        "title": "Complaint to answer from @jan on x",
        "detail": {
            "excerpt": HOSTILE_TEXT,
            "url": "https://x.com/jan/status/1",
            "author_handle": "<b>@jan</b>",
            "reach": 120,
        },
        "event_at": datetime(2026, 3, 10, 12, 30, tzinfo=UTC),
    }
    return Alert(**(values | changes))


def render(item: Alert | None = None, **changes: Any) -> EmailMessage:
    kwargs: dict[str, Any] = {
        "recipient": RECIPIENT,
        "sender": SENDER,
        "brand_name": "Acme",
        "dashboard_url": "https://wom.acme.example/",
        "now": datetime(2026, 3, 10, 13, tzinfo=UTC),
    }
    return render_alert_email(item or alert(), **(kwargs | changes))


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def received(recorder: Recorder, index: int = 0) -> EmailMessage:
    return parsed(recorder.envelopes[index])


def test_render_headers_and_both_parts() -> None:
    message = render()
    assert message["Subject"] == "[wom] Acme: Complaint to answer from @jan on x"
    assert message["From"] == SENDER
    assert message["To"] == RECIPIENT
    assert message["Date"] == "Tue, 10 Mar 2026 13:00:00 +0000"
    assert message["Message-ID"] == alert_message_id(17, RECIPIENT, sender=SENDER)
    assert message["Message-ID"].startswith("<wom-alert-17.") and message["Message-ID"].endswith(
        "@acme.example>"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text = text_of(message)
    assert "WARNING: Complaint to answer from @jan on x" in text
    assert "Open this alert in wom: https://wom.acme.example/alerts/17" in text
    assert "Original post: https://x.com/jan/status/1" in text
    assert "reach: 120" in text


def test_hostile_text_is_inert_in_html() -> None:
    html = html_of(render())
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp;" in html
    assert "&lt;b&gt;@jan&lt;/b&gt;" in html
    assert "\u202e" not in html
    assert '<a href="https://x.com/jan/status/1">' in html
    assert '<a href="https://wom.acme.example/alerts/17">' in html


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/x",
        'https://x.com/" onmouseover="alert(1)',
    ],
)
def test_non_http_links_are_dropped(url: str) -> None:
    message = render(alert(detail={"excerpt": "hi", "url": url}), dashboard_url="javascript:alert(2)")
    html = html_of(message)
    assert "href" not in html
    assert "javascript" not in html.lower() and "alert(" not in html
    assert "Original post" not in text_of(message)


def test_every_template_autoescapes() -> None:
    for name in TEMPLATE_ENV.list_templates():
        template = TEMPLATE_ENV.get_template(name)
        context = {
            "title": "<t>",
            "severity": "<s>",
            "brand_name": "<b>",
            "event_at": "<e>",
            "excerpt": "<x>",
            "why": "<w>",
            "facts": [("<k>", "<v>")],
            "source_url": "https://a.example/<u>",
            "alert_url": "https://a.example/<a>",
        }
        html = template.render(**context)
        for tag in ("<t>", "<s>", "<b>", "<e>", "<x>", "<w>", "<k>", "<v>", "<u>", "<a>"):
            assert tag not in html, (name, tag)


def test_crlf_in_subject_is_removed_and_never_raises() -> None:
    hostile = alert(title="Spike\r\nBcc: victim@example.com\r\n\r\n<html>", severity="critical\r\nX: y")
    message = render(hostile, brand_name="Acme\nInc")
    assert message["Subject"] == "[wom] Acme Inc: Spike Bcc: victim@example.com <html>"
    assert message["Bcc"] is None and message["X"] is None
    long_title = render(alert(title="é" * 5000))
    assert len(long_title["Subject"]) == 200
    surrogate = render(
        alert(title="bad \ud800 title", detail={"excerpt": "lone \udfff"}), brand_name="B\ud800"
    )
    assert surrogate["Subject"] == "[wom] B: bad title"
    assert b"lone" in surrogate.as_bytes()


def test_message_id_is_stable_per_alert_and_recipient() -> None:
    first = render()
    again = render(now=datetime(2026, 3, 11, tzinfo=UTC))
    assert first["Message-ID"] == again["Message-ID"]
    assert render(recipient="other@acme.example")["Message-ID"] != first["Message-ID"]
    assert render(alert(id=18))["Message-ID"] != first["Message-ID"]
    assert alert_message_id(17, " Owner@Acme.example ", sender=SENDER) == first["Message-ID"]
    assert alert_message_id(17, RECIPIENT, sender="bad sender\r\n").endswith("@wom.invalid>")
    with pytest.raises(ValueError, match="store it before rendering"):
        render(alert(id=None))


def test_real_smtp_delivery(smtp_server: LoopbackController, recorder: Recorder) -> None:
    send_email(render(), smtp=settings_for(smtp_server))
    assert len(recorder.envelopes) == 1
    envelope = recorder.envelopes[0]
    assert envelope.mail_from == "wom@acme.example"
    assert envelope.rcpt_tos == [RECIPIENT]
    got = received(recorder)
    assert got["Subject"] == "[wom] Acme: Complaint to answer from @jan on x"
    assert got["Message-ID"] == alert_message_id(17, RECIPIENT, sender=SENDER)
    assert "&lt;script&gt;" in html_of(got)


def test_resend_after_crash_carries_the_same_message_id(
    smtp_server: LoopbackController, recorder: Recorder
) -> None:
    smtp = settings_for(smtp_server)
    send_email(render(), smtp=smtp)
    send_email(render(now=datetime(2026, 3, 10, 13, 5, tzinfo=UTC)), smtp=smtp)  # re-rendered after a restart
    ids = [received(recorder, i)["Message-ID"] for i in range(2)]
    assert ids[0] == ids[1] == alert_message_id(17, RECIPIENT, sender=SENDER)


ENCODED_WORDS = [
    "=?utf-8?q?=0D=0AReply-To:_attacker@evil.example?=",
    "=?utf-8?b?DQpCY2M6IHZpY3RpbUBleGFtcGxlLmNvbQ==?=",  # "\r\nBcc: victim@example.com"
    "jan=?utf-8?q?=0ABcc:_victim@example.com?=x",
    "==??utf-8?q?=0D=0AReply-To:_a@evil.example?=",
]


@pytest.mark.parametrize("hostile", ENCODED_WORDS)
def test_encoded_words_in_header_values_stay_text(hostile: str) -> None:
    # CVE-2024-6923: Python < 3.11.10 decodes the encoded word while refolding and writes its CR/LF raw
    message = render(alert(title=f"Complaint to answer from {hostile} on x"), brand_name=hostile)
    written = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert list(written.keys()) == list(message.keys())
    assert written["Reply-To"] is None and written["Bcc"] is None
    subject = str(written["Subject"])
    assert subject.splitlines() == [subject] and "=?" not in subject
    assert "= ?" in subject


def test_send_refuses_a_message_whose_header_value_becomes_a_header(
    smtp_server: LoopbackController, recorder: Recorder
) -> None:
    message = render()
    message.replace_header("Subject", "=?utf-8?q?=0D=0AReply-To:_attacker@evil.example?=" + " x" * 40)
    with pytest.raises(DeliveryError, match=r"refused, not sent|cannot be written") as caught:
        send_email(message, smtp=settings_for(smtp_server))
    assert caught.value.permanent is True
    assert recorder.envelopes == []


def test_poison_subject_reaches_only_the_configured_recipient(
    smtp_server: LoopbackController, recorder: Recorder
) -> None:
    poison = alert(
        title="x\r\nBcc: victim@example.com", detail={"excerpt": "\r\nBcc: victim@example.com" * 4000}
    )
    send_email(render(poison), smtp=settings_for(smtp_server))
    assert recorder.envelopes[0].rcpt_tos == [RECIPIENT]
    assert received(recorder)["Subject"] == "[wom] Acme: x Bcc: victim@example.com"


def test_login_uses_the_password_from_the_environment(
    auth_server: LoopbackController,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WOM_SMTP_PASSWORD", PASSWORD)
    send_email(render(), smtp=settings_for(auth_server, username="wom"))
    assert len(recorder.envelopes) == 1
    monkeypatch.setenv("WOM_SMTP_PASSWORD", PASSWORD + "-wrong")
    with pytest.raises(DeliveryError, match="WOM_SMTP_PASSWORD") as caught:
        send_email(render(), smtp=settings_for(auth_server, username="wom"))
    assert (caught.value.permanent, caught.value.smtp_code) == (True, 535)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in caplog.text


def test_username_without_password_names_the_variable() -> None:
    with pytest.raises(DeliveryError, match="set WOM_SMTP_PASSWORD"):
        send_email(render(), smtp=SmtpSettings(host="127.0.0.1", username="wom"))


def test_unreachable_server_is_a_temporary_delivery_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DeliveryError, match=r"check smtp\.host and smtp\.port") as caught:
        send_email(render(), smtp=SmtpSettings(host="127.0.0.1", port=port, timeout_seconds=5))
    assert isinstance(caught.value, WomError)
    assert caught.value.permanent is False


def test_no_host_configured() -> None:
    with pytest.raises(DeliveryError, match=r"smtp\.host is empty"):
        send_email(render(), smtp=SmtpSettings())


def test_starttls_not_offered_names_the_setting(smtp_server: LoopbackController, recorder: Recorder) -> None:
    with pytest.raises(DeliveryError, match=r"does not offer STARTTLS.*smtp\.starttls = false") as caught:
        send_email(render(), smtp=settings_for(smtp_server, starttls=True))
    assert caught.value.permanent is True
    assert recorder.envelopes == []


@pytest.mark.parametrize(
    ("field_name", "reply", "permanent", "code", "hint"),
    [
        ("rcpt_reply", "550 5.1.1 no such user", True, 550, r"check alerts\.email_to"),
        ("rcpt_reply", "450 4.2.0 mailbox busy", False, 450, r"check alerts\.email_to"),
        ("data_reply", "554 5.7.1 rejected as spam", True, 554, "the server rejects the message"),
        ("data_reply", "421 4.3.0 try again later", False, 421, "a later retry may succeed"),
    ],
)
def test_smtp_refusals_are_typed(
    smtp_server: LoopbackController,
    recorder: Recorder,
    field_name: str,
    reply: str,
    permanent: bool,
    code: int,
    hint: str,
) -> None:
    setattr(recorder, field_name, reply)
    with pytest.raises(DeliveryError, match=hint) as caught:
        send_email(render(), smtp=settings_for(smtp_server))
    assert (caught.value.permanent, caught.value.smtp_code) == (permanent, code)
    assert recorder.envelopes == []
