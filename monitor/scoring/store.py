"""Author profiles in the database: recomputed from all of an author's mentions, never incremented.

`recompute_profiles` replaces the derived rows of every author touched by a batch; `rebuild_profiles`
computes the same rows for everyone from scratch (for checks and `wom process --rebuild`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.config import Settings
from monitor.scoring.profile import (
    AuthorProfile,
    ScoredMention,
    WordOfMouthDiscount,
    build_profile,
    classify_non_word_of_mouth,
    is_own_account,
)
from monitor.storage.inbox import suppressed_authors
from monitor.storage.labels import effective_classification
from monitor.storage.models import (
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
    "ProfileRows",
    "classified_mentions",
    "compute_profiles",
    "rebuild_profiles",
    "recompute_authors",
    "recompute_profiles",
    "stored_profiles",
]

_MENTION = table_of(Mention)
_IDENTITY = table_of(AuthorIdentity)
_LINK = table_of(MentionBrand)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_BRAND = table_of(Brand)
_STATS = table_of(AuthorBrandStats)
_CHANGES = table_of(SegmentChange)
_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class ProfileRows:
    stats: list[dict[str, Any]]
    changes: list[dict[str, Any]]


def current_classification() -> Any:
    """Subquery: the newest classification id per mention."""
    return (
        sa.select(
            _CLASSIFICATION.c.mention_id.label("mention_id"), sa.func.max(_CLASSIFICATION.c.id).label("id")
        )
        .group_by(_CLASSIFICATION.c.mention_id)
        .subquery("current_classification")
    )


def classified_mentions() -> Any:
    """Mentions joined to their brands, their author identity (if any), their current classification and
    their label (if any): select `effective_classification()` from it, never the classification alone."""
    current = current_classification()
    return (
        _MENTION.join(_LINK, _LINK.c.mention_id == _MENTION.c.id)
        .join(current, current.c.mention_id == _MENTION.c.id)
        .join(_CLASSIFICATION, _CLASSIFICATION.c.id == current.c.id)
        .outerjoin(_LABEL, _LABEL.c.mention_id == _MENTION.c.id)
        .outerjoin(_IDENTITY, _IDENTITY.c.id == _MENTION.c.author_identity_id)
    )


def _authors_of(conn: Connection, mention_ids: Sequence[int]) -> list[int]:
    rows = conn.execute(
        sa.select(_IDENTITY.c.author_id)
        .select_from(_MENTION.join(_IDENTITY, _IDENTITY.c.id == _MENTION.c.author_identity_id))
        .where(_MENTION.c.id.in_(list(mention_ids)))
        .distinct()
    )
    return sorted(row[0] for row in rows)


def _scored_rows(conn: Connection, author_ids: Sequence[int] | None) -> Iterable[sa.Row[Any]]:
    # a person's label wins over the model, with full confidence (monitor.storage.labels)
    effective = effective_classification()
    query = (
        sa.select(
            _IDENTITY.c.author_id,
            _LINK.c.brand_id,
            _MENTION.c.id,
            _MENTION.c.created_at,
            _MENTION.c.source,
            _MENTION.c.text,
            _MENTION.c.author_handle,
            _MENTION.c.reach,
            _MENTION.c.engagement,
            _MENTION.c.rating,
            effective.sentiment.label("sentiment"),
            effective.confidence.label("confidence"),
            effective.score.label("score"),
            effective.intent.label("intent"),
        )
        .select_from(classified_mentions())
        .where(_IDENTITY.c.author_id.is_not(None))
        .order_by(_IDENTITY.c.author_id, _LINK.c.brand_id, _MENTION.c.id)
    )
    if author_ids is not None:
        query = query.where(_IDENTITY.c.author_id.in_(list(author_ids)))
    return conn.execute(query)


def _brand_handles(conn: Connection) -> dict[int, dict[str, list[str]]]:
    return {row.id: dict(row.handles or {}) for row in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.handles))}


def _discount(
    rows: Sequence[sa.Row[Any]], *, handles: dict[str, list[str]], staff: Sequence[str]
) -> WordOfMouthDiscount:
    if any(
        is_own_account(row.author_handle, source=row.source, brand_handles=handles, staff_handles=staff)
        for row in rows
    ):
        return WordOfMouthDiscount(is_own_account=True)
    times = [row.created_at for row in rows]
    span_days = max(1.0, (max(times) - min(times)).total_seconds() / _SECONDS_PER_DAY)
    return classify_non_word_of_mouth(
        rows[-1].author_handle, [row.text for row in rows], len(rows) / span_days
    )


def _scored(row: sa.Row[Any]) -> ScoredMention:
    engagement = row.engagement or {}
    return ScoredMention(
        mention_id=row.id,
        created_at=row.created_at,
        source=row.source,
        text=row.text,
        sentiment=row.sentiment,
        confidence=row.confidence,
        score=row.score,
        intent=row.intent,
        reach=row.reach,
        engagement_total=sum(v for k, v in engagement.items() if k != "views" and isinstance(v, int)),
        rating=row.rating,
    )


def _stats_row(author_id: int, brand_id: int, profile: AuthorProfile) -> dict[str, Any]:
    return {
        "author_id": author_id,
        "brand_id": brand_id,
        "mentions": profile.mentions,
        "positive": profile.positive,
        "neutral": profile.neutral,
        "negative": profile.negative,
        "complaints": profile.complaints,
        "questions": profile.questions,
        "reach": profile.reach,
        "engagement": profile.engagement,
        "first_mention_at": profile.first_mention_at,
        "last_mention_at": profile.last_mention_at,
        "average_rating": profile.average_rating,
        "ambassador_score": profile.ambassador_score,
        "detractor_score": profile.detractor_score,
        "segment": profile.segment,
        "score_terms": profile.score_terms,
        "evidence": profile.evidence,
    }


def compute_profiles(
    conn: Connection, *, author_ids: Sequence[int] | None, settings: Settings
) -> ProfileRows:
    """The derived rows for `author_ids` (all authors when None), computed from mentions only."""
    grouped: dict[tuple[int, int], list[sa.Row[Any]]] = defaultdict(list)
    for row in _scored_rows(conn, author_ids):
        grouped[(row.author_id, row.brand_id)].append(row)
    handles = _brand_handles(conn)
    # dismissed as spam or a bot in the inbox: counts in no score (undone when the item is reopened)
    suppressed = suppressed_authors(conn, None if author_ids is None else list(author_ids))
    stats: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for (author_id, brand_id), rows in grouped.items():
        discount = _discount(rows, handles=handles.get(brand_id, {}), staff=settings.scoring.staff_handles)
        if author_id in suppressed:
            discount = replace(discount, suppressed_as=suppressed[author_id])
        profile = build_profile([_scored(r) for r in rows], settings=settings.scoring, discount=discount)
        stats.append(_stats_row(author_id, brand_id, profile))
        changes.extend(
            {
                "author_id": author_id,
                "brand_id": brand_id,
                "from_segment": change.from_segment,
                "to_segment": change.to_segment,
                "changed_at": change.changed_at,
                "mention_id": change.mention_id,
            }
            for change in profile.segment_changes
        )
    return ProfileRows(stats=stats, changes=changes)


def recompute_profiles(conn: Connection, *, mention_ids: Sequence[int], settings: Settings) -> int:
    """Replace the derived rows of every author of `mention_ids`. Returns the number of (author, brand) pairs."""
    return recompute_authors(conn, author_ids=_authors_of(conn, mention_ids), settings=settings)


def recompute_authors(conn: Connection, *, author_ids: Sequence[int], settings: Settings) -> int:
    """Replace the derived rows of `author_ids` (an author left without mentions keeps none).

    Returns the number of (author, brand) pairs written."""
    author_ids = sorted(set(author_ids))
    if not author_ids:
        return 0
    if conn.dialect.name == "postgresql":
        # serialise workers that touch the same author, so the last writer has seen every mention
        conn.execute(
            sa.text("SELECT id FROM author WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"), {"ids": author_ids}
        )
    rows = compute_profiles(conn, author_ids=author_ids, settings=settings)
    conn.execute(sa.delete(_STATS).where(_STATS.c.author_id.in_(author_ids)))
    conn.execute(sa.delete(_CHANGES).where(_CHANGES.c.author_id.in_(author_ids)))
    if rows.stats:
        conn.execute(sa.insert(_STATS), rows.stats)
    if rows.changes:
        conn.execute(sa.insert(_CHANGES), rows.changes)
    return len(rows.stats)


def stored_profiles(conn: Connection) -> ProfileRows:
    """The derived rows as stored, in the shape `compute_profiles` returns (for rebuild comparisons)."""
    stats = [dict(row) for row in conn.execute(sa.select(_STATS)).mappings()]
    changes = [
        {k: v for k, v in row.items() if k != "id"} for row in conn.execute(sa.select(_CHANGES)).mappings()
    ]
    return ProfileRows(stats=stats, changes=changes)


def rebuild_profiles(conn: Connection, *, settings: Settings) -> int:
    """Recompute every author's derived rows from scratch."""
    rows = compute_profiles(conn, author_ids=None, settings=settings)
    conn.execute(sa.delete(_STATS))
    conn.execute(sa.delete(_CHANGES))
    if rows.stats:
        conn.execute(sa.insert(_STATS), rows.stats)
    if rows.changes:
        conn.execute(sa.insert(_CHANGES), rows.changes)
    return len(rows.stats)


def as_comparable(rows: ProfileRows) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Sorted, rounded tuples, so stored and rebuilt rows compare with ==."""

    def norm(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return tuple(sorted((k, norm(v)) for k, v in value.items()))
        if isinstance(value, list):
            return tuple(norm(v) for v in value)
        if isinstance(value, datetime):
            return value.isoformat()
        return value

    stats = sorted(tuple(norm(row[k]) for k in sorted(row)) for row in rows.stats)
    changes = sorted(tuple(norm(row[k]) for k in sorted(row)) for row in rows.changes)
    return stats, changes
