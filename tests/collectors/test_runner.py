"""The source runner: retries, back-off per source, state, reports, scheduled jobs and status."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.collectors.runner import SourceRunner, configured_sources
from monitor.config import Settings, settings_from_mapping
from monitor.scheduler import run_recorded
from monitor.service.schedule import collector_jobs
from monitor.service.status import source_health
from monitor.storage.models import JobRun, Mention
from monitor.storage.source_state import load_states, record_outcome
from monitor.storage.tables import table_of

FIXTURE = Path(__file__).parent / "fixtures" / "hackernews" / "search_by_date_synthetic.json"
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _settings(**collect: Any) -> Settings:
    return settings_from_mapping(
        {
            "collectors": {"hackernews": {"interval_minutes": 10}},
            "brands": [
                {
                    "name": "Koffiekoning",
                    "keywords": ["koffiekoning"],
                    "collect": collect or {"hackernews": {"queries": ["koffiekoning", "kk coffee"]}},
                }
            ],
        }
    )


def _hits_for(request: httpx.Request) -> httpx.Response:
    if "/users/" in request.url.path:
        return httpx.Response(404)
    body = json.loads(FIXTURE.read_text(encoding="utf-8"))
    if request.url.params["query"] != "koffiekoning":
        body["hits"] = []
    return httpx.Response(200, json={"hits": body["hits"], "nbPages": 1})


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _runner(
    engine: Engine, handler: Callable[[httpx.Request], httpx.Response], settings: Settings | None = None
) -> tuple[SourceRunner, Clock, list[float]]:
    clock = Clock()
    sleeps: list[float] = []
    runner = SourceRunner(
        engine,
        settings or _settings(),
        environ={},
        now=clock,
        sleep=sleeps.append,
        transport=httpx.MockTransport(handler),
        resolver=lambda host, port: ["199.232.1.1"],
    )
    return runner, clock, sleeps


def _mentions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table_of(Mention))).scalar_one())


def test_a_run_collects_every_stream_and_a_second_run_adds_nothing(engine: Engine) -> None:
    runner, _, sleeps = _runner(engine, _hits_for)
    first = runner.run("hackernews")
    assert first.status == "succeeded" and first.label == "Hacker News"
    assert [(s.query_key, s.new) for s in first.streams] == [("koffiekoning", 3), ("kk coffee", 0)]
    second = runner.run("hackernews")
    assert second.status == "succeeded" and second.total("new") == 0
    assert _mentions(engine) == 3 and sleeps == []
    state = load_states(engine)["hackernews"]
    assert (state.found_total, state.last_found_at, state.consecutive_failures) == (3, NOW, 0)


def test_transient_faults_are_retried_with_bounded_backoff(engine: Engine) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= 2:
            return httpx.Response(502, text="<html>bad gateway</html>")
        return _hits_for(request)

    runner, _, sleeps = _runner(engine, flaky)
    report = runner.run("hackernews")
    assert report.status == "succeeded"
    assert report.streams[0].attempts == 3 and report.streams[0].new == 3
    assert sleeps == [0.5, 1.0]


def test_a_source_that_keeps_failing_is_recorded_and_backs_off_longer_each_time(engine: Engine) -> None:
    runner, clock, sleeps = _runner(engine, lambda request: httpx.Response(503))
    report = runner.run("hackernews")
    assert report.status == "failed"
    assert all("HTTP 503 (after 3 attempts)" in stream.error for stream in report.streams)
    assert sleeps == [0.5, 1.0, 0.5, 1.0]
    assert load_states(engine)["hackernews"].backoff_until == NOW + timedelta(minutes=10)
    assert runner.run("hackernews").status == "backing_off"
    clock.now = NOW + timedelta(minutes=11)
    runner.run("hackernews")
    state = load_states(engine)["hackernews"]
    assert state.consecutive_failures == 2
    assert state.backoff_until == clock.now + timedelta(minutes=20)


def test_a_rate_limit_backs_off_only_until_the_platform_says(engine: Engine) -> None:
    requests: list[httpx.Request] = []

    def limited(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(429)

    runner, clock, sleeps = _runner(engine, limited)
    report = runner.run("hackernews")
    assert report.status == "rate_limited" and report.retry_at == NOW + timedelta(minutes=15)
    assert len(requests) == 1 and sleeps == []  # the other stream is not asked, nobody sleeps
    skipped = runner.run("hackernews")
    assert skipped.status == "backing_off" and "429" in skipped.error and len(requests) == 1
    assert runner.run("hackernews", force=True).status == "rate_limited" and len(requests) == 2
    clock.now = NOW + timedelta(minutes=16)
    runner.run("hackernews")
    assert len(requests) == 3


def test_a_permanent_error_in_one_stream_does_not_stop_the_others(engine: Engine) -> None:
    def half_broken(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("query") == "kk coffee":
            return httpx.Response(404)
        return _hits_for(request)

    settings = _settings(hackernews={"queries": ["kk coffee", "koffiekoning"]})
    runner, _, sleeps = _runner(engine, half_broken, settings)
    report = runner.run("hackernews")
    assert report.status == "failed" and sleeps == []
    assert "base_url" in report.streams[0].error and report.streams[0].attempts == 1
    assert report.streams[1].new == 3 and _mentions(engine) == 3


def test_a_bug_in_a_collector_is_a_failed_stream_not_a_crash(engine: Engine) -> None:
    def wrong_type(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hits": [], "nbPages": "many"})

    runner, _, _ = _runner(engine, wrong_type)
    report = runner.run("hackernews")
    assert report.status == "failed" and "ValueError" in report.streams[0].error


def test_disabled_source_and_private_base_url(engine: Engine) -> None:
    settings = _settings()
    settings.collectors.hackernews.enabled = False
    runner, _, _ = _runner(engine, _hits_for, settings)
    assert runner.run("hackernews").status == "disabled"

    settings = _settings()
    settings.collectors.hackernews.base_url = "http://127.0.0.1:9/api"
    runner = SourceRunner(engine, settings, environ={}, transport=httpx.MockTransport(_hits_for))
    report = runner.run("hackernews")
    assert report.status == "failed" and "allow_private_hosts" in report.error


def test_errors_in_run_records_never_show_secrets(engine: Engine) -> None:
    def leaky(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hits": [], "nbPages": "key=SECRET123 page"})

    runner, _, _ = _runner(engine, leaky)
    run_id = run_recorded(
        engine,
        kind="collector",
        name="collect-hackernews",
        func=lambda: runner.run("hackernews").as_job_result(),
    )
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(table_of(JobRun)).where(table_of(JobRun).c.id == run_id)).mappings().one()
        )
    assert row["status"] == "failed" and "SECRET123" not in row["error"] and "key=***" in row["error"]
    assert "SECRET123" not in json.dumps(row["detail"])


def test_status_flags_a_source_that_went_silent(engine: Engine) -> None:
    settings = _settings()
    record_outcome(engine, "hackernews", now=NOW - timedelta(days=5), succeeded=True, new=40)
    for hours in (48, 1):
        record_outcome(engine, "hackernews", now=NOW - timedelta(hours=hours), succeeded=True, new=0)
    (health,) = source_health(settings, engine, environ={}, now=NOW)
    assert health.state == "silent" and "40 items before" in health.message
    record_outcome(engine, "hackernews", now=NOW, succeeded=True, new=1)
    assert source_health(settings, engine, environ={}, now=NOW)[0].state == "ok"


def test_a_source_that_never_found_anything_is_not_silent(engine: Engine) -> None:
    record_outcome(engine, "hackernews", now=NOW - timedelta(days=9), succeeded=True, new=0)
    record_outcome(engine, "hackernews", now=NOW, succeeded=True, new=0)
    assert source_health(_settings(), engine, environ={}, now=NOW)[0].state == "ok"


def test_scheduled_jobs_one_per_configured_source_at_its_interval(engine: Engine) -> None:
    settings = _settings()
    assert configured_sources(settings) == ["hackernews"]
    (job,) = collector_jobs(settings, engine)
    assert (job.id, job.kind, job.interval_seconds) == ("collect-hackernews", "collector", 600)
    settings.collectors.hackernews.enabled = False
    assert collector_jobs(settings, engine) == []
    assert source_health(settings, engine, environ={})[0].state == "disabled"


def test_competitors_are_collected_too(engine: Engine) -> None:
    settings = settings_from_mapping(
        {
            "brands": [
                {
                    "name": "Koffiekoning",
                    "keywords": ["koffiekoning"],
                    "competitors": [
                        {"name": "Bonenbaas", "keywords": ["bonenbaas"], "collect": {"hackernews": {}}}
                    ],
                }
            ]
        }
    )
    runner, _, _ = _runner(engine, _hits_for, settings)
    report = runner.run("hackernews")
    assert [(s.brand, s.query_key) for s in report.streams] == [("Bonenbaas", "bonenbaas")]
    assert [(s.brand, s.query_key) for s in runner.run("hackernews", only_brand="koffiekoning").streams] == []


@pytest.mark.parametrize("status", ["rate_limited", "failed"])
def test_backoff_is_per_source(engine: Engine, status: str) -> None:
    record_outcome(
        engine,
        "x",
        now=NOW,
        succeeded=False,
        new=0,
        retry_at=NOW + timedelta(hours=1) if status == "rate_limited" else None,
    )
    runner, _, _ = _runner(engine, _hits_for)
    assert runner.run("hackernews").status == "succeeded"


def _feed(host: str) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>{host}-{n}</guid><title>Koffiekoning news {n}</title>"
        f"<pubDate>Fri, 20 Nov 2026 1{n}:00:00 GMT</pubDate></item>"
        for n in range(2)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{host}</title>{items}</channel></rss>'.encode()


def test_a_rate_limit_pauses_only_the_part_of_the_source_that_has_it(engine: Engine) -> None:
    """Two feeds on a host that answers 429 and one on another host: the limited host is asked once, the
    other host is read, and the source backs off until the limited host's Retry-After."""
    asked: list[str] = []

    def feeds(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.host == "busy.example":
            return httpx.Response(429, headers={"retry-after": "600"})
        return httpx.Response(
            200, content=_feed(request.url.host), headers={"content-type": "application/rss+xml"}
        )

    urls = ["https://busy.example/a.xml", "https://busy.example/b.xml", "https://calm.example/c.xml"]
    runner, _, sleeps = _runner(engine, feeds, _settings(rss={"feeds": urls}))
    report = runner.run("rss")
    assert asked == [urls[0], urls[2]] and sleeps == []
    assert report.status == "rate_limited" and report.retry_at == NOW + timedelta(minutes=10)
    assert report.error == "feed https://busy.example/a.xml answered HTTP 429; asking again later"
    assert report.streams[1].error == "not asked: busy.example is rate-limited until 2026-11-21 00:10 UTC"
    assert (report.streams[2].new, report.streams[2].error) == (2, "")
    assert _mentions(engine) == 2
    assert load_states(engine)["rss"].backoff_until == NOW + timedelta(minutes=10)


def test_mastodon_streams_carry_their_instance_and_feeds_their_host_as_the_rate_limit_scope() -> None:
    from monitor.collectors.mastodon import SPEC as MASTODON
    from monitor.collectors.options import MastodonBrand, RssBrand
    from monitor.collectors.rss import SPEC as RSS
    from monitor.config import BrandSettings

    brand = BrandSettings(name="Koffiekoning", keywords=["koffiekoning"], hashtags=["koffie"])
    toots = MASTODON.queries(
        1, brand, MastodonBrand(instances=["https://mastodon.nl", "https://mastodon.social"])
    )
    assert [(q.query_key, q.rate_limit_scope) for q in toots] == [
        ("https://mastodon.nl #koffie", "https://mastodon.nl"),
        ("https://mastodon.social #koffie", "https://mastodon.social"),
    ]
    feeds = RSS.queries(
        1, brand, RssBrand(feeds=["https://News.Example/a.xml", "https://www.google.com/alerts/feeds/1/2"])
    )
    assert [q.rate_limit_scope for q in feeds] == ["news.example", "www.google.com"]


class _Feeds(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if not self.path.startswith("/ok"):
            self.send_error(404)
            return
        body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


def test_feed_tokens_are_masked_in_stream_labels_and_run_records(engine: Engine) -> None:
    """Issue 13 item 8: a feed URL's token was masked in errors but shown as the stream's label in
    `wom collect` and stored in the run record's streams."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"127.0.0.1:{server.server_address[1]}"
    feeds = [f"http://{origin}/ok?token=FEEDSECRET42", f"http://{origin}/gone?key=FEEDSECRET43"]
    settings = settings_from_mapping(
        {
            "collectors": {"allow_private_hosts": [origin]},
            "brands": [
                {"name": "Koffiekoning", "keywords": ["koffie"], "collect": {"rss": {"feeds": feeds}}}
            ],
        }
    )
    runner = SourceRunner(engine, settings, environ={}, sleep=lambda _: None)
    reports = []
    try:
        run_id = run_recorded(
            engine,
            kind="collector",
            name="collect-rss",
            func=lambda: reports.append(runner.run("rss")) or reports[0].as_job_result(),
        )
    finally:
        server.shutdown()
        server.server_close()
    assert [stream.query_key for stream in reports[0].streams] == [
        f"http://{origin}/ok?token=***",
        f"http://{origin}/gone?key=***",
    ]
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(table_of(JobRun)).where(table_of(JobRun).c.id == run_id)).mappings().one()
        )
    assert [stream["query"] for stream in row["detail"]["streams"]] == [
        f"http://{origin}/ok?token=***",
        f"http://{origin}/gone?key=***",
    ]
    assert "FEEDSECRET" not in json.dumps(row["detail"]) + row["error"]
