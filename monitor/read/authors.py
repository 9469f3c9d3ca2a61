"""One author as people see it: identities, per-brand stats with scores and terms, segment history, and
the profile GET /api/v1/authors/{id} sends (scores decayed to now, the author's mentions paged).

Read by `wom authors show`, `GET /api/v1/authors/{id}` and the export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection
from sqlmodel import Session

from monitor.errors import UnknownAuthorError
from monitor.read.mentions import MentionFilter, MentionPage, list_mentions
from monitor.read.paging import PageCursor
from monitor.scoring.profile import decay_to
from monitor.storage.labels import effective_classification
from monitor.storage.models import (
    Author,
    AuthorBrandStats,
    AuthorIdentity,
    Brand,
    Classification,
    Mention,
    MentionBrand,
    MentionLabel,
    SegmentChange,
)
from monitor.storage.tables import table_of

__all__ = [
    "AuthorOverview",
    "AuthorProfileOut",
    "BrandProfile",
    "BrandProfileOut",
    "IdentityOut",
    "IdentityView",
    "RecentMention",
    "SegmentChangeOut",
    "SegmentChangeView",
    "author_accounts",
    "author_brand_ids",
    "author_exists",
    "author_overview",
    "author_profile",
    "recent_mentions",
]

_AUTHOR = table_of(Author)
_IDENTITY = table_of(AuthorIdentity)
_STATS = table_of(AuthorBrandStats)
_CHANGES = table_of(SegmentChange)
_BRAND = table_of(Brand)
_MENTION = table_of(Mention)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_LINK = table_of(MentionBrand)


@dataclass(frozen=True, slots=True)
class IdentityView:
    id: int
    source: str
    identity_key: str
    platform_id: str | None
    handle: str
    name: str
    reach: int | None
    reach_kind: str
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class BrandProfile:
    """The stored (not decayed) figures of one author for one brand."""

    brand_id: int
    brand: str
    mentions: int
    positive: int
    neutral: int
    negative: int
    complaints: int
    questions: int
    reach: int
    engagement: int
    first_mention_at: datetime | None
    last_mention_at: datetime | None
    average_rating: float | None
    ambassador_score: float
    detractor_score: float
    segment: str
    score_terms: dict[str, Any]
    evidence: list[int]


@dataclass(frozen=True, slots=True)
class SegmentChangeView:
    brand_id: int
    brand: str
    from_segment: str
    to_segment: str
    changed_at: datetime
    mention_id: int | None


@dataclass(frozen=True, slots=True)
class AuthorOverview:
    id: int
    display_name: str
    created_at: datetime | None
    identities: list[IdentityView]
    brands: list[BrandProfile]
    segment_history: list[SegmentChangeView]  # oldest first


@dataclass(frozen=True, slots=True)
class RecentMention:
    id: int
    created_at: datetime
    source: str
    text: str
    sentiment: str | None  # a person's label wins over the model; None: not classified yet
    intent: str | None


def recent_mentions(conn: Connection, author_id: int, *, limit: int) -> list[RecentMention]:
    """The author's `limit` newest mentions, newest first."""
    newer = _CLASSIFICATION.alias("newer")
    effective = effective_classification()
    rows = conn.execute(
        sa.select(
            _MENTION.c.id,
            _MENTION.c.created_at,
            _MENTION.c.source,
            _MENTION.c.text,
            effective.sentiment.label("sentiment"),
            effective.intent.label("intent"),
        )
        .join(_IDENTITY, _IDENTITY.c.id == _MENTION.c.author_identity_id)
        .outerjoin(
            _CLASSIFICATION,
            sa.and_(
                _CLASSIFICATION.c.mention_id == _MENTION.c.id,
                # the newest classification only: a NOT EXISTS walks the author's few mentions, where a
                # max(id) per mention would group the whole table first
                ~sa.exists().where(
                    newer.c.mention_id == _CLASSIFICATION.c.mention_id, newer.c.id > _CLASSIFICATION.c.id
                ),
            ),
        )
        .outerjoin(_LABEL, _LABEL.c.mention_id == _MENTION.c.id)
        .where(_IDENTITY.c.author_id == author_id)
        .order_by(_MENTION.c.created_at.desc(), _MENTION.c.id.desc())
        .limit(limit)
    )
    return [RecentMention(**row._asdict()) for row in rows]


