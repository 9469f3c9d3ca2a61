"""How each configured source stands, for `wom status` and the API: disabled, backing off, silent or ok."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from monitor.collectors.base import CollectorError
from monitor.collectors.registry import load_spec
from monitor.collectors.runner import configured_sources
from monitor.config import Settings
from monitor.storage.source_state import SourceStatus, load_states

__all__ = ["SourceHealth", "source_health"]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    state: str  # ok, disabled, backing_off, silent, failing, never_run
    message: str
    brands: list[str]
    backoff_until: datetime | None
    consecutive_failures: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_found_at: datetime | None
    found_total: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _brands_of(settings: Settings, source: str) -> list[str]:
    return [
        entry.name
        for brand in settings.brands
        for entry in [brand, *brand.competitors]
        if getattr(entry.collect, source) is not None
    ]


def _missing_credentials(source: str, environ: Mapping[str, str]) -> str:
    try:
        spec = load_spec(source)
    except CollectorError as e:
        return str(e)
    missing = [name for name in spec.credentials if not environ.get(name, "").strip()]
    if missing:
        return f"set the environment variable{'s' if len(missing) > 1 else ''} {' and '.join(missing)}"
    return ""


def source_health(
    settings: Settings,
    engine: Engine,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[SourceHealth]:
    """One entry per source some brand is collected from."""
    now = now or datetime.now(UTC)
    environ = os.environ if environ is None else environ
    states = load_states(engine)
    silent_after = timedelta(hours=settings.collectors.silent_after_hours)
    health: list[SourceHealth] = []
    for source in configured_sources(settings):
        status = states.get(source, SourceStatus(source))
        missing = _missing_credentials(source, environ)
        if not settings.collectors.source(source).enabled:
            state, message = "disabled", f"disabled in the config ([collectors.{source}] enabled = false)"
        elif missing:
            state, message = "disabled", missing
        elif status.backing_off(now):
            state = "backing_off"
            message = f"backing off until {status.backoff_until:%Y-%m-%d %H:%M} UTC: {status.backoff_reason}"
        elif status.silent(now, silent_after):
            state = "silent"
            message = (
                f"found nothing new since {status.last_found_at:%Y-%m-%d %H:%M} UTC although it found "
                f"{status.found_total:,} items before; check its key, query and base URL"
            )
        elif status.consecutive_failures:
            state, message = "failing", f"{status.consecutive_failures} failed run(s) in a row"
        elif status.last_run_at is None:
            state, message = "never_run", "not run yet"
        else:
            state, message = "ok", ""
        health.append(
            SourceHealth(
                source=source,
                state=state,
                message=message,
                brands=_brands_of(settings, source),
                backoff_until=status.backoff_until if status.backing_off(now) else None,
                consecutive_failures=status.consecutive_failures,
                last_run_at=status.last_run_at,
                last_success_at=status.last_success_at,
                last_found_at=status.last_found_at,
                found_total=status.found_total,
            )
        )
    return health
