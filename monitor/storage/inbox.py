"""The inbox's SQL: the facts of mentions the stage places, items and their mentions, events, suppressed
authors, the conditional update behind optimistic concurrency, and what erasing or merging authors does
to the inbox. The decisions are in monitor.inbox.rules; the stage in monitor.inbox.stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.labels import effective_classification
from monitor.storage.models import (
    AuthorBrandStats,
    AuthorIdentity,
    AuthorSuppression,
    Brand,
    Classification,
    InboxEvent,
    InboxItem,
    InboxItemMention,
    Mention,
    MentionBrand,
    MentionLabel,
    User,
)
from monitor.storage.tables import table_of

__all__ = [
    "MentionFacts",
    "add_event",
    "attach_mention",
    "attached",
    "brand_targets",
    "erase_inbox_mentions",
    "forget_inbox_authors",
    "insert_item",
    "item_for_author",
    "item_for_thread",
    "item_row",
    "lock_brand_inbox",
    "mention_facts",
    "move_inbox_author",
    "suppress_author",
    "suppressed_authors",
    "thread_mention_facts",
    "unsuppress_author",
    "update_item",
    "user_is_active",
]

_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_IDENTITY = table_of(AuthorIdentity)
_STATS = table_of(AuthorBrandStats)
_BRAND = table_of(Brand)
_ITEM = table_of(InboxItem)
_ITEM_MENTION = table_of(InboxItemMention)
_EVENT = table_of(InboxEvent)
_SUPPRESSION = table_of(AuthorSuppression)
_USER = table_of(User)
_LABEL = table_of(MentionLabel)
_CLASSIFICATION = table_of(Classification)
# advisory lock keys: this base + the brand id (PostgreSQL), one inbox writer per brand at a time
_LOCK_BASE = 0x1B0C_0000


@dataclass(frozen=True, slots=True)
class MentionFacts:
    """A mention linked to one of the user's own brands, with what the inbox decides on."""

    mention_id: int
    brand_id: int
    source: str
    external_id: str
    thread_id: str | None
    in_reply_to: str | None
    author_handle: str
    author_id: int | None
    created_at: datetime
    collected_at: datetime | None
    reach: int | None
    sentiment: str | None
    intent: str | None
    segment: str | None
    suppressed: bool
    # a review's stars, 1 to 5 (None: a post)
    rating: float | None
    # a person's label sets the intent (it wins over every model)
    intent_labeled: bool
    # P(intent) of the newest classification; 1.0 where a person's label decided the intent
    intent_confidence: float | None
    # the author's profile for the brand calls them a bot or a giveaway spammer (monitor.scoring.profile)
    automated: bool = False

    @property
    def author_key(self) -> str:
        if self.author_id is not None:
            return f"a:{self.author_id}"
        return f"h:{self.source}:{self.author_handle.casefold()}"


