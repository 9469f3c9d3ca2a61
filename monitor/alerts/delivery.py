"""Delivering pending alert e-mails: claim, send, mark sent, with bounded retries.

E-mail cannot be exactly-once: a crash between send and mark-sent resends once, with the same
Message-ID, so receivers can drop the copy (../shared/RELIABILITY.md (b)).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.alerts.email import DeliveryError, render_alert_email, send_email
from monitor.config import Settings, SmtpSettings
from monitor.faults import fault_point
from monitor.storage.models import Alert, Brand, NotificationDelivery, utcnow

__all__ = ["DeliveryResult", "deliver_pending"]

log = logging.getLogger("wom.delivery")
_DELIVERY = NotificationDelivery.__table__  # type: ignore[attr-defined]
MAX_ATTEMPTS = 6
_SEND_LEASE = timedelta(minutes=5)


@dataclass(slots=True)
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(240, 2 ** (attempts - 1)))


def _claim_one(engine: Engine, *, now: datetime) -> int | None:
    due = sa.or_(
        sa.and_(_DELIVERY.c.status == "pending", _DELIVERY.c.next_attempt_at <= now),
        sa.and_(_DELIVERY.c.status == "sending", _DELIVERY.c.next_attempt_at <= now),
    )
    pick = sa.select(_DELIVERY.c.id).where(due).order_by(_DELIVERY.c.id).limit(1)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row = conn.execute(
            sa.update(_DELIVERY)
            .where(_DELIVERY.c.id == pick.scalar_subquery())
            .values(status="sending", next_attempt_at=now + _SEND_LEASE, attempts=_DELIVERY.c.attempts + 1)
            .returning(_DELIVERY.c.id)
        ).first()
    return None if row is None else int(row[0])


def deliver_pending(
    engine: Engine,
    settings: Settings,
    *,
    send: Callable[[EmailMessage, SmtpSettings], None] | None = None,
    now: Callable[[], datetime] = utcnow,
    limit: int = 100,
) -> DeliveryResult:
    """Send up to `limit` due deliveries. A failure is retried with backoff up to MAX_ATTEMPTS times."""
    sender = send or (lambda message, smtp: send_email(message, smtp=smtp))
    result = DeliveryResult()
    for _ in range(limit):
        delivery_id = _claim_one(engine, now=now())
        if delivery_id is None:
            break
        with Session(engine, expire_on_commit=False) as session:
            delivery = session.get(NotificationDelivery, delivery_id)
            assert delivery is not None
            alert = session.get(Alert, delivery.alert_id)
            brand = session.get(Brand, alert.brand_id) if alert else None
        if alert is None or brand is None:
            _finish(
                engine, delivery_id, status="failed", error="the alert or its brand was deleted", now=now()
            )
            result.failed += 1
            continue
        message = render_alert_email(
            alert,
            recipient=delivery.recipient,
            sender=settings.smtp.sender,
            brand_name=brand.name,
            dashboard_url=settings.api.public_url,
        )
        try:
            sender(message, settings.smtp)
        except DeliveryError as e:
            final = e.permanent or delivery.attempts >= MAX_ATTEMPTS
            status = "failed" if final else "pending"
            _finish(
                engine,
                delivery_id,
                status=status,
                error=str(e),
                now=now(),
                retry=not final,
                attempts=delivery.attempts,
                message_id=str(message["Message-ID"]),
            )
            log.warning(
                "alert %s to %s not delivered (attempt %s): %s",
                alert.id,
                delivery.recipient,
                delivery.attempts,
                e,
            )
            if final:
                result.failed += 1
            else:
                result.retrying += 1
            continue
        fault_point("delivery.after_send_before_mark")
        _finish(
            engine, delivery_id, status="sent", error="", now=now(), message_id=str(message["Message-ID"])
        )
        result.sent += 1
    return result


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
    values: dict[str, object] = {"status": status, "last_error": error[:1000]}
    if message_id:
        values["message_id"] = message_id
    if status == "sent":
        values["sent_at"] = now
    if retry:
        values["next_attempt_at"] = now + _backoff(attempts)
    with engine.begin() as conn:
        conn.execute(sa.update(_DELIVERY).where(_DELIVERY.c.id == delivery_id).values(values))
