"""Collector downloads are bounded (issue 13, item 7): a decoded-size cap and a total deadline per request,
for httpx (SafeHttp, which every httpx-based source and atproto use) and for the requests session that
praw, Mastodon.py and tweepy are given. Real servers on 127.0.0.1."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
import requests

from monitor.collectors.base import BrandQuery, CollectorError, TransientError
from monitor.collectors.http import SafeHttp
from monitor.collectors.limits import ResponseTooLargeError
from monitor.collectors.outbound import OutboundPolicy
from monitor.collectors.pinned_requests import PinnedSession
from monitor.collectors.rss import RssCollector

CAP = 1024 * 1024
ZEROS = 10 * 1024 * 1024
BOMB = gzip.compress(b"\0" * ZEROS, compresslevel=9)  # ~10 KB on the wire


class _Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode: ClassVar[str] = "bomb"

    def do_GET(self) -> None:
        if self.mode == "drip-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self._drip(b"X-Slow: " + b"a" * 100)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        if self.mode == "bomb":
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(BOMB)))
            self.end_headers()
            self.wfile.write(BOMB)
        elif self.mode == "large":
            self.send_header("Content-Length", str(ZEROS))
            self.end_headers()
            for _ in range(ZEROS // 65536):
                self.wfile.write(b"\0" * 65536)
        else:  # drip-body
            self.send_header("Content-Length", "100")
            self.end_headers()
            self._drip(b"b" * 100)

    def _drip(self, data: bytes) -> None:
        for byte in data:  # one byte every 0.5 s: no read ever waits as long as the 2 s read timeout
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.5)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[Callable[[str], str]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def url(mode: str) -> str:
        _Server.mode = mode
        return f"http://127.0.0.1:{httpd.server_address[1]}/feed"

    yield url
    httpd.shutdown()
    httpd.server_close()


def _policy(url: str) -> OutboundPolicy:
    return OutboundPolicy.from_hosts([url.split("/")[2]])


def _peak(fetch: Callable[[], Any]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        fetch()
    except Exception as e:  # returned for the test to check
        return e, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return None, 0


def _httpx_get(url: str, *, cap: int = CAP, deadline: float = 30.0) -> Callable[[], Any]:
    def fetch() -> Any:
        timeout = httpx.Timeout(2.0)
        with SafeHttp(_policy(url), timeout=timeout, max_bytes=cap, deadline=deadline) as http:
            return http.get(url)

    return fetch


def _requests_get(url: str, *, cap: int = CAP, deadline: float = 30.0) -> Callable[[], Any]:
    def fetch() -> Any:
        with PinnedSession(_policy(url), max_bytes=cap, deadline=deadline) as session:
            return session.get(url, timeout=(2.0, 2.0))

    return fetch


@pytest.mark.parametrize("mode", ["bomb", "large"])
@pytest.mark.parametrize("client", [_httpx_get, _requests_get], ids=["httpx", "requests"])
def test_a_body_past_the_cap_stops_at_the_cap(server: Callable[[str], str], client: Any, mode: str) -> None:
    """10 MB of zeros, plain or gzipped to ~10 KB: stopped after the 1 MB cap plus at most one 64 KB piece,
    so memory never holds the whole body."""
    error, peak = _peak(client(server(mode)))
    assert isinstance(error, ResponseTooLargeError)
    assert "larger than 1,048,576 bytes (after decompression)" in str(error)
    assert peak < 3 * CAP  # the cap's pieces and their join; the whole body would be 10 MB (20 MB joined)


@pytest.mark.parametrize("mode", ["drip-body", "drip-headers"])
@pytest.mark.parametrize(
    ("client", "timeout_error", "message"),
    [
        (_httpx_get, httpx.ReadTimeout, "total deadline of 1.5 s"),
        # urllib3 words a timeout while reading headers its own way ("Read timed out.")
        (_requests_get, requests.Timeout, "total deadline of 1.5 s|Read timed out"),
    ],
    ids=["httpx", "requests"],
)
@pytest.mark.timeout(30)
def test_a_dripping_server_is_cut_at_the_total_deadline(
    server: Callable[[str], str], client: Any, timeout_error: type[Exception], message: str, mode: str
) -> None:
    """One byte every 0.5 s never trips the 2 s read timeout; the 1.5 s total deadline cuts it (without it
    the 100 bytes would take 50 s)."""
    with pytest.raises(timeout_error, match=message):
        client(server(mode), deadline=1.5)()


@pytest.mark.parametrize("client", [_httpx_get, _requests_get], ids=["httpx", "requests"])
def test_a_body_within_the_cap_is_read_decoded(server: Callable[[str], str], client: Any) -> None:
    response = client(server("bomb"), cap=ZEROS)()
    assert response.content == b"\0" * ZEROS


def test_a_feed_past_the_cap_fails_its_stream_without_retries(server: Callable[[str], str]) -> None:
    """A feed of 20 MB of zeros (gzipped to ~20 KB) is no feed: a CollectorError naming the cap, which the
    runner does not retry, not a TransientError retried with the whole body buffered each time."""
    url = server("bomb")
    global BOMB
    BOMB, small = gzip.compress(b"\0" * 2 * ZEROS, compresslevel=9), BOMB
    try:
        with SafeHttp(_policy(url)) as http:
            collector = RssCollector(http)
            with pytest.raises(CollectorError) as raised:
                list(collector.pages(BrandQuery(1, "Acme", url, (), {"feed_url": url}), {}))
    finally:
        BOMB = small
    assert not isinstance(raised.value, TransientError)
    assert str(raised.value) == (
        f"feed {url}: the response was larger than 16,777,216 bytes (after decompression), more than wom "
        "reads from one response; stopped reading; check that the URL is a feed's"
    )
