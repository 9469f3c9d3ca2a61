"""The dashboard: server-rendered pages built from the same queries as the API, in Dutch and English.

Mention text, handles, titles and URLs are hostile input. The Jinja environments escape every value
(`autoescape=True`, whatever the template's file name), links are drawn only for http(s) URLs, and
every response carries a Content-Security-Policy without inline script or style (dashboards/render.py).

People sign in with a user name and password (dashboards/signin.py, sessions in
monitor/service/sessions.py); scripts may still read a page with an API key (dashboards/auth.py).

The modules: auth.py (who is asking, form tokens), signin.py (sign-in, sign-out, language), pages.py
(overview), source_pages.py (sources), error_pages.py (a refused request as a page), render.py
(templates and headers), charts.py (the trend's geometry), i18n.py
(catalogues, language, time zones), words.py (stored values shown as words).

Adding a page: a route that takes `current_visitor` (None: return `sign_in_redirect`), renders with
`Renderer.page(..., current=KEY)` and a template that extends base.html; a NavItem for it in
`Renderer._nav`; a form posts `csrf` (the page context has it) and its route calls `check_form` first and
then the role check (`Visitor.may_act`, `may_administer`); texts in `_()`, then `pybabel extract -F
dashboards/babel.cfg -k N_ -o messages.pot .` and the new ids in both .po files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from dashboards.alert_pages import alert_routes
from dashboards.author_pages import author_page_routes
from dashboards.charts import TrendChart, trend_chart
from dashboards.inbox_pages import inbox_routes
from dashboards.mention_pages import mention_page_routes
from dashboards.pages import page_routes
from dashboards.ranking_pages import ranking_page_routes
from dashboards.render import SECURITY_HEADERS, Renderer, safe_url, template_environment
from dashboards.settings_pages import settings_routes
from dashboards.signin import SignInLimits, sign_in_routes
from dashboards.source_pages import source_page_routes
from monitor.config import Settings

__all__ = [
    "SECURITY_HEADERS",
    "STATIC",
    "TrendChart",
    "dashboard_router",
    "safe_url",
    "template_environment",
    "trend_chart",
]

STATIC = Path(__file__).parent / "static"


class _StaticFiles(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(SECURITY_HEADERS)
        return response


def dashboard_router(settings: Settings, engine: Engine) -> APIRouter:
    """The pages (GET / with `?brand=` and `?period=`, GET /sources), sign-in and its forms, and /static;
    mounted at / by `wom serve` (dashboards/site.py)."""
    router = APIRouter(include_in_schema=False)
    router.mount("/static", _StaticFiles(directory=os.fspath(STATIC)), name="static")
    render = Renderer()
    sign_in_routes(router, render, SignInLimits())
    page_routes(router, render, settings, engine)
    source_page_routes(router, render, settings, engine)
    inbox_routes(router, render, settings, engine)
    alert_routes(router, render, engine)
    mention_page_routes(router, render, engine)
    ranking_page_routes(router, render, settings, engine)
    author_page_routes(router, render, settings, engine)
    settings_routes(router, render, engine)
    return router
