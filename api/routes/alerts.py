"""/api/v1/alerts: GET lists alerts newest event first, cursor-paged on (event_at, id); GET /alerts/{id}
shows one with its why, who acknowledged and resolved it and the mentions behind it; POST
/alerts/{id}/ack|resolve (manager) acknowledges or resolves it (monitor.service.alerts), recorded as the
key's user, else the key (api.writes.written_by).

An unknown alert is a 404; an alert of a brand outside a brand-scoped key's brands a 403 (as for inbox
items); an action that does not fit the alert's status, or that someone else beat this one to, a 409 whose
message names the status (code `wrong_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import (
    MAX_ID,
    ApiError,
    CurrentKey,
    PageCursor,
    Principal,
    QueryText,
    get_now,
    get_session,
    optional_brand,
    page_cursor,
    page_limit,
    require_role,
)
from api.filters import ALERT_STATUSES, one_of
from api.responses import json_response
from api.routes.mentions import brands_shown
from api.writes import get_write_engine, written_by
from monitor.errors import AlertStateError, ForbiddenBrandError, UnknownAlertError
from monitor.read.alerts import AlertDetail, AlertPage, alert_detail, list_alerts
from monitor.service.alerts import AlertAction, move_alert
from monitor.storage.models import Brand

__all__ = ["router"]

router = APIRouter(tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="The alert's id.")]
Manager = Annotated[Principal, Depends(require_role("manager"))]
_ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "A viewer's key, or the alert is about a brand outside this key's brands"},
    404: {"description": "Unknown alert"},
    409: {"description": "The action does not fit the alert's status; the message names the status"},
}


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


def _visible_alert(session: Session, principal: Principal, alert_id: int) -> AlertDetail:
    found = alert_detail(session, alert_id, shown=brands_shown(principal))
    if found is None:
        raise ApiError(404, code="unknown_alert", message=str(UnknownAlertError(alert_id)))
    brand_id, alert = found
    if not principal.may_see(brand_id):
        raise ApiError(
            403,
            code="forbidden_brand",
            message=f"alert {alert_id} is about brand {alert.brand!r}; this key may see only {principal.brand!r}",
        )
    return alert


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertDetail,
    summary="One alert with its why, who acted on it and the mentions behind it",
    responses={
        403: {"description": "The alert is about a brand outside this key's brands"},
        404: {"description": "Unknown alert"},
    },
)
def get_alert(
    alert_id: AlertId,
    session: Annotated[Session, Depends(get_session)],
    principal: CurrentKey,
) -> Response:
    return json_response(_visible_alert(session, principal, alert_id))


def _alert_action(action: AlertAction, summary: str) -> Callable[..., Response]:
    def act(
        alert_id: AlertId,
        principal: Manager,
        engine: Annotated[Engine, Depends(get_write_engine)],
        now: Annotated[datetime, Depends(get_now)],
    ) -> Response:
        """Moves the alert in one write transaction and answers it as it left it (read in that
        transaction); the service's errors become 404, 403 and 409."""
        try:
            with engine.begin() as conn:
                move_alert(
                    conn,
                    alert_id=alert_id,
                    action=action,
                    scope=principal.scope,
                    actor=written_by(principal),
                    now=now,
                )
                with Session(bind=conn) as session:
                    return json_response(_visible_alert(session, principal, alert_id))
        except UnknownAlertError as e:
            raise ApiError(404, code=e.code, message=str(e)) from e
        except ForbiddenBrandError as e:
            raise ApiError(403, code="forbidden_brand", message=str(e)) from e
        except AlertStateError as e:
            raise ApiError(409, code=e.code, message=str(e)) from e

    act.__name__ = f"post_alert_{action}"
    router.post(
        f"/alerts/{{alert_id}}/{action}",
        response_model=AlertDetail,
        summary=summary,
        responses=_ACTION_ERRORS,
    )(act)
    return act


post_ack = _alert_action("ack", "Acknowledge an open alert: someone is on it, no more reminders (manager)")
post_resolve = _alert_action("resolve", "Resolve an open or acknowledged alert (manager)")
