"""GET /api/v1/ambassadors and /api/v1/detractors: authors of one brand ranked by their decayed score.

Scores in `AuthorBrandStats` hold as of the author's `last_mention_at`; at read time each is multiplied by
0.5 ** (days since then / scoring.half_life_days), so someone quiet for a half-life counts half.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from api.deps import QueryText, as_utc, get_now, get_session, get_settings, required_brand
from monitor.config import Settings
from monitor.storage.models import Author, AuthorBrandStats, AuthorIdentity, Brand, Mention

__all__ = [
    "EvidenceOut",
    "RankedAuthor",
    "RankedAuthorList",
    "Ranking",
    "decayed_score",
    "rank_authors",
    "router",
]

router = APIRouter(tags=["authors"])

Ranking = Literal["ambassador", "detractor"]
_SECONDS_PER_DAY = 86_400.0


class EvidenceOut(BaseModel):
    mention_id: int
    source: str
    url: str | None
    text: str
    created_at: datetime


class RankedAuthor(BaseModel):
    author_id: int
    handle: str
    name: str
    sources: list[str]
    segment: str
    score: float
    score_terms: dict[str, Any]
    positive_mentions: int
    neutral_mentions: int
    negative_mentions: int
    reach: int
    last_mention_at: datetime | None
    evidence: list[EvidenceOut]


class RankedAuthorList(BaseModel):
    brand: str
    items: list[RankedAuthor]


def decayed_score(
    score: float, last_mention_at: datetime | None, *, now: datetime, half_life_days: float
) -> float:
    """`score` halved for every `half_life_days` between `last_mention_at` and `now` (never grown)."""
    if last_mention_at is None:
        return score
    age_days = max((now - last_mention_at).total_seconds() / _SECONDS_PER_DAY, 0.0)
    return float(score * 0.5 ** (age_days / half_life_days))


def _top(
    rows: Iterable[AuthorBrandStats], *, ranking: Ranking, now: datetime, half_life_days: float, limit: int
) -> list[tuple[float, AuthorBrandStats]]:
    # rows arrive by raw score, highest first; decay only lowers a score, so once a raw score falls
    # below the lowest decayed score kept, no later row can enter the top `limit`
    kept: list[tuple[float, int, AuthorBrandStats]] = []
    for stats in rows:
        raw = _raw(stats, ranking)
        if len(kept) == limit and raw < kept[0][0]:
            break
        score = decayed_score(raw, stats.last_mention_at, now=now, half_life_days=half_life_days)
        if score <= 0.0:
            continue
        entry = (score, -stats.author_id, stats)
        if len(kept) < limit:
            heapq.heappush(kept, entry)
        elif entry[:2] > kept[0][:2]:
            heapq.heapreplace(kept, entry)
    return [(score, stats) for score, _, stats in sorted(kept, key=lambda e: (-e[0], -e[1]))]


def _raw(stats: AuthorBrandStats, ranking: Ranking) -> float:
    return stats.ambassador_score if ranking == "ambassador" else stats.detractor_score


def _candidates(
    session: Session,
    *,
    brand_id: int,
    ranking: Ranking,
    segment: str | None,
    source: str | None,
    since: datetime | None,
) -> Any:
    score = col(
        AuthorBrandStats.ambassador_score if ranking == "ambassador" else AuthorBrandStats.detractor_score
    )
    statement = (
        select(AuthorBrandStats)
        .join(Author, col(Author.id) == col(AuthorBrandStats.author_id))
        .where(col(AuthorBrandStats.brand_id) == brand_id, score > 0, col(Author.forgotten).is_(False))
        # both descending: a backward scan of ix_authorbrandstats_brand_<ranking>, no sort
        .order_by(score.desc(), col(AuthorBrandStats.author_id).desc())
    )
    if segment is not None:
        statement = statement.where(col(AuthorBrandStats.segment) == segment)
    if since is not None:
        statement = statement.where(col(AuthorBrandStats.last_mention_at) >= since)
    if source is not None:
        statement = statement.where(
            col(AuthorBrandStats.author_id).in_(
                select(AuthorIdentity.author_id).where(col(AuthorIdentity.source) == source)
            )
        )
    # streamed in chunks: the ranking usually stops after the first one
    return session.exec(statement.execution_options(yield_per=256))


def _identities(session: Session, author_ids: Sequence[int]) -> dict[int, list[AuthorIdentity]]:
    found: dict[int, list[AuthorIdentity]] = {}
    statement = select(AuthorIdentity).where(col(AuthorIdentity.author_id).in_(author_ids))
    for identity in session.exec(statement).all():
        found.setdefault(identity.author_id, []).append(identity)
    for identities in found.values():  # the widest-reaching account speaks for the author
        identities.sort(key=lambda i: (-(i.reach or 0), i.id or 0))
    return found


def _evidence(session: Session, mention_ids: set[int]) -> dict[int, EvidenceOut]:
    if not mention_ids:
        return {}
    statement = (
        select(Mention)
        .options(defer(cast(QueryableAttribute[Any], Mention.raw)))
        .where(col(Mention.id).in_(mention_ids))
    )
    return {
        m.id: EvidenceOut(mention_id=m.id, source=m.source, url=m.url, text=m.text, created_at=m.created_at)
        for m in session.exec(statement).all()
        if m.id is not None and m.created_at is not None
    }


def rank_authors(
    session: Session,
    *,
    brand_id: int,
    ranking: Ranking,
    now: datetime,
    half_life_days: float,
    limit: int,
    segment: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
) -> list[RankedAuthor]:
    """The `limit` best authors by decayed score, best first; zero scores and forgotten authors left out."""
    result = _candidates(
        session, brand_id=brand_id, ranking=ranking, segment=segment, source=source, since=since
    )
    try:
        top = _top(result, ranking=ranking, now=now, half_life_days=half_life_days, limit=limit)
    finally:
        result.close()
    if not top:
        return []
    author_ids = [stats.author_id for _, stats in top]
    identities = _identities(session, author_ids)
    names = dict(
        session.exec(select(Author.id, Author.display_name).where(col(Author.id).in_(author_ids))).all()
    )
    evidence = _evidence(session, {m for _, stats in top for m in stats.evidence or []})
    ranked = []
    for score, stats in top:
        accounts = identities.get(stats.author_id, [])
        main = accounts[0] if accounts else None
        ranked.append(
            RankedAuthor(
                author_id=stats.author_id,
                handle=main.handle if main else "",
                name=(main.name if main and main.name else names.get(stats.author_id, "")),
                sources=sorted({a.source for a in accounts}),
                segment=stats.segment,
                score=score,
                score_terms=stats.score_terms or {},
                positive_mentions=stats.positive,
                neutral_mentions=stats.neutral,
                negative_mentions=stats.negative,
                reach=stats.reach,
                last_mention_at=stats.last_mention_at,
                evidence=[evidence[m] for m in stats.evidence or [] if m in evidence],
            )
        )
    return ranked


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
        since: Annotated[datetime | None, Query(description="Last mention at or after; ISO 8601.")] = None,
    ) -> RankedAuthorList:
        assert brand.id is not None
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
        return RankedAuthorList(brand=brand.name, items=items)

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
