"""Mentions as GET /api/v1/mentions shows them: newest first, filtered, cursor-paged, each with its current
classification, where a person's label wins over the model (monitor.storage.labels)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, and_, exists, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from monitor.read.paging import PageCursor, encode_cursor, older_than
from monitor.storage.json_array import json_array_agg
from monitor.storage.labels import effective_classification, effective_is
from monitor.storage.models import (
    AuthorIdentity,
    Brand,
    Classification,
    Mention,
    MentionBrand,
    MentionLabel,
)
from monitor.storage.tables import table_of

__all__ = [
    "ClassificationOut",
    "LabelOut",
    "MentionFilter",
    "MentionOut",
    "MentionPage",
    "is_current_classification",
    "list_mentions",
    "mention_brand_ids",
    "mention_exists",
    "mention_out",
    "mention_outs",
    "mentions_brand",
]

_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)
_MENTION = table_of(Mention)


class ClassificationOut(BaseModel):
    """The current classification, with a person's label (see `label`) winning over the model: a labelled
    sentiment has confidence 1 and score +1/0/-1; `model` and `lang` stay the model's."""

    sentiment: str
    confidence: float
    score: float
    intent: str
    intent_confidence: float
    lang: str
    model: str
    model_version: str


class LabelOut(BaseModel):
    """A person's correction; a field left null is the model's."""

    sentiment: str | None
    intent: str | None
    labeled_by: str
    labeled_at: datetime


class MentionOut(BaseModel):
    id: int
    source: str
    external_id: str
    url: str | None
    text: str
    lang: str | None
    created_at: datetime
    author_id: int | None
    author_handle: str
    reach: int | None
    engagement: dict[str, int]
    rating: float | None
    brands: list[str]
    classification: ClassificationOut | None
    label: LabelOut | None


class MentionPage(BaseModel):
    items: list[MentionOut]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """Every field narrows the result; None leaves it open. `since` is inclusive, `until` exclusive."""

    brand_id: int | None = None
    brand_ids: frozenset[int] | None = None  # about any of these (a brand-scoped key's brands)
    source: str | None = None
    sentiment: str | None = None
    intent: str | None = None
    lang: str | None = None
    author_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


@functools.cache  # the expressions below are immutable, and building them costs more than the query
def is_current_classification() -> ColumnElement[bool]:
    """Join condition: `Classification` is the newest row (max id) of `Mention`."""
    newer = aliased(Classification)
    return and_(
        col(Classification.mention_id) == col(Mention.id),
        ~exists().where(
            col(newer.mention_id) == col(Classification.mention_id), col(newer.id) > col(Classification.id)
        ),
    )


def mentions_brand(brand_id: int) -> ColumnElement[bool]:
    """`Mention` is matched to the brand; a semi-join, so the plan can walk mentions by time."""
    return exists().where(
        col(MentionBrand.mention_id) == col(Mention.id), col(MentionBrand.brand_id) == brand_id
    )


@functools.cache
def _effective_has(field: str, value: str) -> ColumnElement[bool]:
    """`Mention`'s label-wins `field` (sentiment or intent) is `value`."""
    # a semi-join, not a WHERE on the joined row: that would turn the outer join into an inner one and
    # let SQLite scan every classification and sort (130 ms a page at 100k mentions, growing with the
    # table) instead of walking ix_mention_created_at until the page is full (8 ms); PostgreSQL: 6 ms both.
    # One EXISTS with plain column tests (`effective_is`): OR-ing a second EXISTS (for labelled mentions
    # not classified yet), or comparing the CASE expression, made PostgreSQL hash every classification
    # (13 -> 100 ms a page at 200k mentions; a rare intent 20 -> 540 ms)
    current, newer, label = _CLASSIFICATION.alias(), _CLASSIFICATION.alias(), _LABEL.alias()
    return (
        exists()
        .select_from(current.outerjoin(label, label.c.mention_id == current.c.mention_id))
        .where(
            current.c.mention_id == col(Mention.id),
            ~exists().where(newer.c.mention_id == current.c.mention_id, newer.c.id > current.c.id),
            effective_is(current, label, field=field, value=value),
        )
    )


