"""The HTTP app: the API under /api/v1, /healthz, /metrics, OpenAPI at /docs (offline, api/docs.py), and
the page routers it is given (`wom serve` gives it the dashboard's, see dashboards/site.py; the API knows
no dashboard).

Every route but /healthz and /docs needs an API key (api/auth.py).

Every error, whatever raised it, is answered as `{"error": {"code": "...", "message": "..."}}`; the
message says what to do and never carries a stack trace or SQL (those go to the server log).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import AccessControl
from api.body_limit import BodyLimitMiddleware
from api.deps import ApiError, api_access, get_engine
from api.docs import DOCS_PATH, add_docs
from api.errors import DATABASE_FAILED, error_response
from api.key_first import KeyBeforeBodyMiddleware
from api.metrics import CONTENT_TYPE, HttpMetrics, MetricsMiddleware, get_metrics, route_templates
from api.query_names import refuse_unknown_query_names
from api.routes import alerts, author_profile, authors, brands, inbox, mentions, stats, users
from api.security_headers import SecurityHeadersMiddleware
from monitor import __version__
from monitor.config import Settings
from monitor.storage.db import database_answers, read_only, writable

__all__ = ["API_PREFIX", "API_ROUTERS", "ErrorBody", "PageRouter", "create_app", "settle_memory"]

API_PREFIX = "/api/v1"
# the /api/v1 routers, in the order /docs lists them
API_ROUTERS: tuple[APIRouter, ...] = (
    brands.router,
    mentions.router,
    alerts.router,
    authors.router,
    author_profile.router,
    stats.router,
    users.router,
    inbox.router,
)
# builds a router of pages from the settings and the (read-only) engine, mounted at /
PageRouter = Callable[[Settings, Engine], APIRouter]
_log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}
_UNREADABLE_BODY = "There was an error parsing the body"  # FastAPI's 400 for a body it cannot decode
_DATABASE_DOWN = (
    "the database cannot be reached; check that it runs and that WOM_DATABASE_URL points at it, then retry"
)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


# documented on every /api/v1 route; this also replaces FastAPI's own 422 schema, which is not what we send
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body cannot be read as JSON"},
    401: {"model": ErrorBody, "description": "No API key, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "The key's role or brand does not allow this"},
    404: {"model": ErrorBody, "description": "Unknown brand or path"},
    422: {"model": ErrorBody, "description": "A parameter has a bad value; the message names it"},
    429: {"model": ErrorBody, "description": "Past the key's requests per minute; see Retry-After"},
    503: {"model": ErrorBody, "description": "The database cannot be reached"},
}


class Health(BaseModel):
    status: str
    database: str


_error = error_response


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, ApiError):
        return _error(exc.status_code, exc.code, exc.message, exc.headers)
    if exc.status_code == 404:
        message = f"there is nothing at {request.url.path}; see /docs for the endpoints"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the methods"
    elif exc.status_code == 400 and exc.detail == _UNREADABLE_BODY:
        message = "the request body cannot be read: send JSON in UTF-8 with Content-Type: application/json"
    else:
        message = str(exc.detail)
    return _error(
        exc.status_code, _CODES.get(exc.status_code, f"http_{exc.status_code}"), message, exc.headers
    )


def _where(loc: tuple[str | int, ...]) -> str:
    if len(loc) >= 2 and loc[0] in ("query", "path", "header"):
        return f"{loc[0]} parameter {'.'.join(map(str, loc[1:]))!r}"
    return "field " + repr(".".join(map(str, loc)))


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{_where(tuple(e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
    return _error(
        422, "invalid_request", "; ".join(problems) + ". Fix the request and retry; /docs lists the values."
    )


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    _log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return _error(503, "database_unavailable", DATABASE_FAILED)


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette logs the traceback when it re-raises after this response
    return _error(
        500,
        "internal_error",
        "the server hit an unexpected error and logged it; retry, and if it persists check the server log",
    )


def healthz(engine: Annotated[Engine, Depends(get_engine)]) -> Health:
    """200 when a trivial query succeeds; 503 with the error shape when the database is unreachable."""
    try:
        database_answers(engine)
    except sa.exc.SQLAlchemyError as e:
        _log.error("health check failed: %s", e)
        raise ApiError(503, code="database_unavailable", message=_DATABASE_DOWN) from e
    return Health(status="ok", database="ok")


def settle_memory() -> None:
    """Call once the app is built, before serving: the objects of start-up (modules, routes, schemas;
    some 140,000) leave the garbage collector's view, so its full passes no longer walk them in the
    middle of requests."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    api_routers: Sequence[APIRouter] = API_ROUTERS,
    pages: Sequence[PageRouter] = (),
) -> FastAPI:
    """The app over `engine`: `api_routers` under /api/v1 (behind the key check), and each of `pages`
    mounted at /."""
    access = AccessControl(requests_per_minute=settings.api.requests_per_minute, engine=engine)
    # from the engine as given: on PostgreSQL, writable(read_only(engine)) still autocommits (the
    # AUTOCOMMIT of read_only's connect hook runs after writable's), so a write was no transaction
    write_engine = writable(engine)
    engine = read_only(engine)  # on SQLite, reads then never wait for (or block) the pipeline's writes
    app = FastAPI(title="wom", version=__version__, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.write_engine = write_engine
    app.state.access = access
    app.state.metrics = HttpMetrics()
    # innermost first: the key before the body, the body's cap around it, metrics around everything
    app.add_middleware(KeyBeforeBodyMiddleware, prefix=API_PREFIX)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, templates=lambda: route_templates(app))
    app.add_middleware(SecurityHeadersMiddleware, docs_path=DOCS_PATH)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sa.exc.OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)

    v1 = APIRouter(
        prefix=API_PREFIX,
        dependencies=[Depends(api_access), Depends(refuse_unknown_query_names)],
        responses=_ERROR_RESPONSES,
    )
    for router in api_routers:
        v1.include_router(router)
    app.include_router(v1)
    app.add_api_route(
        "/healthz",
        healthz,
        methods=["GET"],
        response_model=Health,
        tags=["health"],
        responses={503: _ERROR_RESPONSES[503]},
    )
    app.add_api_route(
        "/metrics",
        get_metrics,
        methods=["GET"],
        tags=["health"],
        summary="Prometheus metrics (a key not limited to a brand, any role)",
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}},
            **{code: _ERROR_RESPONSES[code] for code in (401, 403, 429, 503)},
        },
    )
    add_docs(app)
    for page_router in pages:
        app.include_router(page_router(settings, engine))
    return app
