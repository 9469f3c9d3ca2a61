"""Rows for the alerts watched over time (monitor.service.watch): overdue inbox items, when each source
delivered mentions, star ratings, segment entries, and the live alerts of a kind with their subject.

Reads return plain rows and values; the decisions are the pure rules' (monitor.alerts.overdue,
source_health, rating_drop, segment_alerts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.models import (
    Alert,
    AuthorBrandStats,
    Brand,
    InboxItem,
    JobRun,
    Mention,
    MentionBrand,
    NotificationDelivery,
)
from monitor.storage.tables import table_of

__all__ = [
    "LIVE_STATUSES",
    "author_stats",
    "brand_ids_by_name",
    "delivery_times",
    "first_run_at",
    "live_alerts",
    "overdue_item_rows",
    "rating_rows",
    "resolve_alerts",
    "update_alert",
]

LIVE_STATUSES = ("open", "acknowledged")
_ALERT = table_of(Alert)
_BRAND = table_of(Brand)
_ITEM = table_of(InboxItem)
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_RUN = table_of(JobRun)
_STATS = table_of(AuthorBrandStats)
_DELIVERY = table_of(NotificationDelivery)


def brand_ids_by_name(conn: Connection) -> dict[str, tuple[int, bool]]:
    """{brand name: (id, own)}: own is False for a competitor."""
    return {
        str(row.name): (int(row.id), row.competitor_of_id is None)
        for row in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.name, _BRAND.c.competitor_of_id))
    }


def overdue_item_rows(conn: Connection, *, now: datetime) -> list[sa.Row[Any]]:
    """Inbox items of the brand's own (not competitors') that are open or acknowledged, past `due_at` and
    without a first response, with the handle of their first mention's author."""
    query = (
        sa.select(
            _ITEM.c.id,
            _ITEM.c.brand_id,
            _ITEM.c.due_at,
            _ITEM.c.opened_at,
            _ITEM.c.first_mention_id,
            _ITEM.c.intent,
            _MENTION.c.author_handle,
        )
        .select_from(
            _ITEM.join(_MENTION, _MENTION.c.id == _ITEM.c.first_mention_id).join(
                _BRAND, _BRAND.c.id == _ITEM.c.brand_id
            )
        )
        .where(
            _ITEM.c.status.in_(("open", "acknowledged")),
            _ITEM.c.first_response_at.is_(None),
            _ITEM.c.due_at <= now,
            _BRAND.c.competitor_of_id.is_(None),
        )
        .order_by(_ITEM.c.brand_id, _ITEM.c.due_at, _ITEM.c.id)
    )
    return list(conn.execute(query))


def delivery_times(conn: Connection, *, source: str, since: datetime, until: datetime) -> list[datetime]:
    """The distinct times `source` stored new mentions at (`collected_at`) from `since` to `until`."""
    query = (
        sa.select(_MENTION.c.collected_at)
        .where(
            _MENTION.c.source == source,
            _MENTION.c.collected_at >= since,
            _MENTION.c.collected_at <= until,
        )
        .group_by(_MENTION.c.collected_at)
        .order_by(_MENTION.c.collected_at)
    )
    return [at for at in conn.execute(query).scalars() if at is not None]


def first_run_at(conn: Connection, *, name: str) -> datetime | None:
    """When the job `name` (a source's `collect-<source>`) first ran, as recorded."""
    found = conn.execute(sa.select(sa.func.min(_RUN.c.started_at)).where(_RUN.c.name == name)).scalar_one()
    return found if isinstance(found, datetime) else None


def rating_rows(conn: Connection, *, since: datetime, until: datetime) -> list[sa.Row[Any]]:
    """(brand id, mention id, source, created_at, rating) of the star-rated mentions matched to an own brand
    from `since` to `until`; the brand's own posts are left out."""
    query = (
        sa.select(
            _LINK.c.brand_id,
            _MENTION.c.id,
            _MENTION.c.source,
            _MENTION.c.created_at,
            _MENTION.c.rating,
        )
        .select_from(
            _MENTION.join(_LINK, _LINK.c.mention_id == _MENTION.c.id).join(
                _BRAND, _BRAND.c.id == _LINK.c.brand_id
            )
        )
        .where(
            _MENTION.c.rating.is_not(None),
            _MENTION.c.created_at >= since,
            _MENTION.c.created_at <= until,
            _LINK.c.own.is_(False),
            _BRAND.c.competitor_of_id.is_(None),
        )
        .order_by(_LINK.c.brand_id, _MENTION.c.created_at, _MENTION.c.id)
    )
    return list(conn.execute(query))


def author_stats(conn: Connection, *, author_id: int, brand_id: int) -> sa.RowMapping | None:
    """The author's profile for the brand (counts, reach, segment, evidence), or None."""
    return (
        conn.execute(sa.select(_STATS).where(_STATS.c.author_id == author_id, _STATS.c.brand_id == brand_id))
        .mappings()
        .first()
    )


def live_alerts(conn: Connection, *, kind: str) -> list[sa.Row[Any]]:
    """The open and acknowledged alerts of `kind` (id, brand id, dedupe key, status, detail)."""
    return list(
        conn.execute(
            sa.select(_ALERT.c.id, _ALERT.c.brand_id, _ALERT.c.dedupe_key, _ALERT.c.status, _ALERT.c.detail)
            .where(_ALERT.c.kind == kind, _ALERT.c.status.in_(LIVE_STATUSES))
            .order_by(_ALERT.c.id)
        )
    )


def update_alert(
    conn: Connection, alert_id: int, *, severity: str, title: str, detail: dict[str, Any]
) -> None:
    """A live alert's cause still holds: its severity, title and detail as now (no new e-mail; routing
    pushes an update only when the severity changes)."""
    conn.execute(
        sa.update(_ALERT)
        .where(_ALERT.c.id == alert_id, _ALERT.c.status.in_(LIVE_STATUSES))
        .values(severity=severity, title=title, detail=detail)
    )


def resolve_alerts(conn: Connection, alerts: Sequence[tuple[int, dict[str, Any]]]) -> int:
    """Resolve these live alerts ((id, detail as it should read)) because their cause ended; their e-mails
    not sent yet are cancelled. Returns how many were live."""
    resolved = 0
    for alert_id, detail in alerts:
        resolved += conn.execute(
            sa.update(_ALERT)
            .where(_ALERT.c.id == alert_id, _ALERT.c.status.in_(LIVE_STATUSES))
            .values(status="resolved", detail=detail)
        ).rowcount
        conn.execute(
            sa.update(_DELIVERY)
            .where(_DELIVERY.c.alert_id == alert_id, _DELIVERY.c.status == "pending")
            .values(status="cancelled")
        )
    return resolved
