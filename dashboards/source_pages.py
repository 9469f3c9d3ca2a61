"""The Sources page (/sources): each collector source and the processing stages in plain words, with what
to do about them (monitor.service.status.sources_overview), and the job runs and stored rows folded below.
/status, its old address, redirects to it. It covers every brand, so a key limited to one brand is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import get_now
from dashboards.auth import Visitor, current_visitor, sign_in_redirect
from dashboards.render import Renderer
from dashboards.words import COUNTED
from monitor.config import Settings
from monitor.service.status import sources_overview

__all__ = ["SOURCE_TITLES", "source_page_routes"]

# how each source is called on the page (names of platforms: the same in every language)
SOURCE_TITLES = {
    "x": "X",
    "reddit": "Reddit",
    "appstore": "App Store",
    "googleplay": "Google Play",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "hackernews": "Hacker News",
    "youtube": "YouTube",
    "rss": "RSS",
    "trustpilot": "Trustpilot",
}


def source_page_routes(router: APIRouter, render: Renderer, settings: Settings, engine: Engine) -> None:
    """GET /sources, and GET /status redirecting to it, on `router`."""

    @router.get("/status")
    def old_status(request: Request) -> Response:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse("/sources" + query, status_code=308)

    @router.get("/sources", response_class=HTMLResponse)
    def sources(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
    ) -> Response:
        """Each source's state, when it ran and runs next, what it found in 24 hours and what to do."""
        if visitor is None:
            return sign_in_redirect(request)
        context: dict[str, Any] = {
            "error": None,
            "overview": None,
            "counted": COUNTED,
            "titles": SOURCE_TITLES,
            "now": now,
        }
        if visitor.principal.scoped:
            context["error"] = (
                f"the sources page covers every brand, and this API key is limited to brand "
                f"{visitor.principal.brand!r}; use a key made without --brand"
            )
            return render.page(
                request, "sources.html", visitor=visitor, status=403, current="sources", **context
            )
        with Session(engine) as session:
            context["overview"] = sources_overview(session, engine, settings, now)
        return render.page(request, "sources.html", visitor=visitor, current="sources", **context)
