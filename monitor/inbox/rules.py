"""The inbox's decisions, pure: a mention's conversation, whether it opens an item (`opens_item`: the
opening rules, in one place), what it does to the item it joins, an item's priority and due time, and which
action fits which state.

Priority, 0 to 100, from the item's author mentions (the highest wins; the brand's replies do not count):

    reach      40 * min(1, log10(1 + reach) / 5)        100,000 followers or more: the full 40
    sentiment  25 negative, 10 neutral, 0 positive
    segment    20 ambassador, 15 fan or detractor, 10 critic, 5 otherwise (the author's segment for the
               brand when the mention was processed)
    age        15 * (1 - min(1, hours from posting to collecting / 168)): a fresh post gets the full 15, one
               wom found a week or more after it was written (a backfill) none

Due: the first mention's time + the brand's first-response target ([[brands]] first_response_hours, else
[inbox] first_response_hours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "ACTIONS",
    "DISMISS_REASONS",
    "OPENING_INTENTS",
    "STATUSES",
    "SUPPRESSING_REASONS",
    "Action",
    "FollowUp",
    "MentionRole",
    "action_target",
    "due_at",
    "follow_up",
    "opens_item",
    "priority",
    "thread_key",
]

STATUSES = ("open", "acknowledged", "answered", "resolved", "dismissed")
DISMISS_REASONS = ("not_relevant", "spam", "bot", "handled_elsewhere")
# a dismissal for these reasons suppresses the author: no new items, no score (until the item is reopened)
SUPPRESSING_REASONS = ("spam", "bot")
OPENING_INTENTS = ("complaint", "question")
Action = Literal["ack", "assign", "answer", "resolve", "dismiss", "reopen"]
MentionRole = Literal["author", "own", "other"]

_WAITING = ("open", "acknowledged")
_LIVE = ("open", "acknowledged", "answered")
# action -> (the states it fits, the state it leads to; None keeps the state)
ACTIONS: dict[Action, tuple[tuple[str, ...], str | None]] = {
    "ack": (("open",), "acknowledged"),
    "assign": (_LIVE, None),
    "answer": (_WAITING, "answered"),
    "resolve": (_LIVE, "resolved"),
    "dismiss": (_LIVE, "dismissed"),
    "reopen": (("answered", "resolved", "dismissed"), "open"),
}
_SENTIMENT_POINTS = {"negative": 25.0, "neutral": 10.0, "positive": 0.0}
_SEGMENT_POINTS = {"ambassador": 20.0, "fan": 15.0, "detractor": 15.0, "critic": 10.0}
_LATE_HOURS = 168.0


def thread_key(source: str, external_id: str, *, thread_id: str | None, in_reply_to: str | None) -> str:
    """The conversation of a mention: its thread's id, else the post it replies to, else its own id."""
    return f"{source}:{thread_id or in_reply_to or external_id}"


def opens_item(
    intent: str | None,
    *,
    own_account: bool,
    suppressed: bool,
    automated: bool = False,
    sentiment: str | None = None,
    rating: float | None,
    intent_labeled: bool,
    intent_confidence: float | None,
    complaint_max_rating: float,
    min_complaint_confidence: float,
) -> bool:
    """Whether a mention that joins no item opens one: the inbox's opening rules, all of which must hold.

    1. Intent: a complaint or a question (the mention's effective intent, a person's label winning).
    2. Who: someone other than the brand (`own_account`: its own or a staff account), whose author is not
       suppressed (dismissed as spam or a bot by a person) nor `automated` (a bot or giveaway spammer by
       the author's profile).
    3. Tone: the message is not positive. A positive message is praise whatever intent the model also
       reads in it: a complaint that is positive contradicts itself, and a positive "question" is mostly
       rhetorical ("how long is the Christmas blend still on?" after "delicious"). On the demo sample this
       was the model's commonest kind of wrong item (praise read as a complaint or question); a person who
       corrects the sentiment to neutral or negative brings the mention back (the sentiment here is the
       effective one, a label winning).
    4. Stars: a review (a mention with a `rating`, 1 to 5) rated above `complaint_max_rating` ([inbox]
       complaint_max_rating, default 2) opens no item. The reviewer's stars are their own verdict: a
       3-star review is "average" on the review sites, and the complaint the model reads in a 3 to 5 star
       review is the "but" of a mixed or happy one ("Good but pricey", "They forgot a bag and sent it the
       same day"), which the shop may thank or answer from the review feed but need not work through. The
       model reads no question in a review (monitor.classify.intent), so this only decides complaints. A
       person who labels the review's intent (`intent_labeled`) brings it back.
    5. Doubt: a complaint in a neutral message opens no item when the model is unsure of it, its
       `intent_confidence` (P(complaint)) under `min_complaint_confidence` ([inbox]
       min_complaint_confidence, default 0.3). The model calls a text a complaint from a low threshold
       (monitor.classify's calibration), which suits counting complaints; a neutral text just over it is
       mostly news or chatter about the shop ("Net mijn eerste bestelling geplaatst, eens kijken of het de
       hype waard is"), which no one need answer. A negative message keeps its complaint however unsure
       the model is, and a person's label (intent confidence 1) brings the mention back.
    """
    return (
        intent in OPENING_INTENTS
        and not own_account
        and not suppressed
        and not automated
        and sentiment != "positive"
        and (intent_labeled or rating is None or rating <= complaint_max_rating)
        and not (
            intent == "complaint"
            and sentiment == "neutral"
            and intent_confidence is not None
            and intent_confidence < min_complaint_confidence
        )
    )


def priority(
    *, reach: int | None, sentiment: str | None, segment: str | None, created_at: datetime, seen_at: datetime
) -> float:
    """The formula of the module docstring, rounded to 0.1."""
    reach_points = 40.0 * min(1.0, math.log10(1 + max(0, reach or 0)) / 5)
    late_hours = max(0.0, (seen_at - created_at).total_seconds() / 3600)
    age_points = 15.0 * (1 - min(1.0, late_hours / _LATE_HOURS))
    total = (
        reach_points
        + _SENTIMENT_POINTS.get(sentiment or "", 10.0)
        + _SEGMENT_POINTS.get(segment or "", 5.0)
        + age_points
    )
    return round(total, 1)


def due_at(opened_at: datetime, *, target_hours: float) -> datetime:
    return opened_at + timedelta(hours=target_hours)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What a mention that joins an item does to it: the new status and the event that says why."""

    status: str
    action: str  # answered (by the brand's reply) or reopened (the author wrote again)


def follow_up(
    status: str,
    *,
    role: MentionRole,
    at: datetime,
    answered_at: datetime | None,
    resolved_at: datetime | None,
) -> FollowUp | None:
    """The brand's reply answers a waiting item; the author writing after the answer (or the resolution)
    reopens it. Anyone else, and a dismissed item, change nothing."""
    if role == "own" and status in _WAITING:
        return FollowUp("answered", "answered")
    if role == "author" and status in ("answered", "resolved"):
        since = resolved_at if status == "resolved" else answered_at
        if since is None or at > since:
            return FollowUp("open", "reopened")
    return None


def action_target(action: Action, status: str) -> str | None:
    """The state `action` leads to from `status` (the same state for assign); None when it does not fit."""
    allowed, target = ACTIONS[action]
    if status not in allowed:
        return None
    return target or status
