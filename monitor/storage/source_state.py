"""Per-source state: back-off after a rate limit or repeated failures, and when a source last found something.

The back-off is read before a source runs and written after; it never blocks another source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.models import SourceState
from monitor.storage.tables import table_of

__all__ = ["SourceStatus", "load_states", "record_outcome"]

_STATE = table_of(SourceState)
MAX_FAILURE_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: str
    backoff_until: datetime | None = None
    backoff_reason: str = ""
    consecutive_failures: int = 0
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_found_at: datetime | None = None
    found_total: int = 0

    def backing_off(self, now: datetime) -> bool:
        return self.backoff_until is not None and self.backoff_until > now

    def silent(self, now: datetime, after: timedelta) -> bool:
        """Found items before, and nothing new for `after` while running: a broken scraper or a revoked key."""
        if self.found_total == 0 or self.last_found_at is None or self.last_run_at is None:
            return False
        return self.last_run_at - self.last_found_at >= after and now - self.last_found_at >= after


def load_states(engine: Engine) -> dict[str, SourceStatus]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_STATE)).mappings().all()
    return {row["source"]: SourceStatus(**dict(row)) for row in rows}


def record_outcome(
    engine: Engine,
    source: str,
    *,
    now: datetime,
    succeeded: bool,
    new: int,
    retry_at: datetime | None = None,
    reason: str = "",
    interval: timedelta = timedelta(minutes=15),
) -> SourceStatus:
    """Stores how a run of `source` went and returns the new state.

    A rate limit backs off until `retry_at`. A failure backs off one interval, doubling with each
    consecutive failure up to MAX_FAILURE_BACKOFF. A success clears both."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(_STATE).where(_STATE.c.source == source)).mappings().first()
        old = SourceStatus(**dict(row)) if row else SourceStatus(source)
        failures = 0 if succeeded else old.consecutive_failures + (0 if retry_at else 1)
        backoff_until: datetime | None = None
        if retry_at is not None:
            backoff_until = retry_at
        elif not succeeded:
            backoff_until = now + min(interval * 2 ** max(failures - 1, 0), MAX_FAILURE_BACKOFF)
        values = {
            "backoff_until": backoff_until,
            "backoff_reason": reason if backoff_until else "",
            "consecutive_failures": failures,
            "last_run_at": now,
            "last_success_at": now if succeeded else old.last_success_at,
            "last_found_at": now if new > 0 else old.last_found_at,
            "found_total": old.found_total + new,
        }
        if row:
            conn.execute(sa.update(_STATE).where(_STATE.c.source == source).values(values))
        else:
            conn.execute(sa.insert(_STATE).values(source=source, **values))
    return SourceStatus(source, **values)  # type: ignore[arg-type]
