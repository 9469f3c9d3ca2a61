"""GET /api/v1/alerts: alerts newest event first, cursor-paged on (event_at, id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import (
    PageCursor,
    QueryText,
    get_session,
    optional_brand,
    page_cursor,
    page_limit,
)
from api.filters import ALERT_STATUSES, one_of
from api.responses import json_response
from monitor.read.alerts import AlertPage, list_alerts
from monitor.storage.models import Brand

__all__ = ["router"]

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=AlertPage, summary="Alerts, newest event first, cursor-paged")
def get_alerts(
    session: Annotated[Session, Depends(get_session)],
    brand: Annotated[Brand | None, Depends(optional_brand)],
    limit: Annotated[int, Depends(page_limit)],
    cursor: Annotated[PageCursor | None, Depends(page_cursor)],
    status: Annotated[QueryText, Query(max_length=40, description="e.g. open.")] = None,
    kind: Annotated[QueryText, Query(max_length=80, description="Rule that raised it.")] = None,
) -> Response:
    brand_id = None if brand is None else brand.id
    status = one_of("status", status, ALERT_STATUSES)
    return json_response(
        list_alerts(session, brand_id=brand_id, status=status, kind=kind, limit=limit, cursor=cursor)
    )
