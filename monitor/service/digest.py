"""The daily digest: once a user's local clock has passed their digest hour, queue one digest for that local
day (the dedupe key `digest:<user>:<local date>`), covering the day before up to that hour.

Days are counted on the user's clock with zoneinfo, so a day of 23 or 25 hours (Europe/Amsterdam on
2026-03-29 and 2026-10-25) still gets exactly one digest at its hour (../shared/RELIABILITY.md J-6). After
downtime only the latest day's digest is sent (coalesced), never a backlog of them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from monitor.alerts.digest import render_digest
from monitor.alerts.routing import SEVERITY_RANK, Recipient
from monitor.config import Settings
from monitor.read.digest import digest_data
from monitor.service.notify import dashboard_url, recipients_of
from monitor.storage.outbox import (
    active_recipients,
    brand_names,
    is_queued,
    message_id_for,
    queue_messages,
)

__all__ = ["DigestPeriod", "digest_period", "queue_due_digests"]


class DigestPeriod(tuple[date, datetime, datetime]):
    """(local day, since, until): the digest of `day` covers [since, until), both aware UTC times."""

    @property
    def day(self) -> date:
        return self[0]


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    # a wall time inside a spring-forward gap reads with the offset before the change (fold=0): 02:30 on
    # 2026-03-29 in Amsterdam is 03:30 summer time, the first moment of that hour that exists
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def digest_period(*, timezone: str, digest_hour: int, now: datetime) -> DigestPeriod | None:
    """The period of the digest due at `now`, or None before the user's digest hour on their local day."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    until = _at(today, digest_hour, zone)
    if now < until:
        return None
    return DigestPeriod((today, _at(today - timedelta(days=1), digest_hour, zone), until))


def _severities(minimum: str) -> list[str]:
    floor = SEVERITY_RANK.get(minimum, 2)
    return [name for name, rank in SEVERITY_RANK.items() if rank >= floor]


def queue_due_digests(engine: Engine, settings: Settings, *, now: datetime) -> int:
    """Queue the digests due at `now`; returns how many were queued (0 when all are queued already)."""
    queued = 0
    with engine.begin() as conn:
        users = [user for user in recipients_of(active_recipients(conn)) if user.email]
        names = brand_names(conn)
        for user in users:
            period = digest_period(timezone=user.timezone, digest_hour=user.digest_hour, now=now)
            if period is None:
                continue
            key = f"digest:{user.user_id}:{period.day.isoformat()}"
            if is_queued(conn, key):
                continue
            queued += queue_messages(conn, [_digest_row(conn, settings, user, period, key, names, now=now)])
    return queued


def _digest_row(
    conn: Connection,
    settings: Settings,
    user: Recipient,
    period: DigestPeriod,
    key: str,
    names: dict[int, str],
    *,
    now: datetime,
) -> dict[str, object]:
    day, since, until = period
    data = digest_data(
        conn,
        brand_ids=list(user.brand_ids) or sorted(names),
        alert_kinds=list(user.alert_kinds),
        min_severities=_severities(user.min_severity),
        since=since,
        until=until,
    )
    rendered = render_digest(
        data,
        language=user.language,
        timezone=user.timezone,
        day=day.isoformat(),
        dashboard_url=dashboard_url(settings),
    )
    return {
        "alert_id": None,
        "channel": "email",
        "recipient": user.email,
        "kind": "digest",
        "user_id": user.user_id,
        "dedupe_key": key,
        "payload": {
            "day": day.isoformat(),
            "since": since.isoformat(),
            "until": until.isoformat(),
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
        },
        "status": "pending",
        "attempts": 0,
        "message_id": message_id_for(key, channel="email", sender=settings.smtp.sender),
        "last_error": "",
        "created_at": now,
        "next_attempt_at": now,
        "sent_at": None,
    }
