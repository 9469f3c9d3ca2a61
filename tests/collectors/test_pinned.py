"""DNS rebinding (issue 13, item 3): every client library wom uses connects to the address the outbound
policy checked, never to a fresh lookup of its own.

The sources' own build functions run against a canary HTTP server on 127.0.0.1 that stands for an
internal service. The policy's resolver answers a public address for `localhost` (the system resolver,
which the client libraries would otherwise use, answers 127.0.0.1): either always, or first public and
then loopback, as a rebinding name does. Nothing listens on the public address at the canary's port, so
the fetch fails; the canary must see no request. The allow path: a name the resolver maps to 127.0.0.1,
allowlisted by the operator, reaches the canary with its own Host header.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from monitor.collectors import bluesky, mastodon, reddit, rss, x
from monitor.collectors.base import BrandQuery
from monitor.collectors.http import SafeHttp
from monitor.collectors.options import (
    BlueskySource,
    MastodonSource,
    RedditSource,
    RssSource,
    SourceSettings,
    XSource,
)
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.sources import SourceContext, SourceSpec

PUBLIC = "93.184.216.34"  # example.com's old address: public, and nothing of ours listens there
ENVIRON = {
    "WOM_REDDIT_CLIENT_ID": "client-id",
    "WOM_REDDIT_CLIENT_SECRET": "client-secret",
    "WOM_X_BEARER_TOKEN": "bearer-token",
    "WOM_BLUESKY_HANDLE": "acme.bsky.social",
    "WOM_BLUESKY_APP_PASSWORD": "app-password",
}


class _Canary(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def _answer(self) -> None:
        type(self).hosts.append(self.headers.get("Host", ""))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "8")
        self.end_headers()
        self.wfile.write(b"internal")

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def canary() -> Iterator[int]:
    _Canary.hosts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def always_public(host: str, port: int) -> list[str]:
    return [PUBLIC]


def rebinding() -> Callable[[str, int], list[str]]:
    """Public on the first lookup (the check), loopback on every later one."""
    answers = [[PUBLIC]]

    def resolve(host: str, port: int) -> list[str]:
        return answers.pop() if answers else ["127.0.0.1"]

    return resolve


def internal_name(host: str, port: int) -> list[str]:
    return ["127.0.0.1"] if host == "internal.example" else [PUBLIC]


def _settings(source: str, origin: str) -> SourceSettings:
    if source == "reddit":
        return RedditSource(base_url=origin, token_url=origin)
    if source == "x":
        return XSource(base_url=origin)
    if source == "bluesky":
        return BlueskySource(base_url=f"{origin}/xrpc")
    return {"mastodon": MastodonSource, "rss": RssSource}[source]()


def _query(source: str, origin: str) -> BrandQuery:
    options: dict[str, Any] = {
        "reddit": {"stream": "search", "query": "acme"},
        "x": {"stream": "search"},
        "bluesky": {"q": "acme", "lang": ""},
        "mastodon": {"instance": origin, "hashtag": "acme"},
        "rss": {"feed_url": f"{origin}/feed"},
    }[source]
    return BrandQuery(1, "Acme", "acme", ("acme",), options)


SPECS: dict[str, SourceSpec] = {
    "rss (httpx)": rss.SPEC,
    "reddit (praw, requests)": reddit.SPEC,
    "mastodon (Mastodon.py, requests)": mastodon.SPEC,
    "x (tweepy, requests)": x.SPEC,
    "bluesky (atproto, httpx)": bluesky.SPEC,
}


def _fetch(spec: SourceSpec, origin: str, policy: OutboundPolicy) -> None:
    context = SourceContext(
        name=spec.name, settings=_settings(spec.name, origin), policy=policy, environ=ENVIRON
    )
    collector = spec.build(context)
    list(collector.pages(_query(spec.name, origin), {}))


@pytest.mark.parametrize(
    "resolver", [lambda: always_public, rebinding], ids=["public-always", "public-then-loopback"]
)
@pytest.mark.parametrize("library", list(SPECS))
def test_a_rebinding_name_never_reaches_the_canary(
    canary: int, library: str, resolver: Callable[[], Callable[[str, int], list[str]]]
) -> None:
    policy = OutboundPolicy.from_hosts([], resolver=resolver())
    with pytest.raises(Exception):  # noqa: B017 - each library words a refused connection its own way
        _fetch(SPECS[library], f"http://localhost:{canary}", policy)
    assert _Canary.hosts == []


@pytest.mark.parametrize("library", list(SPECS))
def test_an_allowed_private_name_is_reached_at_its_checked_address(canary: int, library: str) -> None:
    policy = OutboundPolicy.from_hosts([f"internal.example:{canary}"], resolver=internal_name)
    with contextlib.suppress(Exception):  # the canary's answer is no API's; only its first request matters
        _fetch(SPECS[library], f"http://internal.example:{canary}", policy)
    assert _Canary.hosts[:1] == [f"internal.example:{canary}"]


def test_every_redirect_hop_connects_to_its_checked_address(canary: int) -> None:
    """An allowed host redirects to a name that resolves publicly for the check and to loopback for
    anyone else: the hop is refused or fails, and the canary sees only the first request."""

    class _Redirect(_Canary):
        def _answer(self) -> None:
            type(self).hosts.append(self.headers.get("Host", ""))
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{canary}/next")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        policy = OutboundPolicy.from_hosts([f"internal.example:{port}"], resolver=internal_name)
        with SafeHttp(policy) as http, pytest.raises(Exception):  # noqa: B017
            http.get(f"http://internal.example:{port}/start")
    finally:
        server.shutdown()
        server.server_close()
    assert _Canary.hosts == [f"internal.example:{port}"]


def test_a_name_resolving_to_nothing_is_refused() -> None:
    policy = OutboundPolicy.from_hosts([], resolver=lambda host, port: [])
    with pytest.raises(BlockedURLError, match=r"cannot resolve host 'nowhere\.example'"):
        policy.addresses("nowhere.example", 443)
