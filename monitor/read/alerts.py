"""Alerts as GET /api/v1/alerts shows them: newest event first, cursor-paged on (event_at, id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from monitor.read.paging import PageCursor, encode_cursor, older_than
from monitor.storage.models import Alert, Brand

__all__ = ["AlertOut", "AlertPage", "alert_counts", "list_alerts"]


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
