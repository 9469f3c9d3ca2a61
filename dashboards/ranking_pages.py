"""The ambassadors and detractors pages: a brand's authors ranked by decayed score, each with segment, score
and the terms it is made of, counts, reach and the evidence; and each list as CSV (`.../export.csv`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import ApiError, QueryText, find_brand, get_now
from api.filters import SEGMENTS
from dashboards.auth import Visitor, current_visitor, sign_in_redirect
from dashboards.i18n import translations
from dashboards.pages import default_brand
from dashboards.render import SECURITY_HEADERS, Renderer, safe_url
from dashboards.words import N_
from monitor.config import Settings
from monitor.read.brands import list_brands
from monitor.read.rankings import RankedAuthor, Ranking, rank_authors

__all__ = ["EXPORT_LIMIT", "PAGE_LIMIT", "csv_cell", "ranking_csv", "ranking_page_routes"]

PAGE_LIMIT = 50
EXPORT_LIMIT = 1000
CSV_COLUMNS = (
    "rank",
    "author_id",
    "name",
    "handle",
    "sources",
    "segment",
    "score",
    "positive_mentions",
    "neutral_mentions",
    "negative_mentions",
    "reach",
    "last_mention_at",
    "evidence_urls",
)
# a spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection")
# the terms a score is made of (monitor.scoring.profile), as the breakdown names them; others as stored
SCORE_TERMS = {
    "ambassador_score": N_("ambassador score"),
    "detractor_score": N_("detractor score"),
    "positive_mass": N_("weighted positive mentions"),
    "negative_mass": N_("weighted negative mentions"),
    "positive_distinct": N_("distinct positive mentions"),
    "negative_distinct": N_("distinct negative mentions"),
    "neutral_distinct": N_("distinct neutral mentions"),
    "distinct_mentions": N_("distinct mentions"),
    "duplicates": N_("duplicates"),
    "min_mentions": N_("mentions needed for a segment"),
    "positive_repetition": N_("positive repetition factor"),
    "negative_repetition": N_("negative repetition factor"),
    "positive_share": N_("positive share"),
    "negative_share": N_("negative share"),
    "reach": N_("reach"),
    "reach_factor": N_("reach factor"),
    "discount": N_("discount (bot or spam)"),
    "discount_factor": N_("discount factor"),
    "recent_positive_mass": N_("recent weighted positive mentions"),
    "recent_negative_mass": N_("recent weighted negative mentions"),
    "recent_negative_posts": N_("recent negative posts"),
    "turning_negative": N_("turning negative (1 is yes)"),
    "complaint_weight": N_("weight of a complaint"),
    "half_life_days": N_("half-life in days"),
    "as_of": N_("as of"),
    "dominant": N_("dominant side"),
}
_RANKINGS: tuple[Ranking, ...] = ("ambassador", "detractor")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """`value` for a CSV cell: text that a spreadsheet would read as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _row(rank: int, author: RankedAuthor) -> list[object]:
    urls = [url for e in author.evidence if (url := safe_url(e.url))]  # as the page: http(s) only
    last = author.last_mention_at.isoformat() if author.last_mention_at else ""
    values: list[object] = [
        rank,
        author.author_id,
        author.name,
        author.handle,
        " ".join(author.sources),
        author.segment,
        f"{author.score:.4f}",
        author.positive_mentions,
        author.neutral_mentions,
        author.negative_mentions,
        author.reach,
        last,
        " ".join(urls),
    ]
    return [csv_cell(v) for v in values]


