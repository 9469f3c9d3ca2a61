"""Copies on each brand link (`mentionbrand`) of what a brand's mention list filters and orders on.

A brand's list (GET /mentions?brand=...&sentiment=...&intent=...&source=...) walks one index of
`mentionbrand` newest first and stops when the page is full, instead of testing every mention's current
classification and label on the way. So each link carries its mention's `created_at` and `source`, and
its effective sentiment and intent (a person's label wins over the model; NULL until classified). They
are written from the mention, its newest classification and its label by `refresh_link_facts`, in the
same transaction as whatever changed those (see monitor.storage.sentiment_hours.refresh_mentions).

Each link also says whether the brand's own or a staff account posted the mention (`own`, decided by
monitor.scoring.profile.is_own_account from the brand row's `handles` and `staff_handles`, which
monitor.storage.brands.sync_brands keeps equal to the config): such posts are the brand's responses and
count in no word-of-mouth figure. `refresh_link_facts` decides it when the match stage makes the links,
and `refresh_own_links` again for every link of a brand whose handles changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.scoring.profile import is_own_account
from monitor.storage.labels import effective_classification
from monitor.storage.models import Brand, Classification, Mention, MentionBrand, MentionLabel
from monitor.storage.tables import table_of

__all__ = [
    "LinkFacts",
    "computed_link_facts",
    "rebuild_link_facts",
    "refresh_link_facts",
    "refresh_own_links",
    "stored_link_facts",
]

LinkFacts = list[tuple[Any, ...]]
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_BRAND = table_of(Brand)
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


def _owned_links(conn: Connection, condition: sa.ColumnElement[bool]) -> list[tuple[int, int, bool, bool]]:
    """(mention id, brand id, stored `own`, decided `own`) for the links matching `condition`: decided
    is whether the brand's own or a staff account posted the mention."""
    rows = conn.execute(
        sa.select(
            _LINK.c.mention_id,
            _LINK.c.brand_id,
            _LINK.c.own,
            _MENTION.c.source,
            _MENTION.c.author_handle,
            _BRAND.c.handles,
            _BRAND.c.staff_handles,
        )
        .join(_MENTION, _MENTION.c.id == _LINK.c.mention_id)
        .join(_BRAND, _BRAND.c.id == _LINK.c.brand_id)
        .where(condition)
    )
    return [
        (
            mention_id,
            brand_id,
            bool(stored),
            is_own_account(
                handle or "", source=source, brand_handles=handles or {}, staff_handles=staff or ()
            ),
        )
        for mention_id, brand_id, stored, source, handle, handles, staff in rows
    ]


def _write_own(conn: Connection, condition: sa.ColumnElement[bool]) -> set[int]:
    """Set `own` on the links matching `condition`; returns the mentions whose links changed."""
    changed = [
        {"link_mention": mention_id, "link_brand": brand_id, "decided": decided}
        for mention_id, brand_id, stored, decided in _owned_links(conn, condition)
        if stored != decided
    ]
    if changed:
        conn.execute(
            sa.update(_LINK)
            .where(
                _LINK.c.mention_id == sa.bindparam("link_mention"),
                _LINK.c.brand_id == sa.bindparam("link_brand"),
            )
            .values(own=sa.bindparam("decided")),
            changed,
        )
    return {row["link_mention"] for row in changed}


def refresh_link_facts(conn: Connection, mention_ids: Iterable[int]) -> None:
    """Rewrite the copies on every brand link of `mention_ids` from their mentions, and decide `own`."""
    ids = sorted(set(mention_ids))
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        _update(conn, _MENTION.c.id.in_(chunk))
        _write_own(conn, _LINK.c.mention_id.in_(chunk))


def refresh_own_links(conn: Connection, brand_ids: Sequence[int]) -> set[int]:
    """Decide `own` again on every link of `brand_ids` (after their handles or the staff handles
    changed); returns the mentions whose links changed, whose counts the caller must refresh."""
    changed: set[int] = set()
    for brand_id in sorted(set(brand_ids)):
        changed |= _write_own(conn, _LINK.c.brand_id == brand_id)
    return changed


def rebuild_link_facts(conn: Connection) -> None:
    """Rewrite the copies on every brand link, `own` included."""
    linked = sa.exists().where(_LINK.c.mention_id == _MENTION.c.id)
    _update(conn, linked)
    _write_own(conn, sa.true())


def stored_link_facts(conn: Connection) -> LinkFacts:
    columns = (_LINK.c.mention_id, _LINK.c.brand_id, _LINK.c.created_at, _LINK.c.source)
    rows = conn.execute(sa.select(*columns, _LINK.c.sentiment, _LINK.c.intent, _LINK.c.own))
    return sorted((*row[:-1], bool(row[-1])) for row in rows)


def computed_link_facts(conn: Connection) -> LinkFacts:
    """What `rebuild_link_facts` would write, without writing it."""
    facts = _facts(sa.true())
    own = {(m, b): decided for m, b, _, decided in _owned_links(conn, sa.true())}
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
    return sorted((*row, own[(row.mention_id, row.brand_id)]) for row in rows)
