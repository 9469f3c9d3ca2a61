"""The dashboard: one server-rendered page per brand, built from the same queries as the API.

Mention text, handles, titles and URLs are hostile input. The Jinja environment escapes every value
(`autoescape=True`, whatever the template's file name), links are drawn only for http(s) URLs, and
every response carries a Content-Security-Policy without inline script or style.

The page needs an API key like the API, taken as the password of HTTP Basic (so the browser asks for it;
the user name is ignored) or as `Authorization: Bearer KEY`. A brand-scoped key sees its own brand and
its competitors. The page only reads, so a credential the browser sends along cannot change anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.auth import (
    BASIC_CHALLENGE,
    AccessControl,
    Principal,
    authenticate,
    basic_password,
    bearer_token,
    require_every_brand,
)
from api.deps import ApiError, QueryText, find_brand, get_now
from monitor.config import Settings
from monitor.read.alerts import list_alerts
from monitor.read.brands import BrandOut, list_brands
from monitor.read.mentions import MentionFilter, list_mentions
from monitor.read.rankings import RankedAuthor, Ranking, rank_authors
from monitor.read.series import SentimentBucket, sentiment_series
from monitor.service.status import status_report
from monitor.storage.models import Brand

__all__ = [
    "SECURITY_HEADERS",
    "TrendChart",
    "dashboard_key",
    "dashboard_router",
    "safe_url",
    "template_environment",
    "trend_chart",
]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
# no inline script or style; no <base>, forms only to the dashboard itself, no plugins, and no framing
# by another site (clickjacking): frame-ancestors, and X-Frame-Options for browsers without it
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
_TREND_DAYS = 30
_CHART_WIDTH, _CHART_HEIGHT, _PLOT_TOP, _PLOT_BOTTOM = 720, 200, 8, 172


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL without whitespace or control characters, else None.

    Browsers strip such characters before reading the scheme ("java\\tscript:"), so refuse them outright.
    """
    if not url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _local_time(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def template_environment() -> Environment:
    """The dashboard's Jinja environment; autoescape is on for every template name."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    env.filters["local_time"] = _local_time
    return env


@dataclass(frozen=True, slots=True)
class ChartRect:
    css: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class ChartDay:
    label: str
    title: str
    rects: list[ChartRect]


@dataclass(frozen=True, slots=True)
class TrendChart:
    """Stacked daily volume (negative at the bottom) and a net-sentiment line on a -1..1 scale."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    zero_y: float
    max_volume: int
    days: list[ChartDay]
    net_line: str


def trend_chart(buckets: list[SentimentBucket]) -> TrendChart:
    """SVG geometry for `buckets`, computed here so the page needs no script."""
    plot_height = _PLOT_BOTTOM - _PLOT_TOP
    slot = _CHART_WIDTH / max(len(buckets), 1)
    max_volume = max((b.volume for b in buckets), default=0)
    scale = plot_height / max_volume if max_volume else 0.0
    days: list[ChartDay] = []
    points: list[str] = []
    for index, bucket in enumerate(buckets):
        x = index * slot + slot * 0.15
        unclassified = bucket.volume - bucket.positive - bucket.neutral - bucket.negative
        y = float(_PLOT_BOTTOM)
        rects = []
        stack = (
            ("neg", bucket.negative),
            ("neu", bucket.neutral),
            ("pos", bucket.positive),
            ("unc", unclassified),
        )
        for css, count in stack:
            if count > 0:
                height = count * scale
                y -= height
                rects.append(
                    ChartRect(
                        css=css,
                        x=round(x, 1),
                        y=round(y, 1),
                        width=round(slot * 0.7, 1),
                        height=round(height, 1),
                    )
                )
        label = bucket.start.strftime("%Y-%m-%d")
        net = "n/a" if bucket.net_sentiment is None else f"{bucket.net_sentiment:+.2f}"
        title = (
            f"{label}: {bucket.volume} mentions, {bucket.positive} positive, {bucket.neutral} neutral, "
            f"{bucket.negative} negative, net {net}"
        )
        days.append(ChartDay(label=label, title=title, rects=rects))
        if bucket.net_sentiment is not None:
            net_y = _PLOT_TOP + (1 - bucket.net_sentiment) / 2 * plot_height
            points.append(f"{index * slot + slot / 2:.1f},{net_y:.1f}")
    return TrendChart(
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
        plot_top=_PLOT_TOP,
        plot_bottom=_PLOT_BOTTOM,
        zero_y=_PLOT_TOP + plot_height / 2,
        max_volume=max_volume,
        days=days,
        net_line=" ".join(points),
    )


def _default_brand(brands: list[BrandOut], principal: Principal) -> str | None:
    if principal.brand is not None:
        return principal.brand
    own = [b.name for b in brands if b.competitor_of is None and b.active]
    names = own or [b.name for b in brands]
    return names[0] if names else None


def _brand_context(session: Session, settings: Settings, brand: Brand, now: datetime) -> dict[str, Any]:
    assert brand.id is not None
    brand_id = brand.id

    def top(ranking: Ranking) -> list[RankedAuthor]:
        half_life = settings.scoring.half_life_days
        return rank_authors(
            session, brand_id=brand_id, ranking=ranking, now=now, half_life_days=half_life, limit=5
        )

    since = now - timedelta(days=_TREND_DAYS - 1)
    trend = sentiment_series(session, brand=brand, interval="day", since=since, until=now)
    negative = MentionFilter(brand_id=brand_id, sentiment="negative")
    return {
        "selected": brand.name,
        "zone": ZoneInfo(trend.timezone),
        "trend": trend,
        "chart": trend_chart(trend.buckets),
        "alerts": list_alerts(session, brand_id=brand_id, status="open", limit=10).items,
        "ambassadors": top("ambassador"),
        "detractors": top("detractor"),
        "negative": list_mentions(session, negative, limit=10, cursor=None).items,
        "recent": list_mentions(session, MentionFilter(brand_id=brand_id), limit=20, cursor=None).items,
    }


def _page_context(
    session: Session, settings: Settings, brand_name: str | None, now: datetime, principal: Principal
) -> tuple[int, dict[str, Any]]:
    """The status and template context for `brand_name`, or the key's (first own) brand when it is None."""
    brands = [b for b in list_brands(session) if principal.may_see(b.id)]
    context: dict[str, Any] = {"brands": brands, "error": None, "selected": None, "zone": ZoneInfo("UTC")}
    name = brand_name or _default_brand(brands, principal)
    if name is None:
        return 200, context
    try:
        brand = find_brand(session, name, principal)
    except ApiError as e:
        return e.status_code, context | {"error": e.message}
    return 200, context | _brand_context(session, settings, brand, now)


class _StaticFiles(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(SECURITY_HEADERS)
        return response


def dashboard_key(request: Request) -> Principal:
    """The key behind a page request: HTTP Basic's password or a bearer token (see api/auth.py)."""
    authorization = request.headers.get("authorization")
    access: AccessControl = request.app.state.access
    with Session(request.app.state.engine) as session:
        return authenticate(
            session,
            access,
            key=basic_password(authorization) or bearer_token(authorization),
            client=request.client.host if request.client else "",
            challenge=BASIC_CHALLENGE,
        )


def dashboard_router(settings: Settings, engine: Engine) -> APIRouter:
    """GET / (the page, `?brand=` picks the brand), GET /status (for a key without --brand) and /static;
    mounted at / by `wom serve` (dashboards/site.py)."""
    router = APIRouter(include_in_schema=False)
    router.mount("/static", _StaticFiles(directory=os.fspath(STATIC)), name="static")
    page = template_environment().get_template("index.html")

    status_page = template_environment().get_template("status.html")

    @router.get("/", response_class=HTMLResponse)
    def index(
        now: Annotated[datetime, Depends(get_now)],
        principal: Annotated[Principal, Depends(dashboard_key)],
        brand: Annotated[QueryText, Query(max_length=200)] = None,
    ) -> HTMLResponse:
        with Session(engine) as session:
            status, context = _page_context(session, settings, brand, now, principal)
        context["show_status"] = not principal.scoped
        return HTMLResponse(page.render(**context), status_code=status, headers=SECURITY_HEADERS)

    @router.get("/status", response_class=HTMLResponse)
    def status(
        now: Annotated[datetime, Depends(get_now)],
        principal: Annotated[Principal, Depends(dashboard_key)],
    ) -> HTMLResponse:
        """Collector health, the latest run of each job and the stored rows (GET /api/v1/status, for people)."""
        context: dict[str, Any] = {"zone": ZoneInfo("UTC"), "error": None, "report": None}
        try:
            require_every_brand(principal, what="the status page")
        except ApiError as e:
            context["error"] = e.message
            return HTMLResponse(
                status_page.render(**context), status_code=e.status_code, headers=SECURITY_HEADERS
            )
        with Session(engine) as session:
            context["report"] = status_report(session, engine, settings, now)
        return HTMLResponse(status_page.render(**context), headers=SECURITY_HEADERS)

    return router
