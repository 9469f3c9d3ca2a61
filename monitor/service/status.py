"""The one status report: `wom status`, GET /api/v1/status and the dashboard's Sources page render it.

Row counts of every table, the newest run of every job, and how each configured source stands
(disabled, backing off, silent, failing, never run or ok), from the config, the environment and the
stored source state only: no collector module (nor the scheduler) is loaded to tell.

`sources_overview` tells the same for people (the Sources page): every source wom knows, set up or not,
in one of a few conditions with what it needs (the variables to set, the config table to add), when it
ran and runs next, what it collected in the last 24 hours, and how the processing stages keep up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, func, select

from monitor.config import Settings
from monitor.source_settings import SOURCE_CREDENTIALS, SOURCE_NAMES, configured_sources
from monitor.storage.claims import STAGES, Stage
from monitor.storage.db import schema_is_current
from monitor.storage.models import Alert, Brand, JobRun, Mention, MentionBrand, NotificationDelivery
from monitor.storage.source_state import SourceStatus, load_states
from monitor.storage.table_sizes import table_sizes

__all__ = [
    "Backlog",
    "BrandCount",
    "JobRunOut",
    "PipelineCard",
    "SourceCard",
    "SourceOut",
    "SourcesOverview",
    "StatusReport",
    "backlog",
    "source_health",
    "sources_overview",
    "status_report",
]


# the Sources page counts tables below this many rows exactly; larger ones it estimates
_EXACT_BELOW = 10_000


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
    return _status_report(session, engine, settings, now, estimate=False)[0]


def _status_report(
    session: Session, engine: Engine, settings: Settings | None, now: datetime | None, *, estimate: bool
) -> tuple[StatusReport, frozenset[str]]:
    """The status report, and the tables whose row count is an estimate: with `estimate`, those of
    _EXACT_BELOW rows or more (monitor.storage.table_sizes), none without it."""
    # before `session` begins: on an engine that is not read_only, SQLite would make this second
    # connection wait for the first one's write lock
    schema_current = schema_is_current(engine)
    sources = source_health(settings, engine, now=now) if settings is not None else []
    tables = SQLModel.metadata.sorted_tables
    estimated: frozenset[str] = frozenset()
    if estimate:
        sizes = table_sizes(session.connection(), tables, exact_below=_EXACT_BELOW)
        counts = tuple(sizes[t.name].rows for t in tables)
        estimated = frozenset(name for name, size in sizes.items() if size.estimated)
    else:
        counts = session.exec(
            select(*(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables))
        ).one()
    newest = select(func.max(JobRun.id)).group_by(col(JobRun.kind), col(JobRun.name))
    runs = session.exec(
        select(JobRun).where(col(JobRun.id).in_(newest)).order_by(col(JobRun.kind), col(JobRun.name))
    ).all()
    report = StatusReport(
        schema_current=schema_current,
        tables={t.name: int(n) for t, n in zip(tables, counts, strict=True)},
        jobs=[JobRunOut.model_validate(run, from_attributes=True) for run in runs],
        sources=sources,
    )
    return report, estimated


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


def _pending(session: Session) -> dict[Stage, int]:
    """Mentions waiting for each pipeline stage (each count on the stage's pending index)."""
    pending: dict[Stage, int] = {}
    for stage, (done, before) in STAGES.items():
        conditions = [getattr(Mention, done).is_(None)]
        if before:
            conditions.append(getattr(Mention, before).is_not(None))
        pending[stage] = _count(session, Mention, *conditions)
    return pending


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
    pending = _pending(session)
    delivery = col(NotificationDelivery.status)
    return Backlog(
        brands=brands,
        pending=pending,
        open_alerts=_count(session, Alert, col(Alert.status) == "open"),
        emails_pending=_count(session, NotificationDelivery, delivery.in_(["pending", "sending"])),
        emails_failed=_count(session, NotificationDelivery, delivery == "failed"),
    )


# --- the Sources page: each source and the processing stages in a condition people can act on -------------

SourceCondition = Literal[
    "working", "waiting", "failing", "silent", "not_run", "needs_credentials", "disabled", "not_set_up"
]
PipelineCondition = Literal["working", "behind", "failing", "not_run"]
_COLLECTOR_KIND = "collector"
_PIPELINE_KIND = "pipeline"


@dataclass(frozen=True, slots=True)
class SourceCard:
    """One source as the Sources page tells it.

    condition: working (ran, and is not silent), waiting (the platform asked wom to slow down: `until`),
    failing (failed runs in a row since `since`; `reason` is the source's own words and `until` when wom
    tries again), silent (found nothing new since `since` although it found items before), not_run (set
    up, never run yet), needs_credentials (`missing` variables), disabled ([collectors.<source>]
    enabled = false) and not_set_up (no brand is collected from it; `[brands.collect.<source>]` adds it).
    `next_run_at`: when the scheduler runs it next (None: at the next start of `wom run`); `overdue` when
    that is more than one interval past, which means no `wom run` is running. `new_24h`: mentions its runs
    stored as new in the 24 hours before now."""

    source: str
    condition: SourceCondition
    brands: list[str]
    credentials: tuple[str, ...]
    missing: list[str]
    reason: str
    since: datetime | None
    until: datetime | None
    failures: int
    interval_minutes: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_found_at: datetime | None
    next_run_at: datetime | None
    overdue: bool
    new_24h: int
    found_total: int


@dataclass(frozen=True, slots=True)
class PipelineCard:
    """The processing stages: mentions waiting per stage, and the newest run of the pipeline job.

    condition: working (nothing waiting), behind (mentions waiting), failing (its newest run failed:
    `error`) or not_run (never ran: `wom run`, `wom worker` or `wom process` runs it)."""

    condition: PipelineCondition
    pending: dict[Stage, int]
    last_run_at: datetime | None
    next_run_at: datetime | None
    overdue: bool
    error: str


@dataclass(frozen=True, slots=True)
class SourcesOverview:
    sources: list[SourceCard]  # the set-up sources in the registry's order, then the others
    pipeline: PipelineCard
    report: StatusReport  # the technical details: job runs and stored rows
    # the tables whose `report.tables` figure is an estimate (a large table: counting it would read it all)
    estimated: frozenset[str] = frozenset()


def _failing_since(session: Session, sources: dict[str, datetime | None]) -> dict[str, datetime]:
    """The start of each source's first failed run after its last success (`sources`: source -> last
    success), from the job runs; a source without such a run is left out."""
    since: dict[str, datetime] = {}
    for source, success in sources.items():
        query = select(func.min(JobRun.started_at)).where(
            col(JobRun.kind) == _COLLECTOR_KIND,
            col(JobRun.name) == f"collect-{source}",
            col(JobRun.status) == "failed",
        )
        if success is not None:
            query = query.where(col(JobRun.started_at) > success)
        first = session.exec(query).one()
        if first is not None:
            since[source] = first
    return since


def _new_since(session: Session, since: datetime) -> dict[str, int]:
    """Mentions stored as new by each source's runs started since `since` (from the job runs, not a
    count over every mention)."""
    rows = session.exec(
        select(col(JobRun.name), func.coalesce(func.sum(JobRun.items_new), 0))
        .where(col(JobRun.kind) == _COLLECTOR_KIND, col(JobRun.started_at) >= since)
        .group_by(col(JobRun.name))
    ).all()
    return {name.removeprefix("collect-"): int(new) for name, new in rows}


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _condition(
    settings: Settings, source: str, status: SourceStatus, missing: list[str], now: datetime
) -> SourceCondition:
    if not settings.collectors.source(source).enabled:
        return "disabled"
    if missing:
        return "needs_credentials"
    if status.consecutive_failures:
        return "failing"
    if status.backing_off(now):
        return "waiting"
    if status.silent(now, timedelta(hours=settings.collectors.silent_after_hours)):
        return "silent"
    if status.last_run_at is None:
        return "not_run"
    return "working"


def _source_cards(
    session: Session, settings: Settings, engine: Engine, environ: Mapping[str, str], now: datetime
) -> list[SourceCard]:
    states = load_states(engine)
    configured = configured_sources(settings)
    statuses = {name: states.get(name, SourceStatus(name)) for name in SOURCE_NAMES}
    failing = [n for n in configured if statuses[n].consecutive_failures]
    since_failing = _failing_since(session, {n: statuses[n].last_success_at for n in failing})
    new_24h = _new_since(session, now - timedelta(hours=24))
    cards: list[SourceCard] = []
    for name in [*configured, *(n for n in SOURCE_NAMES if n not in configured)]:
        status = statuses[name]
        credentials = SOURCE_CREDENTIALS.get(name, ())
        missing = [v for v in credentials if not environ.get(v, "").strip()]
        condition: SourceCondition = (
            _condition(settings, name, status, missing, now) if name in configured else "not_set_up"
        )
        interval = settings.collectors.source(name).interval_minutes
        until = status.backoff_until if status.backing_off(now) else None
        next_run: datetime | None = None
        if condition in ("working", "waiting", "failing", "silent"):
            next_run = until or (
                status.last_run_at + timedelta(minutes=interval) if status.last_run_at else None
            )
        since: datetime | None = None
        if condition == "failing":
            since = since_failing.get(name) or status.last_run_at
        elif condition == "silent":
            since = status.last_found_at
        cards.append(
            SourceCard(
                source=name,
                condition=condition,
                brands=_brands_of(settings, name),
                credentials=credentials,
                missing=missing,
                reason=status.backoff_reason if condition in ("waiting", "failing") else "",
                since=_utc(since),
                until=_utc(until),
                failures=status.consecutive_failures,
                interval_minutes=interval,
                last_run_at=_utc(status.last_run_at),
                last_success_at=_utc(status.last_success_at),
                last_found_at=_utc(status.last_found_at),
                next_run_at=_utc(next_run),
                overdue=next_run is not None and next_run + timedelta(minutes=interval) < now,
                new_24h=new_24h.get(name, 0),
                found_total=status.found_total,
            )
        )
    return cards


def _pipeline_card(
    session: Session, settings: Settings, jobs: list[JobRunOut], now: datetime
) -> PipelineCard:
    pending = _pending(session)
    runs = [j for j in jobs if j.kind == _PIPELINE_KIND]
    last = max(runs, key=lambda j: j.started_at) if runs else None
    interval = timedelta(seconds=settings.pipeline.interval_seconds)
    condition: PipelineCondition
    if last is None:
        condition = "not_run"
    elif last.status == "failed":
        condition = "failing"
    else:
        condition = "behind" if any(pending.values()) else "working"
    last_run = _utc(last.started_at) if last is not None else None
    next_run = last_run + interval if last_run is not None else None
    return PipelineCard(
        condition=condition,
        pending=pending,
        last_run_at=last_run,
        next_run_at=next_run,
        overdue=next_run is not None and next_run + max(interval, timedelta(minutes=5)) < now,
        error=last.error if last is not None and last.status == "failed" else "",
    )


def sources_overview(
    session: Session,
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    environ: Mapping[str, str] | None = None,
) -> SourcesOverview:
    """Every source wom knows and the processing stages, each in a condition people can act on, with the
    status report's job runs and row counts as the details."""
    report, estimated = _status_report(session, engine, settings, now, estimate=True)
    environ = os.environ if environ is None else environ
    now = _utc(now) or now
    return SourcesOverview(
        sources=_source_cards(session, settings, engine, environ, now),
        pipeline=_pipeline_card(session, settings, report.jobs, now),
        report=report,
        estimated=estimated,
    )
