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

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from monitor.alerts.evaluate import revise_mention_alerts
from monitor.config import Settings
from monitor.errors import ForbiddenBrandError, UnknownMentionError
from monitor.read.mentions import mention_brand_ids, mention_exists
from monitor.scoring.store import recompute_profiles
from monitor.service.scope import BrandScope
from monitor.storage.labels import delete_label, hand_back_to_alert_stage, upsert_label
from monitor.storage.sentiment_hours import refresh_mentions

__all__ = ["LabelEffects", "apply_label", "label_mention", "remove_label", "unlabel_mention"]


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
    realerted = hand_back_to_alert_stage(conn, mention_id=mention_id)
    refresh_mentions(conn, [mention_id])  # last: see monitor.storage.sentiment_hours
    return LabelEffects(profiles, withdrawn, reopened, realerted)


def _check_visible(conn: Connection, mention_id: int, scope: BrandScope | None) -> None:
    """Raises UnknownMentionError, or ForbiddenBrandError for a mention outside `scope`."""
    session = Session(bind=conn)
    if not mention_exists(session, mention_id):
        raise UnknownMentionError(mention_id)
    if scope is not None and not scope.may_see_any(mention_brand_ids(session, mention_id)):
        raise ForbiddenBrandError(
            f"mention {mention_id} is not about brand {scope.brand!r} or its competitors, "
            "which this API key is limited to; use a key made for its brand or without --brand"
        )


def label_mention(
    engine: Engine,
    *,
    mention_id: int,
    sentiment: str | None,
    intent: str | None,
    labeled_by: str,
    scope: BrandScope | None,
    settings: Settings,
    now: datetime,
) -> LabelEffects:
    """A person's correction (PUT /mentions/{id}/label), in one transaction with all that follows."""
    with engine.begin() as conn:
        _check_visible(conn, mention_id, scope)
        return apply_label(
            conn,
            mention_id=mention_id,
            sentiment=sentiment,
            intent=intent,
            labeled_by=labeled_by,
            settings=settings,
            now=now,
        )


def unlabel_mention(
    engine: Engine, *, mention_id: int, scope: BrandScope | None, settings: Settings, now: datetime
) -> LabelEffects | None:
    """Undo a correction (DELETE /mentions/{id}/label); None when the mention has no label."""
    with engine.begin() as conn:
        _check_visible(conn, mention_id, scope)
        return remove_label(conn, mention_id=mention_id, settings=settings, now=now)
