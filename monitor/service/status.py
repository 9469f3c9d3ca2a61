"""The one status report: `wom status`, GET /api/v1/status and the dashboard's /status page render it.

Row counts of every table, the newest run of every job, and how each configured source stands
(disabled, backing off, silent, failing, never run or ok), from the config, the environment and the
stored source state only: no collector module (nor the scheduler) is loaded to tell.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, func, select

from monitor.config import Settings
from monitor.source_settings import SOURCE_CREDENTIALS, configured_sources
from monitor.storage.claims import STAGES, Stage
from monitor.storage.db import schema_is_current
from monitor.storage.models import Alert, Brand, JobRun, Mention, MentionBrand, NotificationDelivery
from monitor.storage.source_state import SourceStatus, load_states

__all__ = [
    "Backlog",
    "BrandCount",
    "JobRunOut",
    "SourceOut",
    "StatusReport",
    "backlog",
    "source_health",
    "status_report",
]


class JobRunOut(BaseModel):
    kind: str
    name: str
    brand: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None
    items_read: int
    items_new: int
    items_failed: int
    error: str


class SourceOut(BaseModel):  # how one configured source stands (no docstring: it would enter the API schema)
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


class StatusReport(BaseModel):
    schema_current: bool
    tables: dict[str, int]
    jobs: list[JobRunOut]
    sources: list[SourceOut]


def _brands_of(settings: Settings, source: str) -> list[str]:
    return [
        entry.name
        for brand in settings.brands
        for entry in [brand, *brand.competitors]
        if getattr(entry.collect, source) is not None
    ]


def _missing_credentials(source: str, environ: Mapping[str, str]) -> str:
    missing = [name for name in SOURCE_CREDENTIALS[source] if not environ.get(name, "").strip()]
    if missing:
        return f"set the environment variable{'s' if len(missing) > 1 else ''} {' and '.join(missing)}"
    return ""


def _state(
    settings: Settings, source: str, status: SourceStatus, *, missing: str, now: datetime
) -> tuple[str, str]:
    silent_after = timedelta(hours=settings.collectors.silent_after_hours)
    if not settings.collectors.source(source).enabled:
        return "disabled", f"disabled in the config ([collectors.{source}] enabled = false)"
    if missing:
        return "disabled", missing
    if status.backing_off(now):
        return "backing_off", (
            f"backing off until {status.backoff_until:%Y-%m-%d %H:%M} UTC: {status.backoff_reason}"
        )
    if status.silent(now, silent_after):
        return "silent", (
            f"found nothing new since {status.last_found_at:%Y-%m-%d %H:%M} UTC although it found "
            f"{status.found_total:,} items before; check its key, query and base URL"
        )
    if status.consecutive_failures:
        return "failing", f"{status.consecutive_failures} failed run(s) in a row"
    if status.last_run_at is None:
        return "never_run", "not run yet"
    return "ok", ""


def source_health(
    settings: Settings,
    engine: Engine,
    *,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[SourceOut]:
    """One entry per source some brand is collected from, in the registry's order."""
    now = now or datetime.now(UTC)
    environ = os.environ if environ is None else environ
    states = load_states(engine)
    health: list[SourceOut] = []
    for source in configured_sources(settings):
        status = states.get(source, SourceStatus(source))
        state, message = _state(
            settings, source, status, missing=_missing_credentials(source, environ), now=now
        )
        health.append(
            SourceOut(
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


def status_report(
    session: Session, engine: Engine, settings: Settings | None = None, now: datetime | None = None
) -> StatusReport:
    """Row counts of every table (one query), the newest run of each job (one query), and each
    configured source's health (none without `settings`)."""
    # before `session` begins: on an engine that is not read_only, SQLite would make this second
    # connection wait for the first one's write lock
    schema_current = schema_is_current(engine)
    sources = source_health(settings, engine, now=now) if settings is not None else []
    tables = SQLModel.metadata.sorted_tables
    counts = session.exec(
        select(*(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables))
    ).one()
    newest = select(func.max(JobRun.id)).group_by(col(JobRun.kind), col(JobRun.name))
    runs = session.exec(
        select(JobRun).where(col(JobRun.id).in_(newest)).order_by(col(JobRun.kind), col(JobRun.name))
    ).all()
    return StatusReport(
        schema_current=schema_current,
        tables={t.name: int(n) for t, n in zip(tables, counts, strict=True)},
        jobs=[JobRunOut.model_validate(run, from_attributes=True) for run in runs],
        sources=sources,
    )


@dataclass(frozen=True, slots=True)
class BrandCount:
    name: str
    competitor: bool
    mentions: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """What `wom status` shows beside the report: the active brands and the work still to do."""

    brands: list[BrandCount]
    pending: dict[Stage, int]
    open_alerts: int
    emails_pending: int
    emails_failed: int


def _count(session: Session, model: type[SQLModel], *where: Any) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def backlog(session: Session) -> Backlog:
    """Word-of-mouth mentions per active brand (its own and staff accounts' posts left out), mentions pending
    per stage, open alerts and e-mails not yet sent."""
    brands = [
        BrandCount(
            name=brand.name,
            competitor=brand.competitor_of_id is not None,
            mentions=_count(
                session,
                MentionBrand,
                col(MentionBrand.brand_id) == brand.id,
                col(MentionBrand.own).is_(False),
            ),
        )
        for brand in session.exec(select(Brand).where(col(Brand.active).is_(True)).order_by(col(Brand.id)))
    ]
    pending: dict[Stage, int] = {}
    for stage, (done, before) in STAGES.items():
        conditions = [getattr(Mention, done).is_(None)]
        if before:
            conditions.append(getattr(Mention, before).is_not(None))
        pending[stage] = _count(session, Mention, *conditions)
    delivery = col(NotificationDelivery.status)
    return Backlog(
        brands=brands,
        pending=pending,
        open_alerts=_count(session, Alert, col(Alert.status) == "open"),
        emails_pending=_count(session, NotificationDelivery, delivery.in_(["pending", "sending"])),
        emails_failed=_count(session, NotificationDelivery, delivery == "failed"),
    )
