"""A small inbox world in the `engine` fixture's database: the brand Acme (own X account @acme, staff
@acme_anna) and its competitor Globex, authors on X, and mentions stored as the stages leave them (matched,
classified: the brand link carries sentiment and intent, profiled, through the alert stage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.config import Settings, settings_from_mapping
from monitor.inbox.stage import InboxCounts, update_inbox
from monitor.storage.brands import sync_brands
from monitor.storage.models import (
    Author,
    AuthorIdentity,
    Classification,
    InboxEvent,
    InboxItem,
    InboxItemMention,
    Mention,
    MentionBrand,
    MentionLabel,
)
from monitor.storage.tables import table_of

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ITEM = table_of(InboxItem)
ITEM_MENTION = table_of(InboxItemMention)
EVENT = table_of(InboxEvent)


def inbox_settings(**inbox: Any) -> Settings:
    return settings_from_mapping(
        {
            "inbox": inbox,
            "scoring": {"staff_handles": ["x:acme_anna"]},
            "brands": [
                {
                    "name": "Acme",
                    "keywords": ["acme"],
                    "handles": {"x": ["acme"]},
                    "competitors": [{"name": "Globex", "keywords": ["globex"]}],
                }
            ],
        }
    )


class InboxWorld:
    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.engine = engine
        self.settings = settings or inbox_settings()
        self.brands = sync_brands(engine, self.settings)
        self.authors: dict[str, int] = {}
        self.identities: dict[str, int] = {}
        self.pending: list[int] = []
        self._n = 0

    def author(self, handle: str) -> int:
        if handle not in self.authors:
            with self.engine.begin() as conn:
                author_id = conn.execute(
                    sa.insert(table_of(Author))
                    .values(display_name=handle, created_at=T0, forgotten=False)
                    .returning(table_of(Author).c.id)
                ).scalar_one()
                self.identities[handle] = conn.execute(
                    sa.insert(table_of(AuthorIdentity))
                    .values(
                        author_id=author_id, source="x", identity_key=f"@{handle}", handle=handle, name=handle
                    )
                    .returning(table_of(AuthorIdentity).c.id)
                ).scalar_one()
            self.authors[handle] = author_id
        return self.authors[handle]

    def post(
        self,
        handle: str,
        *,
        hours: float,
        intent: str = "complaint",
        sentiment: str = "negative",
        reply_to: str | None = None,
        thread: str | None = None,
        brand: str = "Acme",
        reach: int = 100,
        late_hours: float = 0.0,
        rating: float | None = None,
        confidence: float | None = None,
    ) -> str:
        """Store a mention `hours` after T0; returns its external id (its stored id is in `ids`). With
        `confidence`, the model's classification behind the link, with that intent confidence."""
        self.author(handle)
        self._n += 1
        external_id = f"p{self._n}"
        at = T0 + timedelta(hours=hours)
        with self.engine.begin() as conn:
            mention_id = conn.execute(
                sa.insert(table_of(Mention))
                .values(
                    source="x",
                    external_id=external_id,
                    text=f"{brand} post {self._n} by {handle}",
                    created_at=at,
                    collected_at=at + timedelta(hours=late_hours),
                    author_identity_id=self.identities[handle],
                    author_handle=handle,
                    reach=reach,
                    rating=rating,
                    in_reply_to=reply_to,
                    thread_id=thread,
                    content_key=external_id,
                    matched_at=at,
                    classified_at=at,
                    profiled_at=at,
                    alerted_at=at,
                )
                .returning(table_of(Mention).c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(table_of(MentionBrand)).values(
                    mention_id=mention_id,
                    brand_id=self.brands[brand],
                    matched_by="keyword",
                    created_at=at,
                    source="x",
                    sentiment=sentiment,
                    intent=intent,
                )
            )
            if confidence is not None:
                conn.execute(
                    sa.insert(table_of(Classification)).values(
                        mention_id=mention_id,
                        model_name="test",
                        model_version="1",
                        sentiment=sentiment,
                        confidence=0.9,
                        score=0.0,
                        lang="en",
                        intent=intent,
                        intent_confidence=confidence,
                    )
                )
        self.ids[external_id] = mention_id
        self.pending.append(mention_id)
        return external_id

    def label(self, external_id: str, *, intent: str) -> None:
        """A person's label of the mention's intent, and the effective intent it gives its brand link."""
        mention_id = self.ids[external_id]
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(table_of(MentionLabel)).values(
                    mention_id=mention_id, intent=intent, labeled_by="test", labeled_at=T0
                )
            )
            conn.execute(
                sa.update(table_of(MentionBrand))
                .where(table_of(MentionBrand).c.mention_id == mention_id)
                .values(intent=intent)
            )

    @property
    def ids(self) -> dict[str, int]:
        if not hasattr(self, "_ids"):
            self._ids: dict[str, int] = {}
        return self._ids

    def run(self, mention_ids: list[int] | None = None) -> InboxCounts:
        """The inbox stage over `mention_ids` (default: those posted since the last run)."""
        ids = self.pending if mention_ids is None else mention_ids
        with self.engine.begin() as conn:
            counts = update_inbox(conn, mention_ids=ids, settings=self.settings, now=T0 + timedelta(days=30))
        if mention_ids is None:
            self.pending = []
        return counts

    def items(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(sa.select(ITEM).order_by(ITEM.c.id)).mappings()]

    def item_of(self, external_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            item_id = conn.execute(
                sa.select(ITEM_MENTION.c.item_id).where(ITEM_MENTION.c.mention_id == self.ids[external_id])
            ).scalar_one()
            return dict(conn.execute(sa.select(ITEM).where(ITEM.c.id == item_id)).mappings().one())

    def thread_of(self, item_id: int) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(ITEM_MENTION.c.mention_id)
                .where(ITEM_MENTION.c.item_id == item_id)
                .order_by(ITEM_MENTION.c.mention_id)
            ).scalars()
            return [by_id[m] for m in rows]

    def events(self, item_id: int) -> list[tuple[str, str | None, str, str]]:
        with self.engine.connect() as conn:
            return [
                (row.action, row.from_status, row.to_status, row.actor)
                for row in conn.execute(
                    sa.select(EVENT).where(EVENT.c.item_id == item_id).order_by(EVENT.c.id)
                )
            ]

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """The inbox tables without their surrogate ids, ordered (for before/after comparisons)."""
        with self.engine.connect() as conn:
            items = [
                tuple(v for k, v in sorted(row.items()) if k != "id")
                for row in conn.execute(sa.select(ITEM)).mappings()
            ]
            links = [
                tuple(row) for row in conn.execute(sa.select(ITEM_MENTION.c.mention_id, ITEM_MENTION.c.role))
            ]
            events = [
                (row.action, row.from_status, row.to_status, row.actor, row.mention_id, row.at)
                for row in conn.execute(sa.select(EVENT))
            ]
        return {"items": sorted(items, key=repr), "links": sorted(links), "events": sorted(events, key=repr)}
