"""The one status report (monitor/service/status.py) and what the API process loads to serve it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.config import Settings
from monitor.service.status import source_health, status_report
from monitor.storage.source_state import record_outcome

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

_LOADED = """
import json, sys
from monitor.config import Settings
from monitor.storage.db import connect, upgrade_schema
engine = connect(sys.argv[1])
upgrade_schema(engine)
from dashboards.site import web_app
web_app(Settings(), engine, include_dashboard=True)
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("apscheduler", "monitor.collectors")))))
"""


def test_the_api_process_loads_no_scheduler_and_no_collector(tmp_path: Path) -> None:
    # built as `wom serve` builds it (dashboards.site.web_app: the API with the dashboard), in a fresh interpreter
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, f"sqlite:///{tmp_path / 'wom.db'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_source_runner_loads_no_scheduler() -> None:
    # `wom collect` and the worker run collectors without APScheduler; only `wom run` needs it
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; import monitor.collectors.runner; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('apscheduler'))))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []


def _settings(**collectors: object) -> Settings:
    return Settings.model_validate(
        {
            "brands": [
                {"name": "Acme", "keywords": ["acme"], "collect": {"hackernews": {}, "x": {"query": "acme"}}}
            ],
            "collectors": collectors,
        }
    )


def test_source_health_from_the_config_the_environment_and_the_stored_state(engine: Engine) -> None:
    settings = _settings(hackernews={"enabled": True})
    x, hackernews = source_health(settings, engine, environ={}, now=NOW)
    assert (x.source, x.state, x.message) == (
        "x",
        "disabled",
        "set the environment variable WOM_X_BEARER_TOKEN",
    )
    assert (hackernews.source, hackernews.state, hackernews.brands) == ("hackernews", "never_run", ["Acme"])
    (x,) = [
        h
        for h in source_health(settings, engine, environ={"WOM_X_BEARER_TOKEN": "t"}, now=NOW)
        if h.source == "x"
    ]
    assert x.state == "never_run"
    record_outcome(engine, "hackernews", now=NOW, succeeded=True, new=3)
    (hackernews,) = [
        h for h in source_health(settings, engine, environ={}, now=NOW) if h.source == "hackernews"
    ]
    assert (hackernews.state, hackernews.found_total, hackernews.last_success_at) == ("ok", 3, NOW)


def test_status_report_counts_tables_and_lists_sources(engine: Engine) -> None:
    settings = _settings()
    with Session(engine) as session:
        report = status_report(session, engine, settings, NOW)
    assert report.schema_current is True
    assert report.tables["mention"] == 0
    assert report.jobs == []
    assert [s.source for s in report.sources] == ["x", "hackernews"]
