"""GET /metrics in the Prometheus text format (version 0.0.4), written here rather than through a client library.

Per method, route template and status: a request counter and a latency histogram (time until the last
byte of the body is handed to the server). Read from the database at scrape time: mentions per brand,
open alerts per brand, and per collector source its back-off and consecutive failures.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from sqlmodel import Session
from starlette.routing import Mount, Route, compile_path

from api.deps import Principal, every_brand, get_now, get_session
from monitor import __version__
from monitor.read.metrics import Gauge, wom_gauges

__all__ = [
    "CONTENT_TYPE",
    "HttpMetrics",
    "MetricsMiddleware",
    "RouteTemplates",
    "get_metrics",
    "render_metrics",
    "route_templates",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UNMATCHED = "<unmatched>"  # paths no route matched, folded into one label so they cannot grow the series

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Labels = tuple[str, str, str]  # method, route, status


@dataclass(slots=True)
class _Series:
    count: int = 0
    total: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))


class HttpMetrics:
    """Request counts and latencies of this process; thread-safe."""

    def __init__(self) -> None:
        self._series: dict[Labels, _Series] = {}
        self._lock = threading.Lock()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method if method in _METHODS else "other", route, str(status))
        first = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            series = self._series.setdefault(labels, _Series())
            series.count += 1
            series.total += seconds
            for index in range(first, len(BUCKETS)):
                series.buckets[index] += 1

    def snapshot(self) -> list[tuple[Labels, int, float, list[int]]]:
        with self._lock:
            return [(k, s.count, s.total, list(s.buckets)) for k, s in sorted(self._series.items())]


class RouteTemplates:
    """Path -> the route template that serves it, e.g. /api/v1/mentions/7/label -> /api/v1/mentions/{mention_id}/label.

    Built from the OpenAPI paths and the app's other routes, so it follows FastAPI's public view of the
    routes rather than the internals of its router.
    """

    def __init__(self, templates: Iterable[tuple[str, Iterable[str]]]) -> None:
        compiled = [
            (compile_path(t)[0], t, frozenset(m.upper() for m in methods)) for t, methods in templates
        ]
        # literal routes first: /authors/merge before /authors/{author_id}
        self._routes = sorted(compiled, key=lambda route: route[1].count("{"))

    def template(self, method: str, path: str) -> str:
        matching = [(template, methods) for regex, template, methods in self._routes if regex.match(path)]
        for template, methods in matching:
            if method in methods:
                return template
        return matching[0][0] if matching else _UNMATCHED  # a 405 keeps the path's template


def route_templates(app: FastAPI, extra: Iterable[tuple[str, Iterable[str]]] = ()) -> RouteTemplates:
    """The templates of `app`'s schema, of its plain routes (/docs, /openapi.json, pages), of its mounts
    (static files: `/static/{path:path}`) and `extra`."""
    found: list[tuple[str, Iterable[str]]] = [
        (path, list(ops)) for path, ops in app.openapi()["paths"].items()
    ]
    found += [(r.path, r.methods or ()) for r in app.routes if isinstance(r, Route)]
    found += [(f"{r.path}/{{path:path}}", ("GET", "HEAD")) for r in app.routes if isinstance(r, Mount)]
    return RouteTemplates([*found, *extra])


class MetricsMiddleware:
    """ASGI middleware feeding `HttpMetrics` with the route template of each request, never the raw path."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        metrics: HttpMetrics,
        templates: Callable[[], RouteTemplates],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self._make_templates = templates
        self._templates: RouteTemplates | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, finished = 500, None

        async def watch(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                finished = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if self._templates is None:  # after the app has started: every route is there
                self._templates = self._make_templates()
            method = scope.get("method", "")
            route = self._templates.template(method, scope.get("path", ""))
            self.metrics.observe(method, route, status, (finished or time.perf_counter()) - started)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def render_metrics(http: HttpMetrics, gauges: list[Gauge]) -> str:
    """The exposition text: build info, the HTTP counter and histogram, then `gauges`."""
    lines = [
        "# HELP wom_build_info The running wom version.",
        "# TYPE wom_build_info gauge",
        f"wom_build_info{_labels(version=__version__)} 1",
        "# HELP wom_http_requests_total HTTP requests answered, by method, route template and status.",
        "# TYPE wom_http_requests_total counter",
    ]
    snapshot = http.snapshot()
    for (method, route, status), count, _, _ in snapshot:
        lines.append(f"wom_http_requests_total{_labels(method=method, route=route, status=status)} {count}")
    lines += [
        "# HELP wom_http_request_duration_seconds Time to answer, by method, route template and status.",
        "# TYPE wom_http_request_duration_seconds histogram",
    ]
    for (method, route, status), count, total, buckets in snapshot:
        name = "wom_http_request_duration_seconds"
        for bound, cumulative in zip(BUCKETS, buckets, strict=True):
            labels = _labels(method=method, route=route, status=status, le=repr(bound))
            lines.append(f"{name}_bucket{labels} {cumulative}")
        labels = _labels(method=method, route=route, status=status, le="+Inf")
        lines.append(f"{name}_bucket{labels} {count}")
        lines.append(f"{name}_sum{_labels(method=method, route=route, status=status)} {total!r}")
        lines.append(f"{name}_count{_labels(method=method, route=route, status=status)} {count}")
    for gauge in gauges:
        lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
        for labels_, value in gauge.samples:
            lines.append(f"{gauge.name}{_labels(**labels_) if labels_ else ''} {_number(value)}")
    return "\n".join(lines) + "\n"


def get_metrics(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    principal: Annotated[Principal, Depends(every_brand)],
    now: Annotated[datetime, Depends(get_now)],
) -> Response:
    """The metrics; any role, but the key must not be limited to a brand (the figures cover every brand)."""
    http: HttpMetrics = request.app.state.metrics
    return Response(render_metrics(http, wom_gauges(session, now=now)), media_type=CONTENT_TYPE)
