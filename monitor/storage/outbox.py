"""The outbox's rows (notificationdelivery) and routing's notes (alertnotice): queue, count, read.

Queuing is idempotent: a row whose `dedupe_key` is already there is not queued again, so routing and the
digest job may run twice (two processes, a retry after a crash) without a second message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.storage.models import Alert, AlertNotice, Brand, NotificationDelivery, User
from monitor.storage.tables import table_of

__all__ = [
    "IMMEDIATE_KINDS",
    "RecipientRow",
    "active_recipients",
    "alerts_to_route",
    "brand_names",
    "immediate_since",
    "is_queued",
    "last_due_at",
    "legacy_recipients",
    "message_id_for",
    "notices",
    "open_negative_spikes",
    "queue_messages",
    "save_notice",
]

_DELIVERY = table_of(NotificationDelivery)
_NOTICE = table_of(AlertNotice)
_ALERT = table_of(Alert)
_USER = table_of(User)
_BRAND = table_of(Brand)
IMMEDIATE_KINDS = ("alert", "reminder")
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")

RecipientRow = Any  # a Row of the user columns active_recipients selects


def message_id_for(dedupe_key: str, *, channel: str, sender: str) -> str:
    """The stable id of one outbox message: a Message-ID for e-mail, a webhook-id (`msg_…`) otherwise."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    if channel != "email":
        return f"msg_{digest}"
    _, at, domain = parseaddr(sender)[1].casefold().rpartition("@")
    if not at or not domain or not set(domain) <= _DOMAIN_CHARS:
        domain = "wom.invalid"
    return f"<wom-{digest}@{domain}>"


def queue_messages(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert outbox rows; a row whose dedupe_key exists is skipped. Returns how many were queued."""
    if not rows:
        return 0
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_DELIVERY)
    queued = conn.execute(
        insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(_DELIVERY.c.id), list(rows)
    ).all()
    return len(queued)


def is_queued(conn: Connection, dedupe_key: str) -> bool:
    found = conn.execute(sa.select(_DELIVERY.c.id).where(_DELIVERY.c.dedupe_key == dedupe_key)).first()
    return found is not None


def legacy_recipients(conn: Connection, addresses: Sequence[str]) -> list[str]:
    """The `[alerts] email_to` addresses no user has: they still get every alert as before; an address
    that is a user's gets that user's notifications (their preferences, cap and digest) instead."""
    if not addresses:
        return []
    taken = {str(e).casefold() for e in conn.execute(sa.select(_USER.c.email)).scalars() if e}
    return [address for address in addresses if address.strip().casefold() not in taken]


def immediate_since(conn: Connection, *, user_id: int, since: datetime) -> int:
    """E-mails queued to go out at once to this user since `since` (alerts and reminders, not digests)."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(_DELIVERY)
            .where(
                _DELIVERY.c.user_id == user_id,
                _DELIVERY.c.channel == "email",
                _DELIVERY.c.kind.in_(IMMEDIATE_KINDS),
                _DELIVERY.c.status != "digest",
                _DELIVERY.c.created_at >= since,
            )
        ).scalar_one()
    )


def last_due_at(conn: Connection, *, channel: str, recipient: str) -> datetime | None:
    """The latest `next_attempt_at` of the pending messages to one webhook (for pacing Slack)."""
    value = conn.execute(
        sa.select(sa.func.max(_DELIVERY.c.next_attempt_at)).where(
            _DELIVERY.c.channel == channel,
            _DELIVERY.c.recipient == recipient,
            _DELIVERY.c.status == "pending",
        )
    ).scalar_one()
    return value if isinstance(value, datetime) else None


def active_recipients(conn: Connection) -> list[RecipientRow]:
    """Active users, with what routing needs."""
    return list(
        conn.execute(
            sa.select(
                _USER.c.id,
                _USER.c.email,
                _USER.c.language,
                _USER.c.timezone,
                _USER.c.brand_ids,
                _USER.c.alert_kinds,
                _USER.c.min_severity,
                _USER.c.delivery,
                _USER.c.digest_hour,
                _USER.c.quiet_start,
                _USER.c.quiet_end,
                _USER.c.display_name,
                _USER.c.name,
            )
            .where(_USER.c.active.is_(True))
            .order_by(_USER.c.id)
        ).all()
    )


def alerts_to_route(conn: Connection, *, reminders_since: datetime) -> list[Any]:
    """Alerts routing has not settled: never seen, waiting (group_wait), or pushed and still open (those
    from `reminders_since` on: older ones get no more reminders)."""
    joined = _ALERT.outerjoin(_NOTICE, _NOTICE.c.alert_id == _ALERT.c.id)
    return list(
        conn.execute(
            sa.select(
                _ALERT.c.id,
                _ALERT.c.brand_id,
                _ALERT.c.kind,
                _ALERT.c.severity,
                _ALERT.c.status,
                _ALERT.c.title,
                _ALERT.c.event_at,
                _ALERT.c.created_at,
                _ALERT.c.detail,
            )
            .select_from(joined)
            .where(
                sa.or_(
                    _NOTICE.c.alert_id.is_(None),
                    _NOTICE.c.state == "waiting",
                    sa.and_(
                        _NOTICE.c.state == "pushed",
                        _ALERT.c.status == "open",
                        _ALERT.c.event_at >= reminders_since,
                    ),
                )
            )
            .order_by(_ALERT.c.id)
        ).all()
    )


def notices(conn: Connection, alert_ids: Sequence[int]) -> dict[int, sa.Row[Any]]:
    if not alert_ids:
        return {}
    rows = conn.execute(sa.select(_NOTICE).where(_NOTICE.c.alert_id.in_(list(alert_ids)))).all()
    return {int(row.alert_id): row for row in rows}


def save_notice(conn: Connection, *, values: Mapping[str, Any]) -> None:
    """Insert or replace the routing note of one alert."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_NOTICE)
    update = {key: value for key, value in values.items() if key != "alert_id"}
    conn.execute(insert.values(dict(values)).on_conflict_do_update(index_elements=["alert_id"], set_=update))


def open_negative_spikes(conn: Connection) -> list[Any]:
    """Negative spikes still open or acknowledged: id, brand, detail (with the incident's start and end)."""
    return list(
        conn.execute(
            sa.select(_ALERT.c.id, _ALERT.c.brand_id, _ALERT.c.detail, _ALERT.c.event_at).where(
                _ALERT.c.kind == "negative_spike", _ALERT.c.status.in_(("open", "acknowledged"))
            )
        ).all()
    )


def brand_names(conn: Connection) -> dict[int, str]:
    return {int(row.id): str(row.name) for row in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.name))}
