"""`wom status`: what is configured, what is stored and pending, and how the last runs went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from monitor.cli.context import console, open_database, state, wom_command
from monitor.collectors.health import source_health
from monitor.config import Settings
from monitor.storage.claims import STAGES
from monitor.storage.db import redact_url
from monitor.storage.models import (
    Alert,
    Author,
    Brand,
    Classification,
    JobRun,
    Mention,
    MentionBrand,
    NotificationDelivery,
)

__all__ = ["collect_status", "register"]


def _count(conn: sa.Connection, table: Any, *where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def collect_status(settings: Settings, engine: Engine) -> dict[str, Any]:
    mention = Mention.__table__  # type: ignore[attr-defined]
    run = JobRun.__table__  # type: ignore[attr-defined]
    brand = Brand.__table__  # type: ignore[attr-defined]
    link = MentionBrand.__table__  # type: ignore[attr-defined]
    delivery = NotificationDelivery.__table__  # type: ignore[attr-defined]
    sources = [health.as_dict() for health in source_health(settings, engine)]
    with engine.connect() as conn:
        brands = [
            {
                "name": row.name,
                "competitor": row.competitor_of_id is not None,
                "mentions": _count(conn, link, link.c.brand_id == row.id),
            }
            for row in conn.execute(sa.select(brand).where(brand.c.active.is_(True)).order_by(brand.c.id))
        ]
        pending = {}
        for stage, (done, before) in STAGES.items():
            conditions = [mention.c[done].is_(None)]
            if before:
                conditions.append(mention.c[before].is_not(None))
            pending[stage] = _count(conn, mention, *conditions)
        latest = (
            sa.select(run.c.kind, run.c.name, sa.func.max(run.c.id).label("id")).group_by(
                run.c.kind, run.c.name
            )
        ).subquery()
        runs = [
            dict(row)
            for row in conn.execute(
                sa.select(run).join(latest, latest.c.id == run.c.id).order_by(run.c.kind, run.c.name)
            ).mappings()
        ]
        return {
            "database": redact_url(settings.database.url),
            "brands": brands,
            "counts": {
                "mentions": _count(conn, mention),
                "classified": _count(conn, Classification.__table__),  # type: ignore[attr-defined]
                "authors": _count(conn, Author.__table__),  # type: ignore[attr-defined]
                "open alerts": _count(conn, Alert.__table__, Alert.__table__.c.status == "open"),  # type: ignore[attr-defined]
                "e-mails pending": _count(conn, delivery, delivery.c.status.in_(["pending", "sending"])),
                "e-mails failed": _count(conn, delivery, delivery.c.status == "failed"),
            },
            "pending": pending,
            "runs": runs,
            "sources": sources,
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
        info = collect_status(settings, engine)
        console.print(f"database: {info['database']}", markup=False)
        brands = Table(title="brands")
        for column in ("brand", "role", "mentions"):
            brands.add_column(column)
        for item in info["brands"]:
            brands.add_row(
                item["name"], "competitor" if item["competitor"] else "brand", f"{item['mentions']:,}"
            )
        console.print(brands)
        counts = Table(title="counts")
        counts.add_column("what")
        counts.add_column("count", justify="right")
        for key, value in info["counts"].items():
            counts.add_row(key, f"{value:,}")
        for stage, value in info["pending"].items():
            counts.add_row(f"pending {stage}", f"{value:,}")
        console.print(counts)
        runs = Table(title="last runs")
        for column in ("kind", "name", "status", "started", "read", "new", "failed", "error"):
            runs.add_column(column)
        for row in info["runs"]:
            started = row["started_at"].strftime("%Y-%m-%d %H:%M:%S") if row["started_at"] else ""
            runs.add_row(
                row["kind"],
                row["name"],
                row["status"],
                started,
                str(row["items_read"]),
                str(row["items_new"]),
                str(row["items_failed"]),
                (row["error"] or "")[:120],
            )
        console.print(runs)
        if info["sources"]:
            sources = Table(title="collectors")
            for column in ("source", "state", "brands", "last success", "last found", "found", "why"):
                sources.add_column(column)
            for item in info["sources"]:
                sources.add_row(
                    item["source"],
                    item["state"],
                    ", ".join(item["brands"]),
                    _when(item["last_success_at"]),
                    _when(item["last_found_at"]),
                    f"{item['found_total']:,}",
                    item["message"][:160],
                )
            console.print(sources)
