"""Retention (`[privacy] retention_days`): mentions older than N days go, with everything derived from them.

Run by `wom process` and, hourly, by `wom run`. Works in batches, one transaction each: the batch's
mentions (with their classifications, labels, brand links, alerts and deliveries) are deleted, then
every author they belonged to is recomputed from the mentions left, so stats, scores and segment
history equal a rebuild from scratch after every batch. An author left with no mention at all is
removed with its identities (no tombstone: a new mention of theirs is welcome, it just starts afresh).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.authors.rows import lock_authors
from monitor.config import Settings
from monitor.scoring.store import recompute_authors
from monitor.storage.erase import Erased, erase_alerts, erase_mentions, lock_mentions
from monitor.storage.inbox import forget_inbox_authors
from monitor.storage.models import Alert, Author, AuthorIdentity, Mention, utcnow
from monitor.storage.sentiment_hours import cells_of, refresh_cells
from monitor.storage.tables import table_of

__all__ = ["RetentionResult", "apply_retention", "retention_cutoff"]

_MENTION = table_of(Mention)
_IDENTITY = table_of(AuthorIdentity)
_AUTHOR = table_of(Author)
_ALERT = table_of(Alert)
_BATCH = 2_000


@dataclass(slots=True)
class RetentionResult:
    cutoff: datetime | None  # None: retention is off
    erased: Erased = field(default_factory=Erased)
    authors_recomputed: int = 0
    authors_removed: int = 0
    batches: int = 0

    def summary(self) -> dict[str, Any]:
        """For run records: the cutoff and the counts."""
        return {
            "cutoff": None if self.cutoff is None else self.cutoff.isoformat(),
            **asdict(self.erased),
            "authors_recomputed": self.authors_recomputed,
            "authors_removed": self.authors_removed,
        }


def retention_cutoff(settings: Settings, *, now: datetime) -> datetime | None:
    """Mentions created before this time are deleted; None when `retention_days` is 0 (keep forever)."""
    days = settings.privacy.retention_days
    return None if days == 0 else now - timedelta(days=days)


def _remove_empty_authors(conn: Connection, author_ids: list[int]) -> tuple[Erased, int]:
    """Remove the authors among `author_ids` none of whose identities has a mention left, with their
    identities and the alerts about them; returns the alerts erased and how many authors went."""
    has_mention = sa.exists().where(
        _MENTION.c.author_identity_id == _IDENTITY.c.id, _IDENTITY.c.author_id == _AUTHOR.c.id
    )
    empty = [
        row[0]
        for row in conn.execute(sa.select(_AUTHOR.c.id).where(_AUTHOR.c.id.in_(author_ids), ~has_mention))
    ]
    if not empty:
        return Erased(), 0
    erased = erase_alerts(conn, _ALERT.c.author_id.in_(empty))
    forget_inbox_authors(conn, empty)
    conn.execute(sa.delete(_IDENTITY).where(_IDENTITY.c.author_id.in_(empty)))
    conn.execute(sa.delete(_AUTHOR).where(_AUTHOR.c.id.in_(empty)))
    return erased, len(empty)


def _retain_batch(conn: Connection, *, cutoff: datetime, settings: Settings, result: RetentionResult) -> int:
    rows = conn.execute(
        sa.select(_MENTION.c.id, _IDENTITY.c.author_id)
        .outerjoin(_IDENTITY, _IDENTITY.c.id == _MENTION.c.author_identity_id)
        .where(_MENTION.c.created_at < cutoff)
        .order_by(_MENTION.c.created_at, _MENTION.c.id)
        .limit(_BATCH)
    ).all()
    if not rows:
        return 0
    # authors before mentions: the profile stage locks in this order too; one merged away meanwhile is
    # simply not there any more
    author_ids = sorted(lock_authors(conn, sorted({a for _, a in rows if a is not None}), missing_ok=True))
    # a row a pipeline stage holds right now is left for the next run
    locked = lock_mentions(conn, [mention for mention, _ in rows], skip_locked=True)
    cells = cells_of(conn, locked)
    result.erased.add(erase_mentions(conn, locked))
    recompute_authors(conn, author_ids=author_ids, settings=settings)
    alerts, removed = _remove_empty_authors(conn, author_ids)
    result.erased.add(alerts)
    result.authors_recomputed += len(author_ids) - removed
    result.authors_removed += removed
    refresh_cells(conn, cells)
    return len(locked)


def apply_retention(engine: Engine, settings: Settings, *, now: datetime | None = None) -> RetentionResult:
    """Delete every mention older than the retention period, batch by batch; a no-op when it is 0."""
    cutoff = retention_cutoff(settings, now=now or utcnow())
    result = RetentionResult(cutoff=cutoff)
    if cutoff is None:
        return result
    while True:
        with engine.begin() as conn:
            deleted = _retain_batch(conn, cutoff=cutoff, settings=settings, result=result)
        if deleted == 0:
            return result
        result.batches += 1
