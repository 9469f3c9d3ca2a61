"""The scheduler of `wom run`: job settings, run records, stale runs and one leader per database."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine

from monitor.scheduler import (
    INTERNAL_JOB_IDS,
    LEASE_JOB_ID,
    JobResult,
    ScheduledJob,
    SchedulerService,
    build_scheduler,
    current_run_id,
    heartbeat,
    mark_stale_runs,
    run_recorded,
)
from monitor.storage.db import connect, is_postgres
from monitor.storage.leader import LeaderLock
from monitor.storage.models import JobRun, utcnow
from monitor.storage.tables import table_of

_RUN = table_of(JobRun)
_WAIT = 20.0  # generous bound for event waits; a passing run needs about 1-3 s


class FakeClock:
    """The lease clock, moved by hand: a 60 s lease expires without waiting."""

    def __init__(self) -> None:
        self._now = utcnow()
        self._mutex = threading.Lock()

    def __call__(self) -> datetime:
        with self._mutex:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._mutex:
            self._now += timedelta(seconds=seconds)


def report_figure(name: str, value: object) -> None:
    """Figures of the RELIABILITY battery (J-1, J-2, J-7); shown with `pytest -rP`."""
    print(f"[figure] {name}: {value}")


def _noop() -> JobResult | None:
    return None


def _runs(engine: Engine, name: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(_RUN).order_by(_RUN.c.id)
    if name is not None:
        query = query.where(_RUN.c.name == name)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def _insert_run(engine: Engine, **values: Any) -> int:
    with engine.begin() as conn:
        return int(conn.execute(sa.insert(_RUN).values(**values).returning(_RUN.c.id)).scalar_one())


def _wait_for(check: Callable[[], bool], *, timeout: float = _WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


class CountingJob:
    """A job function that counts its calls and sets an event once it has run `target` times."""

    def __init__(self, target: int, result: JobResult | None = None, error: Exception | None = None) -> None:
        self.calls = 0
        self.target = target
        self.reached = threading.Event()
        self._result = result
        self._error = error
        self._mutex = threading.Lock()

    def __call__(self) -> JobResult | None:
        with self._mutex:
            self.calls += 1
            if self.calls >= self.target:
                self.reached.set()
        if self._error is not None:
            raise self._error
        return self._result


@pytest.fixture
def lock(engine: Engine) -> Iterator[LeaderLock]:
    leader_lock = LeaderLock(engine)
    yield leader_lock
    leader_lock.release()


# --- configuration ---------------------------------------------------------------------------


def test_job_defaults_are_as_specified(
    engine: Engine, lock: LeaderLock, request: pytest.FixtureRequest
) -> None:
    jobs = [
        ScheduledJob(id="collect:reddit", func=_noop, interval_seconds=900, kind="collector"),
        ScheduledJob(id="pipeline", func=_noop, interval_seconds=60, kind="pipeline"),
        ScheduledJob(id="tick", func=_noop, interval_seconds=1, kind="maintenance"),
    ]
    scheduler = build_scheduler(jobs, engine=engine, lock=lock)
    scheduler.start(paused=True)  # pending jobs get their defaults only when the scheduler starts
    request.addfinalizer(scheduler.shutdown)
    # private attributes: APScheduler 3 has no public getter for its stores, executors and defaults
    assert scheduler.timezone == UTC
    assert isinstance(scheduler._jobstores["default"], MemoryJobStore)
    assert scheduler._executors["default"]._pool._max_workers == 5
    assert scheduler._job_defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}

    settings = {
        job.id: (
            job.coalesce,
            job.max_instances,
            job.misfire_grace_time,
            job.trigger.interval,
            job.trigger.jitter,
        )
        for job in scheduler.get_jobs()
    }
    assert {key: value for key, value in settings.items() if key not in INTERNAL_JOB_IDS} == {
        "collect:reddit": (True, 1, 900, timedelta(seconds=900), 30),
        "pipeline": (True, 1, 60, timedelta(seconds=60), 6),
        "tick": (True, 1, 5, timedelta(seconds=1), 0),
    }
    assert settings[LEASE_JOB_ID][:4] == (True, 1, 20, timedelta(seconds=20))
    assert all(isinstance(job.trigger, IntervalTrigger) for job in scheduler.get_jobs())


def test_a_job_id_configured_twice_is_refused(engine: Engine, lock: LeaderLock) -> None:
    jobs = [ScheduledJob(id="a", func=_noop, interval_seconds=60, kind="pipeline")] * 2
    with pytest.raises(ValueError, match="job id 'a' is configured twice"):
        build_scheduler(jobs, engine=engine, lock=lock)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "cron"}, "has kind 'cron'; use one of collector, pipeline, maintenance"),
        ({"interval_seconds": 0}, "has interval_seconds=0; use a whole number ≥ 1"),
        ({"id": "wom:lease"}, "must be non-empty and not start with 'wom:'"),
    ],
)
def test_scheduled_job_names_a_bad_value(changes: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "id": "x",
        "func": _noop,
        "interval_seconds": 60,
        "kind": "collector",
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        ScheduledJob(**values)


def test_restarts_do_not_multiply_jobs_or_runs(engine: Engine, lock: LeaderLock) -> None:
    """J-7: 5 restarts; the scheduler holds exactly the configured jobs, and a job that ran is not re-run."""
    hourly = CountingJob(target=1)
    jobs = [
        ScheduledJob(id="collect:rss", func=hourly, interval_seconds=3600, kind="collector"),
        ScheduledJob(id="pipeline", func=_noop, interval_seconds=3600, kind="pipeline"),
    ]
    job_counts: list[int] = []
    for restart in range(5):
        service = SchedulerService(jobs, engine=engine, lock=lock)
        assert service.start()
        assert service.scheduler is not None
        if restart == 0:
            assert hourly.reached.wait(_WAIT)  # no history: runs once right after start
        ids = sorted(job.id for job in service.scheduler.get_jobs())
        assert ids == sorted(["collect:rss", "pipeline", *INTERNAL_JOB_IDS])
        job_counts.append(len(ids) - len(INTERNAL_JOB_IDS))
        next_run = service.scheduler.get_job("collect:rss").next_run_time
        assert next_run > utcnow() + timedelta(minutes=50)  # not due again after a restart
        service.shutdown()
    assert job_counts == [2, 2, 2, 2, 2]
    assert hourly.calls == 1
    report_figure("J-7 configured jobs in the scheduler after each of 5 restarts", job_counts)


# --- run records ------------------------------------------------------------------------------


def test_run_recorded_stores_counts(engine: Engine) -> None:
    result = JobResult(read=7, new=4, duplicate=2, failed=1, detail={"cursor": "t3_abc"})
    run_id = run_recorded(
        engine, kind="collector", name="collect:reddit", func=lambda: result, owner="h:1:ab"
    )

    [run] = _runs(engine)
    assert run["id"] == run_id
    assert {k: run[k] for k in ("kind", "name", "status", "error", "detail")} == {
        "kind": "collector",
        "name": "collect:reddit",
        "status": "succeeded",
        "error": "",
        "detail": {"cursor": "t3_abc", "scheduler": "h:1:ab"},
    }
    counts = (run["items_read"], run["items_new"], run["items_duplicate"], run["items_failed"])
    assert counts == (7, 4, 2, 1)
    assert run["started_at"] <= run["heartbeat_at"] == run["finished_at"]


def test_run_recorded_records_a_failure_without_raising(engine: Engine) -> None:
    def broken() -> JobResult:
        raise ConnectionError("GET https://bot:hunter2@api.example.com/v1?token=s3cr3t&q=acme\r\nfailed")

    run_id = run_recorded(engine, kind="collector", name="collect:x", func=broken)

    [run] = _runs(engine)
    assert (run["id"], run["status"]) == (run_id, "failed")
    assert run["error"] == "ConnectionError: GET https://***@api.example.com/v1?token=***&q=acme failed"
    assert "hunter2" not in run["error"] and "s3cr3t" not in run["error"]
    assert run["finished_at"] is not None


def test_run_recorded_truncates_long_errors(engine: Engine) -> None:
    def broken() -> JobResult:
        raise ValueError("x" * 5000)

    run_recorded(engine, kind="pipeline", name="pipeline", func=broken)
    [run] = _runs(engine)
    assert len(run["error"]) == 500
    assert run["error"].startswith("ValueError: xxx") and run["error"].endswith("…")


def test_heartbeat_marks_a_long_run_alive(engine: Engine) -> None:
    beats: list[bool] = []
    at = datetime(2030, 1, 1, tzinfo=UTC)

    def long_job() -> JobResult:
        run_id = current_run_id()
        assert run_id is not None
        beats.append(heartbeat(engine, run_id, now=at))
        [run] = _runs(engine)
        beats.append(run["heartbeat_at"] == at)
        return JobResult()

    run_recorded(engine, kind="pipeline", name="classify", func=long_job)
    assert beats == [True, True]
    assert current_run_id() is None
    [run] = _runs(engine)
    assert heartbeat(engine, run["id"]) is False  # finished runs take no heartbeats


def test_mark_stale_runs_marks_only_old_heartbeats(engine: Engine) -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    old = now - timedelta(minutes=20)
    stale_id = _insert_run(
        engine, kind="collector", name="a", status="running", started_at=old, heartbeat_at=old
    )
    fresh_id = _insert_run(
        engine,
        kind="collector",
        name="b",
        status="running",
        started_at=old,
        heartbeat_at=now - timedelta(minutes=1),
    )
    done_id = _insert_run(
        engine,
        kind="collector",
        name="c",
        status="succeeded",
        started_at=old,
        heartbeat_at=old,
        finished_at=old,
    )

    assert mark_stale_runs(engine, older_than=timedelta(minutes=15), now=now) == 1
    assert mark_stale_runs(engine, older_than=timedelta(minutes=15), now=now) == 0

    runs = {run["id"]: run for run in _runs(engine)}
    assert (runs[stale_id]["status"], runs[stale_id]["finished_at"]) == ("failed", now)
    assert runs[stale_id]["error"] == (
        "stale: no heartbeat since 2026-05-01T11:40:00+00:00 (limit 0:15:00); its process probably died"
    )
    assert (runs[fresh_id]["status"], runs[fresh_id]["error"]) == ("running", "")
    assert runs[done_id]["status"] == "succeeded"


def test_service_marks_stale_runs_when_it_starts(engine: Engine, lock: LeaderLock) -> None:
    old = utcnow() - timedelta(hours=1)
    run_id = _insert_run(
        engine, kind="collector", name="killed", status="running", started_at=old, heartbeat_at=old
    )
    service = SchedulerService([], engine=engine, lock=lock)
    try:
        assert service.start()
    finally:
        service.shutdown()
    [run] = [run for run in _runs(engine) if run["id"] == run_id]
    assert run["status"] == "failed" and run["error"].startswith("stale: no heartbeat since")


# --- running ----------------------------------------------------------------------------------


def test_a_failing_job_is_recorded_and_the_other_still_runs(engine: Engine, lock: LeaderLock) -> None:
    broken = CountingJob(target=2, error=RuntimeError("feed returned garbage"))
    healthy = CountingJob(target=2, result=JobResult(read=3, new=2, duplicate=1))
    jobs = [
        ScheduledJob(id="broken", func=broken, interval_seconds=1, kind="collector"),
        ScheduledJob(id="healthy", func=healthy, interval_seconds=1, kind="collector"),
    ]
    service = SchedulerService(jobs, engine=engine, lock=lock)
    assert service.start()
    try:
        assert broken.reached.wait(_WAIT) and healthy.reached.wait(_WAIT)
    finally:
        service.shutdown()

    failed = _runs(engine, "broken")
    assert len(failed) >= 2
    assert {(run["status"], run["error"]) for run in failed} == {
        ("failed", "RuntimeError: feed returned garbage")
    }
    succeeded = _runs(engine, "healthy")
    assert len(succeeded) >= 2
    assert {
        (
            run["status"],
            run["items_read"],
            run["items_new"],
            run["items_duplicate"],
            run["detail"]["scheduler"],
        )
        for run in succeeded
    } == {("succeeded", 3, 2, 1, lock.owner)}


def test_a_hung_job_is_skipped_and_recorded_not_stacked(engine: Engine, lock: LeaderLock) -> None:
    release = threading.Event()
    started = threading.Event()

    def hung() -> JobResult:
        started.set()
        release.wait(_WAIT)  # stands in for an HTTP call that never answers (J-4)
        return JobResult(read=1)

    service = SchedulerService(
        [ScheduledJob(id="hung", func=hung, interval_seconds=1, kind="collector")], engine=engine, lock=lock
    )
    assert service.start()
    try:
        assert started.wait(_WAIT)
        assert _wait_for(lambda: any(run["status"] == "skipped" for run in _runs(engine, "hung")))
    finally:
        release.set()
        service.shutdown()
    runs = _runs(engine, "hung")
    assert [run["status"] for run in runs if run["status"] != "skipped"] == ["succeeded"]
    skipped = {(run["kind"], run["error"]) for run in runs if run["status"] == "skipped"}
    assert skipped == {
        ("collector", "skipped: the previous run is still going (max_instances=1); check the job's timeouts")
    }


def test_catch_up_after_downtime_runs_once(engine: Engine, lock: LeaderLock) -> None:
    """J-3: last success 3 intervals ago; on start the job runs exactly once, then waits an interval."""
    long_ago = utcnow() - timedelta(hours=3, minutes=5)
    _insert_run(
        engine, kind="collector", name="hourly", status="succeeded", started_at=long_ago, finished_at=long_ago
    )
    hourly = CountingJob(target=1)
    service = SchedulerService(
        [ScheduledJob(id="hourly", func=hourly, interval_seconds=3600, kind="collector")],
        engine=engine,
        lock=lock,
    )
    assert service.start()
    try:
        assert hourly.reached.wait(_WAIT)
        assert service.scheduler is not None
        assert service.scheduler.get_job("hourly").next_run_time > utcnow() + timedelta(minutes=50)
    finally:
        service.shutdown()
    assert hourly.calls == 1
    assert [run["status"] for run in _runs(engine, "hourly")] == ["succeeded", "succeeded"]


def test_two_services_on_one_database_run_jobs_once(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """J-1: two `wom run` processes started together; only one runs the 1-second job."""
    caplog.set_level(logging.INFO, logger="wom.scheduler")
    other_engine = connect(database_url)
    ticks = CountingJob(target=4)
    services = [
        SchedulerService(
            [ScheduledJob(id="tick", func=ticks, interval_seconds=1, kind="collector")],
            engine=eng,
            lock=LeaderLock(eng),
        )
        for eng in (engine, other_engine)
    ]
    barrier = threading.Barrier(2)
    leads: dict[int, bool] = {}

    def start(index: int) -> None:
        barrier.wait()
        leads[index] = services[index].start()

    threads = [threading.Thread(target=start, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(leads.values()) == [False, True]
        assert ticks.reached.wait(_WAIT)  # about 3 s: runs at 0, 1, 2, 3 s
    finally:
        for service in services:
            service.shutdown()
        other_engine.dispose()

    leader, follower = (services[0], services[1]) if leads[0] else (services[1], services[0])
    runs = _runs(engine, "tick")
    owners = {run["detail"]["scheduler"] for run in runs}
    assert owners == {leader.lock.owner}
    assert len(runs) >= 4 and {run["status"] for run in runs} == {"succeeded"}
    assert f"scheduler lock held by {leader.lock.owner}; serving API only" in caplog.messages
    assert follower.is_leader is False
    starts = sorted(run["started_at"] for run in runs)
    gaps = [round((b - a).total_seconds(), 2) for a, b in itertools.pairwise(starts)]
    report_figure(
        f"J-1 {engine.dialect.name}: tick runs / owners / follower logged", (len(runs), len(owners), True)
    )
    report_figure(f"J-1 {engine.dialect.name}: seconds between runs", gaps)


def test_follower_takes_over_when_the_leader_stops_renewing(engine: Engine) -> None:
    """J-2: the leader stalls (SQLite: lease expires on a fake clock; PostgreSQL: its session is killed)."""
    clock = FakeClock()
    ticks = CountingJob(target=10**9)
    job = ScheduledJob(id="tick", func=ticks, interval_seconds=1, kind="collector")
    leader = SchedulerService([job], engine=engine, lock=LeaderLock(engine, ttl_seconds=60, clock=clock))
    follower = SchedulerService(
        [job], engine=engine, lock=LeaderLock(engine, ttl_seconds=60, clock=clock), retry_seconds=0.05
    )
    try:
        assert leader.start() is True
        assert follower.start() is False
        assert _wait_for(lambda: len(_runs(engine, "tick")) >= 1)

        stalled_at = time.monotonic()
        if is_postgres(engine):
            _terminate_lock_session(engine, leader.lock.owner)
        else:
            clock.advance(61)
        assert follower.became_leader.wait(_WAIT)
        takeover = round(time.monotonic() - stalled_at, 3)
        assert leader.lock.is_held() is False
        follower_owner = follower.lock.owner
        assert _wait_for(
            lambda: any(r["detail"]["scheduler"] == follower_owner for r in _runs(engine, "tick"))
        )
    finally:
        follower.shutdown()
        leader.shutdown()
    runs = _runs(engine, "tick")
    handover = [run["detail"]["scheduler"] for run in runs]
    first_follower_run = handover.index(follower.lock.owner)
    # fenced: once the follower runs, the old leader runs nothing more
    assert set(handover[first_follower_run:]) == {follower.lock.owner}
    extra = "" if is_postgres(engine) else " after the 61 s fake lease expiry"
    report_figure(f"J-2 {engine.dialect.name}: service takeover (real s){extra}", takeover)


def _terminate_lock_session(engine: Engine, owner: str) -> None:
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": f"wom {owner}"[:63]},
        ).scalars()
        assert [conn.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar_one() for pid in pids] == [
            True
        ]


def test_a_leader_that_loses_the_lock_stops_and_follows(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The renew job notices the loss (SQLite: a lease taken over; PostgreSQL: its session ended)."""
    caplog.set_level(logging.INFO, logger="wom.scheduler")
    stalled, ahead = FakeClock(), FakeClock()
    ahead.advance(3600)  # the follower's clock is an hour ahead: the leader's lease looks expired to it
    job = ScheduledJob(id="tick", func=CountingJob(target=10**9), interval_seconds=1, kind="collector")
    # ttl 0.6 s: the leader renews (or re-checks its session) every 0.2 s
    leader = SchedulerService([job], engine=engine, lock=LeaderLock(engine, ttl_seconds=0.6, clock=stalled))
    follower = SchedulerService(
        [job], engine=engine, lock=LeaderLock(engine, ttl_seconds=0.6, clock=ahead), retry_seconds=0.05
    )
    try:
        assert leader.start() is True
        if is_postgres(engine):
            assert follower.start() is False
            _terminate_lock_session(engine, leader.lock.owner)
        else:
            assert follower.start() is True  # took the "expired" lease at once
        assert _wait_for(lambda: not leader.is_leader)
        assert _wait_for(lambda: follower.is_leader)
        assert leader.is_leader is False
    finally:
        follower.shutdown()
        leader.shutdown()
    assert any(message.startswith("lost the scheduler lock") for message in caplog.messages)


def test_follower_tries_when_the_lease_it_saw_ends_not_a_whole_poll_later(sqlite_engine: Engine) -> None:
    """J-2: the dead leader's lease ends in 1 s; a follower polling every 10 minutes still takes over then."""
    dead = LeaderLock(sqlite_engine, ttl_seconds=1)  # acquired once, never renewed: its process is gone
    assert dead.acquire()
    job = ScheduledJob(id="tick", func=CountingJob(target=10**9), interval_seconds=60, kind="collector")
    follower = SchedulerService(
        [job], engine=sqlite_engine, lock=LeaderLock(sqlite_engine), retry_seconds=600
    )
    try:
        assert follower.start() is False
        assert follower.became_leader.wait(_WAIT)  # a fixed poll would first try again after 600 s
        assert follower.lock.holder() == follower.lock.owner
    finally:
        follower.shutdown()
