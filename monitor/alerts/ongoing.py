"""Alerts about a state that lasts (overdue inbox items, a source down or silent, a rating drop): one live
alert per subject (a brand, a source), inserted when the cause appears, updated while it lasts (no new
e-mail unless its severity changes: routing's update), resolved when it ends.

A draft names its subject in `detail["subject"]`. A new cause is stored through `store_alerts` (dedupe key,
e-mails for `[alerts] email_to`), so running the watch twice adds nothing; an alert a person resolved while
the cause still holds stays resolved (its dedupe key is taken) until the cause ends and comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from monitor.alerts.evaluate import store_alerts
from monitor.alerts.rules import AlertDraft
from monitor.storage.watched_alerts import live_alerts, resolve_alerts, update_alert

__all__ = ["OngoingResult", "store_ongoing"]


@dataclass(slots=True)
class OngoingResult:
    opened: int = 0
    updated: int = 0
    resolved: int = 0


def store_ongoing(
    conn: Connection,
    *,
    kind: str,
    drafts: Sequence[AlertDraft],
    recipients: Sequence[str],
    now: datetime,
    checked: Callable[[str], bool] | None = None,
) -> OngoingResult:
    """Bring the live alerts of `kind` in line with `drafts` (the causes that hold now).

    A live alert whose subject has no draft is resolved, when `checked(subject)` says the watch looked at
    that subject this time (None: every subject was looked at)."""
    result = OngoingResult()
    live = {str((row.detail or {}).get("subject")): row for row in live_alerts(conn, kind=kind)}
    wanted: dict[str, AlertDraft] = {}
    for draft in drafts:
        if draft.kind != kind or "subject" not in draft.detail:
            raise ValueError(f"store_ongoing({kind!r}) got a {draft.kind!r} draft without a subject")
        wanted[str(draft.detail["subject"])] = draft
    new: list[AlertDraft] = []
    for subject, draft in wanted.items():
        row = live.get(subject)
        if row is None:
            new.append(draft)
            continue
        update_alert(conn, int(row.id), severity=draft.severity, title=draft.title, detail=draft.detail)
        result.updated += 1
    result.opened = store_alerts(conn, drafts=new, recipients=recipients, now=now)
    ended = [
        (int(row.id), {**(row.detail or {}), "state": "ended", "ended_at": now.isoformat()})
        for subject, row in live.items()
        if subject not in wanted and (checked is None or checked(subject))
    ]
    result.resolved = resolve_alerts(conn, ended)
    return result
