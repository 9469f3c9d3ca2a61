"""`wom demo`: a Dutch web shop and its competitor, a sample of real-looking mentions, and an admin user
to sign in to the dashboard with."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.cli.context import console, open_database, state, wom_command
from monitor.cli.ingest import print_summary, run_import
from monitor.cli.process import process_pending
from monitor.errors import UnknownUserError
from monitor.read.alerts import alert_counts
from monitor.read.authors import author_accounts
from monitor.read.brands import brand_id_named
from monitor.read.rankings import Ranking, rank_authors
from monitor.service.users import add_user, set_password, user_id_for
from monitor.storage.models import utcnow

__all__ = ["DEMO_USER", "SAMPLE", "register", "shift_sample", "top_authors"]

SAMPLE = Path(__file__).resolve().parents[1] / "demo" / "sample_mentions.jsonl"
DEMO_USER = "demo"


def shift_sample(source: Path, target: Path, *, now: datetime) -> timedelta:
    """Copy the sample with every time moved so that its newest mention is an hour before `now`."""
    lines = [orjson.loads(line) for line in source.read_bytes().splitlines() if line.strip()]
    newest = max(datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")) for item in lines)
    shift = (now - timedelta(hours=1)) - newest
    shift = timedelta(hours=shift // timedelta(hours=1))
    with target.open("wb") as out:
        for item in lines:
            moved = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")) + shift
            item["created_at"] = moved.astimezone(UTC).isoformat().replace("+00:00", "Z")
            out.write(orjson.dumps(item) + b"\n")
    return shift


def top_authors(
    engine: Engine, *, brand: str, score: Ranking, half_life_days: float, limit: int = 5
) -> list[dict[str, Any]]:
    """Best-first authors of `brand` by ambassador or detractor score, decayed to now."""
    with Session(engine) as session:
        brand_id = brand_id_named(session, brand)
        if brand_id is None:
            return []
        ranked = rank_authors(
            session,
            brand_id=brand_id,
            ranking=score,
            now=utcnow(),
            half_life_days=half_life_days,
            limit=limit,
        )
        accounts = author_accounts(session, [item.author_id for item in ranked])
    return [
        {
            "author": ", ".join(accounts.get(item.author_id, [])),
            "score": item.score,
            "segment": item.segment,
            "positive": item.positive_mentions,
            "negative": item.negative_mentions,
        }
        for item in ranked
    ]


def _print_findings(engine: Engine, *, brand: str, half_life_days: float) -> None:
    rankings: tuple[Ranking, ...] = ("ambassador", "detractor")
    for score in rankings:
        table = Table(title=f"top {score}s of {brand}")
        for column in ("author", "segment", "score", "positive", "negative"):
            table.add_column(column)
        for item in top_authors(engine, brand=brand, score=score, half_life_days=half_life_days):
            table.add_row(
                item["author"],
                item["segment"],
                f"{item['score']:.2f}",
                str(item["positive"]),
                str(item["negative"]),
            )
        console.print(table)
    with Session(engine) as session:
        counts = alert_counts(session)
    console.print("alerts: " + (", ".join(f"{kind} {count}" for kind, count in counts) or "none"))


def _demo_admin(engine: Engine) -> str:
    """Make the demo's admin user (or give it a new password); returns the password."""
    password = secrets.token_urlsafe(12)
    with engine.begin() as conn:
        try:
            set_password(conn, user_id_for(conn, DEMO_USER), password)
        except UnknownUserError:
            add_user(
                conn, name=DEMO_USER, email="demo@wom.example", role="admin", password=password, now=utcnow()
            )
    return password


def register(app: typer.Typer) -> None:
    @app.command()
    @wom_command
    def demo(
        directory: Annotated[
            Path, typer.Option("--dir", help="Where the demo keeps its config and database.")
        ] = Path(".wom-demo"),
        serve: Annotated[bool, typer.Option(help="Start `wom run` afterwards (dashboard and API).")] = True,
        port: Annotated[int, typer.Option(help="Port for the dashboard and API.")] = 8000,
    ) -> None:
        """Monitor an example Dutch web shop from a sample of mentions, then serve the dashboard."""
        from monitor.demo.config import demo_config_toml

        directory.mkdir(parents=True, exist_ok=True)
        config_path = directory / "wom.toml"
        database = (directory / "wom.db").resolve()
        config_path.write_text(demo_config_toml(f"sqlite:///{database}"), encoding="utf-8")
        state.config_path = config_path
        settings = state.settings()
        settings.api.port = port
        shifted = directory / "sample_mentions.jsonl"
        shift = shift_sample(SAMPLE, shifted, now=utcnow())
        console.print(f"config: {config_path}  (sample moved forward by {shift.days} days to end now)")
        print_summary(run_import(shifted, batch_size=2000))
        engine = open_database(settings)
        process_pending(settings, engine)
        brand = settings.brands[0].name
        _print_findings(engine, brand=brand, half_life_days=settings.scoring.half_life_days)
        password = _demo_admin(engine)
        console.print(
            f"dashboard: http://127.0.0.1:{port}/  user name {DEMO_USER}, password {password} "
            "(an admin made for the demo; every `wom demo` gives it a new password)",
            soft_wrap=True,
        )
        console.print(f"reopen it later with: wom serve -c {config_path}", soft_wrap=True)
        if serve:
            from monitor.cli.serve import run_service

            run_service(settings, engine, with_scheduler=True)
