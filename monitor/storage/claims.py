"""Claiming pipeline work so several worker processes never do the same mention twice.

A stage claims a batch of pending mentions by stamping `claimed_by` and a lease (`claim_expires_at`)
in a short transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the write lock of
`BEGIN IMMEDIATE`), works outside any transaction, then commits its results together with its stage
column, but only for the rows it still owns. A worker killed mid-batch leaves a lease that expires,
and another worker takes the rows over.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.storage.models import Mention, utcnow
from monitor.storage.tables import table_of

__all__ = ["STAGES", "Stage", "claim_mentions", "finish_claim", "release_claim", "release_dead_claims"]

Stage = Literal["match", "classify", "profile", "alert"]
_MENTION = table_of(Mention)
# stage -> (column it stamps, column that must be stamped first)
STAGES: dict[Stage, tuple[str, str | None]] = {
    "match": ("matched_at", None),
    "classify": ("classified_at", "matched_at"),
    "profile": ("profiled_at", "classified_at"),
    "alert": ("alerted_at", "profiled_at"),
}


def _pending(stage: Stage, now: datetime) -> sa.ColumnElement[bool]:
    done, before = STAGES[stage]
    condition = sa.and_(
        _MENTION.c[done].is_(None),
        sa.or_(_MENTION.c.claim_expires_at.is_(None), _MENTION.c.claim_expires_at < now),
    )
    if before is not None:
        condition = sa.and_(condition, _MENTION.c[before].is_not(None))
    return condition


def claim_mentions(
    engine: Engine, *, stage: Stage, worker: str, limit: int, lease: timedelta, now: datetime | None = None
) -> list[int]:
    """Ids of up to `limit` pending mentions, now leased to `worker` for `lease`."""
    now = now or utcnow()
    pending = sa.select(_MENTION.c.id).where(_pending(stage, now)).order_by(_MENTION.c.id).limit(limit)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            pending = pending.with_for_update(skip_locked=True)
        claimed = conn.execute(
            sa.update(_MENTION)
            .where(_MENTION.c.id.in_(pending.scalar_subquery()))
            .values(claimed_by=worker, claim_expires_at=now + lease)
            .returning(_MENTION.c.id)
        )
        return sorted(row[0] for row in claimed)


def finish_claim(
    conn: Connection, *, stage: Stage, worker: str, mention_ids: Sequence[int], now: datetime | None = None
) -> set[int]:
    """Stamp the stage column on the rows `worker` still owns; returns those ids. Call inside the
    transaction that writes the stage's results, and write results only for the returned ids."""
    if not mention_ids:
        return set()
    done, _ = STAGES[stage]
    result = conn.execute(
        sa.update(_MENTION)
        .where(
            _MENTION.c.id.in_(list(mention_ids)), _MENTION.c.claimed_by == worker, _MENTION.c[done].is_(None)
        )
        .values({done: now or utcnow(), "claimed_by": None, "claim_expires_at": None})
        .returning(_MENTION.c.id)
    )
    return {row[0] for row in result}


def release_claim(engine: Engine, *, worker: str, mention_ids: Sequence[int]) -> None:
    """Give rows back without doing the stage (after an error), so another run can take them at once."""
    if not mention_ids:
        return
    with engine.begin() as conn:
        conn.execute(
            sa.update(_MENTION)
            .where(_MENTION.c.id.in_(list(mention_ids)), _MENTION.c.claimed_by == worker)
            .values(claimed_by=None, claim_expires_at=None)
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_claims(engine: Engine, *, hostname: str) -> int:
    """Release the claims of workers on this host whose process is gone (a kill -9, a crash).

    Worker ids are `host:pid:random`. Claims of workers on other hosts are left to their lease.
    Returns how many rows were released.
    """
    with engine.connect() as conn:
        workers = (
            conn.execute(
                sa.select(_MENTION.c.claimed_by).where(_MENTION.c.claimed_by.is_not(None)).distinct()
            )
            .scalars()
            .all()
        )
    dead = []
    for worker in workers:
        parts = worker.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        if parts[0] == hostname and not _pid_alive(int(parts[1])):
            dead.append(worker)
    if not dead:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            sa.update(_MENTION)
            .where(_MENTION.c.claimed_by.in_(dead))
            .values(claimed_by=None, claim_expires_at=None)
        )
    return int(result.rowcount)
