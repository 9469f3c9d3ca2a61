"""The overview (per brand and period, both in the URL), and correcting a mention's
sentiment from the overview (managers and admins)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import MAX_ID, ApiError, QueryText, find_brand, get_now
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
from dashboards.charts import trend_chart
from dashboards.render import Renderer
from monitor.config import Settings
from monitor.errors import ForbiddenBrandError, UnknownMentionError
from monitor.read.alerts import list_alerts
from monitor.read.brands import BrandOut, list_brands
from monitor.read.digest import ambassadors_at_risk, new_ambassadors, top_complaints
from monitor.read.mentions import MentionFilter, list_mentions
from monitor.read.rankings import RankedAuthor, Ranking, rank_authors
from monitor.read.response_times import period_response_times
from monitor.read.series import sentiment_series
from monitor.read.source_counts import source_counts
from monitor.service.labels import label_mention
from monitor.storage.models import Brand

__all__ = ["INTENTS", "PERIODS", "SENTIMENTS", "default_brand", "page_routes"]

PERIODS = (7, 30, 90)  # days an overview may cover
_DEFAULT_PERIOD = 30
SENTIMENTS = ("positive", "neutral", "negative")
INTENTS = ("complaint", "question", "praise", "other")


def default_brand(brands: list[BrandOut], visitor: Visitor) -> str | None:
    if visitor.principal.brand is not None:
        return visitor.principal.brand
    own = [b for b in brands if b.competitor_of is None and b.active]
    followed = [b.name for b in own if visitor.user is not None and b.id in visitor.user.brand_ids]
    names = followed or [b.name for b in own] or [b.name for b in brands]
    return names[0] if names else None


def _brand_context(
    session: Session, settings: Settings, brand: Brand, now: datetime, days: int
) -> dict[str, Any]:
    assert brand.id is not None
    brand_id = brand.id

    def top(ranking: Ranking) -> list[RankedAuthor]:
        half_life = settings.scoring.half_life_days
        return rank_authors(
            session, brand_id=brand_id, ranking=ranking, now=now, half_life_days=half_life, limit=5
        )

    first_day = now - timedelta(days=days - 1)
    trend = sentiment_series(session, brand=brand, interval="day", since=first_day, until=now)
    negative = MentionFilter(brand_id=brand_id, sentiment="negative")
    conn = session.connection()
    since, until = trend.since, trend.until  # the chart's local days
    own_brand = brand.competitor_of_id is None  # a competitor has no inbox here
    return {
        "selected": brand.name,
        "trend": trend,
        "chart": trend_chart(trend.buckets),
        "sources": source_counts(conn, brand_id=brand_id, since=since, until=until),
        "inbox": (
            period_response_times(session, brand=brand, since=since, until=until, now=now)
            if own_brand
            else None
        ),
        "complaints": top_complaints(conn, brand_ids=[brand_id], since=since, until=until),
        "new_ambassadors": [
            name for _, name in new_ambassadors(conn, brand_ids=[brand_id], since=since, until=until)
        ],
        "at_risk": ambassadors_at_risk(conn, brand_ids=[brand_id], since=since, until=until),
        "alerts": list_alerts(session, brand_id=brand_id, status="open", limit=10).items,
        "ambassadors": top("ambassador"),
        "detractors": top("detractor"),
        "negative": list_mentions(session, negative, limit=10, cursor=None).items,
        "recent": list_mentions(session, MentionFilter(brand_id=brand_id), limit=20, cursor=None).items,
    }


def _overview_context(
    session: Session, settings: Settings, brand_name: str | None, now: datetime, visitor: Visitor, days: int
) -> tuple[int, dict[str, Any]]:
    """The status and template context for `brand_name`, or the visitor's first brand when it is None."""
    brands = [b for b in list_brands(session) if visitor.principal.may_see(b.id)]
    context: dict[str, Any] = {
        "brands": brands,
        "error": None,
        "selected": None,
        "period": days,
        "periods": PERIODS,
    }
    name = brand_name or default_brand(brands, visitor)
    if name is None:
        return 200, context
    try:
        brand = find_brand(session, name, visitor.principal)
    except ApiError as e:
        return e.status_code, context | {"error": e.message}
    return 200, context | _brand_context(session, settings, brand, now, days)


def page_routes(router: APIRouter, render: Renderer, settings: Settings, engine: Engine) -> None:
    """GET / and POST /mentions/{id}/sentiment on `router`."""

    @router.get("/", response_class=HTMLResponse)
    def overview(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        brand: Annotated[QueryText, Query(max_length=200)] = None,
        period: Annotated[int, Query(description="Days: 7, 30 or 90.")] = _DEFAULT_PERIOD,
    ) -> Response:
        if visitor is None:
            return sign_in_redirect(request)
        days = period if period in PERIODS else _DEFAULT_PERIOD
        with Session(engine) as session:
            status, context = _overview_context(session, settings, brand, now, visitor, days)
        return render.page(
            request,
            "index.html",
            visitor=visitor,
            status=status,
            current="overview",
            sentiments=SENTIMENTS,
            **context,
        )

    @router.post("/mentions/{mention_id}/sentiment")
    def correct_sentiment(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
        mention_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ) -> Response:
        """A manager's correction of a mention's sentiment (and, from the mentions page, its intent); back to
        the page the form was on."""
        if visitor is None or visitor.user is None:
            raise FormRefusedError("sign in to correct a label")
        check_form(request, form, expected=visitor.csrf_token)
        if not visitor.may_act:
            raise FormRefusedError("correcting a label needs the role manager or admin")
        sentiment = form.get("sentiment", "")
        if sentiment not in SENTIMENTS:
            raise ApiError(
                422,
                code="invalid_request",
                message=f"sentiment {sentiment[:20]!r}: use one of {', '.join(SENTIMENTS)}",
            )
        intent = form.get("intent") or None  # the mentions page corrects the intent too
        if intent is not None and intent not in INTENTS:
            raise ApiError(
                422,
                code="invalid_request",
                message=f"intent {intent[:20]!r}: use one of {', '.join(INTENTS)}",
            )
        try:
            label_mention(
                write_engine(request),
                mention_id=mention_id,
                sentiment=sentiment,
                intent=intent,
                labeled_by=written_by(visitor.principal),
                scope=visitor.principal.scope,
                settings=settings,
                now=now,
            )
        except UnknownMentionError as e:
            raise ApiError(404, code="not_found", message=str(e)) from e
        except ForbiddenBrandError as e:
            raise ApiError(403, code="forbidden_brand", message=str(e)) from e
        return RedirectResponse(safe_next(form.get("next")), status_code=303)
