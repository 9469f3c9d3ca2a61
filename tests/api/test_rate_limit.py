"""The per-key request limit (../shared/RELIABILITY.md S-12): 429 with Retry-After past it, per key."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from api.ratelimit import RequestLimiter
from monitor.config import ApiSettings, Settings
from monitor.storage.api_keys import create_api_key
from tests.api.conftest import KeylessClient, Seeded, build_app, error_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_limit_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RequestLimiter(6, clock=clock)  # one request every 10 s once the burst is spent
    assert [limiter.take("a") for _ in range(6)] == [0] * 6
    assert limiter.take("a") == 10
    assert limiter.blocked("a") == 10
    assert limiter.take("b") == 0  # another key has its own bucket
    clock.now += 4
    assert limiter.take("a") == 6
    clock.now += 6
    assert limiter.take("a") == 0
    assert limiter.take("a") == 10
    clock.now += 3600  # refills up to the limit, not beyond
    assert [limiter.take("a") for _ in range(7)] == [0] * 6 + [10]


def test_idle_buckets_are_dropped_when_there_are_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.ratelimit._MAX_BUCKETS", 3)
    clock = Clock()
    limiter = RequestLimiter(60, clock=clock)
    for key in ("a", "b", "c"):
        limiter.take(key)
    clock.now += 60
    limiter.take("d")
    assert set(limiter._buckets) == {"d"}


def test_429_with_retry_after_per_key(engine: Engine, seeded: Seeded) -> None:
    settings = Settings(api=ApiSettings(requests_per_minute=5))
    assert build_app(engine, settings).state.access.per_key.per_minute == 5
    app = build_app(engine, settings)
    app.state.access.per_key = RequestLimiter(5, clock=Clock())  # time stands still: exact Retry-After
    first = {"Authorization": f"Bearer {create_api_key(engine, role='viewer').key}"}
    second = {"Authorization": f"Bearer {create_api_key(engine, role='viewer').key}"}
    with KeylessClient(app) as client:
        assert [client.get("/api/v1/brands", headers=first).status_code for _ in range(5)] == [200] * 5
        limited = client.get("/api/v1/brands", headers=first)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "12"  # 5 a minute: the next one in 12 s
        assert error_of(limited) == {
            "code": "rate_limited",
            "message": "this API key made more than its 5 requests a minute ([api] requests_per_minute); "
            "retry after 12 s",
        }
        assert client.get("/", headers=first).status_code == 429  # the dashboard counts too
        assert client.get("/api/v1/brands", headers=second).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_failed_attempts_are_limited_per_address(engine: Engine, seeded: Seeded) -> None:
    app = build_app(engine, Settings(api=ApiSettings(requests_per_minute=3)))
    assert app.state.access.failures.per_minute == 3
    app.state.access.failures = RequestLimiter(3, clock=Clock())
    valid = {"Authorization": f"Bearer {create_api_key(engine, role='viewer').key}"}
    with KeylessClient(app) as client:
        codes = [
            client.get("/api/v1/brands", headers={"Authorization": "Bearer wom_guess"}).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        refused = client.get("/api/v1/brands")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "20"
        assert error_of(refused)["message"] == (
            "too many requests without a valid API key from this address; retry after 20 s"
        )
        assert client.get("/api/v1/brands", headers=valid).status_code == 200  # a valid key is not held up
