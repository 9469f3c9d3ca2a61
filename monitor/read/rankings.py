"""Authors of one brand ranked by their decayed score, as GET /api/v1/ambassadors and /detractors show them.

Scores in `AuthorBrandStats` hold as of the author's `last_mention_at`; at read time each is decayed to now
by the one decay function, `monitor.scoring.profile.decay_to` (0.5 ** (days since then /
scoring.half_life_days)), so someone quiet for a half-life counts half.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import or_
from sqlmodel import Session, col, select

from monitor.scoring.profile import decay_to
from monitor.storage.models import Author, AuthorBrandStats, AuthorIdentity, Mention
from monitor.storage.tables import table_of

__all__ = ["EvidenceOut", "RankedAuthor", "Ranking", "rank_authors"]

_STATS = table_of(AuthorBrandStats)
_IDENTITY = table_of(AuthorIdentity)
_AUTHOR = table_of(Author)

Ranking = Literal["ambassador", "detractor"]


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


@dataclass(frozen=True, slots=True)
class _Candidate:
    author_id: int
    raw: float
    last_mention_at: datetime | None


def _top(
    rows: Iterable[_Candidate], *, now: datetime, half_life_days: float, limit: int
) -> list[tuple[float, int]]:
    """(decayed score, author id) of the best `limit`, best first."""
    # rows arrive by raw score, highest first; decay only lowers a score, so once a raw score falls
    # below the lowest decayed score kept, no later row can enter the top `limit`
    kept: list[tuple[float, int]] = []
    for row in rows:
        if len(kept) == limit and row.raw < kept[0][0]:
            break
        score = decay_to(row.raw, last_mention_at=row.last_mention_at, now=now, half_life_days=half_life_days)
        if score <= 0.0:
            continue
        entry = (score, -row.author_id)
        if len(kept) < limit:
            heapq.heappush(kept, entry)
        elif entry > kept[0]:
            heapq.heapreplace(kept, entry)
    return [(score, -negative_id) for score, negative_id in sorted(kept, reverse=True)]


def _candidates(
    session: Session,
    *,
    brand_id: int,
    ranking: Ranking,
    segment: str | None,
    source: str | None,
    since: datetime | None,
    first_page: int,
) -> Iterator[_Candidate]:
    """The brand's authors with a positive raw score, highest first (ties: higher author id first), read
    in keyset pages of three narrow columns that grow fourfold: the ranking usually stops in the first."""
    score = col(
        AuthorBrandStats.ambassador_score if ranking == "ambassador" else AuthorBrandStats.detractor_score
    )
    author = col(AuthorBrandStats.author_id)
    statement = (
        select(author, score, col(AuthorBrandStats.last_mention_at))
        .join(Author, col(Author.id) == author)
        .where(col(AuthorBrandStats.brand_id) == brand_id, score > 0, col(Author.forgotten).is_(False))
        # both descending: a backward scan of ix_authorbrandstats_brand_<ranking>, no sort
        .order_by(score.desc(), author.desc())
    )
    if segment is not None:
        statement = statement.where(col(AuthorBrandStats.segment) == segment)
    if since is not None:
        statement = statement.where(col(AuthorBrandStats.last_mention_at) >= since)
    if source is not None:
        statement = statement.where(
            author.in_(select(AuthorIdentity.author_id).where(col(AuthorIdentity.source) == source))
        )
    page, after = first_page, None
    while True:
        # the leading `<=` gives the planner a range on the index; the OR alone does not
        query = (
            statement
            if after is None
            else statement.where(score <= after[0], or_(score < after[0], author < after[1]))
        )
        rows = session.connection().execute(query.limit(page)).all()
        for author_id, raw, last_mention_at in rows:
            yield _Candidate(author_id, raw, last_mention_at)
        if len(rows) < page:
            return
        after = (rows[-1][1], rows[-1][0])
        page *= 4


def _identities(session: Session, author_ids: Sequence[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    identity = _IDENTITY.c
    statement = sa.select(
        identity.id, identity.author_id, identity.source, identity.handle, identity.name, identity.reach
    ).where(identity.author_id.in_(author_ids))
    for row in session.connection().execute(statement).all():
        found.setdefault(row.author_id, []).append(row)
    for identities in found.values():  # the widest-reaching account speaks for the author
        identities.sort(key=lambda i: (-(i.reach or 0), i.id or 0))
    return found


def _evidence(session: Session, mention_ids: set[int]) -> dict[int, EvidenceOut]:
    if not mention_ids:
        return {}
    # plain columns, not Mention objects: a top-20 list shows up to 100 of them
    statement = sa.select(
        col(Mention.id), col(Mention.source), col(Mention.url), col(Mention.text), col(Mention.created_at)
    ).where(col(Mention.id).in_(mention_ids))
    evidence: dict[int, EvidenceOut] = {}
    for mention_id, source, url, text, created in session.connection().execute(statement).all():
        assert mention_id is not None  # the primary key; the model's `int | None` is for unsaved rows
        evidence[mention_id] = EvidenceOut(
            mention_id=mention_id, source=source, url=url, text=text, created_at=created
        )
    return evidence


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
    candidates = _candidates(
        session,
        brand_id=brand_id,
        ranking=ranking,
        segment=segment,
        source=source,
        since=since,
        first_page=2 * limit + 10,
    )
    top = _top(candidates, now=now, half_life_days=half_life_days, limit=limit)
    if not top:
        return []
    author_ids = [author_id for _, author_id in top]
    # plain rows, not ORM objects, here and below: these few queries are most of the request
    columns = _STATS.c
    stats_of = {
        row.author_id: row
        for row in session.connection()
        .execute(
            sa.select(
                columns.author_id,
                columns.segment,
                columns.score_terms,
                columns.positive,
                columns.neutral,
                columns.negative,
                columns.reach,
                columns.last_mention_at,
                columns.evidence,
            ).where(columns.brand_id == brand_id, columns.author_id.in_(author_ids))
        )
        .all()
    }
    identities = _identities(session, author_ids)
    author = _AUTHOR.c
    names = dict(
        session.connection()
        .execute(sa.select(author.id, author.display_name).where(author.id.in_(author_ids)))
        .all()
    )
    evidence = _evidence(session, {m for stats in stats_of.values() for m in stats.evidence or []})
    ranked = []
    for score, author_id in top:
        stats = stats_of[author_id]
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
