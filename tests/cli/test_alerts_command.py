"""`wom alerts test --brand NAME` on a real config and database: one test message through every channel
(a user's e-mail, an `[alerts] email_to` address, a Slack and a Standard webhook), each channel's result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from tests.alerts.http_receiver import serve_receiver
from tests.alerts.outbox_world import SECRET, SECRET_ENV
from tests.alerts.smtp_server import LoopbackController, Recorder

runner = CliRunner()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def smtp_server(recorder: Recorder) -> Iterator[LoopbackController]:
    controller = LoopbackController(recorder, hostname="127.0.0.1", port=0)
    controller.start()
    yield controller
    controller.stop()


def _config(path: Path, *, smtp_port: int, hook_port: int, hook_url: str) -> None:
    path.write_text(
        f"""
[database]
url = "sqlite:///{path.parent / "wom.db"}"

[alerts]
email_to = ["old@acme.example"]

[smtp]
host = "127.0.0.1"
port = {smtp_port}
sender = "wom <wom@acme.example>"
starttls = false

[collectors]
allow_private_hosts = ["127.0.0.1:{hook_port}"]

[[webhooks]]
name = "team"
kind = "slack"
url = "{hook_url.replace("/hook", "/slack")}"

[[webhooks]]
name = "ops"
kind = "standard"
url = "{hook_url}"
secret_env = "{SECRET_ENV}"

[[brands]]
name = "Acme"
keywords = ["acme"]
""",
        encoding="utf-8",
    )


def test_alerts_test_sends_through_every_channel_and_reports_each(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: LoopbackController,
    recorder: Recorder,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver() as hook:
        _config(tmp_path / "wom.toml", smtp_port=smtp_server.port, hook_port=hook.port, hook_url=hook.url)
        added = runner.invoke(app, ["user", "add", "ann", "--email", "ann@acme.example", "--language", "nl"])
        assert added.exit_code == 0, added.output

        result = runner.invoke(app, ["alerts", "test", "--brand", "acme"])
        assert result.exit_code == 0, result.output
        lines = [line for line in result.output.splitlines() if "sent" in line]
        assert len(lines) == 4
        for channel, recipient in (
            ("email", "ann@acme.example"),
            ("email", "old@acme.example"),
            ("slack", "team"),
            ("webhook", "ops"),
        ):
            assert any(channel in line and recipient in line for line in lines), result.output

        unknown = runner.invoke(app, ["alerts", "test", "--brand", "Initech"])
        assert unknown.exit_code == 2
        assert "no brand is named 'Initech'; the brands are: Acme" in unknown.output

    subjects = sorted(str(m["Subject"]) for m in recorder.messages())
    assert subjects == ["[wom] Test message for Acme", "[wom] Testbericht voor Acme"]
    assert sorted(r.path for r in hook.requests) == ["/hook", "/slack"]
    slack = next(r for r in hook.requests if r.path == "/slack")
    assert "Test message" in json.loads(slack.body)["text"]
    standard = next(r for r in hook.requests if r.path == "/hook")
    assert json.loads(standard.body)["type"] == "alert.test"
    assert standard.headers["webhook-signature"].startswith("v1,")


def test_a_channel_that_fails_is_reported_and_the_exit_status_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: LoopbackController, recorder: Recorder
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with serve_receiver() as hook:
        hook.statuses = [404]
        _config(tmp_path / "wom.toml", smtp_port=smtp_server.port, hook_port=hook.port, hook_url=hook.url)
        result = runner.invoke(app, ["alerts", "test", "--brand", "Acme"])
    assert result.exit_code == 1
    assert "404" in result.output
    assert len(recorder.envelopes) == 1  # the e-mail still went
