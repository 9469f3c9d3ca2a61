"""GET /api/v1/ambassadors and /api/v1/detractors: authors of one brand ranked by their decayed score.

Scores in `AuthorBrandStats` hold as of the author's `last_mention_at`; at read time each is multiplied by
0.5 ** (days since then / scoring.half_life_days), so someone quiet for a half-life counts half.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import Instant, QueryText, as_utc, get_now, get_session, get_settings, required_brand
from api.filters import SEGMENTS, one_of
from api.responses import json_response
from monitor.config import Settings
from monitor.read.rankings import RankedAuthor, Ranking, rank_authors
from monitor.storage.models import Brand

__all__ = ["RankedAuthorList", "router"]

router = APIRouter(tags=["authors"])


class RankedAuthorList(BaseModel):
    brand: str
    items: list[RankedAuthor]


def _ranked_list(ranking: Ranking) -> Any:
    def endpoint(
        session: Annotated[Session, Depends(get_session)],
        settings: Annotated[Settings, Depends(get_settings)],
        now: Annotated[datetime, Depends(get_now)],
        brand: Annotated[Brand, Depends(required_brand)],
        limit: Annotated[int, Query(ge=1, le=200, description="How many authors.")] = 20,
        segment: Annotated[QueryText, Query(max_length=40, description="e.g. ambassador, fan.")] = None,
        source: Annotated[
            QueryText, Query(max_length=40, description="Has an account on this platform.")
        ] = None,
        since: Annotated[Instant | None, Query(description="Last mention at or after; ISO 8601.")] = None,
    ) -> Response:
        assert brand.id is not None
        segment = one_of("segment", segment, SEGMENTS)
        items = rank_authors(
            session,
            brand_id=brand.id,
            ranking=ranking,
            now=now,
            half_life_days=settings.scoring.half_life_days,
            limit=limit,
            segment=segment,
            source=source,
            since=as_utc(since),
        )
        return json_response(RankedAuthorList(brand=brand.name, items=items))

    return endpoint


router.add_api_route(
    "/ambassadors",
    _ranked_list("ambassador"),
    methods=["GET"],
    response_model=RankedAuthorList,
    summary="Top ambassadors of a brand, best first, scores decayed to now",
)
router.add_api_route(
    "/detractors",
    _ranked_list("detractor"),
    methods=["GET"],
    response_model=RankedAuthorList,
    summary="Top detractors of a brand, worst first, scores decayed to now",
)
