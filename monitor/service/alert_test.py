"""`wom alerts test --brand NAME`: one test message through every channel, and each channel's result.

The channels: an e-mail to every active user who follows the brand, to every `[alerts] email_to` address
that is no user's, and a call to every `[[webhooks]]` entry. The messages go through the outbox like any
other (stable ids, the same senders), and are sent at once; one that fails stays queued for retry like
any other delivery, and the result says why it failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.alerts.delivery import deliver_pending
from monitor.alerts.digest import render_test_email
from monitor.config import Settings
from monitor.errors import UnknownBrandError
from monitor.service.notify import recipients_of, webhook_row
from monitor.storage.models import NotificationDelivery
from monitor.storage.outbox import (
    active_recipients,
    brand_names,
    legacy_recipients,
    message_id_for,
    queue_messages,
)
from monitor.storage.tables import table_of

__all__ = ["ChannelResult", "send_test_messages"]

_DELIVERY = table_of(NotificationDelivery)


@dataclass(frozen=True, slots=True)
class ChannelResult:
    channel: str  # email, slack or webhook
    recipient: str  # an address or a webhook's name
    status: str  # sent, pending (will be retried) or failed
    error: str


def send_test_messages(
    engine: Engine, settings: Settings, *, brand: str, now: datetime
) -> list[ChannelResult]:
    """Queue and send one test message per channel for `brand`. Raises UnknownBrandError naming the
    configured brands when `brand` is not one of them."""
    stamp = now.isoformat()
    with engine.begin() as conn:
        names = brand_names(conn)
        brand_id = next((i for i, name in names.items() if name.casefold() == brand.casefold()), None)
        if brand_id is None:
            raise UnknownBrandError(brand, sorted(names.values()))
        brand_name = names[brand_id]
        rows: list[dict[str, Any]] = []
        users = [
            u
            for u in recipients_of(active_recipients(conn))
            if u.email and (not u.brand_ids or brand_id in u.brand_ids)
        ]
        addresses: list[tuple[str, int | None, str]] = [(u.email, u.user_id, u.language) for u in users]
        addresses += [(a, None, "en") for a in legacy_recipients(conn, settings.alerts.email_to)]
        for address, user_id, language in addresses:
            rendered = render_test_email(brand_name=brand_name, language=language)
            key = f"test:{brand_id}:email:{address.casefold()}:{stamp}"
            rows.append(
                {
                    "alert_id": None,
                    "channel": "email",
                    "recipient": address,
                    "kind": "test",
                    "user_id": user_id,
                    "dedupe_key": key,
                    "payload": {"subject": rendered.subject, "text": rendered.text, "html": rendered.html},
                    "status": "pending",
                    "attempts": 0,
                    "message_id": message_id_for(key, channel="email", sender=settings.smtp.sender),
                    "last_error": "",
                    "created_at": now,
                    "next_attempt_at": now,
                    "sent_at": None,
                }
            )
        queue_messages(conn, rows)
        test_alert = SimpleNamespace(
            id=None,
            kind="test",
            title=f"Test message for {brand_name}",
            severity="info",
            status="open",
            event_at=now,
        )
        for hook in settings.webhooks:
            key = f"test:{brand_id}:{hook.kind}:{hook.name}:{stamp}"
            queue_messages(
                conn,
                [
                    webhook_row(
                        conn,
                        settings,
                        hook,
                        alert=test_alert,
                        kind="test",
                        key=key,
                        note="test",
                        brand_name=brand_name,
                        now=now,
                    )
                ],
            )
        queued = (
            conn.execute(
                sa.select(_DELIVERY.c.id).where(
                    _DELIVERY.c.kind == "test", _DELIVERY.c.dedupe_key.like(f"test:{brand_id}:%:{stamp}")
                )
            )
            .scalars()
            .all()
        )
    ids = [int(i) for i in queued]
    # the test ignores Slack's pacing: each webhook gets one message
    with engine.begin() as conn:
        conn.execute(sa.update(_DELIVERY).where(_DELIVERY.c.id.in_(ids)).values(next_attempt_at=now))
    deliver_pending(engine, settings, now=lambda: now, ids=ids, limit=len(ids))
    with engine.connect() as conn:
        done = conn.execute(
            sa.select(_DELIVERY.c.channel, _DELIVERY.c.recipient, _DELIVERY.c.status, _DELIVERY.c.last_error)
            .where(_DELIVERY.c.id.in_(ids))
            .order_by(_DELIVERY.c.id)
        ).all()
    return [ChannelResult(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in done]
