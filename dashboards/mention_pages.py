"""The mentions page: search and filter every mention (brand, source, sentiment, intent, language, author,
period, text), newest first and cursor-paged, with a manager's label correction on each (the overview's
POST /mentions/{id}/sentiment, which also takes the intent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import MAX_ID, ApiError, PageCursor, QueryText, find_brand, get_now, page_cursor
from api.routes.mentions import brands_shown
from dashboards.auth import Visitor, current_visitor, sign_in_redirect
from dashboards.pages import INTENTS, PERIODS, SENTIMENTS
from dashboards.render import Renderer
from monitor.read.brands import list_brands
from monitor.read.mentions import MentionFilter, list_mentions

__all__ = ["PAGE_SIZE", "mention_page_routes"]

PAGE_SIZE = 50
_ANY_TIME = 0  # the period option that filters no time


def _choice(value: str | None, allowed: tuple[str, ...]) -> str | None:
    """`value` when it is one of `allowed`; None (no filter) for anything else, as a form can only send those."""
    return value if value in allowed else None


def _older_link(request: Request, next_cursor: str | None) -> str | None:
    """The address of the next (older) page: the same filters with the new cursor."""
    if next_cursor is None:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    return "/mentions?" + urlencode([*params, ("cursor", next_cursor)])


def mention_page_routes(router: APIRouter, render: Renderer, engine: Engine) -> None:
    """GET /mentions on `router`."""

    @router.get("/mentions", response_class=HTMLResponse)
    def mentions(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        cursor: Annotated[PageCursor | None, Depends(page_cursor)],
        brand: Annotated[QueryText, Query(max_length=200)] = None,
        source: Annotated[QueryText, Query(max_length=40)] = None,
        sentiment: Annotated[QueryText, Query(max_length=20)] = None,
        intent: Annotated[QueryText, Query(max_length=20)] = None,
        lang: Annotated[QueryText, Query(max_length=8)] = None,
        author: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        period: Annotated[int, Query(description="Days: 7, 30 or 90; 0 for any time.")] = _ANY_TIME,
        q: Annotated[QueryText, Query(max_length=200)] = None,
    ) -> Response:
        if visitor is None:
            return sign_in_redirect(request)
        days = period if period in PERIODS else _ANY_TIME
        principal = visitor.principal
        status, error = 200, None
        context: dict[str, Any] = {"mentions": [], "older": None}
        with Session(engine) as session:
            brands = [b for b in list_brands(session) if principal.may_see(b.id)]
            brand_id = None
            if brand:
                try:
                    brand_id = find_brand(session, brand, principal).id
                except ApiError as e:
                    status, error = e.status_code, e.message
            filters = MentionFilter(
                brand_id=brand_id,
                brand_ids=principal.brand_ids if principal.scoped and brand_id is None else None,
                source=source or None,
                sentiment=_choice(sentiment, SENTIMENTS),
                intent=_choice(intent, INTENTS),
                lang=(lang or "").strip().lower() or None,
                author_id=author,
                since=now - timedelta(days=days) if days else None,
                q=q or None,
            )
            if error is None:
                found = list_mentions(
                    session, filters, limit=PAGE_SIZE, cursor=cursor, shown=brands_shown(principal)
                )
                context = {"mentions": found.items, "older": _older_link(request, found.next_cursor)}
        return render.page(
            request,
            "mentions.html",
            visitor=visitor,
            status=status,
            current="mentions",
            error=error,
            brands=brands,
            filters=filters,
            brand=brand or "",
            period=days,
            periods=PERIODS,
            sentiments=SENTIMENTS,
            intents=INTENTS,
            paged=cursor is not None,
            **context,
        )
