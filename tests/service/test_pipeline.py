"""run_pipeline_once: the one stage loop of `wom process`, `wom worker` and `wom run`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks.ranking_world import LabelledClassifier
from monitor.config import Settings, settings_from_mapping
from monitor.pipeline import STAGE_ORDER, Pipeline
from monitor.records import parse_mention
from monitor.service.pipeline import run_pipeline_once
from monitor.storage.brands import sync_brands
from monitor.storage.mentions import store_mentions
from monitor.storage.models import JobRun, Mention
from monitor.storage.tables import table_of

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _pipeline(engine: Engine, *, mentions: int, batch_size: int = 2) -> Pipeline:
    settings: Settings = settings_from_mapping(
        {"pipeline": {"batch_size": batch_size}, "brands": [{"name": "Kofra", "keywords": ["kofra"]}]}
    )
    sync_brands(engine, settings)
    records = [
        {
            "source": "x",
            "external_id": f"m{n}",
            "text": f"kofra coffee number {n}",
            "created_at": (NOW - timedelta(hours=n)).isoformat(),
            "author": {"handle": f"author{n}"},
        }
        for n in range(mentions)
    ]
    store_mentions(engine, [parse_mention(record) for record in records])
    classifier = LabelledClassifier({}, confidence=0.9)
    return Pipeline(engine, settings, classifier_factory=lambda: classifier, now=lambda: NOW)


def _unfinished(engine: Engine) -> int:
    mention = table_of(Mention)
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).where(mention.c.alerted_at.is_(None))).scalar_one()
        )


def test_every_stage_until_nothing_is_pending(engine: Engine) -> None:
    done = run_pipeline_once(_pipeline(engine, mentions=5))
    assert list(done.stages) == list(STAGE_ORDER)
    assert [done.stages[stage].done for stage in STAGE_ORDER] == [5, 5, 5, 5]
    assert [done.stages[stage].batches for stage in STAGE_ORDER] == [3, 3, 3, 3]
    assert (done.claimed, done.done, done.sent) == (20, 20, 0)
    assert done.stages["match"].detail == {"links": 5}
    assert _unfinished(engine) == 0
    assert run_pipeline_once(_pipeline(engine, mentions=0)).done == 0


def test_max_batches_and_stop_leave_the_rest_for_the_next_pass(engine: Engine) -> None:
    pipeline = _pipeline(engine, mentions=5)
    first = run_pipeline_once(pipeline, max_batches=1, stop=lambda: True)
    assert list(first.stages) == ["match"]
    assert (first.stages["match"].done, first.stages["match"].batches) == (2, 1)
    second = run_pipeline_once(pipeline, max_batches=1)
    assert [second.stages[stage].done for stage in STAGE_ORDER] == [2, 2, 2, 2]
    run_pipeline_once(pipeline)
    assert _unfinished(engine) == 0


def test_recorded_one_run_per_stage_with_its_counts(engine: Engine) -> None:
    seen: list[tuple[str, int, bool]] = []
    run_pipeline_once(
        _pipeline(engine, mentions=3),
        record=True,
        progress=lambda stage, total, finished: seen.append((stage, total.done, finished)),
    )
    run = table_of(JobRun)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(run.c.kind, run.c.name, run.c.status, run.c.items_read, run.c.items_new).order_by(
                run.c.id
            )
        ).all()
    assert [tuple(row) for row in rows] == [("pipeline", stage, "succeeded", 3, 3) for stage in STAGE_ORDER]
    assert seen[:4] == [("match", 0, False), ("match", 2, False), ("match", 3, False), ("match", 3, True)]
    assert len(seen) == 16
