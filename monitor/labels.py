"""Applying a person's correction of a mention: the label, and everything that follows from it.

In the one transaction that writes (or removes) the label:
  * the author profiles of every brand of the mention are recomputed from all of the author's mentions
    (`recompute_profiles`, the profile stage's own path), so scores and segments follow at once and still
    equal a rebuild from scratch, which reads the same labels;
  * the mention's complaint and negative-mention alerts are withdrawn or reopened
    (`revise_mention_alerts`);
  * the mention, and the mentions that now cause a segment change of its author at or after it, are
    handed back to the alert stage, which raises what the label now calls for (a complaint, an ambassador
    at risk) under the usual rules: dedupe keys, `alerts.max_age_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.alerts.evaluate import revise_mention_alerts
from monitor.config import Settings
from monitor.scoring.store import recompute_profiles
from monitor.storage.labels import delete_label, upsert_label
from monitor.storage.models import AuthorIdentity, Mention, SegmentChange
from monitor.storage.sentiment_hours import refresh_mentions

__all__ = ["LabelEffects", "apply_label", "remove_label"]

_MENTION = Mention.__table__  # type: ignore[attr-defined]
_IDENTITY = AuthorIdentity.__table__  # type: ignore[attr-defined]
_CHANGES = SegmentChange.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LabelEffects:
    """What a label changed: (author, brand) profiles rewritten, alerts withdrawn and reopened, and
    mentions handed back to the alert stage."""

    profiles: int
    alerts_withdrawn: int
    alerts_reopened: int
    realerted: int


def apply_label(
    conn: Connection,
    *,
    mention_id: int,
    sentiment: str | None,
    intent: str | None,
    labeled_by: str,
    settings: Settings,
    now: datetime,
) -> LabelEffects:
    """Set the mention's label (None leaves that field to the model) and follow it everywhere.

    Call inside a write transaction. Raises ValueError for an empty or unknown label."""
    upsert_label(
        conn, mention_id=mention_id, sentiment=sentiment, intent=intent, labeled_by=labeled_by, now=now
    )
    return _follow(conn, mention_id=mention_id, settings=settings, now=now)


def remove_label(
    conn: Connection, *, mention_id: int, settings: Settings, now: datetime
) -> LabelEffects | None:
    """Undo the mention's label: the model decides again. None when there was no label."""
    if not delete_label(conn, mention_id=mention_id):
        return None
    return _follow(conn, mention_id=mention_id, settings=settings, now=now)


def _follow(conn: Connection, *, mention_id: int, settings: Settings, now: datetime) -> LabelEffects:
    profiles = recompute_profiles(conn, mention_ids=[mention_id], settings=settings)
    withdrawn, reopened = revise_mention_alerts(conn, mention_id=mention_id, settings=settings, now=now)
    realerted = _hand_back_to_alert_stage(conn, mention_id=mention_id)
    refresh_mentions(conn, [mention_id])  # last: see monitor.storage.sentiment_hours
    return LabelEffects(profiles, withdrawn, reopened, realerted)


def _hand_back_to_alert_stage(conn: Connection, *, mention_id: int) -> int:
    """Clear `alerted_at` and any claim of the mention and of the mentions that cause its author's segment
    changes from its time on. Returns how many mentions the alert stage will evaluate again."""
    created_at = conn.execute(sa.select(_MENTION.c.created_at).where(_MENTION.c.id == mention_id)).scalar()
    if created_at is None:
        return 0
    author = (
        sa.select(_IDENTITY.c.author_id)
        .join(_MENTION, _MENTION.c.author_identity_id == _IDENTITY.c.id)
        .where(_MENTION.c.id == mention_id)
        .scalar_subquery()
    )
    changed_by = sa.select(_CHANGES.c.mention_id).where(
        _CHANGES.c.author_id == author,
        _CHANGES.c.changed_at >= created_at,
        _CHANGES.c.mention_id.is_not(None),
    )
    # a worker holding one of them may have read the old label: without its claim it cannot stamp the
    # row, so the row is done again (every stage is idempotent)
    result = conn.execute(
        sa.update(_MENTION)
        .where(sa.or_(_MENTION.c.id == mention_id, _MENTION.c.id.in_(changed_by)))
        .values(alerted_at=None, claimed_by=None, claim_expires_at=None)
    )
    return int(result.rowcount)