def _facts_query(condition: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return (
        sa.select(
            _MENTION.c.id,
            _LINK.c.brand_id,
            _MENTION.c.source,
            _MENTION.c.external_id,
            _MENTION.c.thread_id,
            _MENTION.c.in_reply_to,
            _MENTION.c.author_handle,
            _IDENTITY.c.author_id,
            _MENTION.c.created_at,
            _MENTION.c.collected_at,
            _MENTION.c.reach,
            _LINK.c.sentiment,
            _LINK.c.intent,
            _STATS.c.segment,
            _SUPPRESSION.c.author_id.is_not(None).label("suppressed"),
            _MENTION.c.rating,
            _LABEL.c.intent.is_not(None).label("intent_labeled"),
            effective_classification(_CLASSIFICATION, _LABEL).intent_confidence.label("intent_confidence"),
            _STATS.c.score_terms,
        )
        .select_from(
            _MENTION.join(_LINK, _LINK.c.mention_id == _MENTION.c.id)
            .join(_BRAND, _BRAND.c.id == _LINK.c.brand_id)
            .outerjoin(_IDENTITY, _IDENTITY.c.id == _MENTION.c.author_identity_id)
            .outerjoin(
                _STATS,
                sa.and_(_STATS.c.author_id == _IDENTITY.c.author_id, _STATS.c.brand_id == _LINK.c.brand_id),
            )
            .outerjoin(_SUPPRESSION, _SUPPRESSION.c.author_id == _IDENTITY.c.author_id)
            .outerjoin(_LABEL, _LABEL.c.mention_id == _MENTION.c.id)
            .outerjoin(_CLASSIFICATION, _newest_classification())
        )
        # competitors are tracked for share of voice, not answered
        .where(condition, _BRAND.c.competitor_of_id.is_(None))
        .order_by(_MENTION.c.created_at, _MENTION.c.id, _LINK.c.brand_id)
    )


def _newest_classification() -> sa.ColumnElement[bool]:
    newer = _CLASSIFICATION.alias("newer_classification")
    return sa.and_(
        _CLASSIFICATION.c.mention_id == _MENTION.c.id,
        ~sa.exists().where(
            newer.c.mention_id == _CLASSIFICATION.c.mention_id, newer.c.id > _CLASSIFICATION.c.id
        ),
    )


def _automated(score_terms: dict[str, Any] | None) -> bool:
    """The profile's word-of-mouth discount names a bot or spam (not a person's dismissal: `suppressed`)."""
    label = str((score_terms or {}).get("discount", ""))
    return not label.startswith("dismissed") and any(word in label.split(", ") for word in ("bot", "spam"))


def _facts(conn: Connection, condition: sa.ColumnElement[bool]) -> list[MentionFacts]:
    return [
        replace(MentionFacts(*row[:-1]), automated=_automated(row[-1]))
        for row in conn.execute(_facts_query(condition))
    ]


def mention_facts(conn: Connection, mention_ids: Sequence[int]) -> list[MentionFacts]:
    """The facts of `mention_ids` per own brand they are linked to, oldest first."""
    if not mention_ids:
        return []
    return _facts(conn, _MENTION.c.id.in_(list(mention_ids)))


def thread_mention_facts(
    conn: Connection, *, brand_id: int, source: str, thread_key_value: str, external_id: str
) -> list[MentionFacts]:
    """Mentions already through the alert stage in the conversation `thread_key_value` (without its
    `source:` prefix) or replying to `external_id`, not yet in an item of `brand_id`, oldest first."""
    in_item = sa.select(_ITEM_MENTION.c.mention_id).where(_ITEM_MENTION.c.brand_id == brand_id)
    conversation = sa.func.coalesce(_MENTION.c.thread_id, _MENTION.c.in_reply_to, _MENTION.c.external_id)
    return _facts(
        conn,
        sa.and_(
            _LINK.c.brand_id == brand_id,
            _MENTION.c.source == source,
            sa.or_(conversation == thread_key_value, _MENTION.c.in_reply_to == external_id),
            _MENTION.c.alerted_at.is_not(None),
            _MENTION.c.id.not_in(in_item),
        ),
    )


def brand_targets(conn: Connection) -> dict[int, tuple[str, dict[str, list[str]]]]:
    """Brand id -> (name, handles per source) of every brand."""
    return {
        row.id: (row.name, dict(row.handles or {}))
        for row in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.name, _BRAND.c.handles))
    }


def lock_brand_inbox(conn: Connection, brand_ids: Iterable[int]) -> None:
    """PostgreSQL: one inbox writer per brand until the transaction ends (SQLite writers hold the whole
    database already), so two workers never open two items for one conversation."""
    if conn.dialect.name != "postgresql":
        return
    for brand_id in sorted(set(brand_ids)):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_BASE + brand_id})


def attached(conn: Connection, *, brand_id: int, mention_id: int) -> bool:
    found = conn.execute(
        sa.select(_ITEM_MENTION.c.item_id).where(
            _ITEM_MENTION.c.brand_id == brand_id, _ITEM_MENTION.c.mention_id == mention_id
        )
    ).first()
    return found is not None


