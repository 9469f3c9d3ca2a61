"""The inbox part of the alert stage: places each mention of a batch in its conversation's item.

For each mention linked to one of the user's own brands, oldest first, and not yet in an item of that brand:

  * a mention of a conversation that has an item (same thread, or a reply to a post in it) joins it: the
    brand's own reply answers a waiting item (and records the first response), the item's author writing
    after the answer or the resolution reopens it;
  * else a mention by the author of an item whose mentions lie within `[inbox] fold_hours` joins that item;
  * else a complaint or question by someone other than the brand, whose author is neither suppressed nor
    a bot or giveaway spammer by their profile (the profile stage ran before this one), in a message that
    is not positive, not a review rated above `[inbox] complaint_max_rating` stars and not a neutral one
    the model is unsure is a complaint, opens an item (the opening rules: monitor.inbox.rules.opens_item);
    mentions of its conversation that came through the stage earlier (a reply before its post) join it.

Idempotent: a mention already in an item of the brand is skipped, so running the stage again over the same
mentions changes nothing; the times it writes are the mentions' own, so they equal a fresh run's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, RowMapping

from monitor.config import Settings
from monitor.inbox.rules import MentionRole, due_at, follow_up, opens_item, priority, thread_key
from monitor.scoring.profile import is_own_account
from monitor.storage.inbox import (
    MentionFacts,
    add_event,
    attach_mention,
    attached,
    brand_targets,
    insert_item,
    item_for_author,
    item_for_thread,
    lock_brand_inbox,
    mention_facts,
    thread_mention_facts,
    update_item,
)

__all__ = ["InboxCounts", "update_inbox"]

PIPELINE_ACTOR = "pipeline"


@dataclass(slots=True)
class InboxCounts:
    opened: int = 0
    joined: int = 0
    answered: int = 0
    reopened: int = 0
    detail: dict[str, int] = field(default_factory=dict)


def update_inbox(
    conn: Connection, *, mention_ids: Sequence[int], settings: Settings, now: datetime
) -> InboxCounts:
    """Place `mention_ids` in the inbox, in the caller's transaction (the alert stage's)."""
    counts = InboxCounts()
    facts = mention_facts(conn, mention_ids)
    if not facts:
        return counts
    lock_brand_inbox(conn, {f.brand_id for f in facts})
    placer = _Placer(conn, settings=settings, now=now, counts=counts, brands=brand_targets(conn))
    for fact in facts:
        placer.place(fact)
    return counts


class _Placer:
    def __init__(
        self,
        conn: Connection,
        *,
        settings: Settings,
        now: datetime,
        counts: InboxCounts,
        brands: dict[int, tuple[str, dict[str, list[str]]]],
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.now = now
        self.counts = counts
        self.brands = brands
        self.fold = timedelta(hours=settings.inbox.fold_hours)
        targets = {b.name: b.first_response_hours for b in settings.brands}
        self.target_hours: Callable[[int], float] = lambda brand_id: (
            targets.get(brands[brand_id][0]) or settings.inbox.first_response_hours
        )

    def is_own(self, fact: MentionFacts) -> bool:
        return is_own_account(
            fact.author_handle,
            source=fact.source,
            brand_handles=self.brands.get(fact.brand_id, ("", {}))[1],
            staff_handles=self.settings.scoring.staff_handles,
        )

    def place(self, fact: MentionFacts) -> None:
        """Place `fact`; when it has no item yet, place its whole known conversation in time order instead
        (a reply may come through the stage before its post), so the order in which mentions arrive does
        not change the item."""
        if attached(self.conn, brand_id=fact.brand_id, mention_id=fact.mention_id):
            return
        key = _key_of(fact)
        if self._place_one(fact, key=key, dry_run=True):
            self._place_one(fact, key=key)
            return
        conversation = {
            f.mention_id: f
            for f in thread_mention_facts(
                self.conn,
                brand_id=fact.brand_id,
                source=fact.source,
                thread_key_value=key.split(":", 1)[1],
                external_id=fact.external_id,
            )
        }
        conversation[fact.mention_id] = fact
        for each in sorted(conversation.values(), key=lambda f: (f.created_at, f.mention_id)):
            if not attached(self.conn, brand_id=each.brand_id, mention_id=each.mention_id):
                self._place_one(each, key=_key_of(each))

    def _place_one(self, fact: MentionFacts, *, key: str, dry_run: bool = False) -> bool:
        """Join the item `fact` belongs to, or open one; with `dry_run`, only say whether an item exists."""
        own = self.is_own(fact)
        item = item_for_thread(
            self.conn, brand_id=fact.brand_id, source=fact.source, key=key, in_reply_to=fact.in_reply_to
        )
        if item is None and not own:
            item = item_for_author(
                self.conn,
                brand_id=fact.brand_id,
                author_key=fact.author_key,
                since=fact.created_at - self.fold,
                until=fact.created_at + self.fold,
            )
        if dry_run:
            return item is not None
        if item is not None:
            self.join(item, fact, key=key, own=own)
        elif opens_item(
            fact.intent,
            own_account=own,
            suppressed=fact.suppressed,
            automated=fact.automated,
            sentiment=fact.sentiment,
            rating=fact.rating,
            intent_labeled=fact.intent_labeled,
            intent_confidence=fact.intent_confidence,
            complaint_max_rating=self.settings.inbox.complaint_max_rating,
            min_complaint_confidence=self.settings.inbox.min_complaint_confidence,
        ):
            self.open(fact, key=key)
        return True

    def open(self, fact: MentionFacts, *, key: str) -> None:
        target = self.target_hours(fact.brand_id)
        item_id = insert_item(
            self.conn,
            {
                "brand_id": fact.brand_id,
                "thread_key": key,
                "first_mention_id": fact.mention_id,
                "last_mention_id": fact.mention_id,
                "author_id": fact.author_id,
                "author_key": fact.author_key,
                "intent": fact.intent,
                "status": "open",
                "priority": self.priority_of(fact),
                "opened_at": fact.created_at,
                "last_mention_at": fact.created_at,
                "due_at": due_at(fact.created_at, target_hours=target),
                "updated_at": fact.created_at,
                "version": 1,
            },
        )
        attach_mention(
            self.conn,
            brand_id=fact.brand_id,
            mention_id=fact.mention_id,
            item_id=item_id,
            thread_key=key,
            role="author",
        )
        add_event(
            self.conn,
            item_id=item_id,
            action="opened",
            from_status=None,
            to_status="open",
            actor=PIPELINE_ACTOR,
            at=fact.created_at,
            mention_id=fact.mention_id,
            detail={"intent": fact.intent, "target_hours": target},
        )
        self.counts.opened += 1

    def priority_of(self, fact: MentionFacts) -> float:
        return priority(
            reach=fact.reach,
            sentiment=fact.sentiment,
            segment=fact.segment,
            created_at=fact.created_at,
            seen_at=fact.collected_at or fact.created_at,
        )

    def join(self, row: RowMapping, fact: MentionFacts, *, key: str, own: bool) -> None:
        role: MentionRole = "own" if own else "author" if fact.author_key == row["author_key"] else "other"
        attach_mention(
            self.conn,
            brand_id=fact.brand_id,
            mention_id=fact.mention_id,
            item_id=row["id"],
            thread_key=key,
            role=role,
        )
        values: dict[str, object] = {}
        if fact.created_at > row["last_mention_at"]:
            values.update(last_mention_id=fact.mention_id, last_mention_at=fact.created_at)
        if role == "author":
            values["priority"] = max(row["priority"], self.priority_of(fact))
        if role == "own" and fact.created_at >= row["opened_at"]:
            first = row["first_response_at"]
            values["first_response_at"] = fact.created_at if first is None else min(first, fact.created_at)
        # what came before the item opened (the brand's post a customer complains under) changes nothing
        change = (
            None
            if fact.created_at < row["opened_at"]
            else follow_up(
                row["status"],
                role=role,
                at=fact.created_at,
                answered_at=row["answered_at"],
                resolved_at=row["resolved_at"],
            )
        )
        if change is not None:
            values["status"] = change.status
            values["updated_at"] = max(row["updated_at"], fact.created_at)
            if change.action == "answered":
                values["answered_at"] = fact.created_at
                self.counts.answered += 1
            else:
                self.counts.reopened += 1
            add_event(
                self.conn,
                item_id=row["id"],
                action=change.action,
                from_status=row["status"],
                to_status=change.status,
                actor=PIPELINE_ACTOR if role != "own" else f"own:{fact.source}:{fact.author_handle}",
                at=fact.created_at,
                mention_id=fact.mention_id,
            )
        self.counts.joined += 1
        if values:
            update_item(self.conn, row["id"], version=row["version"], values=values)


def _key_of(fact: MentionFacts) -> str:
    return thread_key(fact.source, fact.external_id, thread_id=fact.thread_id, in_reply_to=fact.in_reply_to)
