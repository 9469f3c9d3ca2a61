"""kill -9 of `wom collect` at every named point, for every source, replaying ../shared/fixtures (RELIABILITY I-2).

Per source and point: the collector is killed there (`WOM_FAULT`), then run again to completion. Figures
asserted: lost 0 (every item a clean run stores is stored), duplicated 0, and the killed run's record is
not left looking healthy. Also: one source answering garbage does not stop the others (I-6).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.collect_replay import CREDENTIALS, SOURCES, _config
from benchmarks.replay_server import ReplayServers, Reply, source_handlers
from monitor.storage.db import connect
from monitor.storage.models import JobRun, Mention
from monitor.storage.tables import table_of
from tests.conftest import shared_path

POINTS = (
    "collector.after_fetch",
    "collector.after_insert_before_commit",
    "collector.after_commit",
    "collector.mid_pagination",
)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replay() -> Iterator[ReplayServers]:
    shared = shared_path("fixtures").parent
    with ReplayServers(source_handlers(shared, datetime.now(UTC))) as servers:
        yield servers


def _collect(config: Path, source: str | None, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
    env.update(CREDENTIALS)
    if fault:
        env["WOM_FAULT"] = fault
    args = [sys.executable, "-m", "monitor.cli", "--config", str(config), "collect", "--quiet"]
    return subprocess.run(
        [*args, *([source] if source else [])],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _stored(url: str) -> tuple[list[tuple[str, str]], list[str]]:
    engine = connect(url)
    mention, run = table_of(Mention), table_of(JobRun)
    try:
        with engine.connect() as conn:
            keys = [tuple(row) for row in conn.execute(sa.select(mention.c.source, mention.c.external_id))]
            statuses = list(conn.execute(sa.select(run.c.status).order_by(run.c.id)).scalars())
    finally:
        engine.dispose()
    return keys, statuses  # type: ignore[return-value]


def _setup(tmp_path: Path, name: str, replay: ReplayServers) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    config = tmp_path / f"{name}.toml"
    config.write_text(_config(url, replay.urls, brands=1), encoding="utf-8")
    return config, url


@pytest.mark.parametrize("source", SOURCES)
def test_a_kill_at_any_point_loses_and_doubles_nothing(
    tmp_path: Path, replay: ReplayServers, source: str
) -> None:
    config, url = _setup(tmp_path, "clean", replay)
    assert _collect(config, source).returncode == 0
    expected, _ = _stored(url)
    assert expected, f"the clean {source} run stored nothing"
    for point in POINTS:
        config, url = _setup(tmp_path, point, replay)
        killed = _collect(config, source, fault=point)
        if killed.returncode != -signal.SIGKILL:
            # a single-page stream never reaches mid_pagination: the run simply completes
            assert point == "collector.mid_pagination" and killed.returncode == 0, killed.stdout
        recovered = _collect(config, source)
        assert recovered.returncode == 0, f"{point}: {recovered.stdout}"
        keys, statuses = _stored(url)
        lost = set(expected) - set(keys)
        assert (point, sorted(lost)) == (point, [])
        assert (point, len(keys)) == (point, len(set(keys)))
        if killed.returncode == -signal.SIGKILL:
            assert statuses == ["running", "succeeded"], point  # marked stale 15 min after its last heartbeat


def test_one_source_answering_garbage_does_not_stop_the_others(tmp_path: Path) -> None:
    shared = shared_path("fixtures").parent
    handlers = source_handlers(shared, datetime.now(UTC))
    handlers["hackernews"] = lambda method, path, query, body: Reply(
        200, b"<html><body>Service unavailable</body></html>", "text/html"
    )
    with ReplayServers(handlers) as servers:
        config, url = _setup(tmp_path, "garbage", servers)
        done = _collect(config, None)
    assert done.returncode == 1, done.stdout
    engine = connect(url)
    run = table_of(JobRun)
    try:
        with engine.connect() as conn:
            runs = {row.name: row for row in conn.execute(sa.select(run))}
    finally:
        engine.dispose()
    assert runs["collect-hackernews"].status == "failed"
    error = runs["collect-hackernews"].error
    assert "Hacker News sent something that is not JSON" in error and error.endswith("(after 1 attempt)")
    others = [name for name in runs if name != "collect-hackernews"]
    assert len(others) == len(SOURCES) - 1
    assert all(runs[name].status == "succeeded" and runs[name].items_new > 0 for name in others)
