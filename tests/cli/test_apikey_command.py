"""`wom apikey create|list|revoke` on a real config and database."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from monitor.cli import app

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    assert runner.invoke(app, ["init", "--brand", "Acme"]).exit_code == 0
    return tmp_path


def test_create_prints_the_key_once_alone_on_stdout(workdir: Path) -> None:
    result = runner.invoke(
        app, ["apikey", "create", "--role", "manager", "--brand", "acme", "--label", "shop"]
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert re.fullmatch(r"wom_[A-Za-z0-9_-]{43}", key)
    assert f"API key 1 ({key[:12]}…), role manager, brand Acme and its competitors" in result.stderr
    assert "not shown again" in result.stderr
    with sa.create_engine(f"sqlite:///{workdir / 'wom.db'}").connect() as conn:
        rows = conn.execute(sa.text("SELECT prefix, digest, role, label FROM apikey")).all()
    assert [tuple(r) for r in rows] == [
        (key[:12], hashlib.sha256(key.encode()).hexdigest(), "manager", "shop")
    ]

    listed = runner.invoke(app, ["apikey", "list"])
    assert listed.exit_code == 0, listed.output
    assert key[:12] in listed.output and "manager" in listed.output and "Acme" in listed.output
    assert key not in listed.output


def test_revoke_then_list_shows_it(workdir: Path) -> None:
    key = runner.invoke(app, ["apikey", "create", "--role", "viewer"]).stdout.strip()
    result = runner.invoke(app, ["apikey", "revoke", key[:12]])
    assert result.exit_code == 0, result.output
    assert re.search(rf"revoked API key 1 \({key[:12]}…\) at \d{{4}}-\d\d-\d\d \d\d:\d\d UTC", result.output)
    listed = runner.invoke(app, ["apikey", "list"]).output
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", listed)) == 2  # created and revoked


def test_bad_input_exits_2_naming_the_fix(workdir: Path) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "viewer", "--brand", "Nope"])
    assert result.exit_code == 2
    assert "unknown brand 'Nope' for --brand; valid brands: 'Acme'" in result.output
    result = runner.invoke(app, ["apikey", "create", "--role", "owner"])
    assert result.exit_code == 2
    assert "'owner' is not one of" in result.output
    result = runner.invoke(app, ["apikey", "revoke", "7"])
    assert result.exit_code == 2
    assert "no API key has the id or prefix '7'; `wom apikey list` shows them" in result.output
    assert (
        "no API keys yet; make one with `wom apikey create --role viewer`"
        in runner.invoke(app, ["apikey", "list"]).output
    )


@pytest.mark.parametrize("command", ["create", "list", "revoke"])
def test_help(command: str) -> None:
    result = runner.invoke(app, ["apikey", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
