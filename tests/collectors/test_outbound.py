"""SSRF refusal (RELIABILITY.md S-7) and the operator's allow path (S-8), with a canary that must stay idle."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from monitor.collectors.http import SafeHttp
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy, is_public_address
from monitor.config import settings_from_mapping
from monitor.errors import ConfigError


class _Canary(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"internal")

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def canary() -> Iterator[int]:
    _Canary.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        return table.get(host, ["93.184.215.14"])

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:{port}/",
        "http://[::1]:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://2130706433:{port}/",
        "http://0177.0.0.1:{port}/",
        "http://127.1:{port}/",
        "http://0x7f.1:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0:{port}/",
        "http://127.0.0.1:{port}/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "ftp://example.com/",
        "http://user:pass@example.com/",
    ],
)
def test_refused_and_the_canary_is_never_hit(canary: int, url: str) -> None:
    with SafeHttp(OutboundPolicy()) as http, pytest.raises(BlockedURLError):
        http.get(url.format(port=canary))
    assert _Canary.hits == 0


def test_a_name_resolving_to_loopback_is_refused(canary: int) -> None:
    policy = OutboundPolicy.from_hosts([], resolver=_resolver({"internal.example": ["127.0.0.1"]}))
    with pytest.raises(BlockedURLError, match=r"resolves to 127\.0\.0\.1"):
        policy.check(f"http://internal.example:{canary}/")
    assert _Canary.hits == 0


def test_a_redirect_to_the_canary_is_not_followed(canary: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": f"http://127.0.0.1:{canary}/secret"})

    policy = OutboundPolicy.from_hosts([], resolver=_resolver({}))
    with SafeHttp(policy, transport=httpx.MockTransport(handler)) as http, pytest.raises(BlockedURLError):
        http.get("https://feeds.example.com/alerts")
    assert _Canary.hits == 0


def test_not_modified_is_an_answer_not_a_redirect() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(304)

    policy = OutboundPolicy.from_hosts([], resolver=_resolver({}))
    with SafeHttp(policy, transport=httpx.MockTransport(handler)) as http:
        assert (
            http.get("https://feeds.example.com/alerts", headers={"If-None-Match": '"v1"'}).status_code == 304
        )
    assert len(requests) == 1


def test_a_post_is_checked_and_never_redirected(canary: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"location": f"http://127.0.0.1:{canary}/secret"})

    policy = OutboundPolicy.from_hosts([], resolver=_resolver({}))
    with SafeHttp(policy, transport=httpx.MockTransport(handler)) as http:
        assert http.post("https://play.example.com/rpc", content=b"x").status_code == 307
    with SafeHttp(OutboundPolicy.from_hosts([])) as http, pytest.raises(BlockedURLError):
        http.post(f"http://127.0.0.1:{canary}/rpc", content=b"x")
    assert _Canary.hits == 0


def test_the_operator_can_allow_a_private_host(canary: int) -> None:
    policy = OutboundPolicy.from_hosts([f"127.0.0.1:{canary}"])
    with SafeHttp(policy) as http:
        assert http.get(f"http://127.0.0.1:{canary}/").text == "internal"
    assert _Canary.hits == 1
    with pytest.raises(BlockedURLError):
        policy.check(f"http://127.0.0.1:{canary + 1}/")


def test_public_addresses_pass() -> None:
    assert is_public_address("93.184.215.14")
    assert is_public_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert not is_public_address("2002:7f00:1::1")  # 6to4 wrapping 127.0.0.1
    assert not is_public_address("64:ff9b::a9fe:a9fe")  # NAT64 wrapping 169.254.169.254


def test_the_environment_cannot_widen_the_allowlist() -> None:
    """Issue 13 item 8: WOM_COLLECTORS_ALLOW_PRIVATE_HOSTS was applied like any WOM_* override; the key is
    config-file only, so the variable is refused with an error that names the config-file key."""
    environ = {"WOM_COLLECTORS_ALLOW_PRIVATE_HOSTS": "127.0.0.1:8080"}
    with pytest.raises(ConfigError) as raised:
        settings_from_mapping({}, environ=environ)
    assert str(raised.value) == (
        "config key 'collectors.allow_private_hosts' has a bad value '127.0.0.1:8080': "
        "WOM_COLLECTORS_ALLOW_PRIVATE_HOSTS is not read: this key widens what wom may connect to, so it is "
        "set in the config file only ([collectors] allow_private_hosts); unset the variable"
    )
    from_file = settings_from_mapping({"collectors": {"allow_private_hosts": ["127.0.0.1:8080"]}}, environ={})
    assert from_file.collectors.allow_private_hosts == ["127.0.0.1:8080"]
