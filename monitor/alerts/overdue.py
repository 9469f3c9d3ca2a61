"""First-response target missed: one alert per brand listing its inbox items past their due time with no
first response, updated while any is left, resolved when none is (monitor.service.watch stores it).

Pure. An item counts while it is open or acknowledged, has no first response and `due_at` has passed; one
answered, resolved or dismissed no longer does. Grouping per brand keeps a backlog from becoming a storm of
alerts: twenty overdue items are one alert that says twenty. Severity: warning, critical once the oldest
is overdue by more than the target itself (`[inbox] first_response_hours`) or five items or more are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.alerts.reasons import FIRST_RESPONSE_MISSED, reason
from monitor.alerts.rules import TITLE_HANDLE_CHARS, AlertDraft, plain_text

__all__ = ["ITEMS_LISTED", "OverdueItem", "first_response_drafts", "overdue_key"]

ITEMS_LISTED = 50
CRITICAL_COUNT = 5


@dataclass(frozen=True, slots=True)
class OverdueItem:
    """An inbox item past its due time with no first response."""

    item_id: int
    brand_id: int
    due_at: datetime
    opened_at: datetime
    first_mention_id: int
    intent: str
    author_handle: str
    target_hours: float


def overdue_key(brand_id: int, since: datetime) -> str:
    """One alert per stretch of overdue items of a brand: named after the earliest due time it began with."""
    return f"first_response_missed:{brand_id}:{since.isoformat()}"


def first_response_drafts(items: Sequence[OverdueItem], *, now: datetime) -> list[AlertDraft]:
    """One draft per brand with overdue items (`items` are those already past due, as read at `now`)."""
    if now.tzinfo is None:
        raise ValueError("first_response_drafts needs an aware UTC now")
    by_brand: dict[int, list[OverdueItem]] = defaultdict(list)
    for item in items:
        if item.due_at <= now:
            by_brand[item.brand_id].append(item)
    drafts: list[AlertDraft] = []
    for brand_id, overdue in sorted(by_brand.items()):
        overdue.sort(key=lambda i: (i.due_at, i.item_id))
        oldest = overdue[0]
        late_hours = (now - oldest.due_at).total_seconds() / 3600
        critical = len(overdue) >= CRITICAL_COUNT or late_hours > oldest.target_hours
        listed = overdue[:ITEMS_LISTED]
        drafts.append(
            AlertDraft(
                kind="first_response_missed",
                dedupe_key=overdue_key(brand_id, oldest.due_at),
                severity="critical" if critical else "warning",
                title=f"{len(overdue)} inbox item{'s' if len(overdue) != 1 else ''} past the first-response target",
                detail={
                    "subject": f"brand:{brand_id}",
                    "count": len(overdue),
                    "oldest_due_at": oldest.due_at.isoformat(),
                    "overdue_hours": round(late_hours, 1),
                    "items": [
                        {
                            "id": i.item_id,
                            "intent": i.intent,
                            "author_handle": plain_text(i.author_handle, limit=TITLE_HANDLE_CHARS),
                            "due_at": i.due_at.isoformat(),
                        }
                        for i in listed
                    ],
                    "mention_ids": [i.first_mention_id for i in listed],
                    "reason": reason(FIRST_RESPONSE_MISSED, count=len(overdue), hours=round(late_hours, 1)),
                },
                event_at=oldest.due_at,
                brand_id=brand_id,
            )
        )
    return drafts
