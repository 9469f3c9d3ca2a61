"""`wom import FILE`: JSON Lines or CSV, with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from monitor.cli.context import console, open_database, state, wom_command
from monitor.importer import ImportSummary
from monitor.service.ingest import import_file_recorded

__all__ = ["print_summary", "register", "run_import"]

_SHOWN_REJECTIONS = 20


def print_summary(summary: ImportSummary, *, shown: int = _SHOWN_REJECTIONS) -> None:
    table = Table(title="import", show_header=True)
    for column in ("read", "new", "duplicate", "rejected", "lines/s"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{summary.read:,}",
        f"{summary.new:,}",
        f"{summary.duplicate:,}",
        f"{len(summary.rejected):,}",
        f"{summary.lines_per_second:,.0f}",
    )
    console.print(table)
    if summary.forgotten:
        console.print(f"  {summary.forgotten:,} lines of forgotten authors refused (`wom authors forget`)")
    for rejection in summary.rejected[:shown]:
        console.print(f"  line {rejection.line}: {rejection.reason}", markup=False)
    if len(summary.rejected) > shown:
        console.print(f"  … and {len(summary.rejected) - shown:,} more rejected lines (see `wom status`)")


def run_import(path: Path, *, batch_size: int, quiet: bool = False) -> ImportSummary:
    settings = state.settings()
    engine = open_database(settings)
    try:
        with Progress(
            TextColumn("[bold]importing[/]"),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=quiet,
        ) as progress:
            size = path.stat().st_size if path.is_file() else None
            task = progress.add_task(path.name, total=size)
            return import_file_recorded(
                engine, path, batch_size=batch_size, on_progress=lambda n: progress.advance(task, n)
            )
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    @app.command("import")
    @wom_command
    def import_(
        file: Annotated[Path, typer.Argument(help="A .jsonl (JSON Lines) or .csv file of mentions.")],
        batch_size: Annotated[int, typer.Option(min=1, max=50_000, help="Mentions per transaction.")] = 2000,
        quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
        show_rejected: Annotated[
            int, typer.Option(min=0, help="How many rejected lines to list.")
        ] = _SHOWN_REJECTIONS,
    ) -> None:
        """Import mentions; bad lines are reported and skipped, and re-importing adds nothing."""
        print_summary(run_import(file, batch_size=batch_size, quiet=quiet), shown=show_rejected)
