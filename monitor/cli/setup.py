"""`wom init`: a starter config and an upgraded database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.context import console, open_database, state, wom_command
from monitor.config import find_config_path, settings_from_mapping

__all__ = ["STARTER_CONFIG", "register"]

STARTER_CONFIG = """\
# wom starter config: see config.example.toml for every key with its default and meaning.
# Any key can be overridden from the environment: [database] url -> WOM_DATABASE_URL.

[database]
url = "sqlite:///wom.db"

[[brands]]
name = "{brand}"
keywords = ["{keyword}"]
exclusions = []
hashtags = ["#{keyword}"]
timezone = "Europe/Amsterdam"
"""


def register(app: typer.Typer) -> None:
    @app.command()
    @wom_command
    def init(
        brand: Annotated[str, typer.Option(help="Name of the brand to monitor.")] = "Acme",
        force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False,
    ) -> None:
        """Write a starter config (if there is none) and create or upgrade the database."""
        import tomllib

        path = find_config_path(state.config_path) or Path("wom.toml")
        if not path.exists() or force:
            keyword = "".join(ch for ch in brand.lower() if ch.isalnum()) or "acme"
            text = STARTER_CONFIG.format(brand=brand.replace('"', ""), keyword=keyword)
            settings_from_mapping(tomllib.loads(text))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            console.print(f"wrote {path}")
        else:
            console.print(f"{path} exists; keeping it (use --force to overwrite)")
        state.config_path = path
        settings = state.settings()
        open_database(settings).dispose()
        console.print(f"database ready: {settings.database.url.split('@')[-1]}")