def item_row(conn: Connection, item_id: int, *, for_update: bool = False) -> sa.RowMapping | None:
    """The item's row; `for_update` locks it on PostgreSQL until the transaction ends (a person's action
    on it then waits, finds the version moved on and answers 409)."""
    query = sa.select(_ITEM).where(_ITEM.c.id == item_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def item_for_thread(
    conn: Connection, *, brand_id: int, source: str, key: str, in_reply_to: str | None
) -> sa.RowMapping | None:
    """The item of `brand_id` holding a mention of conversation `key`, or the post `in_reply_to` replies to."""
    by_thread = sa.select(_ITEM_MENTION.c.item_id).where(
        _ITEM_MENTION.c.brand_id == brand_id, _ITEM_MENTION.c.thread_key == key
    )
    item_id = conn.execute(by_thread.order_by(_ITEM_MENTION.c.item_id).limit(1)).scalar()
    if item_id is None and in_reply_to:
        item_id = conn.execute(
            sa.select(_ITEM_MENTION.c.item_id)
            .join(_MENTION, _MENTION.c.id == _ITEM_MENTION.c.mention_id)
            .where(
                _ITEM_MENTION.c.brand_id == brand_id,
                _MENTION.c.source == source,
                _MENTION.c.external_id == in_reply_to,
            )
            .limit(1)
        ).scalar()
    return None if item_id is None else item_row(conn, item_id, for_update=True)


def item_for_author(
    conn: Connection, *, brand_id: int, author_key: str, since: datetime, until: datetime
) -> sa.RowMapping | None:
    """The author's newest item of `brand_id`, not dismissed, whose mentions reach into [since, until]."""
    item_id = (
        conn.execute(
            sa.select(_ITEM.c.id)
            .where(
                _ITEM.c.brand_id == brand_id,
                _ITEM.c.author_key == author_key,
                _ITEM.c.status != "dismissed",
                _ITEM.c.last_mention_at >= since,
                _ITEM.c.opened_at <= until,
            )
            .order_by(_ITEM.c.last_mention_at.desc(), _ITEM.c.id.desc())
            .limit(1)
        )
    ).scalar()
    return None if item_id is None else item_row(conn, item_id, for_update=True)


def insert_item(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(sa.insert(_ITEM).values(**values).returning(_ITEM.c.id)).scalar_one())


def attach_mention(
    conn: Connection, *, brand_id: int, mention_id: int, item_id: int, thread_key: str, role: str
) -> None:
    conn.execute(
        sa.insert(_ITEM_MENTION).values(
            brand_id=brand_id, mention_id=mention_id, item_id=item_id, thread_key=thread_key, role=role
        )
    )


def update_item(conn: Connection, item_id: int, *, version: int, values: dict[str, Any]) -> bool:
    """Set `values` and the next version, only while the item is still at `version` (the conditional
    UPDATE of optimistic concurrency: on PostgreSQL a concurrent writer waits for the row, then finds the
    version moved on and updates nothing). Returns whether the row was updated."""
    result = conn.execute(
        sa.update(_ITEM)
        .where(_ITEM.c.id == item_id, _ITEM.c.version == version)
        .values(**values, version=version + 1)
    )
    return result.rowcount == 1


def add_event(
    conn: Connection,
    *,
    item_id: int,
    action: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    at: datetime,
    mention_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        sa.insert(_EVENT).values(
            item_id=item_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            mention_id=mention_id,
            detail=detail or {},
            at=at,
        )
    )


def user_is_active(conn: Connection, user_id: int) -> bool:
    found = conn.execute(sa.select(_USER.c.id).where(_USER.c.id == user_id, _USER.c.active.is_(True))).first()
    return found is not None


def suppressed_authors(conn: Connection, author_ids: Sequence[int] | None = None) -> dict[int, str]:
    """Author id -> "spam" or "bot", for the authors dismissed as such (of `author_ids`, or all)."""
    query = sa.select(_SUPPRESSION.c.author_id, _SUPPRESSION.c.reason)
    if author_ids is not None:
        if not author_ids:
            return {}
        query = query.where(_SUPPRESSION.c.author_id.in_(list(author_ids)))
    return {author_id: reason for author_id, reason in conn.execute(query)}


def suppress_author(
    conn: Connection, *, author_id: int, reason: str, item_id: int, by: str, now: datetime
) -> bool:
    """Suppress `author_id` (a second dismissal keeps the first). Returns whether it is new."""
    if conn.execute(sa.select(_SUPPRESSION.c.author_id).where(_SUPPRESSION.c.author_id == author_id)).first():
        return False
    conn.execute(
        sa.insert(_SUPPRESSION).values(
            author_id=author_id, reason=reason, item_id=item_id, suppressed_by=by, suppressed_at=now
        )
    )
    return True


def unsuppress_author(conn: Connection, *, author_id: int) -> bool:
    return conn.execute(sa.delete(_SUPPRESSION).where(_SUPPRESSION.c.author_id == author_id)).rowcount > 0


def erase_inbox_mentions(conn: Connection, mention_ids: Sequence[int]) -> int:
    """Before `mention_ids` are deleted: take them out of their items; an item left without mentions goes
    with its events, one that lost its first or last mention points at its remaining ones. Returns the
    number of items deleted."""
    if not mention_ids:
        return 0
    ids = list(mention_ids)
    touched = set(
        conn.execute(sa.select(_ITEM_MENTION.c.item_id).where(_ITEM_MENTION.c.mention_id.in_(ids))).scalars()
    )
    touched |= set(
        conn.execute(
            sa.select(_ITEM.c.id).where(
                sa.or_(_ITEM.c.first_mention_id.in_(ids), _ITEM.c.last_mention_id.in_(ids))
            )
        ).scalars()
    )
    if not touched:
        return 0
    conn.execute(sa.delete(_ITEM_MENTION).where(_ITEM_MENTION.c.mention_id.in_(ids)))
    conn.execute(sa.update(_EVENT).where(_EVENT.c.mention_id.in_(ids)).values(mention_id=None))
    deleted = 0
    for item_id in sorted(touched):
        remaining = conn.execute(
            sa.select(_MENTION.c.id, _MENTION.c.created_at)
            .join(_ITEM_MENTION, _ITEM_MENTION.c.mention_id == _MENTION.c.id)
            .where(_ITEM_MENTION.c.item_id == item_id)
            .order_by(_MENTION.c.created_at, _MENTION.c.id)
        ).all()
        if not remaining:
            conn.execute(sa.delete(_EVENT).where(_EVENT.c.item_id == item_id))
            conn.execute(
                sa.update(_SUPPRESSION).where(_SUPPRESSION.c.item_id == item_id).values(item_id=None)
            )
            conn.execute(sa.delete(_ITEM).where(_ITEM.c.id == item_id))
            deleted += 1
            continue
        conn.execute(
            sa.update(_ITEM)
            .where(_ITEM.c.id == item_id)
            .values(
                first_mention_id=remaining[0].id,
                last_mention_id=remaining[-1].id,
                last_mention_at=remaining[-1].created_at,
                version=_ITEM.c.version + 1,
            )
        )
    return deleted


def forget_inbox_authors(conn: Connection, author_ids: Sequence[int]) -> None:
    """Authors that are gone (forgotten, or left without mentions): their suppressions and item authorship."""
    if not author_ids:
        return
    ids = list(author_ids)
    conn.execute(sa.delete(_SUPPRESSION).where(_SUPPRESSION.c.author_id.in_(ids)))
    conn.execute(sa.update(_ITEM).where(_ITEM.c.author_id.in_(ids)).values(author_id=None))


def move_inbox_author(conn: Connection, *, merged: int, into: int) -> None:
    """Author `merged` became `into`: its items and its suppression (when `into` has none) follow."""
    conn.execute(
        sa.update(_ITEM).where(_ITEM.c.author_id == merged).values(author_id=into, author_key=f"a:{into}")
    )
    if suppressed_authors(conn, [into]):
        conn.execute(sa.delete(_SUPPRESSION).where(_SUPPRESSION.c.author_id == merged))
    else:
        conn.execute(sa.update(_SUPPRESSION).where(_SUPPRESSION.c.author_id == merged).values(author_id=into))
