"""`wom collect [SOURCE] [--brand NAME]`: run collectors once, with progress and a summary per source."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor.cli.context import console, open_database, state, wom_command
from monitor.collectors.base import BrandQuery, CollectResult
from monitor.collectors.registry import SOURCE_NAMES
from monitor.collectors.runner import SourceReport, SourceRunner, configured_sources
from monitor.errors import WomError
from monitor.job_runs import run_recorded
from monitor.matching import fold
from monitor.scheduler import DEFAULT_STALE_AFTER, mark_stale_runs
from monitor.service.schedule import collect_job_name
from monitor.storage.runs import mask_secrets

__all__ = ["register"]


def _cursor_text(report: SourceReport) -> str:
    cursors = [stream.cursor for stream in report.streams if stream.cursor]
    if not cursors:
        return ""
    text = json.dumps(cursors[-1], sort_keys=True, default=str)
    suffix = f" (+{len(cursors) - 1} more)" if len(cursors) > 1 else ""
    return (text if len(text) <= 60 else text[:59] + "…") + suffix


def _print_summary(reports: list[SourceReport]) -> None:
    table = Table(title="collected")
    for column in ("source", "status", "streams", "new", "duplicate", "failed", "cursor"):
        table.add_column(
            column, justify="right" if column in ("streams", "new", "duplicate", "failed") else "left"
        )
    for report in reports:
        failed = report.total("failed") + sum(1 for stream in report.streams if stream.error)
        table.add_row(
            report.source,
            report.status,
            str(len(report.streams)),
            f"{report.total('new'):,}",
            f"{report.total('duplicate'):,}",
            f"{failed:,}",
            _cursor_text(report),
        )
    console.print(table)
    for report in reports:
        if report.error:
            console.print(f"  {report.source}: {report.error}", markup=False)
        for stream in report.streams:
            if stream.error:
                console.print(
                    f"  {report.source} {stream.brand} {stream.query_key!r}: {stream.error}", markup=False
                )
            for reason in stream.skipped[:3]:
                console.print(f"  {report.source} skipped an item: {reason}", markup=False)


def register(app: typer.Typer) -> None:
    @app.command()
    @wom_command
    def collect(
        source: Annotated[
            str | None,
            typer.Argument(help=f"One source ({', '.join(SOURCE_NAMES)}); default: every configured source."),
        ] = None,
        brand: Annotated[str | None, typer.Option("--brand", help="Only this brand's streams.")] = None,
        force: Annotated[bool, typer.Option(help="Run even while the source is backing off.")] = False,
        quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
    ) -> None:
        """Run collectors once and store what they find; the pipeline classifies it (`wom process`)."""
        settings = state.settings()
        if source is not None and source not in SOURCE_NAMES:
            raise WomError(f"unknown source {source!r}; use one of {', '.join(SOURCE_NAMES)}")
        names = [source] if source else configured_sources(settings)
        if brand and not any(
            fold(entry.name) == fold(brand)
            for configured in settings.brands
            for entry in [configured, *configured.competitors]
        ):
            raise WomError(f"no brand named {brand!r} in the config; `wom status` lists the brands")
        if not names:
            raise WomError(
                "no brand is collected from any source; add a [brands.collect.<source>] table "
                "(see config.example.toml)"
            )
        engine = open_database(settings)
        mark_stale_runs(engine, older_than=DEFAULT_STALE_AFTER)  # runs left by a killed process
        reports: list[SourceReport] = []
        with (
            SourceRunner(engine, settings) as runner,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
                TextColumn("{task.fields[found]}", markup=False),
                TimeElapsedColumn(),
                console=console,
                disable=quiet,
                transient=True,
            ) as progress,
        ):
            for name in names:
                task = progress.add_task(name, total=None, found="")

                def on_page(
                    query: BrandQuery, result: CollectResult, task: TaskID = task, name: str = name
                ) -> None:
                    progress.update(
                        task,
                        description=f"{name} {query.brand}: {mask_secrets(query.query_key)[:40]}",
                        found=f"{result.new:,} new, {result.duplicate:,} duplicate",
                    )

                holder: list[SourceReport] = []

                def job(name: str = name, on_page=on_page, holder: list[SourceReport] = holder):  # type: ignore[no-untyped-def]
                    report = runner.run(name, only_brand=brand, force=force, on_page=on_page)
                    holder.append(report)
                    return report.as_job_result()

                run_recorded(engine, kind="collector", name=collect_job_name(name), func=job)
                progress.remove_task(task)
                if holder:
                    reports.append(holder[0])
        _print_summary(reports)
        if any(report.status == "failed" for report in reports):
            raise typer.Exit(1)
