"""`wom status`: what is configured, what is stored and pending, and how the last runs went."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table
from sqlmodel import Session

from monitor.cli.context import console, open_database, state, wom_command
from monitor.service.status import Backlog, StatusReport, backlog, status_report
from monitor.storage.db import redact_url

__all__ = ["register"]


def _counts(report: StatusReport, work: Backlog) -> dict[str, int]:
    return {
        "mentions": report.tables["mention"],
        "classified": report.tables["classification"],
        "authors": report.tables["author"],
        "open alerts": work.open_alerts,
        "e-mails pending": work.emails_pending,
        "e-mails failed": work.emails_failed,
    }


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def register(app: typer.Typer) -> None:
    @app.command()
    @wom_command
    def status() -> None:
        """Show brands, counts, pending work, and the last run of every collector, import and stage."""
        settings = state.settings()
        engine = open_database(settings)
        with Session(engine) as session:
            report = status_report(session, engine, settings)
            work = backlog(session)
        console.print(f"database: {redact_url(settings.database.url)}", markup=False)
        brands = Table(title="brands")
        for column in ("brand", "role", "mentions"):
            brands.add_column(column)
        for brand in work.brands:
            brands.add_row(brand.name, "competitor" if brand.competitor else "brand", f"{brand.mentions:,}")
        console.print(brands)
        counts = Table(title="counts")
        counts.add_column("what")
        counts.add_column("count", justify="right")
        for key, value in _counts(report, work).items():
            counts.add_row(key, f"{value:,}")
        for stage, value in work.pending.items():
            counts.add_row(f"pending {stage}", f"{value:,}")
        console.print(counts)
        runs = Table(title="last runs")
        for column in ("kind", "name", "status", "started", "read", "new", "failed", "error"):
            runs.add_column(column)
        for run in report.jobs:
            runs.add_row(
                run.kind,
                run.name,
                run.status,
                run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                str(run.items_read),
                str(run.items_new),
                str(run.items_failed),
                run.error[:120],
            )
        console.print(runs)
        if report.sources:
            sources = Table(title="collectors")
            for column in ("source", "state", "brands", "last success", "last found", "found", "why"):
                sources.add_column(column)
            for item in report.sources:
                sources.add_row(
                    item.source,
                    item.state,
                    ", ".join(item.brands),
                    _when(item.last_success_at),
                    _when(item.last_found_at),
                    f"{item.found_total:,}",
                    item.message[:160],
                )
            console.print(sources)
