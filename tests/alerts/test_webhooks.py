"""Webhooks against a real local HTTP receiver: Standard Webhooks signatures checked by the reference
library (`standardwebhooks` 1.1.0, ../shared/RELIABILITY.md D-7), Slack's escaping of hostile text,
retries with the same webhook-id (D-6), redirects not followed, URLs that fail the outbound checks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from monitor.alerts.delivery import DeliveryResult
from monitor.alerts.webhooks import sign_standard, slack_escape
from tests.alerts.http_receiver import Receiver, serve_receiver
from tests.alerts.outbox_world import (
    SECRET,
    SECRET_ENV,
    brand_ids,
    rows,
    step,
    store_alert,
    world_settings,
)
from tests.alerts.smtp_server import LoopbackController

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOSTILE = "<!channel> <https://evil.example|click> & <script>alert(1)</script>"


def _verify(request_headers: dict[str, str], body: bytes, *, at: datetime) -> object:
    """The reference verifier, its clock set to `at` (it rejects timestamps 5 minutes off)."""
    verifier = Webhook(SECRET)
    headers = {k: request_headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    import standardwebhooks.webhooks as reference

    real = reference.datetime
    try:

        class _Frozen(real):
            @classmethod
            def now(cls, tz: object = None) -> datetime:
                return at

        reference.datetime = _Frozen
        return verifier.verify(body, headers)
    finally:
        reference.datetime = real


def test_standard_webhooks_verify_with_the_reference_library_and_tampering_fails(
    engine: Engine, database_url: str, smtp_server: LoopbackController, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver() as hook:
        hooks = [{"name": "ops", "kind": "standard", "url": hook.url, "secret_env": SECRET_ENV}]
        settings = world_settings(database_url, smtp_port=smtp_server.port, hook_port=hook.port, hooks=hooks)
        acme = brand_ids(engine, settings)["Acme"]
        alerts = [
            store_alert(engine, brand_id=acme, kind="complaint_to_answer", title=f"{HOSTILE} {n}", at=T0)
            for n in range(3)
        ]
        assert step(engine, settings, T0)[1] == DeliveryResult(sent=3)

    assert len(hook.requests) == 3
    for request in hook.requests:
        payload = _verify(request.headers, request.body, at=T0)
        assert isinstance(payload, dict)
        assert payload["type"] == "alert.opened"
        assert payload["data"]["alert_id"] in alerts
        assert payload["data"]["title"].startswith(HOSTILE)
        assert request.headers["webhook-timestamp"] == str(int(T0.timestamp()))
        assert request.headers["webhook-id"].startswith("msg_")
    assert sorted(r.headers["webhook-id"] for r in hook.requests) == sorted(
        r["message_id"] for r in rows(engine)
    )

    request = hook.requests[0]
    tampered_body = request.body.replace(b"alert.opened", b"alert.closed")
    tampered_id = {**request.headers, "webhook-id": "msg_other"}
    for headers, body in ((request.headers, tampered_body), (tampered_id, request.body)):
        with pytest.raises(WebhookVerificationError):
            _verify(headers, body, at=T0)
    for skew in (timedelta(minutes=6), -timedelta(minutes=6)):
        with pytest.raises(WebhookVerificationError):
            _verify(request.headers, request.body, at=T0 + skew)


def test_the_signature_is_the_specs_example() -> None:
    # the example of the Standard Webhooks spec (and of the reference library's tests)
    signature = sign_standard(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_slack_messages_escape_control_characters_only() -> None:
    assert slack_escape(HOSTILE) == (
        "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert slack_escape("café \"quoted\" 'single'\r\nnext\x00line") == "café \"quoted\" 'single'\nnext line"


def test_a_slack_message_carries_hostile_text_escaped(
    engine: Engine, database_url: str, smtp_server: LoopbackController
) -> None:
    with serve_receiver() as hook:
        hooks = [{"name": "team", "kind": "slack", "url": hook.url}]
        settings = world_settings(database_url, smtp_port=smtp_server.port, hook_port=hook.port, hooks=hooks)
        acme = brand_ids(engine, settings)["Acme"]
        alert = store_alert(engine, brand_id=acme, kind="complaint_to_answer", title=HOSTILE, at=T0)
        assert step(engine, settings, T0)[1] == DeliveryResult(sent=1)
    [request] = hook.requests
    text = json.loads(request.body)["text"]
    assert "<!channel>" not in text and "<https://evil.example|click>" not in text and "<script>" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; &lt;script&gt;" in text
    # the one link is wom's own, built by wom
    assert f"<https://wom.acme.example/alerts/{alert}|Open in wom>" in text
    assert "webhook-signature" not in request.headers


def test_a_failing_receiver_gets_the_message_once_with_the_same_id_after_retries(
    engine: Engine, database_url: str, smtp_server: LoopbackController, monkeypatch: pytest.MonkeyPatch
) -> None:
    # D-6: 500 twice, then 200; the webhook-id is the same on every try, the signature is fresh
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver(Receiver(statuses=[500, 503, 200])) as hook:
        hooks = [{"name": "ops", "kind": "standard", "url": hook.url, "secret_env": SECRET_ENV}]
        settings = world_settings(database_url, smtp_port=smtp_server.port, hook_port=hook.port, hooks=hooks)
        acme = brand_ids(engine, settings)["Acme"]
        store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="x", at=T0)
        assert step(engine, settings, T0)[1] == DeliveryResult(retrying=1)
        assert step(engine, settings, T0 + timedelta(minutes=1))[1] == DeliveryResult(retrying=1)
        assert step(engine, settings, T0 + timedelta(minutes=2))[1] == DeliveryResult()  # backoff: 2 min
        third = T0 + timedelta(minutes=3)
        assert step(engine, settings, third)[1] == DeliveryResult(sent=1)
        assert step(engine, settings, T0 + timedelta(hours=1))[1] == DeliveryResult()
    ids = Counter(r.headers["webhook-id"] for r in hook.requests)
    assert list(ids.values()) == [3]
    assert len({r.headers["webhook-signature"] for r in hook.requests}) == 3
    _verify(hook.requests[-1].headers, hook.requests[-1].body, at=third)
    [row] = rows(engine)
    assert (row["status"], row["attempts"]) == ("sent", 3)


@pytest.mark.parametrize(("status", "words"), [(302, "redirect"), (410, "410"), (404, "404")])
def test_redirects_and_refusals_are_permanent_failures_and_redirects_are_not_followed(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    words: str,
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver(Receiver(statuses=[status])) as hook:
        hooks = [{"name": "ops", "kind": "standard", "url": hook.url, "secret_env": SECRET_ENV}]
        settings = world_settings(database_url, smtp_port=smtp_server.port, hook_port=hook.port, hooks=hooks)
        acme = brand_ids(engine, settings)["Acme"]
        store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="x", at=T0)
        assert step(engine, settings, T0)[1] == DeliveryResult(failed=1)
        assert step(engine, settings, T0 + timedelta(days=1))[1] == DeliveryResult()
    assert [r.path for r in hook.requests] == ["/hook"]  # /elsewhere never asked
    [row] = rows(engine)
    assert row["status"] == "failed" and words in row["last_error"]


def test_a_webhook_url_that_fails_the_outbound_checks_is_refused(
    engine: Engine, database_url: str, smtp_server: LoopbackController
) -> None:
    with serve_receiver() as hook:
        hooks = [{"name": "team", "kind": "slack", "url": hook.url}]
        # 127.0.0.1 is not allowed here: no [collectors] allow_private_hosts entry
        settings = world_settings(database_url, smtp_port=smtp_server.port, hook_port=None, hooks=hooks)
        acme = brand_ids(engine, settings)["Acme"]
        store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="x", at=T0)
        assert step(engine, settings, T0)[1] == DeliveryResult(failed=1)
    assert hook.requests == []
    [row] = rows(engine)
    assert "allow_private_hosts" in row["last_error"]


def test_a_secret_from_the_environment_never_lands_in_the_error(
    engine: Engine, database_url: str, smtp_server: LoopbackController, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-a-whsec-secret")
    with serve_receiver() as hook:
        hooks = [{"name": "ops", "kind": "standard", "url": hook.url, "secret_env": SECRET_ENV}]
        settings = world_settings(database_url, smtp_port=smtp_server.port, hook_port=hook.port, hooks=hooks)
        acme = brand_ids(engine, settings)["Acme"]
        store_alert(engine, brand_id=acme, kind="complaint_to_answer", title="x", at=T0)
        assert step(engine, settings, T0)[1] == DeliveryResult(failed=1)
    [row] = rows(engine)
    assert "whsec_" in row["last_error"] and "not-a-whsec-secret" not in row["last_error"]
    assert hook.requests == []
