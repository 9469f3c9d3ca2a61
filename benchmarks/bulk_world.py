"""A large stored world for load benchmarks: brands, authors, identities, mentions, classifications, alerts
and inbox items.

Rows are written straight into the tables in the shape the pipeline leaves them (matched, classified,
profiled and alerted), in chunks through SQLAlchemy Core, so the same code fills SQLite and PostgreSQL.
Author scores are not written here: `rebuild_profiles` computes them from these rows, as
`wom process --rebuild` does, and that is part of what the benchmark measures.

Authors are drawn with a Zipf-like skew (a few write hundreds of mentions, most write one or two), and
each author leans positive, negative or neutral, so ambassador and detractor lists have real structure.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.models import (
    Alert,
    Author,
    AuthorIdentity,
    Brand,
    Classification,
    InboxItem,
    InboxItemMention,
    Mention,
    MentionBrand,
)
from monitor.storage.tables import table_of

__all__ = ["WorldFacts", "build_world"]

BRANDS = ("Acme", "Globex", "Initech")
SOURCES = ("x", "reddit", "mastodon", "bluesky", "youtube", "appstore")
_WORDS = [
    "coffee",
    "grinder",
    "order",
    "delivery",
    "refund",
    "support",
    "beans",
    "roast",
    "subscription",
    "package",
    "late",
    "broken",
    "great",
    "love",
    "service",
    "rude",
    "fast",
    "slow",
    "price",
    "quality",
    "koffie",
    "bestelling",
    "levering",
    "klantenservice",
    "bonen",
    "top",
]
_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class WorldFacts:
    brands: dict[str, int]
    authors: int
    mentions: int
    alerts: int
    inbox_items: int
    busiest_author: int
    sample_author_ids: list[int]


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert(
    engine: Engine, table: sa.Table, rows: Iterator[dict[str, Any]], progress: Callable[[str], None]
) -> int:
    written = 0
    for chunk in _chunks(rows):
        with engine.begin() as conn:
            conn.execute(table.insert(), chunk)
        written += len(chunk)
        if written % (_CHUNK * 10) == 0:
            progress(f"{table.name}: {written:,}")
    return written


def build_world(
    engine: Engine,
    *,
    mentions: int,
    authors: int,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> WorldFacts:
    """Fills an empty, migrated database. Mentions span 180 days before `now`."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    start = now - timedelta(days=180)
    brand_table = table_of(Brand)
    brand_ids: dict[str, int] = {}
    with engine.begin() as conn:
        for name in BRANDS:
            competitor_of = brand_ids.get(BRANDS[0])
            brand_ids[name] = int(
                conn.execute(
                    brand_table.insert()
                    .values(
                        name=name,
                        competitor_of_id=competitor_of,
                        timezone="Europe/Amsterdam",
                        keywords=[name.lower()],
                        exclusions=[],
                        hashtags=[],
                        handles={},
                        active=True,
                    )
                    .returning(brand_table.c.id)
                ).scalar_one()
            )
    leaning = [rng.choice(("positive", "negative", "neutral", "mixed")) for _ in range(authors)]

    def author_rows() -> Iterator[dict[str, Any]]:
        for n in range(authors):
            yield {"id": n + 1, "display_name": f"Author {n + 1}", "created_at": start, "forgotten": False}

    def identity_rows() -> Iterator[dict[str, Any]]:
        for n in range(authors):
            source = SOURCES[n % len(SOURCES)]
            reach = int(10 ** rng.uniform(0, 5.5))
            yield {
                "id": n + 1,
                "author_id": n + 1,
                "source": source,
                "identity_key": f"{source}-user-{n + 1}",
                "platform_id": f"{source}-user-{n + 1}",
                "handle": f"user{n + 1}",
                "name": f"User {n + 1}",
                "reach": reach,
                "reach_kind": "followers",
                "updated_at": now,
            }

    # Zipf-like: author k is drawn with weight 1/(k+10)
    weights = [1.0 / (k + 10) for k in range(authors)]
    drawn = rng.choices(range(authors), weights=weights, k=mentions)
    mention_brand: list[int] = [brand_ids[rng.choices(BRANDS, weights=(6, 3, 1))[0]] for _ in range(mentions)]
    span = (now - start).total_seconds()
    created_at: list[datetime] = []
    complaints: list[int] = []

    def mention_rows() -> Iterator[dict[str, Any]]:
        for n in range(mentions):
            author = drawn[n]
            source = SOURCES[author % len(SOURCES)]
            created = start + timedelta(seconds=rng.random() * span)
            created_at.append(created)
            text = " ".join(rng.choices(_WORDS, k=rng.randint(5, 14)))
            brand_name = BRANDS[list(brand_ids.values()).index(mention_brand[n])]
            text = f"{brand_name.lower()} {text}"
            yield {
                "id": n + 1,
                "source": source,
                "external_id": f"m{n + 1}",
                "url": f"https://example.com/{source}/{n + 1}",
                "text": text,
                "lang": "en",
                "created_at": created,
                "collected_at": created,
                "author_identity_id": author + 1,
                "author_handle": f"user{author + 1}",
                "reach": None,
                "reach_kind": "followers",
                "engagement": {"likes": rng.randint(0, 40)},
                "rating": None,
                "in_reply_to": None,
                "thread_id": None,
                "brand_hint": None,
                "raw": None,
                "text_sanitized": False,
                "content_key": hashlib.sha1(text.encode()).hexdigest(),  # noqa: S324 - a content key, not security
                "matched_at": now,
                "classified_at": now,
                "profiled_at": now,
                "alerted_at": now,
                "claimed_by": None,
                "claim_expires_at": None,
            }

    def sentiment_of(author: int) -> str:
        lean = leaning[author]
        if lean == "mixed":
            return rng.choice(("positive", "neutral", "negative"))
        return lean if rng.random() < 0.8 else rng.choice(("positive", "neutral", "negative"))

    def classification_rows() -> Iterator[dict[str, Any]]:
        for n in range(mentions):
            sentiment = sentiment_of(drawn[n])
            confidence = rng.uniform(0.5, 0.99)
            sign = {"positive": 1, "negative": -1, "neutral": 0}[sentiment]
            intent = (
                "complaint"
                if sentiment == "negative" and rng.random() < 0.4
                else ("praise" if sentiment == "positive" else "other")
            )
            if intent == "complaint":
                complaints.append(n + 1)
            yield {
                "id": n + 1,
                "mention_id": n + 1,
                "model_name": "wom-e5",
                "model_version": "bench",
                "sentiment": sentiment,
                "confidence": confidence,
                "score": sign * confidence,
                "lang": "en",
                "intent": intent,
                "intent_confidence": confidence,
                "worker": "bench",
                "created_at": now,
            }

    def link_rows() -> Iterator[dict[str, Any]]:
        for n in range(mentions):
            yield {"mention_id": n + 1, "brand_id": mention_brand[n], "matched_by": "keyword"}

    alert_count = max(1, mentions // 50)

    def alert_rows() -> Iterator[dict[str, Any]]:
        for n in range(alert_count):
            mention_id = rng.randint(1, mentions)
            yield {
                "id": n + 1,
                "brand_id": mention_brand[mention_id - 1],
                "kind": "complaint_to_answer",
                "dedupe_key": f"bench:{n + 1}",
                "severity": "warning",
                "title": f"Complaint {n + 1}",
                "detail": {},
                "mention_id": mention_id,
                "author_id": drawn[mention_id - 1] + 1,
                "status": "open" if rng.random() < 0.7 else "resolved",
                "event_at": start + timedelta(seconds=rng.random() * span),
                "created_at": now,
            }

    # one inbox item per complaint: most long since resolved, a backlog of recent ones still open; its own
    # generator so the mentions and scores stay those of worlds built before inbox items existed
    inbox_rng = random.Random(seed + 1)

    def inbox_item_status(opened: datetime) -> str:
        if now - opened > timedelta(days=14):
            return inbox_rng.choices(("resolved", "dismissed", "answered"), weights=(85, 10, 5))[0]
        return inbox_rng.choices(("open", "acknowledged", "answered", "resolved"), weights=(50, 15, 15, 20))[
            0
        ]

    def inbox_rows() -> Iterator[dict[str, Any]]:
        for item_id, mention_id in enumerate(complaints, start=1):
            opened = created_at[mention_id - 1]
            status = inbox_item_status(opened)
            responded = opened + timedelta(hours=inbox_rng.uniform(0.2, 30)) if status != "open" else None
            yield {
                "id": item_id,
                "brand_id": mention_brand[mention_id - 1],
                "thread_key": f"{SOURCES[drawn[mention_id - 1] % len(SOURCES)]}:m{mention_id}",
                "first_mention_id": mention_id,
                "last_mention_id": mention_id,
                "author_id": drawn[mention_id - 1] + 1,
                "author_key": f"a:{drawn[mention_id - 1] + 1}",
                "intent": "complaint",
                "status": status,
                "dismiss_reason": "not_relevant" if status == "dismissed" else None,
                "assignee_user_id": None,
                "priority": round(inbox_rng.uniform(0, 10), 3),
                "opened_at": opened,
                "last_mention_at": opened,
                "due_at": opened + timedelta(hours=24),
                "first_response_at": responded,
                "answered_at": responded if status in ("answered", "resolved") else None,
                "resolved_at": responded if status == "resolved" else None,
                "updated_at": responded or opened,
                "version": 1,
            }

    def inbox_mention_rows() -> Iterator[dict[str, Any]]:
        for item_id, mention_id in enumerate(complaints, start=1):
            yield {
                "brand_id": mention_brand[mention_id - 1],
                "mention_id": mention_id,
                "item_id": item_id,
                "thread_key": f"{SOURCES[drawn[mention_id - 1] % len(SOURCES)]}:m{mention_id}",
                "role": "author",
            }

    _insert(engine, table_of(Author), author_rows(), progress)
    _insert(engine, table_of(AuthorIdentity), identity_rows(), progress)
    _insert(engine, table_of(Mention), mention_rows(), progress)
    _insert(engine, table_of(MentionBrand), link_rows(), progress)
    _insert(engine, table_of(Classification), classification_rows(), progress)
    _insert(engine, table_of(Alert), alert_rows(), progress)
    _insert(engine, table_of(InboxItem), inbox_rows(), progress)
    _insert(engine, table_of(InboxItemMention), inbox_mention_rows(), progress)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("author", "authoridentity", "mention", "classification", "alert", "inboxitem"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        # what autovacuum does to a live database: statistics and the visibility map (index-only scans)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    counts: dict[int, int] = {}
    for author in drawn:
        counts[author] = counts.get(author, 0) + 1
    busiest = max(counts, key=counts.__getitem__) + 1
    return WorldFacts(
        brands=brand_ids,
        authors=authors,
        mentions=mentions,
        alerts=alert_count,
        inbox_items=len(complaints),
        busiest_author=busiest,
        sample_author_ids=[a + 1 for a in rng.sample(sorted(counts), min(200, len(counts)))],
    )
