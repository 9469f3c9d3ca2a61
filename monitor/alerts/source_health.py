"""Source down or silent: one alert per collector source, open while the cause lasts, resolved when the
source recovers (monitor.service.watch stores them; one per source, filed under the first own brand that
is collected from it, with every brand it serves in its detail).

Pure. The rules:

- **source_down**: the source's last run failed (`consecutive_failures` ≥ 1) and it has had no successful
  run for `alerts.source_down_hours` (counted from its last success, or from its first recorded run when it
  never succeeded). Critical from four times that. A rate limit's back-off is not a failure.
- **source_silent**: the source runs fine but delivered no new mention for longer than
  `alerts.source_silent_factor` × its usual longest gap in a day, and at least
  `alerts.source_silent_min_hours`. The usual longest gap is the median, over the days of the last
  `alerts.source_history_days`, of each day's longest gap between deliveries (the times new mentions were
  stored; deliveries within a minute are one), so a source that is quiet every night learns its night and
  a one-off outage in its history does not move it. It needs `alerts.source_silent_min_deliveries`
  deliveries first. A failing source is down, not silent.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.alerts.reasons import SOURCE_DOWN, SOURCE_SILENT, reason
from monitor.alerts.rules import AlertDraft, plain_text
from monitor.config import AlertSettings

__all__ = ["SourceFacts", "distinct_deliveries", "source_down", "source_silent", "usual_gap_hours"]

_SAME_DELIVERY = timedelta(minutes=1)
ERROR_CHARS = 200


@dataclass(frozen=True, slots=True)
class SourceFacts:
    source: str
    brand_id: int  # the alert's brand: the first own brand collected from the source
    brands: tuple[str, ...]
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    first_run_at: datetime | None = None
    last_error: str = ""
    last_found_at: datetime | None = None
    deliveries: Sequence[datetime] = field(default_factory=tuple)  # within the history, oldest first


def distinct_deliveries(times: Sequence[datetime]) -> list[datetime]:
    """`times` sorted, with those within a minute of the previous kept one left out."""
    kept: list[datetime] = []
    for at in sorted(times):
        if not kept or at - kept[-1] >= _SAME_DELIVERY:
            kept.append(at)
    return kept


def usual_gap_hours(times: Sequence[datetime], *, min_deliveries: int) -> float | None:
    """The median over days of each day's longest gap between deliveries, in hours; None with fewer than
    `min_deliveries` deliveries."""
    kept = distinct_deliveries(times)
    if len(kept) < max(2, min_deliveries):
        return None
    longest: dict[object, float] = defaultdict(float)
    for before, after in itertools.pairwise(kept):
        day = after.date()
        longest[day] = max(longest[day], (after - before).total_seconds() / 3600)
    return float(statistics.median(longest.values())) if longest else None


def _subject(facts: SourceFacts) -> str:
    return f"source:{facts.source}"


def source_down(facts: SourceFacts, *, settings: AlertSettings, now: datetime) -> AlertDraft | None:
    """The source's alert when it fails for longer than `alerts.source_down_hours`, else None."""
    since = facts.last_success_at or facts.first_run_at
    if facts.consecutive_failures < 1 or since is None:
        return None
    hours = (now - since).total_seconds() / 3600
    if hours < settings.source_down_hours:
        return None
    source = plain_text(facts.source, limit=40)
    error = plain_text(facts.last_error, limit=ERROR_CHARS) or "-"
    return AlertDraft(
        kind="source_down",
        dedupe_key=f"source_down:{facts.source}:{since.isoformat()}",
        severity="critical" if hours >= 4 * settings.source_down_hours else "warning",
        title=f"Source {source} is down: no successful run for {hours:.0f} h",
        detail={
            "subject": _subject(facts),
            "source": facts.source,
            "brands": list(facts.brands),
            "failing_since": since.isoformat(),
            "consecutive_failures": facts.consecutive_failures,
            "down_hours": round(hours, 1),
            "last_error": error,
            "reason": reason(
                SOURCE_DOWN,
                source=source,
                hours=round(hours, 1),
                failures=facts.consecutive_failures,
                error=error,
            ),
        },
        event_at=since,
        brand_id=facts.brand_id,
    )


def source_silent(facts: SourceFacts, *, settings: AlertSettings, now: datetime) -> AlertDraft | None:
    """The source's alert when it delivered nothing for far longer than its usual gap, else None."""
    if facts.consecutive_failures:
        return None
    usual = usual_gap_hours(facts.deliveries, min_deliveries=settings.source_silent_min_deliveries)
    candidates = [at for at in (facts.last_found_at, *facts.deliveries[-1:]) if at is not None]
    if usual is None or not candidates:
        return None
    last = max(candidates)
    hours = (now - last).total_seconds() / 3600
    threshold = max(settings.source_silent_min_hours, settings.source_silent_factor * usual)
    if hours < threshold:
        return None
    source = plain_text(facts.source, limit=40)
    deliveries = len(distinct_deliveries(facts.deliveries))
    return AlertDraft(
        kind="source_silent",
        dedupe_key=f"source_silent:{facts.source}:{last.isoformat()}",
        severity="warning",
        title=f"Source {source} is silent: no new mentions for {hours:.0f} h",
        detail={
            "subject": _subject(facts),
            "source": facts.source,
            "brands": list(facts.brands),
            "last_delivery_at": last.isoformat(),
            "silent_hours": round(hours, 1),
            "usual_gap_hours": round(usual, 1),
            "threshold_hours": round(threshold, 1),
            "deliveries": deliveries,
            "reason": reason(
                SOURCE_SILENT,
                source=source,
                hours=round(hours, 1),
                usual=round(usual, 1),
                deliveries=deliveries,
            ),
        },
        event_at=last,
        brand_id=facts.brand_id,
    )
