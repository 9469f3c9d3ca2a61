"""The scheduler of `wom run`: built from config, exactly one per database, never stuck.

- Schedules come from config on every start: `MemoryJobStore`, explicit ids, `replace_existing=True`;
  APScheduler never persists (nor pickles, nor silently deletes) a job.
- `coalesce=True`, `max_instances=1` and a `misfire_grace_time` near the interval: a late or
  catching-up job runs once, never in a burst, and is not skipped for being a second late
  (the APScheduler default grace is 1 s; see ../shared/RELIABILITY.md (c)).
- Every job runs through `run_recorded`: one `JobRun` row per run with its counts or its error, and
  no exception escapes, so one broken job never stops the others. Statuses: running, succeeded,
  failed, and (from scheduler events) missed and skipped (max_instances reached). Jobs bound their own I/O with
  timeouts and never sleep; a run killed with its process is marked failed by `mark_stale_runs`.
- `SchedulerService` starts the scheduler only in the process holding the `LeaderLock`; the others
  serve the API and retry every TTL/3, or when the leader's lease ends if sooner, so a follower takes
  over within TTL when the leader dies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.events import (  # type: ignore[import-untyped]
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine

from monitor.job_runs import JobResult, current_run_id, run_recorded
from monitor.storage.leader import LeaderLock
from monitor.storage.models import JobRun, utcnow
from monitor.storage.runs import error_text as _safe_error
from monitor.storage.runs import heartbeat, mark_stale_runs, mask_secrets, record_event
from monitor.storage.tables import table_of

__all__ = [
    "DEFAULT_STALE_AFTER",
    "INTERNAL_JOB_IDS",
    "JOB_KINDS",
    "LEASE_JOB_ID",
    "STALE_JOB_ID",
    "JobResult",
    "ScheduledJob",
    "SchedulerService",
    "build_scheduler",
    "current_run_id",
    "heartbeat",
    "mark_stale_runs",
    "mask_secrets",
    "misfire_grace_seconds",
    "run_recorded",
]

JOB_KINDS = ("collector", "pipeline", "maintenance")
LEASE_JOB_ID = "wom:leader-lock"
STALE_JOB_ID = "wom:stale-runs"
INTERNAL_JOB_IDS = (LEASE_JOB_ID, STALE_JOB_ID)
DEFAULT_STALE_AFTER = timedelta(minutes=15)  # Meltano flags a run after 5 min without heartbeat
_MIN_GRACE_SECONDS = 5
_DEFAULT_GRACE_SECONDS = 300
_MAX_JITTER_SECONDS = 30
_MIN_RETRY_SECONDS = 0.01  # a follower that finds the lease already ended still never spins
_RUN = table_of(JobRun)
_log = logging.getLogger("wom.scheduler")


@dataclass(frozen=True)
class ScheduledJob:
    """One configured job: `func` runs every `interval_seconds` and bounds its own I/O with timeouts."""

    id: str
    func: Callable[[], JobResult | None]
    interval_seconds: int
    kind: str  # "collector" | "pipeline" | "maintenance"

    def __post_init__(self) -> None:
        if not self.id or self.id.startswith("wom:"):
            raise ValueError(f"job id {self.id!r} must be non-empty and not start with 'wom:' (reserved)")
        if self.kind not in JOB_KINDS:
            raise ValueError(f"job {self.id!r} has kind {self.kind!r}; use one of {', '.join(JOB_KINDS)}")
        if not isinstance(self.interval_seconds, int) or self.interval_seconds < 1:
            raise ValueError(
                f"job {self.id!r} has interval_seconds={self.interval_seconds!r}; use a whole number ≥ 1"
            )


def misfire_grace_seconds(interval_seconds: int) -> int:
    """A run up to about one interval late still runs (once, thanks to coalesce)."""
    return max(interval_seconds, _MIN_GRACE_SECONDS)


def _jitter_seconds(interval_seconds: int) -> int:
    return min(_MAX_JITTER_SECONDS, interval_seconds // 10)


# --- run records ---------------------------------------------------------------------------


def _record_event(engine: Engine, *, kind: str, name: str, status: str, error: str) -> None:
    try:
        record_event(engine, kind=kind, name=name, status=status, error=error)
    except sa.exc.SQLAlchemyError as e:
        _log.error("cannot record %s of job %s: %s", status, name, _safe_error(e))


# --- the scheduler ---------------------------------------------------------------------------


def build_scheduler(
    jobs: Sequence[ScheduledJob],
    *,
    engine: Engine,
    lock: LeaderLock,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    on_lock_lost: Callable[[], None] | None = None,
) -> BackgroundScheduler:
    """A not-yet-started scheduler holding exactly `jobs` plus the lock and stale-run jobs.

    Start it only while `lock` is held. Raises ValueError when two jobs share an id."""
    seen: set[str] = set()
    for job in jobs:
        if job.id in seen:
            raise ValueError(f"job id {job.id!r} is configured twice; each scheduled job needs its own id")
        seen.add(job.id)
    scheduler = BackgroundScheduler(
        timezone=UTC,
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=len(jobs) + 2)},
        # in job_defaults, not as constructor kwargs: those are silently ignored (apscheduler#146)
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": _DEFAULT_GRACE_SECONDS},
    )
    kinds = {job.id: job.kind for job in jobs}
    first_runs = _first_run_times(engine, jobs)
    for job in jobs:
        scheduler.add_job(
            _guarded(job, engine=engine, lock=lock),
            trigger=IntervalTrigger(
                seconds=job.interval_seconds, jitter=_jitter_seconds(job.interval_seconds), timezone=UTC
            ),
            id=job.id,
            name=f"{job.kind}:{job.id}",
            replace_existing=True,
            misfire_grace_time=misfire_grace_seconds(job.interval_seconds),
            next_run_time=first_runs[job.id],
        )
    renew_every = max(lock.renew_interval_seconds, 0.05)
    scheduler.add_job(
        _renew_lock(lock, on_lock_lost),
        trigger=IntervalTrigger(seconds=renew_every, timezone=UTC),
        id=LEASE_JOB_ID,
        name=f"maintenance:{LEASE_JOB_ID}",
        replace_existing=True,
        misfire_grace_time=max(1, int(renew_every)),
    )
    sweep_every = max(1, min(int(stale_after.total_seconds() / 2), 300))
    scheduler.add_job(
        lambda: mark_stale_runs(engine, older_than=stale_after),
        trigger=IntervalTrigger(seconds=sweep_every, timezone=UTC),
        id=STALE_JOB_ID,
        name=f"maintenance:{STALE_JOB_ID}",
        replace_existing=True,
        misfire_grace_time=sweep_every,
    )
    scheduler.add_listener(
        _event_listener(engine, kinds), EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
    )
    return scheduler


def _first_run_times(engine: Engine, jobs: Sequence[ScheduledJob]) -> dict[str, datetime]:
    """Catch-up: a job whose last success is more than one interval ago runs once right after start."""
    now = utcnow()
    last: dict[str, datetime] = {}
    if jobs:
        query = (
            sa.select(_RUN.c.name, sa.func.max(_RUN.c.started_at))
            .where(_RUN.c.name.in_([job.id for job in jobs]), _RUN.c.status == "succeeded")
            .group_by(_RUN.c.name)
        )
        with engine.connect() as conn:
            last = {name: started for name, started in conn.execute(query) if started is not None}
    first: dict[str, datetime] = {}
    for job in jobs:
        due = last[job.id] + timedelta(seconds=job.interval_seconds) if job.id in last else now
        first[job.id] = max(due, now)
    return first


def _guarded(job: ScheduledJob, *, engine: Engine, lock: LeaderLock) -> Callable[[], None]:
    def run() -> None:
        if not lock.is_held():
            _log.warning("job %s not run: this process no longer holds the scheduler lock", job.id)
            return
        run_recorded(engine, kind=job.kind, name=job.id, func=job.func, owner=lock.owner)

    return run


def _renew_lock(lock: LeaderLock, on_lock_lost: Callable[[], None] | None) -> Callable[[], None]:
    def renew() -> None:
        if lock.renew():
            return
        _log.error(
            "lost the scheduler lock (now held by %s); this process stops running jobs",
            lock.holder() or "nobody",
        )
        if on_lock_lost is not None:
            on_lock_lost()

    return renew


def _event_listener(engine: Engine, kinds: dict[str, str]) -> Callable[[Any], None]:
    def listener(event: JobExecutionEvent | JobSubmissionEvent) -> None:
        name = event.job_id
        kind = kinds.get(name, "maintenance")
        if event.code == EVENT_JOB_MISSED:
            status = "missed"
            error = (
                f"missed: run due at {event.scheduled_run_time.isoformat()} started too late (misfire grace)"
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            status = "skipped"
            error = "skipped: the previous run is still going (max_instances=1); check the job's timeouts"
        else:
            status = "failed"
            error = _safe_error(event.exception) if event.exception else "failed"
        _log.warning("job %s %s", name, error)
        _record_event(engine, kind=kind, name=name, status=status, error=error)

    return listener


class SchedulerService:
    """The scheduler of one process: runs jobs only while it holds `lock`, else retries every TTL/3
    (`retry_seconds`), or as the lease it saw ends when that is sooner."""

    def __init__(
        self,
        jobs: Sequence[ScheduledJob],
        *,
        engine: Engine,
        lock: LeaderLock,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        retry_seconds: float | None = None,
    ) -> None:
        self.jobs = tuple(jobs)
        self.engine = engine
        self.lock = lock
        self.stale_after = stale_after
        self.retry_seconds = lock.retry_interval_seconds if retry_seconds is None else retry_seconds
        self.scheduler: BackgroundScheduler | None = None
        self.became_leader = threading.Event()
        self._mutex = threading.RLock()
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> bool:
        """Lead if the lock is free: mark stale runs and start the jobs. Returns whether it leads."""
        with self._mutex:
            if self.scheduler is not None or (self._follower is not None and self._follower.is_alive()):
                return self.is_leader
            self._stop = threading.Event()
            if self._try_lead():
                return True
            self._start_follower()
            return False

    def shutdown(self, wait: bool = True) -> None:
        """Stop following or leading and release the lock; `wait` waits for running jobs."""
        self._stop.set()
        follower = self._follower
        if follower is not None and follower is not threading.current_thread():
            follower.join()
        with self._mutex:
            self._follower = None
            scheduler, self.scheduler = self.scheduler, None
            if scheduler is not None:
                scheduler.shutdown(wait=wait)
            self.lock.release()
            self.became_leader.clear()

    def _try_lead(self) -> bool:
        if not self.lock.acquire():
            return False
        try:
            mark_stale_runs(self.engine, older_than=self.stale_after, now=self.lock.clock())
            scheduler = build_scheduler(
                self.jobs,
                engine=self.engine,
                lock=self.lock,
                stale_after=self.stale_after,
                on_lock_lost=self._on_lock_lost,
            )
            scheduler.start()
        except BaseException:
            self.lock.release()
            raise
        self.scheduler = scheduler
        self.became_leader.set()
        _log.info("scheduler started as %s with %d job(s)", self.lock.owner, len(self.jobs))
        return True

    def _start_follower(self) -> None:
        self._follower = threading.Thread(target=self._follow, name="wom-scheduler-follower", daemon=True)
        self._follower.start()

    def _follow(self) -> None:
        stop = self._stop
        while not stop.wait(self._next_try_seconds()):
            with self._mutex:
                if stop.is_set():
                    return
                try:
                    if self._try_lead():
                        return
                except Exception as e:  # a database outage must not end the retries
                    _log.error("cannot start the scheduler: %s", _safe_error(e))

    def _next_try_seconds(self) -> float:
        # never past the end of the lease seen now: a fixed poll added up to a whole interval to the TTL
        return max(_MIN_RETRY_SECONDS, min(self.retry_seconds, self.lock.follower_wait_seconds()))

    def _on_lock_lost(self) -> None:
        # called in a scheduler worker thread; stopping the scheduler from there is done in another thread
        threading.Thread(target=self._demote, name="wom-scheduler-demote", daemon=True).start()

    def _demote(self) -> None:
        with self._mutex:
            if self.scheduler is None or self._stop.is_set():
                return
            scheduler, self.scheduler = self.scheduler, None
            self.became_leader.clear()
            scheduler.shutdown(wait=False)
            self._start_follower()
