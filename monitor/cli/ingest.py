"""`wom import FILE`: JSON Lines or CSV, with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from monitor.cli.context import console, open_database, state, wom_command
from monitor.errors import ImportFileError
from monitor.importer import ImportSummary, import_file
from monitor.matching import fold
from monitor.scheduler import heartbeat
from monitor.storage.runs import finish_run, start_run

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
    if not path.is_file():
        raise ImportFileError(f"{path} is not a file; give the path of a .jsonl or .csv file")
    settings = state.settings()
    engine = open_database(settings)
    names = {fold(b.name) for b in settings.brands} | {
        fold(c.name) for b in settings.brands for c in b.competitors
    }
    run_id = start_run(engine, kind="import", name=path.name)
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
            task = progress.add_task(path.name, total=path.stat().st_size)
            summary = import_file(
                engine,
                path,
                known_brands=lambda name: fold(name).strip() in names,
                batch_size=batch_size,
                on_progress=lambda n: (progress.advance(task, n), heartbeat(engine, run_id)),
            )
    except Exception as e:
        finish_run(engine, run_id, status="failed", error=e)
        raise
    finish_run(
        engine,
        run_id,
        status="succeeded",
        read=summary.read,
        new=summary.new,
        duplicate=summary.duplicate,
        failed=len(summary.rejected),
        detail={
            "forgotten": summary.forgotten,
            "rejected": [{"line": r.line, "reason": r.reason} for r in summary.rejected[:500]],
        },
    )
    engine.dispose()
    return summary


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