def ranking_csv(authors: Iterable[RankedAuthor]) -> str:
    """The ranked authors as CSV with a header row (CSV_COLUMNS), best first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_row(rank, author) for rank, author in enumerate(authors, start=1))
    return out.getvalue()


def _ranking_context(
    session: Session,
    settings: Settings,
    visitor: Visitor,
    *,
    ranking: Ranking,
    brand_name: str | None,
    segment: str | None,
    now: datetime,
    limit: int,
) -> tuple[int, dict[str, Any]]:
    """The status and template context of one ranked list (`authors` empty on an error)."""
    brands = [b for b in list_brands(session) if visitor.principal.may_see(b.id)]
    context: dict[str, Any] = {"brands": brands, "selected": None, "error": None, "authors": []}
    name = brand_name or default_brand(brands, visitor)
    if name is None:
        return 200, context
    try:
        brand = find_brand(session, name, visitor.principal)
    except ApiError as e:
        return e.status_code, context | {"error": e.message}
    assert brand.id is not None
    authors = rank_authors(
        session,
        brand_id=brand.id,
        ranking=ranking,
        now=now,
        half_life_days=settings.scoring.half_life_days,
        limit=limit,
        segment=segment,
    )
    return 200, context | {"selected": brand.name, "authors": authors}


def _term_names(language: str) -> dict[str, str]:
    gettext = translations(language).gettext
    return {term: gettext(name) for term, name in SCORE_TERMS.items()}


def _segment(value: str | None) -> str | None:
    return value if value in SEGMENTS else None


def ranking_page_routes(router: APIRouter, render: Renderer, settings: Settings, engine: Engine) -> None:
    """GET /ambassadors, /detractors and their /export.csv on `router`."""

    def page(ranking: Ranking) -> Callable[..., Response]:
        def endpoint(
            request: Request,
            now: Annotated[datetime, Depends(get_now)],
            visitor: Annotated[Visitor | None, Depends(current_visitor)],
            brand: Annotated[QueryText, Query(max_length=200)] = None,
            segment: Annotated[QueryText, Query(max_length=40)] = None,
        ) -> Response:
            if visitor is None:
                return sign_in_redirect(request)
            with Session(engine) as session:
                status, context = _ranking_context(
                    session,
                    settings,
                    visitor,
                    ranking=ranking,
                    brand_name=brand,
                    segment=_segment(segment),
                    now=now,
                    limit=PAGE_LIMIT,
                )
            return render.page(
                request,
                "ranking.html",
                visitor=visitor,
                status=status,
                current=f"{ranking}s",
                ranking=ranking,
                segment=_segment(segment),
                segments=SEGMENTS,
                # translated once per page, not once per author and term
                term_names=_term_names(visitor.language),
                **context,
            )

        return endpoint

    def export(ranking: Ranking) -> Callable[..., Response]:
        def endpoint(
            request: Request,
            now: Annotated[datetime, Depends(get_now)],
            visitor: Annotated[Visitor | None, Depends(current_visitor)],
            brand: Annotated[QueryText, Query(max_length=200)] = None,
            segment: Annotated[QueryText, Query(max_length=40)] = None,
        ) -> Response:
            if visitor is None:
                return sign_in_redirect(request)
            with Session(engine) as session:
                status, context = _ranking_context(
                    session,
                    settings,
                    visitor,
                    ranking=ranking,
                    brand_name=brand,
                    segment=_segment(segment),
                    now=now,
                    limit=EXPORT_LIMIT,
                )
            if context["error"] is not None:
                code = "forbidden_brand" if status == 403 else "unknown_brand"
                raise ApiError(status, code=code, message=context["error"])
            day = now.date().isoformat()
            filename = f"{ranking}s-{context['selected'] or 'none'}-{day}.csv"
            safe_name = "".join(c if c.isalnum() or c in "-." else "_" for c in filename)
            headers = SECURITY_HEADERS | {"Content-Disposition": f'attachment; filename="{safe_name}"'}
            return Response(
                ranking_csv(context["authors"]), media_type="text/csv; charset=utf-8", headers=headers
            )

        return endpoint

    for ranking in _RANKINGS:
        router.add_api_route(f"/{ranking}s", page(ranking), methods=["GET"], response_class=HTMLResponse)
        router.add_api_route(f"/{ranking}s/export.csv", export(ranking), methods=["GET"])
