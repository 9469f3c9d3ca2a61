"""Deleting mentions with every row that points at them (forgetting a person, retention).

What goes with a mention: its classifications, its label, its brand links, the alerts about it and
their notification deliveries, and its place in an inbox item (an item left without mentions goes).
Author profiles are derived from mentions, so the caller recomputes
them afterwards (monitor.scoring.store.recompute_authors), and the sentiment hours the mentions counted
in (monitor.storage.sentiment_hours.refresh_cells) last of all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.inbox import erase_inbox_mentions
from monitor.storage.models import (
    Alert,
    AlertNotice,
    Classification,
    Mention,
    MentionBrand,
    MentionLabel,
    NotificationDelivery,
)
from monitor.storage.tables import table_of

__all__ = ["Erased", "erase_alerts", "erase_mentions", "lock_mentions"]

_MENTION = table_of(Mention)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_LINK = table_of(MentionBrand)
_ALERT = table_of(Alert)
_DELIVERY = table_of(NotificationDelivery)
_NOTICE = table_of(AlertNotice)
# ids per statement: well under SQLite's 32,766 bound parameters, and short IN lists for PostgreSQL
_CHUNK = 2_000


@dataclass(slots=True)
class Erased:
    """Rows deleted, per table."""

    mentions: int = 0
    classifications: int = 0
    labels: int = 0
    brand_links: int = 0
    alerts: int = 0
    deliveries: int = 0

    def add(self, other: Erased) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def lock_mentions(conn: Connection, mention_ids: Sequence[int], *, skip_locked: bool = False) -> list[int]:
    """Lock the rows of `mention_ids` against pipeline stages until the transaction ends; returns the ids
    locked (without `skip_locked`: all that still exist, waiting for a stage that holds one).

    On PostgreSQL a stage that finishes a claim on a locked row then finds it gone and writes nothing for
    it, instead of adding a classification to a mention being deleted. SQLite writers hold the whole
    database (BEGIN IMMEDIATE), so there the ids are only checked to exist.
    """
    locked: list[int] = []
    for chunk in _chunks(sorted(set(mention_ids))):
        query = sa.select(_MENTION.c.id).where(_MENTION.c.id.in_(chunk)).order_by(_MENTION.c.id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=skip_locked)
        locked.extend(row[0] for row in conn.execute(query))
    return locked


def erase_alerts(conn: Connection, condition: sa.ColumnElement[bool]) -> Erased:
    """Delete the alerts matching `condition` (on the alert table), their deliveries and routing notes."""
    alert_ids = [row[0] for row in conn.execute(sa.select(_ALERT.c.id).where(condition))]
    erased = Erased()
    for chunk in _chunks(alert_ids):
        erased.deliveries += conn.execute(
            sa.delete(_DELIVERY).where(_DELIVERY.c.alert_id.in_(chunk))
        ).rowcount
        conn.execute(sa.delete(_NOTICE).where(_NOTICE.c.alert_id.in_(chunk)))
        erased.alerts += conn.execute(sa.delete(_ALERT).where(_ALERT.c.id.in_(chunk))).rowcount
    return erased


def erase_mentions(conn: Connection, mention_ids: Sequence[int]) -> Erased:
    """Delete `mention_ids` and the rows that point at them, in foreign-key order, in the caller's
    transaction. Lock them first (`lock_mentions`) when pipeline workers may be running. Take their
    sentiment-hour cells first (`cells_of`) and refresh those last in the transaction."""
    erased = Erased()
    for chunk in _chunks(sorted(set(mention_ids))):
        erased.add(erase_alerts(conn, _ALERT.c.mention_id.in_(chunk)))
        erase_inbox_mentions(conn, chunk)
        erased.classifications += conn.execute(
            sa.delete(_CLASSIFICATION).where(_CLASSIFICATION.c.mention_id.in_(chunk))
        ).rowcount
        erased.labels += conn.execute(sa.delete(_LABEL).where(_LABEL.c.mention_id.in_(chunk))).rowcount
        erased.brand_links += conn.execute(sa.delete(_LINK).where(_LINK.c.mention_id.in_(chunk))).rowcount
        erased.mentions += conn.execute(sa.delete(_MENTION).where(_MENTION.c.id.in_(chunk))).rowcount
    return erased
