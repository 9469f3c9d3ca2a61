"""`wom run` stopped with SIGTERM (systemd, docker stop) gives the scheduler lock back before it exits.

A follower can then take over at its next try instead of waiting for the lease TTL (60 s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor.storage.leader import LeaderLock

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_holder(lock: LeaderLock, process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = lock.holder()
        if holder is not None:
            return holder
        if process.poll() is not None:
            break
        time.sleep(0.1)
    _, stderr = process.communicate(timeout=30) if process.poll() is not None else (b"", b"")
    raise AssertionError(f"`wom run` never took the scheduler lock: {stderr.decode(errors='replace')}")


@pytest.mark.timeout(180)
def test_sigterm_releases_the_scheduler_lock(engine: Engine, database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "wom.toml"
    config.write_text(
        f'[database]\nurl = "{database_url}"\n\n[api]\nport = {_free_port()}\n', encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
    env["PYTHONPATH"] = str(REPO)
    # the follower's lease clock is the real one: without a release the lease would hold for 60 s more
    follower = LeaderLock(engine, ttl_seconds=60)
    leader = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        holder = _wait_for_holder(follower, leader)
        assert follower.acquire() is False

        leader.send_signal(signal.SIGTERM)
        _, stderr = leader.communicate(timeout=60)

        # it still ends as killed by SIGTERM (what uvicorn re-raises), only after the release
        assert leader.returncode == -signal.SIGTERM, stderr.decode(errors="replace")
        assert follower.acquire() is True, f"{holder} kept the lock after SIGTERM"
        assert follower.holder() == follower.owner
    finally:
        if leader.poll() is None:
            leader.kill()
            leader.communicate()
        follower.release()
