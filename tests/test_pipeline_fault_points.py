"""kill -9 of `wom process` at the pipeline's named fault points, then a restart (../shared/RELIABILITY.md I-2).

`pipeline.after_classify_before_commit` (classified in memory, nothing written) and `scoring.after_update`
(author profiles recomputed inside the profile stage's transaction, its claim not yet finished) had no
test: the collector points are covered in tests/collectors/test_fault_points.py and the random kills of
tests/test_crash_recovery.py seldom land on exactly these lines. After the kill a second `wom process`
must finish every mention with one classification each, and the stored profiles and sentiment hours must
equal a rebuild from the mentions.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.mentions_file import write_mentions
from monitor.config import load_settings
from monitor.scoring.store import as_comparable, compute_profiles, stored_profiles
from monitor.storage.db import connect
from monitor.storage.models import Classification, Mention
from monitor.storage.sentiment_hours import computed_sentiment_hours, stored_sentiment_hours
from monitor.storage.tables import table_of
from tests.test_crash_recovery import CONFIG, STAGE_COLUMNS, _env, _run_to_completion, _wom

LINES = 300  # more than one batch of 256, so the kill leaves work behind
pytestmark = pytest.mark.slow  # three `wom` processes per point, each loading the classifier


@pytest.mark.parametrize("point", ["pipeline.after_classify_before_commit", "scoring.after_update"])
def test_a_kill_at_a_pipeline_fault_point_loses_and_doubles_nothing(
    database_url: str, tmp_path: Path, point: str
) -> None:
    facts = write_mentions(tmp_path / "mentions.jsonl", lines=LINES)
    config = tmp_path / "wom.toml"
    config.write_text(CONFIG.format(url=database_url), encoding="utf-8")
    _run_to_completion(_wom(config, "init"))
    _run_to_completion(_wom(config, "import", str(tmp_path / "mentions.jsonl"), "--quiet"))
    engine = connect(database_url)
    mention = table_of(Mention)
    classification = table_of(Classification)

    def steps_left() -> int:
        with engine.connect() as conn:
            return sum(
                int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(mention).where(mention.c[column].is_(None))
                    ).scalar_one()
                )
                for column in STAGE_COLUMNS
            )

    killed = subprocess.run(
        _wom(config, "process", "--quiet"),
        env={**_env(), "WOM_FAULT": point},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert steps_left() > 0  # the kill stopped the run with work left

    _run_to_completion(_wom(config, "process", "--quiet"))

    settings = load_settings(config)
    with engine.connect() as conn:
        per_mention = conn.execute(
            sa.select(classification.c.mention_id, sa.func.count()).group_by(classification.c.mention_id)
        ).all()
        rebuilt = as_comparable(compute_profiles(conn, author_ids=None, settings=settings))
        derived = as_comparable(stored_profiles(conn))
        hours_equal = stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
    assert steps_left() == 0
    assert len(per_mention) == len(facts.valid_ids)
    assert {count for _, count in per_mention} == {1}
    assert derived == rebuilt
    assert hours_equal
    assert len(derived[0]) > 10
    engine.dispose()
