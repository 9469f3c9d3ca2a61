"""`wom process` runs the pipeline stages once; `wom worker` runs them in a loop (several may run at once)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from monitor.alerts.delivery import deliver_pending
from monitor.authors.retention import apply_retention
from monitor.classify.cache import CachedClassifier
from monitor.cli.context import configure_logging, console, open_database, state, wom_command
from monitor.config import Settings
from monitor.pipeline import STAGE_ORDER, Pipeline, StageResult
from monitor.scheduler import heartbeat
from monitor.scoring.store import rebuild_profiles
from monitor.storage.claims import Stage
from monitor.storage.runs import finish_run, start_run
from monitor.storage.sentiment_hours import rebuild_sentiment_hours

__all__ = ["make_pipeline", "register", "run_pipeline_once"]


def make_pipeline(settings: Settings, engine: Engine) -> Pipeline:
    from monitor.classify.factory import build_classifier  # loads numpy and the encoder lazily

    return Pipeline(
        engine, settings, classifier_factory=lambda: CachedClassifier(build_classifier(settings.classifier))
    )


def run_pipeline_once(settings: Settings, engine: Engine, *, quiet: bool = False) -> dict[Stage, StageResult]:
    """All stages until nothing is pending, then due e-mail deliveries; recorded as one JobRun per stage."""
    pipeline = make_pipeline(settings, engine)
    pipeline.recover_dead_claims()
    results: dict[Stage, StageResult] = {}
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}", markup=False), console=console, disable=quiet
    ) as progress:
        for stage in STAGE_ORDER:
            task = progress.add_task(f"{stage}: starting", total=None)
            run_id = start_run(pipeline.engine, kind="pipeline", name=stage)
            total = StageResult()
            try:
                while True:
                    batch = pipeline.run_stage(stage, max_batches=1)
                    if batch.batches == 0:
                        break
                    total.claimed += batch.claimed
                    total.done += batch.done
                    total.batches += 1
                    for key, value in batch.detail.items():
                        total.detail[key] = total.detail.get(key, 0) + value
                    progress.update(task, description=f"{stage}: {total.done:,} mentions")
                    heartbeat(pipeline.engine, run_id)
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
            results[stage] = total
            progress.update(task, description=f"{stage}: {total.done:,} mentions", completed=1, total=1)
    if settings.alerts.email_to:
        deliver_pending(pipeline.engine, settings)
    return results


def _apply_retention(settings: Settings, engine: Engine) -> None:
    run_id = start_run(engine, kind="maintenance", name="retention")
    try:
        result = apply_retention(engine, settings)
    except Exception as e:
        finish_run(engine, run_id, status="failed", error=f"{type(e).__name__}: {e}")
        raise
    finish_run(engine, run_id, status="succeeded", read=result.erased.mentions, detail=result.summary())
    console.print(
        f"retention: {result.erased.mentions:,} mentions older than {settings.privacy.retention_days} days "
        f"deleted, {result.authors_recomputed:,} authors recomputed, {result.authors_removed:,} removed"
    )


def _print_results(results: dict[Stage, StageResult]) -> None:
    table = Table(title="pipeline")
    for column in ("stage", "mentions", "batches", "detail"):
        table.add_column(column)
    for stage, result in results.items():
        detail = ", ".join(f"{k} {v:,}" for k, v in result.detail.items())
        table.add_row(stage, f"{result.done:,}", str(result.batches), detail)
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    @wom_command
    def process(
        rebuild: Annotated[
            bool,
            typer.Option(help="Recompute every author profile and sentiment count from scratch first."),
        ] = False,
        reclassify: Annotated[
            bool,
            typer.Option(
                help="Classify again every mention the configured model (name and version) has not."
            ),
        ] = False,
        quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
    ) -> None:
        """Run every pipeline stage once over what is pending: match, classify, profile, alert, deliver."""
        settings = state.settings()
        engine = open_database(settings)
        if reclassify:
            from monitor.classify.factory import build_classifier
            from monitor.storage.reclassify import queue_reclassification

            classifier = build_classifier(settings.classifier)
            queued = queue_reclassification(
                engine, model_name=classifier.name, model_version=classifier.version
            )
            console.print(f"{queued:,} mentions queued for {classifier.name} {classifier.version}")
        if settings.privacy.retention_days:
            _apply_retention(settings, engine)
        if rebuild:
            with engine.begin() as conn:
                hours = rebuild_sentiment_hours(conn)
                pairs = rebuild_profiles(conn, settings=settings)
            console.print(f"rebuilt {pairs:,} author profiles and {hours:,} sentiment-hour counts")
        _print_results(run_pipeline_once(settings, engine, quiet=quiet))

    @app.command()
    @wom_command
    def worker(
        idle_seconds: Annotated[float, typer.Option(min=0.1, help="Pause when nothing is pending.")] = 5.0,
        once: Annotated[
            bool, typer.Option(help="Stop when nothing is pending (for tests and batch jobs).")
        ] = False,
    ) -> None:
        """Run the pipeline stages in a loop; start several (on PostgreSQL) to share the work."""
        configure_logging()
        settings = state.settings()
        engine = open_database(settings)
        pipeline = make_pipeline(settings, engine)
        pipeline.recover_dead_claims()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        console.print(f"worker {pipeline.worker} started")
        while not stop.is_set():
            done = 0
            for stage in STAGE_ORDER:
                done += pipeline.run_stage(stage, max_batches=4).done
                if stop.is_set():
                    break
            if settings.alerts.email_to:
                done += deliver_pending(engine, settings, limit=20).sent
            if done == 0:
                if once:
                    break
                stop.wait(idle_seconds)
        console.print(f"worker {pipeline.worker} stopped")
