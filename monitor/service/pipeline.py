"""The stage loop, written once: `wom process`, `wom worker` and the pipeline job of `wom run` call it.

`run_pipeline_once` runs match, classify, profile and alert in order, batch after batch, until nothing
is pending (or `max_batches` per stage), then sends due alert e-mails when asked. The faces keep only
what they show: a progress display, a table, a log line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from monitor.classify.cache import CachedClassifier
from monitor.config import Settings
from monitor.pipeline import STAGE_ORDER, Pipeline, StageResult
from monitor.scheduler import heartbeat
from monitor.service.notify import deliver_outbox
from monitor.service.watch import watch_alerts
from monitor.storage.claims import Stage
from monitor.storage.models import utcnow
from monitor.storage.runs import finish_run, start_run

__all__ = ["PipelinePass", "StageProgress", "make_pipeline", "run_pipeline_once"]

# called at the start of a stage (finished False, nothing done yet), after each of its batches, and
# at its end (finished True), with the stage's running totals
StageProgress = Callable[[Stage, StageResult, bool], None]


@dataclass(slots=True)
class PipelinePass:
    """What one pass did: per stage (those reached), and the alert e-mails sent after it."""

    stages: dict[Stage, StageResult] = field(default_factory=dict)
    sent: int = 0

    @property
    def claimed(self) -> int:
        return sum(result.claimed for result in self.stages.values())

    @property
    def done(self) -> int:
        return sum(result.done for result in self.stages.values())


def make_pipeline(settings: Settings, engine: Engine) -> Pipeline:
    """The pipeline of this process, with the configured classifier (loaded at its first batch)."""
    from monitor.classify.factory import build_classifier  # loads numpy and the encoder lazily

    return Pipeline(
        engine, settings, classifier_factory=lambda: CachedClassifier(build_classifier(settings.classifier))
    )


def _add(total: StageResult, batch: StageResult) -> None:
    total.claimed += batch.claimed
    total.done += batch.done
    total.batches += batch.batches
    for key, value in batch.detail.items():
        total.detail[key] = total.detail.get(key, 0) + value


def _run_stage(
    pipeline: Pipeline,
    stage: Stage,
    total: StageResult,
    *,
    max_batches: int | None,
    run_id: int | None,
    progress: StageProgress | None,
) -> StageResult:
    """Adds each batch of `stage` to `total` (so a caller still has the counts when one fails)."""
    if progress is not None:
        progress(stage, total, False)
    while max_batches is None or total.batches < max_batches:
        batch = pipeline.run_stage(stage, max_batches=1)
        if batch.batches == 0:
            break
        _add(total, batch)
        if progress is not None:
            progress(stage, total, False)
        if run_id is not None:
            heartbeat(pipeline.engine, run_id)
    if progress is not None:
        progress(stage, total, True)
    return total


def _run_recorded_stage(
    pipeline: Pipeline, stage: Stage, *, max_batches: int | None, progress: StageProgress | None
) -> StageResult:
    """The stage as one JobRun (kind "pipeline", named after the stage), heartbeating after each batch."""
    run_id = start_run(pipeline.engine, kind="pipeline", name=stage)
    total = StageResult()
    try:
        _run_stage(pipeline, stage, total, max_batches=max_batches, run_id=run_id, progress=progress)
    except Exception as e:
        finish_run(
            pipeline.engine,
            run_id,
            status="failed",
            read=total.claimed,
            new=total.done,
            error=f"{type(e).__name__}: {e}",
        )
        raise
    finish_run(
        pipeline.engine,
        run_id,
        status="succeeded",
        read=total.claimed,
        new=total.done,
        detail=dict(total.detail),
    )
    return total


def run_pipeline_once(
    pipeline: Pipeline,
    *,
    max_batches: int | None = None,
    record: bool = False,
    deliver: bool = False,
    deliver_limit: int = 100,
    progress: StageProgress | None = None,
    stop: Callable[[], bool] | None = None,
) -> PipelinePass:
    """Every stage in order until nothing is pending (or `max_batches` batches per stage), then, when
    `deliver`, the watched alerts brought up to date (monitor.service.watch), the new alerts routed and
    the due outbox messages sent (`deliver_limit` at most).

    `record`: one JobRun per stage, for `wom status`. `stop`: asked after each stage; when it says so,
    the later stages are left for the next pass. Raises what a stage raises (its claims given back)."""
    done = PipelinePass()
    for stage in STAGE_ORDER:
        run = _run_recorded_stage if record else _run_unrecorded_stage
        done.stages[stage] = run(pipeline, stage, max_batches=max_batches, progress=progress)
        if stop is not None and stop():
            break
    if deliver:
        # what time raises (overdue inbox items, sources down or silent, rating drops) goes out with the rest
        watch_alerts(pipeline.engine, pipeline.settings, now=utcnow())
        done.sent = deliver_outbox(pipeline.engine, pipeline.settings, limit=deliver_limit).sent
    return done


def _run_unrecorded_stage(
    pipeline: Pipeline, stage: Stage, *, max_batches: int | None, progress: StageProgress | None
) -> StageResult:
    return _run_stage(pipeline, stage, StageResult(), max_batches=max_batches, run_id=None, progress=progress)
