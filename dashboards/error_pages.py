"""A refused or failed page request as a page: a person whose form is refused (a viewer, a stale token)
or who opens an author that was merged away gets the dashboard's "Not done" page with the API's message,
status and headers, not the API's JSON. API requests, scripts with a key and /docs keep the JSON."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.deps import ApiError, get_now
from api.docs import DOCS_PATH
from api.main import API_PREFIX
from dashboards.auth import Visitor, current_visitor, safe_next, wants_html
from dashboards.render import Renderer

__all__ = ["page_errors"]

Handler = Callable[[Request, Exception], Response]
ApiHandler = Callable[[Request, Exception], Response | Awaitable[Response]]
_KEPT_HEADERS = ("retry-after", "www-authenticate")


def _person_asking(request: Request) -> bool:
    """A browser's page request: it accepts HTML, sends no key and is not for the API or its docs."""
    path = request.url.path
    return (
        wants_html(request)
        and request.headers.get("authorization") is None
        and not path.startswith((API_PREFIX, DOCS_PATH))
    )


def _visitor(request: Request) -> Visitor | None:
    """The signed-in visitor, for the page's navigation; None when there is none."""
    # the app's clock, as the routes' Depends(get_now) sees it (tests pin it)
    clock: Callable[[], datetime] = request.app.dependency_overrides.get(get_now, get_now)
    try:
        return current_visitor(request, clock())
    except ApiError:
        return None


def _back(request: Request) -> str:
    """The page the person came from on this site, else the overview."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.headers.get("host"):
        return "/"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def _as_page(api_handler: ApiHandler, render: Renderer) -> Handler:
    def handler(request: Request, exc: Exception) -> Response:
        answer = api_handler(request, exc)
        assert not inspect.isawaitable(answer)  # api.main's handlers are plain functions
        if not _person_asking(request):
            return answer
        message = json.loads(bytes(answer.body))["error"]["message"]
        page = render.page(
            request,
            "refused.html",
            visitor=_visitor(request),
            status=answer.status_code,
            message=message,
            back=_back(request),
        )
        for name in _KEPT_HEADERS:
            if name in answer.headers:
                page.headers[name] = answer.headers[name]
        return page

    return handler


def page_errors(app: FastAPI, render: Renderer) -> None:
    """Answer a person's refused or invalid page request (HTTP errors, invalid parameters) with a page."""
    for kind in (StarletteHTTPException, RequestValidationError):
        app.add_exception_handler(kind, _as_page(app.exception_handlers[kind], render))
