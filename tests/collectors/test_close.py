"""`close()` on every collector, and the source runner closing the collectors it built (issue 14).

Each source is built by its own SPEC with stand-in credentials. The HTTP clients a collector holds are
found by walking its attributes (and those of the client libraries it wraps): an httpx client must be
closed afterwards; a requests session, which stays usable after `close()`, must have dropped the pooled
connection that a real request to a keep-alive server on 127.0.0.1 left in it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from sqlalchemy.engine import Engine

from monitor.collectors.base import BrandQuery, Collector, CollectResult
from monitor.collectors.options import RedditSource, SourceSettings, XSource
from monitor.collectors.outbound import OutboundPolicy
from monitor.collectors.registry import SOURCE_NAMES, load_spec
from monitor.collectors.runner import SourceRunner
from monitor.collectors.sources import SourceContext
from monitor.config import settings_from_mapping

PUBLIC = "93.184.216.34"
HOST = "internal.example"
FIXTURE = Path(__file__).parent / "fixtures" / "hackernews" / "search_by_date_synthetic.json"
# the modules whose objects may hold a client; anything else (sockets, locks, classes) is not walked into
_OWNERS = ("monitor", "atproto", "atproto_client", "praw", "prawcore", "tweepy", "mastodon")
_REQUESTS_SOURCES = ("mastodon", "reddit", "x")  # sent through a requests session of wom's


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the connection stays open, pooled by the client

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _resolve(host: str, port: int) -> list[str]:
    return ["127.0.0.1"] if host == HOST else [PUBLIC]


def _clients(root: object) -> list[httpx.Client | requests.Session]:
    """Every httpx client and requests session reachable from `root` through attributes and containers."""
    found: list[httpx.Client | requests.Session] = []
    seen: set[int] = set()
    todo: list[object] = [root]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, httpx.Client | requests.Session):
            found.append(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list | tuple):
            todo.extend(item)
        elif type(item).__module__.split(".")[0] in _OWNERS and hasattr(item, "__dict__"):
            todo.extend(vars(item).values())
    return found


def _pooled(session: requests.Session) -> int:
    return sum(len(adapter.poolmanager.pools) for adapter in session.adapters.values())  # type: ignore[attr-defined]


def _settings(source: str, origin: str) -> SourceSettings:
    if source == "reddit":
        return RedditSource(base_url=origin, token_url=origin)
    if source == "x":
        return XSource(base_url=origin)
    return settings_from_mapping({}).collectors.source(source)


def _build(source: str, origin: str) -> Collector:
    spec = load_spec(source)
    environ = {variable: f"stand-in-{variable.lower()}" for variable in spec.credentials}
    policy = OutboundPolicy.from_hosts([origin.removeprefix("http://")], resolver=_resolve)
    context = SourceContext(name=source, settings=_settings(source, origin), policy=policy, environ=environ)
    return spec.build(context)


def _fetch_once(collector: Collector, source: str, origin: str) -> None:
    """One real request through the collector's own session; the server's answer is no API's."""
    options: dict[str, Any] = {
        "mastodon": {"instance": origin, "hashtag": "acme"},
        "reddit": {"stream": "search", "query": "acme"},
        "x": {"stream": "search"},
    }[source]
    with contextlib.suppress(Exception):  # each library words the unusable answer its own way
        list(collector.pages(BrandQuery(1, "Acme", "acme", ("acme",), options), {}))


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_close_releases_every_client_the_collector_holds(source: str, origin: str) -> None:
    collector = _build(source, origin)
    if source in _REQUESTS_SOURCES:
        _fetch_once(collector, source, origin)
    clients = _clients(collector)
    assert clients, f"{source} holds no HTTP client the test can find"
    sessions = [client for client in clients if isinstance(client, requests.Session)]
    assert all(_pooled(session) > 0 for session in sessions)
    assert not any(client.is_closed for client in clients if isinstance(client, httpx.Client))

    collector.close()
    collector.close()  # a second close is harmless

    assert [_pooled(session) for session in sessions] == [0] * len(sessions)
    assert all(client.is_closed for client in clients if isinstance(client, httpx.Client))
    assert (source in _REQUESTS_SOURCES) == bool(sessions)


def _hits(request: httpx.Request) -> httpx.Response:
    if "/users/" in request.url.path:
        return httpx.Response(404)
    body = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return httpx.Response(200, json={"hits": body["hits"], "nbPages": 1})


def _runner(engine: Engine) -> SourceRunner:
    settings = settings_from_mapping(
        {"brands": [{"name": "Koffiekoning", "keywords": ["koffiekoning"], "collect": {"hackernews": {}}}]}
    )
    return SourceRunner(
        engine,
        settings,
        environ={},
        now=lambda: datetime(2026, 11, 21, tzinfo=UTC),
        sleep=lambda _: None,
        transport=httpx.MockTransport(_hits),
        resolver=lambda host, port: [PUBLIC],
    )


def test_the_runner_closes_its_collectors_when_it_ends(engine: Engine) -> None:
    with _runner(engine) as runner:
        assert runner.run("hackernews").status == "succeeded"
        clients = _clients(runner)
        assert len(clients) == 1 and not clients[0].is_closed
    assert clients[0].is_closed
    assert _clients(runner) == []
    runner.close()  # closing again is harmless


def test_the_runner_closes_its_collectors_when_a_run_raises(engine: Engine) -> None:
    def interrupted(query: BrandQuery, result: CollectResult) -> Any:
        raise KeyboardInterrupt  # Ctrl-C during `wom collect`

    clients: list[httpx.Client | requests.Session] = []
    with pytest.raises(KeyboardInterrupt), _runner(engine) as runner:
        try:
            runner.run("hackernews", on_page=interrupted)
        finally:
            clients.extend(_clients(runner))
    assert len(clients) == 1 and clients[0].is_closed
