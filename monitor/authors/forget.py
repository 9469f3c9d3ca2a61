"""Forgetting a person (GDPR/AVG art. 17): everything of theirs goes, only tombstones remain.

Deleted: the author's mentions with their classifications, labels, brand links, the alerts about them
and those alerts' deliveries; the alerts about the author; the author's stats and segment history; its
identities and the author row. Kept: one `AuthorTombstone` per identity (a SHA-256 digest of source and
identity key, nothing in the clear), so that `store_mentions` refuses their mentions when a collector
or an import brings them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.authors.rows import identities_of, lock_authors
from monitor.storage.erase import Erased, erase_alerts, erase_mentions, lock_mentions
from monitor.storage.inbox import forget_inbox_authors
from monitor.storage.models import (
    Alert,
    Author,
    AuthorBrandStats,
    AuthorIdentity,
    Mention,
    SegmentChange,
    utcnow,
)
from monitor.storage.sentiment_hours import cells_of, refresh_cells
from monitor.storage.tables import table_of
from monitor.storage.tombstones import add_tombstones

__all__ = ["ForgetResult", "forget_author"]

_AUTHOR = table_of(Author)
_IDENTITY = table_of(AuthorIdentity)
_MENTION = table_of(Mention)
_ALERT = table_of(Alert)
_STATS = table_of(AuthorBrandStats)
_CHANGES = table_of(SegmentChange)


@dataclass(frozen=True, slots=True)
class ForgetResult:
    author_id: int
    identities: int  # deleted, and tombstoned
    erased: Erased  # mentions and what pointed at them, and the alerts about the author
    profiles: int  # (author, brand) stats rows deleted
    segment_changes: int


def forget_author(conn: Connection, author_id: int) -> ForgetResult:
    """Erase `author_id` as described above, in the caller's transaction. Raises UnknownAuthorError."""
    lock_authors(conn, [author_id])
    identities = identities_of(conn, author_id)
    identity_ids = [row.id for row in identities]
    mention_ids = [
        row[0]
        for row in conn.execute(
            sa.select(_MENTION.c.id).where(_MENTION.c.author_identity_id.in_(identity_ids))
        )
    ]
    locked = lock_mentions(conn, mention_ids)
    cells = cells_of(conn, locked)
    erased = erase_mentions(conn, locked)
    erased.add(erase_alerts(conn, _ALERT.c.author_id == author_id))
    profiles = conn.execute(sa.delete(_STATS).where(_STATS.c.author_id == author_id)).rowcount
    changes = conn.execute(sa.delete(_CHANGES).where(_CHANGES.c.author_id == author_id)).rowcount
    add_tombstones(conn, [(row.source, row.identity_key) for row in identities], now=utcnow())
    forget_inbox_authors(conn, [author_id])
    conn.execute(sa.delete(_IDENTITY).where(_IDENTITY.c.author_id == author_id))
    conn.execute(sa.delete(_AUTHOR).where(_AUTHOR.c.id == author_id))
    refresh_cells(conn, cells)
    return ForgetResult(
        author_id=author_id,
        identities=len(identities),
        erased=erased,
        profiles=profiles,
        segment_changes=changes,
    )
