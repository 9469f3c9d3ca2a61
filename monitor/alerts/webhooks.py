"""Webhook messages: Slack incoming-webhook JSON and generic JSON signed per Standard Webhooks.

Slack reads `&`, `<` and `>` as control characters (`<!channel>`, `<url|text>` links), so mention text
and names are sent with exactly those three as entities and nothing else encoded (Slack's own advice).
A Standard Webhooks signature is HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` with the
base64 key after `whsec_`, sent as `v1,<base64>`; the webhook-id stays the same on every retry, so the
receiver can drop a copy sent again after a crash in the send window.

Every request goes through the collectors' pinned transport (the URL's host is checked and the checked
address is the one connected to), within a 15 s deadline, and a redirect is a failure, never followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from monitor.alerts.rules import plain_text
from monitor.collectors.outbound import OutboundPolicy
from monitor.collectors.pinned import bounded_transport
from monitor.errors import BlockedURLError, DeliveryError

__all__ = [
    "SLACK_TEXT_CHARS",
    "WEBHOOK_TIMEOUT_SECONDS",
    "encode_body",
    "post_webhook",
    "sign_standard",
    "slack_alert_body",
    "slack_escape",
    "standard_alert_body",
    "standard_headers",
]

WEBHOOK_TIMEOUT_SECONDS = 15.0
SLACK_TEXT_CHARS = 3000
# a receiver's 408, 425 and 429 ask for a later try; other 4xx answers will not change
_RETRYABLE_4XX = frozenset({408, 425, 429})


def slack_escape(text: str) -> str:
    """`text` for a Slack message: `&`, `<`, `>` as entities, control characters (but line breaks) removed."""
    lines = (plain_text(line, limit=SLACK_TEXT_CHARS) for line in text.splitlines())
    joined = "\n".join(lines).strip()
    return joined.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _secret_key(secret: str) -> bytes:
    if not secret.startswith("whsec_"):
        raise DeliveryError(
            "a standard webhook secret starts with whsec_ followed by base64; set the variable named in "
            "the webhook's secret_env to such a value",
            permanent=True,
        )
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError as e:
        raise DeliveryError(
            "the standard webhook secret after whsec_ is not base64; set a whsec_<base64> value",
            permanent=True,
        ) from e


def sign_standard(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def standard_headers(secret: str, *, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (the timestamp is the attempt's time)."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(secret, message_id=message_id, timestamp=timestamp, body=body),
    }


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON, UTF-8, the bytes that are signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def post_webhook(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    policy: OutboundPolicy,
    timeout: float = WEBHOOK_TIMEOUT_SECONDS,
) -> int:
    """POST `body` to `url`; returns the 2xx status.

    Raises DeliveryError: permanent for a blocked URL, a redirect (not followed), 410 and other 4xx but
    408/425/429; temporary for 5xx, 408/425/429, timeouts and connection errors.
    """
    try:
        policy.check(url)
    except BlockedURLError as e:
        raise DeliveryError(f"webhook URL refused: {e}", permanent=True) from e
    transport = bounded_transport(policy, deadline=timeout, max_bytes=64 * 1024)
    request_headers = {"content-type": "application/json", "user-agent": "wom-webhooks", **headers}
    try:
        with httpx.Client(transport=transport, follow_redirects=False, timeout=timeout) as client:
            response = client.post(url, content=body, headers=request_headers)
    except httpx.HTTPError as e:
        raise DeliveryError(
            f"cannot deliver the webhook to {_where(url)}: {type(e).__name__}: {plain_text(str(e), limit=200)} "
            "(it will be retried)",
            permanent=False,
        ) from e
    status = response.status_code
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryError(
            f"{_where(url)} answered {status}, a redirect, which wom does not follow; put the final address "
            "in the webhook's url",
            permanent=True,
        )
    permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
    hint = (
        "the receiver rejects it; check the webhook's url and secret" if permanent else "it will be retried"
    )
    raise DeliveryError(f"{_where(url)} answered {status}; {hint}", permanent=permanent)


def _where(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"


def slack_alert_body(
    *, title: str, severity: str, brand_name: str, event_at: datetime | None, alert_url: str | None, note: str
) -> dict[str, Any]:
    """An incoming-webhook message for one alert: escaped text, a link only to wom's own dashboard."""
    when = event_at.strftime("%Y-%m-%d %H:%M UTC") if event_at else ""
    lines = [f"*{slack_escape(severity.upper())}* {slack_escape(brand_name)}: {slack_escape(title)}"]
    if note:
        lines.append(slack_escape(note))
    if when:
        lines.append(when)
    if alert_url:
        lines.append(f"<{alert_url.replace('|', '%7C').replace('>', '%3E')}|{slack_escape('Open in wom')}>")
    return {"text": "\n".join(lines), "unfurl_links": False, "unfurl_media": False}


def standard_alert_body(
    *,
    event_type: str,
    alert_id: int | None,
    kind: str,
    title: str,
    severity: str,
    status: str,
    brand_name: str,
    event_at: datetime | None,
    alert_url: str | None,
    at: datetime,
) -> dict[str, Any]:
    """The generic JSON of Standard Webhooks: `type`, `timestamp` and the alert as `data`."""
    return {
        "type": event_type,
        "timestamp": at.isoformat(),
        "data": {
            "alert_id": alert_id,
            "kind": kind,
            "title": title,
            "severity": severity,
            "status": status,
            "brand": brand_name,
            "event_at": event_at.isoformat() if event_at else None,
            "url": alert_url,
        },
    }
