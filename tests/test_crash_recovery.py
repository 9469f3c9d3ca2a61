"""kill -9 of `wom import` and `wom process` at random points, then a restart (../shared/RELIABILITY.md I-1).

Figures asserted: lost 0, duplicated 0, every rejected line reported once in the final summary,
every mention classified exactly once, derived tables equal to a rebuild from scratch.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.mentions_file import write_mentions
from monitor.config import load_settings
from monitor.scoring.store import as_comparable, compute_profiles, stored_profiles
from monitor.storage.db import connect, read_only
from monitor.storage.models import Classification, JobRun, Mention, MentionBrand
from monitor.storage.sentiment_hours import computed_sentiment_hours, stored_sentiment_hours
from monitor.storage.tables import table_of

LINES = 20_000
KILLS = 20
STAGE_COLUMNS = ("matched_at", "classified_at", "profiled_at", "alerted_at")
CONFIG = """
[database]
url = "{url}"

[pipeline]
batch_size = 256

[[brands]]
name = "Acme"
keywords = ["acme", "acme.nl"]
hashtags = ["#acme"]
timezone = "Europe/Amsterdam"

[brands.handles]
x = ["acme"]
"""


def _wom(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor.cli", "--config", str(config), *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
    env["COLUMNS"] = "200"
    return env


def _run_to_completion(command: list[str]) -> str:
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _kill_at_points(
    command: list[str], *, points: list[int], progress: Callable[[], int], timeout: float = 600
) -> list[int]:
    """Run `command` once per point and SIGKILL it as soon as `progress()` reaches that point.

    Returns, per point, whether the process was still running when killed. Points are positions along the
    whole run (rows stored, or stage steps done), so the kills land all along it, not only in its first
    seconds; a point inside the last batch may find the process already gone.
    """
    landed = []
    for point in points:
        process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while process.poll() is None and progress() < point and time.monotonic() < deadline:
            time.sleep(0.02)
        running = process.poll() is None
        if running:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        landed.append(running)
    return landed


def _count(engine: sa.Engine, *conditions: sa.ColumnElement[bool]) -> int:
    # a reader: on SQLite a writable engine's BEGIN IMMEDIATE would queue behind the stage's write lock
    with read_only(engine).connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table_of(Mention)).where(*conditions)
            ).scalar_one()
        )


@pytest.mark.slow
def test_kill_9_during_import_and_process_loses_and_doubles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261123)
    facts = write_mentions(tmp_path / "mentions.jsonl", lines=LINES, bad_share=0.05, repeat_share=0.02)
    config = tmp_path / "wom.toml"
    config.write_text(CONFIG.format(url=database_url), encoding="utf-8")
    import_command = _wom(
        config, "import", str(tmp_path / "mentions.jsonl"), "--quiet", "--batch-size", "500"
    )

    _run_to_completion(_wom(config, "init"))
    engine = connect(database_url)
    total = len(facts.valid_ids)
    mention = table_of(Mention)

    # 20 random points along the import: kill when that many mentions are stored, restart, repeat
    points = sorted(rng.sample(range(1, total), KILLS))
    landed = _kill_at_points(import_command, points=points, progress=lambda: _count(engine))
    assert sum(landed) >= KILLS - 2, f"kills that found the import running: {landed}"
    final = _run_to_completion(import_command)
    assert "rejected" in final

    run = table_of(JobRun)
    with engine.connect() as conn:
        last_import = (
            conn.execute(
                sa.select(run)
                .where(run.c.kind == "import", run.c.status == "succeeded")
                .order_by(run.c.id.desc())
                .limit(1)
            )
            .mappings()
            .one()
        )
        stored = {
            (s, e)
            for s, e in conn.execute(sa.select(table_of(Mention).c.source, table_of(Mention).c.external_id))
        }
    assert stored == set(facts.valid_ids), f"lost {len(set(facts.valid_ids) - stored)}"
    # the final run re-reads the whole file: every bad line is reported exactly once in its summary
    assert last_import["items_failed"] == facts.bad_lines
    assert last_import["items_read"] == LINES

    # 20 random points along the pipeline: stage steps done over match, classify, profile and alert
    def steps() -> int:
        return sum(_count(engine, mention.c[column].is_not(None)) for column in STAGE_COLUMNS)

    process_command = _wom(config, "process", "--quiet")
    points = sorted(rng.sample(range(1, total * len(STAGE_COLUMNS)), KILLS))
    landed = _kill_at_points(process_command, points=points, progress=steps)
    assert sum(landed) >= KILLS - 2, f"kills that found the pipeline running: {landed}"
    _run_to_completion(process_command)

    settings = load_settings(config)
    classification = table_of(Classification)
    with engine.connect() as conn:
        per_mention = conn.execute(
            sa.select(classification.c.mention_id, sa.func.count()).group_by(classification.c.mention_id)
        ).all()
        unfinished = conn.execute(
            sa.select(sa.func.count()).where(mention.c.alerted_at.is_(None))
        ).scalar_one()
        links = conn.execute(sa.select(sa.func.count()).select_from(table_of(MentionBrand))).scalar_one()
        rebuilt = as_comparable(compute_profiles(conn, author_ids=None, settings=settings))
        derived = as_comparable(stored_profiles(conn))
        hours_equal = stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
    assert len(per_mention) == len(facts.valid_ids)
    assert {count for _, count in per_mention} == {1}
    assert unfinished == 0
    assert links == len(facts.valid_ids)  # every synthetic text names Acme once
    assert derived == rebuilt
    assert hours_equal
    assert len(derived[0]) > 100
    engine.dispose()
