"""`wom process` runs the pipeline stages once; `wom worker` runs them in a loop (several may run at once)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from monitor.authors.retention import apply_retention
from monitor.cli.context import configure_logging, console, open_database, state, wom_command
from monitor.config import Settings
from monitor.pipeline import StageResult
from monitor.scoring.store import rebuild_profiles
from monitor.service.pipeline import make_pipeline, run_pipeline_once
from monitor.storage.claims import Stage
from monitor.storage.runs import finish_run, start_run
from monitor.storage.sentiment_hours import rebuild_sentiment_hours

__all__ = ["process_pending", "register"]


def process_pending(settings: Settings, engine: Engine, *, quiet: bool = False) -> dict[Stage, StageResult]:
    """`wom process`'s pass, with a progress line per stage: every stage until nothing is pending, then
    the due alert e-mails; one JobRun per stage."""
    pipeline = make_pipeline(settings, engine)
    pipeline.recover_dead_claims()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}", markup=False), console=console, disable=quiet
    ) as progress:
        tasks: dict[Stage, TaskID] = {}

        def show(stage: Stage, total: StageResult, finished: bool) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"{stage}: starting", total=None)
                return
            description = f"{stage}: {total.done:,} mentions"
            if finished:
                progress.update(tasks[stage], description=description, completed=1, total=1)
            else:
                progress.update(tasks[stage], description=description)

        return run_pipeline_once(pipeline, record=True, deliver=True, progress=show).stages


def _apply_retention(settings: Settings, engine: Engine) -> None:
    run_id = start_run(engine, kind="maintenance", name="retention")
    try:
        result = apply_retention(engine, settings)
    except Exception as e:
        finish_run(engine, run_id, status="failed", error=e)
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
        _print_results(process_pending(settings, engine, quiet=quiet))

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
            done = run_pipeline_once(
                pipeline, max_batches=4, deliver=True, deliver_limit=20, stop=stop.is_set
            )
            if done.done + done.sent == 0:
                if once:
                    break
                stop.wait(idle_seconds)
        console.print(f"worker {pipeline.worker} stopped")
