"""What every command needs: settings, an upgraded database, a console, and errors that name the fix."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from sqlalchemy.engine import Engine

from monitor.config import Settings, load_settings
from monitor.errors import WomError
from monitor.storage.brands import sync_brands
from monitor.storage.db import connect, upgrade_schema

__all__ = ["AppState", "console", "err_console", "literal", "open_database", "state", "wom_command"]

# markup=False: what wom prints is text; a path, brand or reason holding "[table]" must not be read as a style
console = Console(highlight=False, markup=False)
err_console = Console(stderr=True, highlight=False, markup=False)
F = TypeVar("F", bound=Callable[..., Any])


def literal(help_text: str) -> str:
    """Help text as typer's rich markup that shows its brackets: `literal("default: [api] port")`."""
    return escape(help_text)


@dataclass
class AppState:
    config_path: Path | None = None

    def settings(self) -> Settings:
        return load_settings(self.config_path)


state = AppState()


def open_database(settings: Settings) -> Engine:
    """Connect, upgrade the schema to the newest revision, and bring the brand table in line with the config."""
    engine = connect(settings.database.url, echo=settings.database.echo)
    upgrade_schema(engine)
    sync_brands(engine, settings)
    return engine


def wom_command(func: F) -> F:
    """Turns WomError into one red line that names the fix and exit code 2, instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WomError as e:
            err_console.print(Text.assemble(("error:", "bold red"), f" {e}"), soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs full URLs at INFO, and URLs can carry keys (../shared/RELIABILITY.md S-11)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
