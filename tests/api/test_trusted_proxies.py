"""[api] trusted_proxies: X-Forwarded-For is believed only from the listed proxies (issue 13, item 8).

uvicorn believed it from 127.0.0.1 by default, so a client on the same host (or behind a proxy that
passes the header through) could rotate it and reset the limit on failed key attempts per address.
The server here is real uvicorn with the options `wom serve` gives it.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import Engine

from monitor.cli.serve import uvicorn_options
from monitor.config import ApiSettings, Settings, settings_from_mapping
from monitor.errors import ConfigError
from tests.api.conftest import build_app
from tests.api.served import serve_in_thread

ATTEMPTS = 5
LIMIT = 3  # requests_per_minute: also the failed attempts one address may make in a burst


def _rotating_keyless_statuses(engine: Engine, settings: Settings) -> list[int]:
    options = {k: v for k, v in uvicorn_options(settings).items() if k not in ("host", "port")}
    app = build_app(engine, settings)
    with (
        serve_in_thread(app, **options) as (host, port),
        httpx.Client(base_url=f"http://{host}:{port}") as client,
    ):
        return [
            client.get("/api/v1/brands", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(1, ATTEMPTS + 1)
        ]


def test_by_default_a_rotated_forwarded_for_does_not_reset_the_failed_key_limit(engine: Engine) -> None:
    settings = Settings(api=ApiSettings(requests_per_minute=LIMIT))
    assert uvicorn_options(settings)["proxy_headers"] is False
    assert _rotating_keyless_statuses(engine, settings) == [401] * LIMIT + [429] * (ATTEMPTS - LIMIT)


def test_a_trusted_proxy_s_forwarded_for_is_the_client_address(engine: Engine) -> None:
    settings = Settings(api=ApiSettings(requests_per_minute=LIMIT, trusted_proxies=["127.0.0.1"]))
    assert uvicorn_options(settings) | {"host": "", "port": 0} == {
        "host": "",
        "port": 0,
        "log_level": "warning",
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
    }
    # each forwarded address has its own budget of failed attempts
    assert _rotating_keyless_statuses(engine, settings) == [401] * ATTEMPTS


def test_a_proxy_that_is_not_an_address_is_refused_naming_key_and_fix() -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping({"api": {"trusted_proxies": ["proxy.internal"]}}, environ={})
    message = str(refused.value)
    assert "api.trusted_proxies" in message
    assert "'proxy.internal' is not an IP address or network" in message
    assert settings_from_mapping(
        {"api": {"trusted_proxies": ["10.0.0.0/8", "::1"]}}, environ={}
    ).api.trusted_proxies == [
        "10.0.0.0/8",
        "::1",
    ]