def author_overview(conn: Connection, author_id: int) -> AuthorOverview:
    """Raises UnknownAuthorError when there is no such author (or it was forgotten)."""
    author = conn.execute(
        sa.select(_AUTHOR.c.display_name, _AUTHOR.c.created_at).where(
            _AUTHOR.c.id == author_id, _AUTHOR.c.forgotten.is_(False)
        )
    ).first()
    if author is None:
        raise UnknownAuthorError(author_id)
    identities = [
        IdentityView(**row._asdict())
        for row in conn.execute(
            sa.select(
                _IDENTITY.c.id,
                _IDENTITY.c.source,
                _IDENTITY.c.identity_key,
                _IDENTITY.c.platform_id,
                _IDENTITY.c.handle,
                _IDENTITY.c.name,
                _IDENTITY.c.reach,
                _IDENTITY.c.reach_kind,
                _IDENTITY.c.updated_at,
            )
            .where(_IDENTITY.c.author_id == author_id)
            .order_by(_IDENTITY.c.id)
        )
    ]
    stats = conn.execute(
        sa.select(_STATS, _BRAND.c.name.label("brand"))
        .join(_BRAND, _BRAND.c.id == _STATS.c.brand_id)
        .where(_STATS.c.author_id == author_id)
        .order_by(_BRAND.c.name)
    ).mappings()
    brands = [
        BrandProfile(
            **{k: v for k, v in row.items() if k not in ("author_id", "score_terms", "evidence")},
            score_terms=dict(row["score_terms"] or {}),
            evidence=list(row["evidence"] or []),
        )
        for row in stats
    ]
    changes = conn.execute(
        sa.select(
            _CHANGES.c.brand_id,
            _BRAND.c.name.label("brand"),
            _CHANGES.c.from_segment,
            _CHANGES.c.to_segment,
            _CHANGES.c.changed_at,
            _CHANGES.c.mention_id,
        )
        .join(_BRAND, _BRAND.c.id == _CHANGES.c.brand_id)
        .where(_CHANGES.c.author_id == author_id)
        .order_by(_CHANGES.c.changed_at, _CHANGES.c.id)
    )
    return AuthorOverview(
        id=author_id,
        display_name=author.display_name,
        created_at=author.created_at,
        identities=identities,
        brands=brands,
        segment_history=[SegmentChangeView(**row._asdict()) for row in changes],
    )


class IdentityOut(BaseModel):
    id: int
    source: str
    identity_key: str
    platform_id: str | None
    handle: str
    name: str
    reach: int | None
    reach_kind: str
    updated_at: datetime | None


class BrandProfileOut(BaseModel):
    """The author's figures for one brand. Scores are decayed to now, as the rankings show them;
    `score_terms` hold as of `last_mention_at`."""

    brand: str
    segment: str
    ambassador_score: float
    detractor_score: float
    score_terms: dict[str, Any]
    mentions: int
    positive: int
    neutral: int
    negative: int
    complaints: int
    questions: int
    reach: int
    engagement: int
    first_mention_at: datetime | None
    last_mention_at: datetime | None
    average_rating: float | None
    evidence: list[int]


class SegmentChangeOut(BaseModel):
    brand: str
    from_segment: str
    to_segment: str
    changed_at: datetime
    mention_id: int | None


class AuthorProfileOut(BaseModel):
    id: int
    display_name: str
    created_at: datetime | None
    identities: list[IdentityOut]
    brands: list[BrandProfileOut]
    segment_history: list[SegmentChangeOut] = Field(description="Oldest first.")
    mentions: MentionPage = Field(description="The author's mentions, newest first; page on with `cursor`.")


def author_exists(session: Session, author_id: int) -> bool:
    """Whether there is an author `author_id` (a forgotten one included: its tombstone)."""
    return session.get(Author, author_id) is not None


def author_brand_ids(session: Session, author_id: int) -> list[int]:
    """The ids of the brands the author's mentions are matched to."""
    return list(
        session.execute(
            sa.select(_LINK.c.brand_id)
            .join(_MENTION, _MENTION.c.id == _LINK.c.mention_id)
            .join(_IDENTITY, _IDENTITY.c.id == _MENTION.c.author_identity_id)
            .where(_IDENTITY.c.author_id == author_id)
            .distinct()
        ).scalars()
    )


def author_profile(
    session: Session,
    author_id: int,
    *,
    now: datetime,
    half_life_days: float,
    brand_ids: frozenset[int] | None,
    shown: frozenset[int] | None,
    limit: int,
    cursor: PageCursor | None,
) -> AuthorProfileOut:
    """The author as GET /api/v1/authors/{id} shows it: brand figures and segment changes of `brand_ids`
    (all when None) with scores decayed to `now`, and one page of their mentions about those brands, each
    naming its brands among `shown`. Raises UnknownAuthorError when there is no such author."""
    overview = author_overview(session.connection(), author_id)
    visible = [p for p in overview.brands if brand_ids is None or p.brand_id in brand_ids]
    brands = [
        BrandProfileOut(
            **{
                key: getattr(profile, key)
                for key in BrandProfileOut.model_fields
                if key not in ("ambassador_score", "detractor_score")
            },
            ambassador_score=decay_to(
                profile.ambassador_score,
                last_mention_at=profile.last_mention_at,
                now=now,
                half_life_days=half_life_days,
            ),
            detractor_score=decay_to(
                profile.detractor_score,
                last_mention_at=profile.last_mention_at,
                now=now,
                half_life_days=half_life_days,
            ),
        )
        for profile in visible
    ]
    return AuthorProfileOut(
        id=overview.id,
        display_name=overview.display_name,
        created_at=overview.created_at,
        identities=[IdentityOut.model_validate(i, from_attributes=True) for i in overview.identities],
        brands=brands,
        segment_history=[
            SegmentChangeOut.model_validate(c, from_attributes=True)
            for c in overview.segment_history
            if brand_ids is None or c.brand_id in brand_ids
        ],
        mentions=list_mentions(
            session,
            MentionFilter(author_id=author_id, brand_ids=brand_ids),
            limit=limit,
            cursor=cursor,
            shown=shown,
        ),
    )


def author_accounts(session: Session, author_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each author's accounts as `source:handle`, oldest first."""
    accounts: dict[int, list[str]] = {}
    identity = _IDENTITY.c
    statement = (
        sa.select(identity.author_id, identity.source, identity.handle)
        .where(identity.author_id.in_(author_ids))
        .order_by(identity.id)
    )
    for author_id, source, handle in session.connection().execute(statement):
        accounts.setdefault(author_id, []).append(f"{source}:{handle}")
    return accounts
