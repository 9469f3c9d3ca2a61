"""Alert rules: pure functions from facts to `AlertDraft`s. Storing, grouping and delivery live elsewhere.

Each rule takes `settings: AlertSettings` and `now` (aware UTC) and returns a draft or None. Spikes are
found over a brand's whole series, not per mention: monitor.alerts.spikes and monitor.alerts.incidents. A draft's
`dedupe_key` names its cause, so evaluating a rule again for the same cause yields the same key and the
unique index on `alert.dedupe_key` keeps one alert. Causes older than `alerts.max_age_days` before `now`
fire nothing, so a backfill import does not raise a year of alerts.

Titles are plain text built from data (a handle at most, cleaned of control characters); mention text goes
only into `detail["excerpt"]`, truncated. Every channel escapes both for its own format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.config import AlertSettings
from monitor.scoring.profile import SegmentChangeEvent

__all__ = [
    "EXCERPT_CHARS",
    "AlertDraft",
    "MentionFacts",
    "ambassador_at_risk",
    "complaint_to_answer",
    "influential_negative",
    "plain_text",
]

EXCERPT_CHARS = 280
TITLE_HANDLE_CHARS = 60
# An engagement (like, share, reply) counts for this many followers when judging influence: a post with
# influential_min_reach / 10 engagements travels about as far as one from an influential account.
REACH_PER_ENGAGEMENT = 10
# C0/C1 controls (CR/LF included), line separators, the bidi overrides that can reorder what a reader sees,
# and lone surrogates (they cannot be encoded, so a message holding one fails every send)
_UNSAFE_CHARS_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]+")
_SEGMENT_LABELS = {"ambassador": "Ambassador", "fan": "Fan"}


@dataclass(frozen=True, slots=True)
class AlertDraft:
    kind: str
    dedupe_key: str
    severity: str  # info | warning | critical
    title: str
    detail: dict[str, Any]
    event_at: datetime
    brand_id: int
    mention_id: int | None = None
    author_id: int | None = None
    status: str = "open"  # open | resolved (an incident already over, or older than max_age_days)
    notify: bool = True  # whether a new alert gets its e-mails


@dataclass(frozen=True, slots=True)
class MentionFacts:
    """What the mention rules need to know about one classified mention matched to one brand.

    `is_own_account` comes from `monitor.scoring.profile.is_own_account`; `answered` is True when the brand
    already replied in the thread.
    """

    mention_id: int
    brand_id: int
    author_id: int | None
    source: str
    author_handle: str
    text: str
    created_at: datetime
    sentiment: str
    confidence: float
    intent: str
    reach: int | None = None
    engagement_total: int = 0
    url: str | None = None
    is_own_account: bool = False
    answered: bool = False


def plain_text(value: str, *, limit: int) -> str:
    """One line of at most `limit` characters: control characters and line breaks become spaces."""
    line = " ".join(_UNSAFE_CHARS_RE.sub(" ", value).split())
    return line if len(line) <= limit else line[: max(0, limit - 1)].rstrip() + "…"


def complaint_to_answer(facts: MentionFacts, *, settings: AlertSettings, now: datetime) -> AlertDraft | None:
    """A complaint or question to the brand that nobody answered yet, from someone other than the brand."""
    if facts.intent not in ("complaint", "question") or facts.is_own_account or facts.answered:
        return None
    if _too_old(facts.created_at, settings=settings, now=now):
        return None
    influential = _is_influential(facts, settings=settings)
    if facts.intent == "complaint":
        severity = "critical" if influential else "warning"
    else:
        severity = "warning" if influential else "info"
    return AlertDraft(
        kind="complaint_to_answer",
        dedupe_key=f"complaint:{facts.mention_id}",
        severity=severity,
        title=f"{facts.intent.capitalize()} to answer from {_who(facts)}",
        detail=_mention_detail(facts),
        event_at=facts.created_at,
        brand_id=facts.brand_id,
        mention_id=facts.mention_id,
        author_id=facts.author_id,
    )


def influential_negative(facts: MentionFacts, *, settings: AlertSettings, now: datetime) -> AlertDraft | None:
    """A negative mention from an author with reach ≥ influential_min_reach, or one with high engagement."""
    if facts.sentiment != "negative" or facts.is_own_account:
        return None
    if _too_old(facts.created_at, settings=settings, now=now) or not _is_influential(
        facts, settings=settings
    ):
        return None
    reach = max(0, facts.reach or 0)
    engagement = max(0, facts.engagement_total)
    critical = settings.influential_min_reach > 0 and reach >= 10 * settings.influential_min_reach
    return AlertDraft(
        kind="influential_negative",
        dedupe_key=f"negative:{facts.mention_id}",
        severity="critical" if critical else "warning",
        title=f"Negative mention from {_who(facts)} ({reach:,} reach, {engagement:,} engagements)",
        detail=_mention_detail(facts),
        event_at=facts.created_at,
        brand_id=facts.brand_id,
        mention_id=facts.mention_id,
        author_id=facts.author_id,
    )


def ambassador_at_risk(
    change: SegmentChangeEvent,
    *,
    author_id: int,
    brand_id: int,
    author_handle: str,
    caused_by_negative: bool,
    settings: AlertSettings,
    now: datetime,
) -> AlertDraft | None:
    """An ambassador or fan who turned critic or detractor, or neutral through a negative mention.

    `caused_by_negative`: the mention `change.mention_id` is negative or a complaint.
    """
    if change.from_segment not in _SEGMENT_LABELS:
        return None
    turned = change.to_segment in ("critic", "detractor") or (
        change.to_segment == "neutral" and caused_by_negative
    )
    if not turned or _too_old(change.changed_at, settings=settings, now=now):
        return None
    severe = change.from_segment == "ambassador" and change.to_segment == "detractor"
    handle = plain_text(author_handle, limit=TITLE_HANDLE_CHARS) or f"author {author_id}"
    return AlertDraft(
        kind="ambassador_at_risk",
        dedupe_key=f"at_risk:{author_id}:{brand_id}:{change.changed_at.isoformat()}",
        severity="critical" if severe else "warning",
        title=f"{_SEGMENT_LABELS[change.from_segment]} {handle} is now {change.to_segment}",
        detail={
            "from_segment": change.from_segment,
            "to_segment": change.to_segment,
            "changed_at": change.changed_at.isoformat(),
            "author_handle": handle,
            "caused_by_negative": caused_by_negative,
        },
        event_at=change.changed_at,
        brand_id=brand_id,
        mention_id=change.mention_id,
        author_id=author_id,
    )


def _too_old(event_at: datetime, *, settings: AlertSettings, now: datetime) -> bool:
    if now.tzinfo is None or event_at.tzinfo is None:
        raise ValueError("alert rules need aware UTC datetimes for now and event times")
    return now - event_at > timedelta(days=settings.max_age_days)


def _is_influential(facts: MentionFacts, *, settings: AlertSettings) -> bool:
    reach = max(0, facts.reach or 0)
    engagement = max(0, facts.engagement_total)
    return reach >= settings.influential_min_reach or (
        engagement * REACH_PER_ENGAGEMENT >= settings.influential_min_reach
    )


def _who(facts: MentionFacts) -> str:
    handle = plain_text(facts.author_handle, limit=TITLE_HANDLE_CHARS) or "an author"
    return f"{handle} on {plain_text(facts.source, limit=40)}"


def _mention_detail(facts: MentionFacts) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "excerpt": plain_text(facts.text, limit=EXCERPT_CHARS),
        "source": facts.source,
        "author_handle": facts.author_handle,
        "created_at": facts.created_at.isoformat(),
        "sentiment": facts.sentiment,
        "confidence": facts.confidence,
        "intent": facts.intent,
        "reach": facts.reach,
        "engagement": facts.engagement_total,
    }
    if facts.url:
        detail["url"] = facts.url
    return detail
