"""Delivering the outbox (e-mails, Slack and Standard Webhooks): claim, send, mark sent, bounded retries.

E-mail cannot be exactly-once: a crash between send and mark-sent resends once, with the same
Message-ID, so receivers can drop the copy (../shared/RELIABILITY.md (b)). A crash between claim and send
sends nothing; the delivery is taken over when its lease ends. Fault points for the kill -9 tests:
`delivery.after_claim_before_send` and `delivery.after_send_before_mark`.

Whatever goes wrong while one delivery is loaded, rendered or sent (HeaderWriteError, ValueError, smtplib
and socket errors, a bug) is that delivery's failed attempt: counted, stored with the SMTP password masked,
retried with backoff; the run goes on with the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.alerts.email import DeliveryError, render_alert_email, render_stored_email, send_email
from monitor.alerts.i18n import translations
from monitor.alerts.rules import plain_text
from monitor.alerts.webhooks import encode_body, post_webhook, standard_headers
from monitor.collectors.outbound import OutboundPolicy
from monitor.config import Settings, SmtpSettings
from monitor.faults import fault_point
from monitor.storage.models import Alert, Brand, NotificationDelivery, utcnow
from monitor.storage.tables import table_of

__all__ = ["DeliveryResult", "deliver_pending"]

log = logging.getLogger("wom.delivery")
_DELIVERY = table_of(NotificationDelivery)
# backoff 1, 2, 4 ... 128 minutes, then every 4 hours: 30 attempts span about 3.7 days, near the 4-5 days
# RFC 5321 4.5.4.1 asks before giving up, so a relay or receiver down over a weekend loses nothing
MAX_ATTEMPTS = 30
_SEND_LEASE = timedelta(minutes=5)
_ERROR_CHARS = 1000
Outcome = Literal["sent", "retrying", "failed"]
Sender = Callable[[EmailMessage, SmtpSettings], None]


@dataclass(slots=True)
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(240, 2 ** (attempts - 1)))


def _claim_one(engine: Engine, *, now: datetime, ids: Sequence[int] | None = None) -> tuple[int, int] | None:
    """Take one due delivery (pending, or sending with an ended lease): (id, attempts counting this one)."""
    due = sa.or_(
        sa.and_(_DELIVERY.c.status == "pending", _DELIVERY.c.next_attempt_at <= now),
        sa.and_(_DELIVERY.c.status == "sending", _DELIVERY.c.next_attempt_at <= now),
    )
    if ids is not None:
        due = sa.and_(due, _DELIVERY.c.id.in_(list(ids)))
    pick = sa.select(_DELIVERY.c.id).where(due).order_by(_DELIVERY.c.id).limit(1)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row = conn.execute(
            sa.update(_DELIVERY)
            .where(_DELIVERY.c.id == pick.scalar_subquery())
            .values(status="sending", next_attempt_at=now + _SEND_LEASE, attempts=_DELIVERY.c.attempts + 1)
            .returning(_DELIVERY.c.id, _DELIVERY.c.attempts)
        ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def deliver_pending(
    engine: Engine,
    settings: Settings,
    *,
    send: Sender | None = None,
    now: Callable[[], datetime] = utcnow,
    limit: int = 100,
    ids: Sequence[int] | None = None,
) -> DeliveryResult:
    """Send up to `limit` due deliveries (only those of `ids` when given). A failure is retried with
    backoff up to MAX_ATTEMPTS times.

    Never raises for one delivery's failure (that is counted on the delivery); raises only when the
    database cannot be written.
    """
    sender = send or (lambda message, smtp: send_email(message, smtp=smtp))
    result = DeliveryResult()
    for _ in range(limit):
        claimed = _claim_one(engine, now=now(), ids=ids)
        if claimed is None:
            break
        fault_point("delivery.after_claim_before_send")
        delivery_id, attempts = claimed
        outcome = _deliver_one(engine, settings, delivery_id, attempts=attempts, send=sender, now=now)
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def _deliver_one(
    engine: Engine,
    settings: Settings,
    delivery_id: int,
    *,
    attempts: int,
    send: Sender,
    now: Callable[[], datetime],
) -> Outcome:
    message_id = ""
    try:
        with Session(engine, expire_on_commit=False) as session:
            delivery = session.get(NotificationDelivery, delivery_id)
            alert = session.get(Alert, delivery.alert_id) if delivery and delivery.alert_id else None
            brand = session.get(Brand, alert.brand_id) if alert else None
        if delivery is None:
            _finish(engine, delivery_id, status="failed", error="the delivery was deleted", now=now())
            return "failed"
        needs_alert = delivery.kind in ("alert", "reminder")
        if needs_alert and (alert is None or brand is None):
            _finish(
                engine, delivery_id, status="failed", error="the alert or its brand was deleted", now=now()
            )
            return "failed"
        message_id = delivery.message_id
        if delivery.channel == "email":
            message = _email(delivery, alert, brand, settings=settings, now=now())
            message_id = str(message["Message-ID"])
            send(message, settings.smtp)
        else:
            _post(delivery, settings, at=now())
    except Exception as e:  # one delivery's failure must not stop the others (issue 13)
        final = (isinstance(e, DeliveryError) and e.permanent) or attempts >= MAX_ATTEMPTS
        error = _safe_error(e, secrets=(settings.smtp.password, *(hook.secret for hook in settings.webhooks)))
        _finish(
            engine,
            delivery_id,
            status="failed" if final else "pending",
            error=error,
            now=now(),
            retry=not final,
            attempts=attempts,
            message_id=message_id,
        )
        log.warning(
            "delivery %s not delivered (attempt %s of %s%s): %s",
            delivery_id,
            attempts,
            MAX_ATTEMPTS,
            ", given up" if final else ", will be retried",
            error,
        )
        return "failed" if final else "retrying"
    fault_point("delivery.after_send_before_mark")
    _finish(engine, delivery_id, status="sent", error="", now=now(), message_id=message_id)
    return "sent"


def _email(
    delivery: NotificationDelivery,
    alert: Alert | None,
    brand: Brand | None,
    *,
    settings: Settings,
    now: datetime,
) -> EmailMessage:
    payload = dict(delivery.payload or {})
    if alert is not None and brand is not None and delivery.kind in ("alert", "reminder"):
        language = str(payload.get("language", "en"))
        _ = translations(language).gettext
        prefixes = {"remind": _("Reminder:"), "update": _("Updated:")}
        return render_alert_email(
            alert,
            recipient=delivery.recipient,
            sender=settings.smtp.sender,
            brand_name=brand.name,
            dashboard_url=settings.dashboard.public_url or settings.api.public_url,
            message_id=delivery.message_id or None,
            zone=payload.get("timezone"),
            subject_prefix=prefixes.get(str(payload.get("note", "")), ""),
            language=language,
        )
    return render_stored_email(
        subject=str(payload.get("subject", "")),
        text=str(payload.get("text", "")),
        html=str(payload.get("html", "")),
        recipient=delivery.recipient,
        sender=settings.smtp.sender,
        message_id=delivery.message_id,
        now=now,
    )


def _post(delivery: NotificationDelivery, settings: Settings, *, at: datetime) -> None:
    hook = next((hook for hook in settings.webhooks if hook.name == delivery.recipient), None)
    if hook is None:
        raise DeliveryError(
            f"no [[webhooks]] entry is named {delivery.recipient!r} any more; nothing to send it to",
            permanent=True,
        )
    body = encode_body(dict(delivery.payload or {}).get("body") or {})
    headers: dict[str, str] = {}
    if hook.kind == "standard":
        if not hook.secret:
            raise DeliveryError(
                f"webhooks {hook.name!r}: the variable {hook.secret_env} is empty; set it to the whsec_ secret",
                permanent=False,
            )
        headers = standard_headers(hook.secret, message_id=delivery.message_id, at=at, body=body)
    policy = OutboundPolicy.from_hosts(settings.collectors.allow_private_hosts)
    post_webhook(hook.url, body=body, headers=headers, policy=policy)


def _safe_error(error: Exception, *, secrets: tuple[str, ...]) -> str:
    """One line for `last_error` and the log: DeliveryError's own text (it names the fix), otherwise
    `Type: message`; secrets replaced by ***."""
    text = str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return plain_text(text, limit=_ERROR_CHARS)


def _finish(
    engine: Engine,
    delivery_id: int,
    *,
    status: str,
    error: str,
    now: datetime,
    retry: bool = False,
    attempts: int = 1,
    message_id: str = "",
) -> None:
    values: dict[str, object] = {"status": status, "last_error": error[:_ERROR_CHARS]}
    if message_id:
        values["message_id"] = message_id
    if status == "sent":
        values["sent_at"] = now
    if retry:
        values["next_attempt_at"] = now + _backoff(attempts)
    with engine.begin() as conn:
        conn.execute(sa.update(_DELIVERY).where(_DELIVERY.c.id == delivery_id).values(values))
