"""The `wom` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor import __version__
from monitor.cli import (
    alerts,
    apikey,
    authors,
    collect,
    demo,
    ingest,
    model,
    process,
    serve,
    setup,
    status,
    users,
)
from monitor.cli.context import state

__all__ = ["app", "main"]

app = typer.Typer(
    name="wom",
    help="wom, the word-of-mouth monitor: what people say in public about your business.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wom {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file (default: $WOM_CONFIG, then ./wom.toml).", dir_okay=False
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    state.config_path = config


for module in (setup, ingest, collect, process, serve, status, demo, model, apikey, users, authors, alerts):
    module.register(app)


def main() -> None:
    app()
