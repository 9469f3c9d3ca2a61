"""The why of an alert in words, in the reader's language.

A rule stores `detail["reason"] = {"text": <one of REASONS>, "args": {...}}`: the English sentence with
named placeholders and the values that fill it. `reason_text` translates the sentence with the e-mail
catalogue (monitor/locale) and fills it; only the sentences listed here are ever used as a format, so a
stored row cannot bring its own, and every value is cut to one line of plain text (each channel escapes it
for its own format: the HTML e-mail through its autoescaping template).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.alerts.i18n import translations
from monitor.alerts.rules import plain_text

__all__ = [
    "DETRACTOR_EMERGING",
    "FIRST_RESPONSE_MISSED",
    "NEW_AMBASSADOR",
    "REASONS",
    "REVIEW_RATING_DROP",
    "SOURCE_DOWN",
    "SOURCE_SILENT",
    "reason",
    "reason_text",
]

ARG_CHARS = 160


def N_(text: str) -> str:
    """Marks `text` for the catalogue without translating it here."""
    return text


FIRST_RESPONSE_MISSED = N_(
    "Inbox items past their first-response target without a response: %(count)s. The oldest has been "
    "overdue for %(hours)s h."
)
SOURCE_DOWN = N_(
    "%(source)s has had no successful run for %(hours)s h (%(failures)s failed runs in a row); last "
    "error: %(error)s"
)
SOURCE_SILENT = N_(
    "%(source)s has delivered no mentions for %(hours)s h, while its usual longest gap in a day is "
    "%(usual)s h (learnt from %(deliveries)s deliveries)."
)
NEW_AMBASSADOR = N_(
    "%(author)s is now an ambassador: %(positive)s positive of %(mentions)s mentions, reach %(reach)s."
)
DETRACTOR_EMERGING = N_(
    "%(author)s is now a detractor: %(negative)s negative mentions or complaints in the last %(days)s days, "
    "reach %(reach)s."
)
REVIEW_RATING_DROP = N_(
    "The mean star rating fell to %(recent)s from %(baseline)s: %(recent_count)s ratings in the last "
    "%(days)s days against %(baseline_count)s before (one-sided Welch t-test, p = %(p)s)."
)
REASONS = frozenset(
    {
        FIRST_RESPONSE_MISSED,
        SOURCE_DOWN,
        SOURCE_SILENT,
        NEW_AMBASSADOR,
        DETRACTOR_EMERGING,
        REVIEW_RATING_DROP,
    }
)


def reason(text: str, **args: str | int | float) -> dict[str, Any]:
    """The stored form of a why: `text` (one of REASONS) and the values of its placeholders."""
    if text not in REASONS:
        raise ValueError(f"{text!r} is not one of the alert reasons in monitor/alerts/reasons.py")
    return {"text": text, "args": dict(args)}


def _value(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else f"{value:.3g}"
    return plain_text(str(value), limit=ARG_CHARS)


def reason_text(detail: Mapping[str, Any] | None, *, language: str = "en") -> str | None:
    """The alert's why as one sentence in `language` (nl or en), or None when it has none (or a broken one)."""
    stored = (detail or {}).get("reason")
    if not isinstance(stored, Mapping):
        return None
    text, args = stored.get("text"), stored.get("args")
    if text not in REASONS or not isinstance(args, Mapping):
        return None
    values = {str(key): _value(value) for key, value in args.items()}
    for sentence in (translations(language).gettext(str(text)), str(text)):
        try:
            return sentence % values
        except (KeyError, TypeError, ValueError):
            continue
    return None
