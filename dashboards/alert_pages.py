"""The alerts page: open and acknowledged alerts, then the recently closed ones, each with its why (for a
spike: the top terms, sources and authors against the usual mentions) and the mentions behind it; managers
and admins acknowledge and resolve them (monitor.service.alerts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import MAX_ID, ApiError, QueryText, find_brand
from api.writes import written_by
from dashboards.auth import (
    FormRefusedError,
    Visitor,
    check_form,
    current_visitor,
    read_form,
    safe_next,
    sign_in_redirect,
    write_engine,
)
from dashboards.i18n import translations
from dashboards.render import Renderer
from monitor.alerts.reasons import reason_text
from monitor.errors import AlertStateError, ForbiddenBrandError, UnknownAlertError
from monitor.read.alerts import AlertOut, list_alerts
from monitor.read.brands import list_brands
from monitor.read.mentions import MentionOut, mention_outs
from monitor.service.alerts import ALERT_ACTIONS, AlertAction, change_alert_status

__all__ = ["AlertEntry", "alert_routes"]

LIVE_LIMIT = 50
RECENT_LIMIT = 20
MENTIONS_SHOWN = 3  # the examples behind an alert; the rest are on the mentions page


@dataclass(frozen=True, slots=True)
class AlertEntry:
    """An alert with its why (None for alerts that have none), its why in words in the reader's language
    (the kinds that store a reason: monitor.alerts.reasons), and the mentions behind it."""

    alert: AlertOut
    why: dict[str, Any] | None
    mentions: list[MentionOut]
    actions: tuple[str, ...]
    reason: str | None = None


def _mention_ids(alert: AlertOut, why: dict[str, Any] | None) -> list[int]:
    examples = why.get("example_mention_ids") if why else None
    listed = alert.detail.get("mention_ids")
    for ids in (examples, listed, [alert.mention_id]):
        if isinstance(ids, list) and ids:
            return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)][:MENTIONS_SHOWN]
    return []


def _why(alert: AlertOut) -> dict[str, Any] | None:
    why = alert.detail.get("why")
    return why if isinstance(why, dict) else None


def _entries(session: Session, alerts: list[AlertOut], language: str = "en") -> list[AlertEntry]:
    """The alerts with their mentions, read in one query for all of them."""
    found = mention_outs(session, [i for a in alerts for i in _mention_ids(a, _why(a))])
    return [_entry(a, found, language) for a in alerts]


def _entry(alert: AlertOut, found: dict[int, MentionOut], language: str = "en") -> AlertEntry:
    why = _why(alert)
    mentions = [found[i] for i in _mention_ids(alert, why) if i in found]
    actions = tuple(a for a, (fits, _) in ALERT_ACTIONS.items() if alert.status in fits)
    return AlertEntry(
        alert=alert,
        why=why,
        mentions=mentions,
        actions=actions,
        reason=reason_text(alert.detail, language=language),
    )


def _alerts_context(session: Session, visitor: Visitor, brand: str | None) -> tuple[int, dict[str, Any]]:
    brands = [b for b in list_brands(session) if visitor.principal.may_see(b.id)]
    context: dict[str, Any] = {
        "brands": brands,
        "selected": brand or "",
        "live": [],
        "recent": [],
        "error": None,
    }
    brand_id = visitor.principal.brand_id
    if brand:
        try:
            brand_id = find_brand(session, brand, visitor.principal).id
        except ApiError as e:
            return e.status_code, context | {"error": e.message}

    def alerts(status: str, limit: int) -> list[AlertOut]:
        return list_alerts(session, brand_id=brand_id, status=status, limit=limit).items

    live = sorted(
        alerts("open", LIVE_LIMIT) + alerts("acknowledged", LIVE_LIMIT),
        key=lambda a: (a.event_at, a.id),
        reverse=True,
    )[:LIVE_LIMIT]
    recent = alerts("resolved", RECENT_LIMIT)
    entries = _entries(session, live + recent, visitor.language)
    context["live"], context["recent"] = entries[: len(live)], entries[len(live) :]
    return 200, context


def alert_routes(router: APIRouter, render: Renderer, engine: Engine) -> None:
    """GET /alerts and POST /alerts/{id}/ack|resolve on `router`."""

    @router.get("/alerts", response_class=HTMLResponse)
    def alerts(
        request: Request,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        brand: Annotated[QueryText, Query(max_length=200)] = None,
    ) -> Response:
        if visitor is None:
            return sign_in_redirect(request)
        with Session(engine) as session:
            code, context = _alerts_context(session, visitor, brand)
        return render.page(request, "alerts.html", visitor=visitor, status=code, current="alerts", **context)

    @router.post("/alerts/{alert_id}/{action}")
    def act(
        request: Request,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
        alert_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        action: AlertAction,
    ) -> Response:
        """A manager acknowledges or resolves an alert; back to the page, or a message when it changed."""
        if visitor is None or visitor.user is None:
            raise FormRefusedError("sign in to act on an alert")
        check_form(request, form, expected=visitor.csrf_token)
        if not visitor.may_act:
            raise FormRefusedError("acknowledging or resolving an alert needs the role manager or admin")
        back = safe_next(form.get("next"))
        try:
            change_alert_status(
                write_engine(request),
                alert_id=alert_id,
                action=action,
                scope=visitor.principal.scope,
                actor=written_by(visitor.principal),
            )
        except UnknownAlertError as e:
            raise ApiError(404, code=e.code, message=str(e)) from e
        except ForbiddenBrandError as e:
            raise ApiError(403, code="forbidden_brand", message=str(e)) from e
        except AlertStateError as e:
            gettext = translations(visitor.language).gettext
            message = gettext(
                "That does not fit alert %(id)s any more: it is %(state)s. Look at it again."
            ) % {
                "id": alert_id,
                "state": gettext(e.state),
            }
            return render.page(
                request,
                "refused.html",
                visitor=visitor,
                status=409,
                current="alerts",
                message=message,
                back=back,
            )
        return RedirectResponse(back, status_code=303)
