"""The web app `wom serve` and `wom run` serve: the API with the dashboard's pages mounted at /.

The dashboard sits on the API (its sign-in is the API's keys); the API package knows no dashboard.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api.main import create_app, settle_memory
from dashboards.app import dashboard_router
from dashboards.error_pages import page_errors
from dashboards.render import Renderer
from monitor.config import Settings
from monitor.storage.db import connect

__all__ = ["SETTINGS_VARIABLE", "app_from_environment", "web_app"]

SETTINGS_VARIABLE = "WOM_SERVE_SETTINGS"


def web_app(settings: Settings, engine: Engine, *, include_dashboard: bool = True) -> FastAPI:
    app = create_app(settings, engine, pages=[dashboard_router] if include_dashboard else [])
    if include_dashboard:
        page_errors(app, Renderer())
    return app


def app_from_environment() -> FastAPI:
    """The app for one of several `wom serve` worker processes: the parent passes its validated settings
    in WOM_SERVE_SETTINGS (the child inherits the environment, so secrets stay where they were)."""
    settings = Settings.model_validate_json(os.environ[SETTINGS_VARIABLE])
    app = web_app(settings, connect(settings.database.url))
    settle_memory()
    return app
