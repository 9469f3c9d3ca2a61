"""Copies on each brand link (`mentionbrand`) of what a brand's mention list filters and orders on.

A brand's list (GET /mentions?brand=...&sentiment=...&intent=...&source=...) walks one index of
`mentionbrand` newest first and stops when the page is full, instead of testing every mention's current
classification and label on the way. So each link carries its mention's `created_at` and `source`, and
its effective sentiment and intent (a person's label wins over the model; NULL until classified). They
are written from the mention, its newest classification and its label by `refresh_link_facts`, in the
same transaction as whatever changed those (see monitor.storage.sentiment_hours.refresh_mentions).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.labels import effective_classification
from monitor.storage.models import Classification, Mention, MentionBrand, MentionLabel
from monitor.storage.tables import table_of

__all__ = [
    "LinkFacts",
    "computed_link_facts",
    "rebuild_link_facts",
    "refresh_link_facts",
    "stored_link_facts",
]

LinkFacts = list[tuple[Any, ...]]
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_IDS_PER_STATEMENT = 2_000


def _facts(condition: sa.ColumnElement[bool]) -> sa.Subquery:
    """Per mention matching `condition`: id, created_at, source, effective sentiment and intent."""
    newer = _CLASSIFICATION.alias("newer_classification")
    current = sa.and_(
        _CLASSIFICATION.c.mention_id == _MENTION.c.id,
        ~sa.exists().where(
            newer.c.mention_id == _CLASSIFICATION.c.mention_id, newer.c.id > _CLASSIFICATION.c.id
        ),
    )
    effective = effective_classification()
    return (
        sa.select(
            _MENTION.c.id.label("mention_id"),
            _MENTION.c.created_at.label("created_at"),
            _MENTION.c.source.label("source"),
            effective.sentiment.label("sentiment"),
            effective.intent.label("intent"),
        )
        .select_from(
            _MENTION.outerjoin(_CLASSIFICATION, current).outerjoin(
                _LABEL, _LABEL.c.mention_id == _MENTION.c.id
            )
        )
        .where(condition)
        .subquery("facts")
    )


def _update(conn: Connection, condition: sa.ColumnElement[bool]) -> None:
    facts = _facts(condition)
    conn.execute(
        sa.update(_LINK)
        .where(_LINK.c.mention_id == facts.c.mention_id)
        .values(
            created_at=facts.c.created_at,
            source=facts.c.source,
            sentiment=facts.c.sentiment,
            intent=facts.c.intent,
        )
    )


def refresh_link_facts(conn: Connection, mention_ids: Iterable[int]) -> None:
    """Rewrite the copies on every brand link of `mention_ids` from their mentions."""
    ids = sorted(set(mention_ids))
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        _update(conn, _MENTION.c.id.in_(ids[start : start + _IDS_PER_STATEMENT]))


def rebuild_link_facts(conn: Connection) -> None:
    """Rewrite the copies on every brand link."""
    linked = sa.exists().where(_LINK.c.mention_id == _MENTION.c.id)
    _update(conn, linked)


def stored_link_facts(conn: Connection) -> LinkFacts:
    columns = (_LINK.c.mention_id, _LINK.c.brand_id, _LINK.c.created_at, _LINK.c.source)
    rows = conn.execute(sa.select(*columns, _LINK.c.sentiment, _LINK.c.intent))
    return sorted(tuple(row) for row in rows)


def computed_link_facts(conn: Connection) -> LinkFacts:
    """What `rebuild_link_facts` would write, without writing it."""
    facts = _facts(sa.true())
    rows = conn.execute(
        sa.select(
            _LINK.c.mention_id,
            _LINK.c.brand_id,
            facts.c.created_at,
            facts.c.source,
            facts.c.sentiment,
            facts.c.intent,
        ).join(facts, facts.c.mention_id == _LINK.c.mention_id)
    )
    return sorted(tuple(row) for row in rows)