def _link_conditions(filters: MentionFilter) -> list[ColumnElement[bool]]:
    """A brand's list: the filters the brand link's copies answer (monitor.storage.brand_links)."""
    link = _LINK.c
    conditions: list[ColumnElement[bool]] = [link.brand_id == filters.brand_id]
    if filters.source is not None:
        conditions.append(link.source == filters.source)
    if filters.sentiment is not None:
        conditions.append(link.sentiment == filters.sentiment)
    if filters.intent is not None:
        conditions.append(link.intent == filters.intent)
    if filters.since is not None:
        conditions.append(link.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(link.created_at < filters.until)
    return conditions


def _conditions(filters: MentionFilter) -> list[ColumnElement[bool]]:
    """Every filter on the mention itself; for a brand's list (`brand_id`) only those the brand link's
    copies do not answer (`_link_conditions`)."""
    conditions: list[ColumnElement[bool]] = []
    by_link = filters.brand_id is not None
    if filters.brand_ids is not None:
        conditions.append(
            exists().where(
                col(MentionBrand.mention_id) == col(Mention.id),
                col(MentionBrand.brand_id).in_(filters.brand_ids),
            )
        )
    if filters.source is not None and not by_link:
        conditions.append(col(Mention.source) == filters.source)
    if filters.sentiment is not None and not by_link:
        conditions.append(_effective_has("sentiment", filters.sentiment))
    if filters.intent is not None and not by_link:
        conditions.append(_effective_has("intent", filters.intent))
    if filters.lang is not None:
        # the classifier's language where there is one, else the platform's
        conditions.append(func.coalesce(col(Classification.lang), col(Mention.lang)) == filters.lang)
    if filters.author_id is not None:
        conditions.append(col(AuthorIdentity.author_id) == filters.author_id)
    if filters.since is not None and not by_link:
        conditions.append(col(Mention.created_at) >= filters.since)
    if filters.until is not None and not by_link:
        conditions.append(col(Mention.created_at) < filters.until)
    if filters.q:
        # lower() LIKE lower(): case-insensitive on both backends (SQLite folds ASCII letters only)
        conditions.append(col(Mention.text).icontains(filters.q, autoescape=True))
    return conditions


def _brand_names_column(shown: frozenset[int] | None) -> ColumnElement[Any]:
    """The names of `Mention`'s brands (of those in `shown`, when given) as one JSON array, so a page
    needs no second query for them (about a tenth of a 50-mention page on PostgreSQL, a round trip
    included)."""
    link, brand = _LINK.alias("named_link"), _BRAND.alias("named_brand")
    names = (
        sa_select(json_array_agg(brand.c.name))
        .select_from(link.join(brand, brand.c.id == link.c.brand_id))
        .where(link.c.mention_id == col(Mention.id))
    )
    if shown is not None:
        names = names.where(link.c.brand_id.in_(sorted(shown)))
    return names.scalar_subquery()


def _classification_out(row: Any) -> ClassificationOut | None:
    if row.model_name is None:
        return None
    return ClassificationOut(
        sentiment=row.sentiment,
        confidence=row.confidence,
        score=row.score,
        intent=row.intent,
        intent_confidence=row.intent_confidence,
        lang=row.model_lang,
        model=row.model_name,
        model_version=row.model_version,
    )


def _label_out(row: Any) -> LabelOut | None:
    if row.labeled_at is None:
        return None
    return LabelOut(
        sentiment=row.label_sentiment,
        intent=row.label_intent,
        labeled_by=row.labeled_by,
        labeled_at=row.labeled_at,
    )


def _mention_out(row: Any) -> MentionOut:
    return MentionOut(
        id=row.id,
        source=row.source,
        external_id=row.external_id,
        url=row.url,
        text=row.text,
        lang=row.lang,
        created_at=row.created_at,
        author_id=row.author_id,
        author_handle=row.author_handle,
        reach=row.reach,
        engagement=row.engagement or {},
        rating=row.rating,
        brands=sorted(row.brand_names or ()),
        classification=_classification_out(row),
        label=_label_out(row),
    )


@functools.lru_cache(maxsize=256)  # one per brand scope
def _mentions_query(shown: frozenset[int] | None = None) -> Select[Any]:
    """Mentions with their author, current classification (label-wins values), label and the names of
    their brands (those in `shown`, when given), unfiltered."""
    effective = effective_classification()
    return (
        # plain columns, not Mention objects (and never `raw`, the platform payload, which can be large)
        sa_select(
            _MENTION.c.id,
            _MENTION.c.source,
            _MENTION.c.external_id,
            _MENTION.c.url,
            _MENTION.c.text,
            _MENTION.c.lang,
            _MENTION.c.created_at,
            _MENTION.c.author_handle,
            _MENTION.c.reach,
            _MENTION.c.engagement,
            _MENTION.c.rating,
            col(AuthorIdentity.author_id),
            _CLASSIFICATION.c.model_name,
            _CLASSIFICATION.c.model_version,
            _CLASSIFICATION.c.lang.label("model_lang"),
            effective.sentiment.label("sentiment"),
            effective.confidence.label("confidence"),
            effective.score.label("score"),
            effective.intent.label("intent"),
            effective.intent_confidence.label("intent_confidence"),
            _LABEL.c.sentiment.label("label_sentiment"),
            _LABEL.c.intent.label("label_intent"),
            _LABEL.c.labeled_by,
            _LABEL.c.labeled_at,
            _brand_names_column(shown).label("brand_names"),
        )
        .select_from(Mention)
        .outerjoin(Classification, is_current_classification())
        .outerjoin(_LABEL, _LABEL.c.mention_id == col(Mention.id))
        .outerjoin(AuthorIdentity, col(AuthorIdentity.id) == col(Mention.author_identity_id))
    )


def list_mentions(
    session: Session,
    filters: MentionFilter,
    *,
    limit: int,
    cursor: PageCursor | None,
    shown: frozenset[int] | None = None,
) -> MentionPage:
    """One page, newest first; `next_cursor` is None on the last page. One query whatever the size.
    Each item names its brands among `shown` (`brands_shown`), or all of them when it is None.

    A brand's list walks that brand's links newest first (the same order: a link copies its mention's
    time); any other list walks the mentions."""
    if filters.brand_id is not None:
        at, item_id = _LINK.c.created_at, _LINK.c.mention_id
        statement = (
            _mentions_query(shown)
            .join(_LINK, _LINK.c.mention_id == col(Mention.id))
            .where(*_link_conditions(filters), *_conditions(filters))
        )
    else:
        at, item_id = _MENTION.c.created_at, _MENTION.c.id
        statement = _mentions_query(shown).where(*_conditions(filters))
    statement = statement.order_by(at.desc(), item_id.desc()).limit(limit + 1)
    if cursor is not None:
        statement = statement.where(older_than(at, item_id, cursor))
    rows: list[Any] = list(session.connection().execute(statement).all())
    page, more = rows[:limit], len(rows) > limit
    items = [_mention_out(row) for row in page]
    last = items[-1] if more and items else None
    return MentionPage(
        items=items, next_cursor=None if last is None else encode_cursor(last.created_at, last.id)
    )


def mention_out(
    session: Session, mention_id: int, *, shown: frozenset[int] | None = None
) -> MentionOut | None:
    """One mention as GET /mentions shows it; None when there is no such mention."""
    statement = _mentions_query(shown).where(col(Mention.id) == mention_id)
    row = session.connection().execute(statement).first()
    if row is None:
        return None
    return _mention_out(row)


def mention_outs(
    session: Session, mention_ids: Sequence[int], *, shown: frozenset[int] | None = None
) -> dict[int, MentionOut]:
    """The mentions `mention_ids` as `mention_out` gives them, by id, in one query; unknown ids left out."""
    if not mention_ids:
        return {}
    statement = _mentions_query(shown).where(col(Mention.id).in_(sorted(set(mention_ids))))
    return {out.id: out for out in map(_mention_out, session.connection().execute(statement).all())}


def mention_exists(session: Session, mention_id: int) -> bool:
    """Whether there is a mention `mention_id`."""
    return session.get(Mention, mention_id) is not None


def mention_brand_ids(session: Session, mention_id: int) -> list[int]:
    """The ids of the brands mention `mention_id` is matched to."""
    return list(
        session.execute(
            sa_select(col(MentionBrand.brand_id)).where(col(MentionBrand.mention_id) == mention_id)
        ).scalars()
    )
