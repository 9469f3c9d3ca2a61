"""Two `wom worker` processes on PostgreSQL over the same backlog: every mention classified exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
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

CONFIG = """
[database]
url = "{url}"

[pipeline]
batch_size = 64

[classifier]
threads = 1

[[brands]]
name = "Acme"
keywords = ["acme", "acme.nl"]
hashtags = ["#acme"]
"""


@pytest.mark.postgres
def test_two_workers_share_a_backlog_without_doing_anything_twice(tmp_path: Path) -> None:
    from tests.conftest import drop_postgres_schema, make_postgres_url, postgres_base_url

    base = postgres_base_url()
    url, schema = make_postgres_url(base)
    try:
        config = tmp_path / "wom.toml"
        config.write_text(CONFIG.format(url=url), encoding="utf-8")
        facts = write_mentions(tmp_path / "m.jsonl", lines=3000, authors=300)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
        wom = [sys.executable, "-m", "monitor.cli", "--config", str(config)]
        subprocess.run(
            [*wom, "import", str(tmp_path / "m.jsonl"), "--quiet"], env=env, check=True, capture_output=True
        )
        workers = [
            subprocess.Popen(
                [*wom, "worker", "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            for _ in range(2)
        ]
        outputs = [w.communicate(timeout=600)[0].decode() for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs

        engine = connect(url)
        classification = table_of(Classification)
        with engine.connect() as conn:
            per_mention = dict(
                conn.execute(
                    sa.select(classification.c.mention_id, sa.func.count()).group_by(
                        classification.c.mention_id
                    )
                ).all()
            )
            by_worker = dict(
                conn.execute(
                    sa.select(classification.c.worker, sa.func.count()).group_by(classification.c.worker)
                ).all()
            )
            pending = conn.execute(
                sa.select(sa.func.count()).where(table_of(Mention).c.alerted_at.is_(None))
            ).scalar_one()
            settings = load_settings(config)
            rebuilt = as_comparable(compute_profiles(conn, author_ids=None, settings=settings))
            derived = as_comparable(stored_profiles(conn))
            hours_equal = stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
        engine.dispose()
        assert len(per_mention) == len(facts.valid_ids)
        assert set(per_mention.values()) == {1}
        assert len(by_worker) == 2, f"both workers should have classified some mentions: {by_worker}"
        assert pending == 0
        assert derived == rebuilt
        assert hours_equal
    finally:
        drop_postgres_schema(base, schema)
