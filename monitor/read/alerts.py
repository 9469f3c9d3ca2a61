"""Alerts as GET /api/v1/alerts shows them: newest event first, cursor-paged on (event_at, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from monitor.read.mentions import MentionOut, mention_out
from monitor.read.paging import PageCursor, encode_cursor, older_than
from monitor.storage.models import Alert, Brand

__all__ = [
    "AlertDetail",
    "AlertOut",
    "AlertPage",
    "alert_counts",
    "alert_detail",
    "alert_mention_ids",
    "list_alerts",
]

MENTIONS_LISTED = 10  # the mentions behind an alert shown in full, the why's examples first


class AlertOut(BaseModel):
    id: int
    brand: str
    kind: str
    severity: str
    status: str
    title: str
    detail: dict[str, Any]
    mention_id: int | None
    author_id: int | None
    event_at: datetime
    created_at: datetime | None


class AlertDetail(AlertOut):
    """One alert as GET /api/v1/alerts/{id} shows it: who acknowledged and resolved it (`user:NAME` or
    `apikey:ID`, null when nobody did), its why (for a spike: top terms, sources and authors against the
    usual mentions, and example mentions; null for kinds without one), the ids of the mentions behind it
    and the first of them in full."""

    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    why: dict[str, Any] | None
    mention_ids: list[int]
    mentions: list[MentionOut]


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


def list_alerts(
    session: Session,
    *,
    brand_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int,
    cursor: PageCursor | None = None,
) -> AlertPage:
    """One page of alerts, newest event first; one query."""
    statement = (
        select(Alert, Brand.name)
        .join(Brand, col(Brand.id) == col(Alert.brand_id))
        .order_by(col(Alert.event_at).desc(), col(Alert.id).desc())
        .limit(limit + 1)
    )
    if brand_id is not None:
        statement = statement.where(col(Alert.brand_id) == brand_id)
    if status is not None:
        statement = statement.where(col(Alert.status) == status)
    if kind is not None:
        statement = statement.where(col(Alert.kind) == kind)
    if cursor is not None:
        statement = statement.where(older_than(col(Alert.event_at), col(Alert.id), cursor))
    rows = session.exec(statement).all()
    items = [_alert_out(alert, brand_name) for alert, brand_name in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return AlertPage(items=items, next_cursor=None if last is None else encode_cursor(last.event_at, last.id))


def _alert_out(alert: Alert, brand_name: str) -> AlertOut:
    assert alert.id is not None and alert.event_at is not None
    return AlertOut(
        id=alert.id,
        brand=brand_name,
        kind=alert.kind,
        severity=alert.severity,
        status=alert.status,
        title=alert.title,
        detail=alert.detail or {},
        mention_id=alert.mention_id,
        author_id=alert.author_id,
        event_at=alert.event_at,
        created_at=alert.created_at,
    )


def alert_counts(session: Session) -> list[tuple[str, int]]:
    """How many alerts each rule (`kind`) raised, every brand together."""
    statement = select(col(Alert.kind), func.count()).group_by(col(Alert.kind))
    return [(kind, count) for kind, count in session.exec(statement).all()]


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [i for i in value if isinstance(i, int) and not isinstance(i, bool)]


def alert_why(alert: AlertOut) -> dict[str, Any] | None:
    """The why the detector stored with the alert (monitor.alerts.why), None for kinds without one."""
    why = alert.detail.get("why")
    return why if isinstance(why, dict) else None


def alert_mention_ids(alert: AlertOut) -> list[int]:
    """The mentions behind `alert`, each once: the why's examples first, then the ids the rule kept, then
    the one mention it is about."""
    why = alert_why(alert)
    single = [] if alert.mention_id is None else [alert.mention_id]
    ordered = _ids(why.get("example_mention_ids") if why else None) + _ids(alert.detail.get("mention_ids"))
    return list(dict.fromkeys(ordered + single))


def alert_detail(
    session: Session, alert_id: int, *, shown: frozenset[int] | None = None
) -> tuple[int, AlertDetail] | None:
    """(brand id, the alert in full) for alert `alert_id`; None when there is none. `shown`: the brands
    whose names the mentions may show (a brand-scoped caller's), None for all."""
    row = session.exec(
        select(Alert, Brand.name)
        .join(Brand, col(Brand.id) == col(Alert.brand_id))
        .where(col(Alert.id) == alert_id)
    ).first()
    if row is None:
        return None
    alert, brand_name = row
    out = _alert_out(alert, brand_name)
    ids = alert_mention_ids(out)
    mentions = [m for i in ids[:MENTIONS_LISTED] if (m := mention_out(session, i, shown=shown)) is not None]
    detail = AlertDetail(
        **out.model_dump(),
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        why=alert_why(out),
        mention_ids=ids,
        mentions=mentions,
    )
    return alert.brand_id, detail
