"""The alerts watched over time rather than raised by a new mention: inbox items past their first-response
target, sources down or silent, a brand's star rating dropping. One pass reads the facts, lets the pure
rules decide (monitor.alerts.overdue, source_health, rating_drop) and keeps one live alert per subject
(monitor.alerts.ongoing): opened, updated while the cause lasts, resolved when it ends.

Run by the `watch-alerts` job of `wom run` and before the delivery of `wom process --deliver`; running it
twice, or in two processes at once, stores nothing twice (dedupe keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from monitor.alerts.ongoing import OngoingResult, store_ongoing
from monitor.alerts.overdue import OverdueItem, first_response_drafts
from monitor.alerts.rating_drop import Rating, rating_drop
from monitor.alerts.rules import AlertDraft
from monitor.alerts.source_health import SourceFacts, source_down, source_silent
from monitor.config import Settings
from monitor.service.status import SourceOut, source_health
from monitor.storage.db import writable
from monitor.storage.outbox import legacy_recipients
from monitor.storage.watched_alerts import (
    brand_ids_by_name,
    delivery_times,
    first_run_at,
    overdue_item_rows,
    rating_rows,
)

__all__ = ["WATCHED_KINDS", "WatchResult", "watch_alerts"]

WATCHED_KINDS = ("first_response_missed", "source_down", "source_silent", "review_rating_drop")


@dataclass(slots=True)
class WatchResult:
    """Per kind: alerts opened, updated and resolved by one pass."""

    kinds: dict[str, OngoingResult] = field(default_factory=dict)

    @property
    def opened(self) -> int:
        return sum(r.opened for r in self.kinds.values())

    @property
    def resolved(self) -> int:
        return sum(r.resolved for r in self.kinds.values())


def _overdue_drafts(conn: Connection, *, now: datetime) -> list[AlertDraft]:
    items = [
        OverdueItem(
            item_id=int(row.id),
            brand_id=int(row.brand_id),
            due_at=row.due_at,
            opened_at=row.opened_at,
            first_mention_id=int(row.first_mention_id),
            intent=str(row.intent),
            author_handle=str(row.author_handle or ""),
            target_hours=max(0.0, (row.due_at - row.opened_at).total_seconds() / 3600),
        )
        for row in overdue_item_rows(conn, now=now)
    ]
    return first_response_drafts(items, now=now)


def _source_facts(
    conn: Connection, settings: Settings, healths: list[SourceOut], *, now: datetime
) -> tuple[list[SourceFacts], set[str]]:
    """The facts of every source collected for an own brand, and the subjects looked at (a disabled
    source's is looked at and has no cause: its alert is resolved)."""
    from monitor.service.schedule import collect_job_name  # schedule imports this module

    brands = brand_ids_by_name(conn)
    history = timedelta(days=settings.alerts.source_history_days)
    facts: list[SourceFacts] = []
    checked: set[str] = set()
    for health in healths:
        own = sorted(brands[name][0] for name in health.brands if name in brands and brands[name][1])
        if not own:
            continue
        checked.add(f"source:{health.source}")
        if health.state == "disabled":
            continue
        facts.append(
            SourceFacts(
                source=health.source,
                brand_id=own[0],
                brands=tuple(health.brands),
                consecutive_failures=health.consecutive_failures,
                last_success_at=health.last_success_at,
                first_run_at=first_run_at(conn, name=collect_job_name(health.source)) or health.last_run_at,
                last_error=health.message,
                last_found_at=health.last_found_at,
                deliveries=delivery_times(conn, source=health.source, since=now - history, until=now),
            )
        )
    return facts, checked


def _rating_drafts(conn: Connection, settings: Settings, *, now: datetime) -> list[AlertDraft]:
    alerts = settings.alerts
    since = now - timedelta(days=alerts.rating_window_days + alerts.rating_baseline_days)
    by_brand: dict[int, list[Rating]] = {}
    for row in rating_rows(conn, since=since, until=now):
        by_brand.setdefault(int(row.brand_id), []).append(
            Rating(int(row.id), str(row.source), row.created_at, float(row.rating))
        )
    return [
        draft
        for brand_id, ratings in sorted(by_brand.items())
        if (draft := rating_drop(ratings, brand_id=brand_id, settings=alerts, now=now)) is not None
    ]


def watch_alerts(
    engine: Engine, settings: Settings, *, now: datetime, environ: Mapping[str, str] | None = None
) -> WatchResult:
    """One pass over the watched kinds at `now` (aware UTC), in one transaction."""
    result = WatchResult()
    healths = source_health(settings, engine, environ=environ, now=now)  # before the write lock
    with writable(engine).begin() as conn:
        recipients = legacy_recipients(conn, settings.alerts.email_to)

        def store(kind: str, drafts: list[AlertDraft], checked: set[str] | None = None) -> None:
            result.kinds[kind] = store_ongoing(
                conn,
                kind=kind,
                drafts=drafts,
                recipients=recipients,
                now=now,
                checked=None if checked is None else checked.__contains__,
            )

        store(
            "first_response_missed",
            _overdue_drafts(conn, now=now) if settings.alerts.first_response_missed else [],
        )
        facts, checked = _source_facts(conn, settings, healths, now=now)
        store(
            "source_down",
            [d for f in facts if (d := source_down(f, settings=settings.alerts, now=now)) is not None],
            checked,
        )
        store(
            "source_silent",
            [d for f in facts if (d := source_silent(f, settings=settings.alerts, now=now)) is not None],
            checked,
        )
        store("review_rating_drop", _rating_drafts(conn, settings, now=now))
    return result
