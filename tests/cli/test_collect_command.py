"""`wom collect` end to end against a local HTTP server, including kill -9 between fetch and commit (I-2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from monitor.cli import app
from monitor.scheduler import mark_stale_runs
from monitor.storage.db import connect
from monitor.storage.models import CollectorCursor, JobRun, Mention
from monitor.storage.tables import table_of

PAGES = 3
PER_PAGE = 5
runner = CliRunner()


@dataclass
class FakeAlgolia:
    """Serves three pages of `search_by_date`; page 1 can be held until the test lets it go."""

    hold_page: int | None = None
    released: threading.Event = field(default_factory=threading.Event)
    requests: list[str] = field(default_factory=list)

    def body(self, page: int, since: int) -> dict[str, object]:
        now = int(time.time())
        hits = [
            {
                "objectID": str(50_000 + page * PER_PAGE + i),
                "created_at_i": now - 60 * (page * PER_PAGE + i + 1),
                "author": f"user{page}{i}",
                "comment_text": f"<p>Koffiekoning comment {page}.{i}</p>",
                "story_id": 1,
                "parent_id": 1,
                "_tags": ["comment"],
            }
            for i in range(PER_PAGE)
        ]
        return {
            "hits": [hit for hit in hits if int(hit["created_at_i"]) >= since],
            "nbPages": PAGES,
            "page": page,
        }


def _serve(fake: FakeAlgolia) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if "/users/" in url.path:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            params = parse_qs(url.query)
            page = int(params["page"][0])
            fake.requests.append(self.path)
            if page == fake.hold_page:
                fake.released.wait(timeout=60)
            since = int(params["numericFilters"][0].split(">=")[1])
            payload = json.dumps(fake.body(page, since)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        fake.released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # through COLUMNS, read on every print: setting console.width would fix the shared console's width
    # for every later test in the process (restoring it fixes it at the width it had, 80)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def fake() -> FakeAlgolia:
    return FakeAlgolia()


@pytest.fixture
def server(fake: FakeAlgolia) -> Iterator[str]:
    yield from _serve(fake)


def _config(tmp_path: Path, host: str) -> Path:
    config = tmp_path / "wom.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path / "wom.db"}"

[collectors]
allow_private_hosts = ["{host}"]

[collectors.hackernews]
base_url = "http://{host}/api/v1"

[[brands]]
name = "Koffiekoning"
keywords = ["koffiekoning"]

[brands.collect.hackernews]
""",
        encoding="utf-8",
    )
    return config


def _count(tmp_path: Path, table: object) -> int:
    engine = connect(f"sqlite:///{tmp_path / 'wom.db'}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_collect_prints_a_summary_and_a_second_run_adds_nothing(tmp_path: Path, server: str) -> None:
    config = _config(tmp_path, server)
    first = runner.invoke(app, ["--config", str(config), "collect", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "hackernews" in first.output and "succeeded" in first.output
    assert _count(tmp_path, table_of(Mention)) == PAGES * PER_PAGE
    second = runner.invoke(app, ["--config", str(config), "collect", "hackernews", "--brand", "koffiekoning"])
    assert second.exit_code == 0, second.output
    assert _count(tmp_path, table_of(Mention)) == PAGES * PER_PAGE
    status = runner.invoke(app, ["--config", str(config), "status"])
    assert status.exit_code == 0, status.output
    assert "collectors" in status.output and "collect-hackernews" in status.output


def test_collect_refuses_what_it_cannot_run(tmp_path: Path, server: str) -> None:
    config = _config(tmp_path, server)
    unknown = runner.invoke(app, ["--config", str(config), "collect", "myspace"])
    assert unknown.exit_code != 0 and "unknown source 'myspace'" in unknown.output
    no_brand = runner.invoke(app, ["--config", str(config), "collect", "--brand", "Globex"])
    assert no_brand.exit_code != 0 and "no brand named 'Globex'" in no_brand.output
    config.write_text(config.read_text().replace('allow_private_hosts = ["', 'allow_private_hosts = ["x'))
    refused = runner.invoke(app, ["--config", str(config), "collect", "--quiet"])
    assert refused.exit_code == 1 and "allow_private_hosts" in refused.output


def test_collect_brand_is_found_ignoring_case_and_accents_like_the_matcher(
    tmp_path: Path, server: str
) -> None:
    config = _config(tmp_path, server)
    result = runner.invoke(
        app, ["--config", str(config), "collect", "hackernews", "--brand", "KÖFFIEKÓNING", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert _count(tmp_path, table_of(Mention)) == PAGES * PER_PAGE


def test_kill_between_fetch_and_commit_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, fake: FakeAlgolia, server: str
) -> None:
    fake.hold_page = 1
    config = _config(tmp_path, server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "collect", "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not any("page=1" in path for path in fake.requests):
            assert time.monotonic() < deadline and process.poll() is None, (
                "wom collect never asked for page 1"
            )
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert _count(tmp_path, table_of(Mention)) == PER_PAGE
    engine = connect(f"sqlite:///{tmp_path / 'wom.db'}")
    try:
        with engine.connect() as conn:
            cursor = conn.execute(sa.select(table_of(CollectorCursor).c.cursor)).scalar_one()
            assert cursor["page"] == 1
        assert mark_stale_runs(engine, older_than=timedelta(0)) == 1
    finally:
        engine.dispose()
    fake.hold_page = None
    fake.released.set()
    done = runner.invoke(app, ["--config", str(config), "collect", "--quiet"])
    assert done.exit_code == 0, done.output
    assert _count(tmp_path, table_of(Mention)) == PAGES * PER_PAGE
    engine = connect(f"sqlite:///{tmp_path / 'wom.db'}")
    try:
        with engine.connect() as conn:
            statuses = (
                conn.execute(sa.select(table_of(JobRun).c.status).order_by(table_of(JobRun).c.id))
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert statuses == ["failed", "succeeded"]
