"""LeaderLock: one holder per database, on SQLite (lease row) and PostgreSQL (advisory lock)."""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.db import is_postgres
from monitor.storage.leader import LeaderLock, advisory_lock_key
from monitor.storage.models import utcnow

REPO = Path(__file__).resolve().parents[2]
_HOLDER_SCRIPT = """
import sys, time
from monitor.storage.db import connect
from monitor.storage.leader import LeaderLock
lock = LeaderLock(connect(sys.argv[1]), ttl_seconds=60)
print("acquired" if lock.acquire() else "refused", lock.owner, flush=True)
time.sleep(600)
"""


class FakeClock:
    """A wall clock the test moves by hand, so a 60 s lease expires without waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or utcnow()
        self._mutex = threading.Lock()

    def __call__(self) -> datetime:
        with self._mutex:
            return self._now

    def set(self, now: datetime) -> None:
        with self._mutex:
            self._now = now

    def advance(self, seconds: float) -> None:
        with self._mutex:
            self._now += timedelta(seconds=seconds)


@pytest.fixture
def locks(engine: Engine) -> Iterator[Callable[..., LeaderLock]]:
    made: list[LeaderLock] = []

    def make(**kwargs: object) -> LeaderLock:
        lock = LeaderLock(engine, **kwargs)  # type: ignore[arg-type]
        made.append(lock)
        return lock

    yield make
    for lock in made:
        lock.release()


def test_only_one_of_two_locks_acquires(
    engine: Engine, locks: Callable[..., LeaderLock], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wom.scheduler")
    first, second = locks(), locks()

    assert (first.acquire(), second.acquire()) == (True, False)
    assert (first.is_held(), second.is_held()) == (True, False)
    assert second.holder() == first.owner
    assert f"scheduler lock held by {first.owner}; serving API only" in caplog.messages


def test_owner_is_host_pid_random(engine: Engine) -> None:
    first, second = LeaderLock(engine), LeaderLock(engine)
    host, pid, random_part = first.owner.split(":")
    assert (host, int(pid), len(random_part)) == (socket.gethostname(), os.getpid(), 8)
    assert first.owner != second.owner


def test_release_lets_the_other_acquire(engine: Engine, locks: Callable[..., LeaderLock]) -> None:
    first, second = locks(), locks()
    assert first.acquire()

    first.release()

    assert second.acquire()
    assert (first.is_held(), second.is_held(), first.acquire()) == (False, True, False)


def test_repeated_acquire_and_renew_hold_one_lock(engine: Engine, locks: Callable[..., LeaderLock]) -> None:
    # PostgreSQL advisory locks stack per session: a second pg_try_advisory_lock would need two unlocks
    first, second = locks(), locks()
    assert [first.acquire(), first.acquire(), first.renew(), first.acquire()] == [True, True, True, True]

    first.release()

    assert second.acquire()


def test_renew_without_holding_is_refused(engine: Engine, locks: Callable[..., LeaderLock]) -> None:
    first, second = locks(), locks()
    assert first.acquire()
    assert (second.renew(), second.is_held(), first.is_held()) == (False, False, True)


def test_sqlite_lease_expires_and_the_other_takes_over(sqlite_engine: Engine) -> None:
    clock = FakeClock()
    first = LeaderLock(sqlite_engine, ttl_seconds=60, clock=clock)
    second = LeaderLock(sqlite_engine, ttl_seconds=60, clock=clock)
    assert first.acquire()

    clock.advance(59)
    assert (second.acquire(), first.is_held()) == (False, True)

    clock.advance(2)  # 61 s after the last renewal: the leader "died" without releasing
    assert first.is_held() is False  # fencing: a stalled leader sees it may no longer commit
    assert second.acquire() is True
    assert (first.renew(), first.is_held(), first.holder()) == (False, False, second.owner)
    report_figure("J-2 sqlite takeover after the last renewal (fake s)", 61)


def test_sqlite_renew_extends_the_lease(sqlite_engine: Engine) -> None:
    clock = FakeClock()
    first = LeaderLock(sqlite_engine, ttl_seconds=60, clock=clock)
    second = LeaderLock(sqlite_engine, ttl_seconds=60, clock=clock)
    assert first.acquire()

    clock.advance(40)
    assert first.renew()
    clock.advance(40)  # 80 s after acquiring, 40 s after renewing
    assert (second.acquire(), first.is_held()) == (False, True)
    clock.advance(21)
    assert second.acquire()


def test_sqlite_lease_row_names_owner_and_expiry(sqlite_engine: Engine) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=utcnow().tzinfo))
    lock = LeaderLock(sqlite_engine, ttl_seconds=90, clock=clock)
    assert lock.acquire()
    with sqlite_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT name, owner, expires_at FROM schedulerlease")).one()
    assert tuple(row) == ("wom-scheduler", lock.owner, "2026-03-01 12:01:30.000000")
    assert (lock.renew_interval_seconds, lock.retry_interval_seconds) == (30.0, 30.0)


# (seconds after the leader's last renewal it is SIGKILLed, the follower's first try): offsets that are
# exact binary fractions, so the fake clock's microseconds add up without rounding
_KILL_OFFSETS = (0.0, 0.5, 10.0, 19.75)
_FOLLOWER_PHASES = (0.25, 7.5, 13.25, 19.75)


def test_sigkilled_leader_is_replaced_within_the_ttl(engine: Engine) -> None:
    """J-2 on the fake clock: the leader renews every TTL/3 until it is killed at any point of its renewal
    cycle; the follower polls at whatever phase. Takeover (first successful acquire) <= TTL after the kill."""
    takeovers = [
        _takeover_after_kill(engine, name=f"j2-{index}", kill_at=40.0 + offset, first_try=phase)
        for index, (offset, phase) in enumerate(
            (offset, phase) for offset in _KILL_OFFSETS for phase in _FOLLOWER_PHASES
        )
    ]
    assert max(takeovers) <= 60.0, takeovers
    report_figure(f"J-2 {engine.dialect.name} worst takeover after SIGKILL, TTL 60 (fake s)", max(takeovers))


def _takeover_after_kill(engine: Engine, *, name: str, kill_at: float, first_try: float) -> float:
    start = utcnow()
    clock = FakeClock(start)
    leader = LeaderLock(engine, name=name, ttl_seconds=60, clock=clock)
    follower = LeaderLock(engine, name=name, ttl_seconds=60, clock=clock)
    assert leader.acquire()
    renew_at, try_at, killed = leader.renew_interval_seconds, first_try, False
    try:
        for _ in range(1000):
            renewing = renew_at <= kill_at
            now = min(renew_at if renewing else kill_at if not killed else try_at, try_at)
            clock.set(start + timedelta(seconds=now))
            if renewing and now == renew_at:
                assert leader.renew()
                renew_at += leader.renew_interval_seconds
            elif not killed and now == kill_at:
                killed = True
                if is_postgres(engine):  # the process dies, so the server ends its session
                    _terminate_session(engine, leader.owner)
                    assert _eventually(lambda: follower.holder() is None)
            elif follower.acquire():
                assert killed, f"the follower took the lock from a live leader at {now} s"
                return now - kill_at
            else:
                wait = follower.follower_wait_seconds()
                assert wait > 0 or not killed
                try_at = now + wait
        raise AssertionError(f"no takeover within 1000 steps (kill at {kill_at} s, first try {first_try} s)")
    finally:
        follower.release()
        leader.release()


def _terminate_session(engine: Engine, owner: str) -> None:
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": f"wom {owner}"[:63]},
        ).scalars()
        assert [conn.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar_one() for pid in pids] == [
            True
        ]


def test_ttl_must_be_positive(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="ttl_seconds must be positive, got 0"):
        LeaderLock(sqlite_engine, ttl_seconds=0)


def test_advisory_lock_key_is_a_constant_per_schema() -> None:
    assert advisory_lock_key("wom-scheduler") == advisory_lock_key("wom-scheduler", "public")
    assert advisory_lock_key("wom-scheduler") == 4023327719704478443
    assert advisory_lock_key("wom-scheduler", "tenant_b") != advisory_lock_key("wom-scheduler")


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_postgres_session_end_frees_the_lock(engine: Engine, locks: Callable[..., LeaderLock]) -> None:
    first, second = locks(), locks()
    assert first.acquire()
    assert second.acquire() is False

    with engine.connect() as conn:  # the server ends the leader's session, as when its process dies
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": f"wom {first.owner}"[:63]},
        ).scalars()
        terminated = [conn.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar_one() for pid in pids]
    assert terminated == [True]

    assert _eventually(second.acquire)
    assert (first.is_held(), first.renew()) == (False, False)


def test_sigkilled_holder_frees_the_lock(engine: Engine) -> None:
    backend = engine.dialect.name
    clock = FakeClock()
    follower = LeaderLock(engine, ttl_seconds=60, clock=clock)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER_SCRIPT, engine.url.render_as_string(hide_password=False)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        verdict, owner = _read_line(holder, timeout=60).split()
        assert verdict == "acquired"
        clock.set(utcnow())  # the holder's lease ends at most 60 s from here
        assert (follower.acquire(), follower.holder()) == (False, owner)

        os.kill(holder.pid, signal.SIGKILL)
        assert holder.wait(timeout=30) == -signal.SIGKILL
        killed_at = time.monotonic()
        if not is_postgres(engine):
            assert follower.acquire() is False  # the lease outlives its dead owner until the TTL
            clock.advance(61)
        assert _eventually(follower.acquire)
        extra = "" if is_postgres(engine) else " (+ the 60 s lease TTL on the fake clock)"
        report_figure(
            f"J-2 {backend} takeover after SIGKILL (real s){extra}", round(time.monotonic() - killed_at, 3)
        )
        assert follower.is_held()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
        follower.release()


def report_figure(name: str, value: object) -> None:
    """Figures of the RELIABILITY battery; shown with `pytest -rP`."""
    print(f"[figure] {name}: {value}")


def _read_line(process: subprocess.Popen[str], *, timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"the lock-holding subprocess printed nothing within {timeout} s")
    return process.stdout.readline()


def _eventually(check: Callable[[], bool], *, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()
