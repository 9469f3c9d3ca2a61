"""Who is told about an alert, and when: pure decisions, no I/O (monitor.service.notify does the rest).

Per alert (Alertmanager's grouping, inhibition and repeat interval, ../shared/RELIABILITY.md A-1 to A-3):
- a spike waits `group_wait_minutes` after it is stored; one that is over by then is recorded, not pushed;
- an influential negative inside an open negative spike of its brand is not pushed (rolled into the spike;
  one whose mention is in an inbox item raised no alert at all, monitor.alerts.evaluate.fold_into_inbox).
  `complaint_to_answer` is no longer raised (complaints are the inbox's work queue); its old alerts route
  as before;
- an alert already pushed is pushed again when its severity rises, and reminded every `repeat_hours` while
  it stays open and unacknowledged, at most `max_reminders` times (an acknowledged or resolved one gets no
  more); a resolved one is not pushed;
- an alert that is already over when first seen, or older than `max_age_days`, is recorded only.

Per user: the alert must be of a brand, kind and severity the user follows; it goes out at once only for
`immediate` users outside their quiet hours (local time) and below `max_immediate_per_hour` e-mails in the
last hour, otherwise it is rolled into the user's next digest. The cap counts every immediate e-mail, a
spike's too: a spike that finds it used up goes to the digest (webhooks are not capped).

Reminders never take a new alert's place (`for_user(..., reminder=True)`): a pass routes new alerts and
updates first and reminders after them, and a reminder goes out only while the user's immediate e-mails of
the last hour are below `reminder_room(cap)`, half the cap (rounded down), so the other half of every hour
is kept for new alerts; a reminder without room is skipped (the digest lists open alerts anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "SEVERITY_RANK",
    "AlertAction",
    "AlertState",
    "Notice",
    "Recipient",
    "alert_action",
    "for_user",
    "in_quiet_hours",
    "reminder_room",
    "severity_at_least",
    "wants",
]

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
SPIKE_KIND = "negative_spike"
GROUPED_KINDS = frozenset({"negative_spike", "volume_spike"})
LIVE = frozenset({"open", "acknowledged"})
INHIBITED_BY_SPIKE = frozenset({"influential_negative", "complaint_to_answer"})
AlertAction = Literal["wait", "push", "update", "remind", "record", "inhibit", "none"]
UserChoice = Literal["push", "digest", "skip"]


@dataclass(frozen=True, slots=True)
class AlertState:
    id: int
    brand_id: int
    kind: str
    severity: str
    status: str
    event_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Notice:
    state: str  # waiting | pushed | recorded | inhibited
    pushed_severity: str
    reminders: int
    last_pushed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    email: str
    language: str
    timezone: str
    brand_ids: tuple[int, ...]
    alert_kinds: tuple[str, ...]
    min_severity: str
    delivery: str  # immediate | digest_only
    digest_hour: int
    quiet_start: time | None
    quiet_end: time | None


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(minimum, 2)


def alert_action(
    alert: AlertState,
    notice: Notice | None,
    *,
    open_spike_ids: Sequence[int],
    now: datetime,
    group_wait: timedelta,
    repeat: timedelta | None,
    max_age: timedelta,
    max_reminders: int,
) -> AlertAction:
    """What to do with `alert` now. `open_spike_ids`: the open negative spikes of its brand that cover its
    time (for inhibition); `max_reminders`: how many reminders an alert gets at most."""
    if notice is None or notice.state == "waiting":
        if alert.status not in LIVE or now - alert.event_at > max_age:
            return "record"
        if alert.kind in INHIBITED_BY_SPIKE and open_spike_ids:
            return "inhibit"
        if alert.kind in GROUPED_KINDS and now - alert.created_at < group_wait:
            return "wait"
        return "push"
    if notice.state != "pushed" or alert.status != "open":
        return "none"
    if SEVERITY_RANK.get(alert.severity, 0) > SEVERITY_RANK.get(notice.pushed_severity, 0):
        return "update"
    recent = now - alert.event_at <= max_age  # no reminders of an alert past the age that raises none
    if (
        repeat
        and recent
        and notice.reminders < max_reminders
        and notice.last_pushed_at is not None
        and now - notice.last_pushed_at >= repeat
    ):
        return "remind"
    return "none"


def wants(recipient: Recipient, alert: AlertState) -> bool:
    """Whether the user follows this alert's brand, kind and severity (empty lists: every one)."""
    return (
        (not recipient.brand_ids or alert.brand_id in recipient.brand_ids)
        and (not recipient.alert_kinds or alert.kind in recipient.alert_kinds)
        and severity_at_least(alert.severity, recipient.min_severity)
    )


def in_quiet_hours(recipient: Recipient, now: datetime) -> bool:
    """Whether `now`, on the user's clock, falls in their quiet hours (which may span midnight)."""
    start, end = recipient.quiet_start, recipient.quiet_end
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(ZoneInfo(recipient.timezone)).time().replace(tzinfo=None)
    return start <= local < end if start < end else local >= start or local < end


def reminder_room(cap: int) -> int:
    """Reminders go out only while a user's immediate e-mails of the last hour are fewer than this: half the
    hourly cap, rounded down, so at least the other half stays free for new alerts."""
    return cap // 2


def for_user(
    recipient: Recipient,
    alert: AlertState,
    *,
    now: datetime,
    sent_last_hour: int,
    cap: int,
    reminder: bool = False,
) -> UserChoice:
    """Push now, roll into the digest, or skip (the user does not follow it or has no address).

    A `reminder` is pushed only below `reminder_room(cap)` e-mails in the last hour, else it is left to the
    digest like an alert over the cap."""
    if not recipient.email or not wants(recipient, alert):
        return "skip"
    limit = reminder_room(cap) if reminder else cap
    if recipient.delivery != "immediate" or in_quiet_hours(recipient, now) or sent_last_hour >= limit:
        return "digest"
    return "push"
