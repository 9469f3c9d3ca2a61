"""An author entering a segment: `new_ambassador` (informational) and `detractor_emerging` (severity by
reach). Pure, like `monitor.alerts.rules.ambassador_at_risk`, whose pattern they follow: a recorded segment
change (monitor.scoring.profile's history) is the cause, so the dedupe key names the author, the brand and
the change's time, and re-profiling or a rebuild raises the same alert once.

A fan or ambassador who turns detractor is `ambassador_at_risk`'s, not a second alert here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.alerts.reasons import DETRACTOR_EMERGING, NEW_AMBASSADOR, reason
from monitor.alerts.rules import TITLE_HANDLE_CHARS, AlertDraft, plain_text
from monitor.config import AlertSettings
from monitor.scoring.profile import SegmentChangeEvent

__all__ = ["MENTION_IDS_KEPT", "detractor_emerging", "new_ambassador"]

MENTION_IDS_KEPT = 20
_AT_RISK_FROM = ("ambassador", "fan")


def _too_old(change: SegmentChangeEvent, settings: AlertSettings, now: datetime) -> bool:
    if now.tzinfo is None or change.changed_at.tzinfo is None:
        raise ValueError("segment alerts need aware UTC datetimes")
    return now - change.changed_at > timedelta(days=settings.max_age_days)


def new_ambassador(
    change: SegmentChangeEvent,
    *,
    author_id: int,
    brand_id: int,
    author_handle: str,
    mentions: int,
    positive: int,
    reach: int,
    evidence: Sequence[int],
    settings: AlertSettings,
    now: datetime,
) -> AlertDraft | None:
    """An author who became an ambassador of the brand (from any other segment)."""
    if change.to_segment != "ambassador" or change.from_segment == "ambassador":
        return None
    if _too_old(change, settings, now):
        return None
    handle = plain_text(author_handle, limit=TITLE_HANDLE_CHARS) or f"author {author_id}"
    ids = [i for i in evidence if isinstance(i, int)][:MENTION_IDS_KEPT]
    if change.mention_id is not None and change.mention_id not in ids:
        ids.insert(0, change.mention_id)
    return AlertDraft(
        kind="new_ambassador",
        dedupe_key=f"new_ambassador:{author_id}:{brand_id}:{change.changed_at.isoformat()}",
        severity="info",
        title=f"New ambassador: {handle}",
        detail={
            "from_segment": change.from_segment,
            "to_segment": change.to_segment,
            "changed_at": change.changed_at.isoformat(),
            "author_handle": handle,
            "mentions": mentions,
            "positive": positive,
            "reach": reach,
            "mention_ids": ids[:MENTION_IDS_KEPT],
            "reason": reason(
                NEW_AMBASSADOR, author=handle, positive=positive, mentions=mentions, reach=reach
            ),
        },
        event_at=change.changed_at,
        brand_id=brand_id,
        mention_id=change.mention_id,
        author_id=author_id,
    )


def detractor_emerging(
    change: SegmentChangeEvent,
    *,
    author_id: int,
    brand_id: int,
    author_handle: str,
    reach: int,
    recent_negative_ids: Sequence[int],
    settings: AlertSettings,
    now: datetime,
) -> AlertDraft | None:
    """An author who became a detractor with at least `alerts.detractor_min_negative` negative mentions or
    complaints in the last `alerts.detractor_recent_days`. Severity: critical from 10 × influential reach,
    warning from influential reach, info below."""
    if change.to_segment != "detractor" or change.from_segment in ("detractor", *_AT_RISK_FROM):
        return None
    if _too_old(change, settings, now) or len(recent_negative_ids) < settings.detractor_min_negative:
        return None
    handle = plain_text(author_handle, limit=TITLE_HANDLE_CHARS) or f"author {author_id}"
    influential = settings.influential_min_reach
    if influential > 0 and reach >= 10 * influential:
        severity = "critical"
    elif reach >= influential:
        severity = "warning"
    else:
        severity = "info"
    return AlertDraft(
        kind="detractor_emerging",
        dedupe_key=f"detractor:{author_id}:{brand_id}:{change.changed_at.isoformat()}",
        severity=severity,
        title=f"Emerging detractor: {handle} ({reach:,} reach)",
        detail={
            "from_segment": change.from_segment,
            "to_segment": change.to_segment,
            "changed_at": change.changed_at.isoformat(),
            "author_handle": handle,
            "reach": reach,
            "negative_recent": len(recent_negative_ids),
            "recent_days": settings.detractor_recent_days,
            "mention_ids": list(recent_negative_ids[:MENTION_IDS_KEPT]),
            "reason": reason(
                DETRACTOR_EMERGING,
                author=handle,
                negative=len(recent_negative_ids),
                days=settings.detractor_recent_days,
                reach=reach,
            ),
        },
        event_at=change.changed_at,
        brand_id=brand_id,
        mention_id=change.mention_id,
        author_id=author_id,
    )
