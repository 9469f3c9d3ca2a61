import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app

COMMANDS = [
    "init",
    "import",
    "collect",
    "process",
    "worker",
    "run",
    "serve",
    "status",
    "demo",
    "classify",
    "model",
    "authors",
]
runner = CliRunner()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_init_import_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "--brand", "Acme"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "wom.toml").exists() and (tmp_path / "wom.db").exists()
    lines = [
        {
            "source": "x",
            "external_id": "1",
            "text": "Acme is great",
            "created_at": "2026-11-01T10:00:00Z",
            "author": {"handle": "anna"},
        },
        {
            "source": "x",
            "external_id": "2",
            "text": "bad",
            "created_at": "not a time",
            "author": {"handle": "bob"},
        },
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "m.jsonl", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "line 2: 'created_at' 'not a time' is not an ISO 8601 time" in result.output
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "Acme" in result.output
    assert "pending match" in result.output


def test_bad_config_exits_2_with_key_and_fix(tmp_path: Path) -> None:
    config = tmp_path / "wom.toml"
    config.write_text('[api]\nport = "eighty"\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "status"])
    assert result.exit_code == 2
    assert "api.port" in result.output
    assert "WOM_API_PORT" in result.output


def test_an_error_message_with_brackets_is_printed_as_text(tmp_path: Path) -> None:
    # rich would read "[bold]" or "[/]" in a hostile config value as markup and drop or choke on it
    config = tmp_path / "wom.toml"
    config.write_text('[api]\nport = "[/][bold]80[link=x]"\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "status"])
    assert result.exit_code == 2, result.output
    assert "[/][bold]80[link=x]" in result.output
    assert "error:" in result.output


def test_missing_import_file_names_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["import", "nope.jsonl"])
    assert result.exit_code == 2
    assert "nope.jsonl is not a file" in result.output


def test_a_too_deep_line_is_reported_and_the_import_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "--brand", "Acme"]).exit_code == 0
    good = {"source": "x", "text": "Acme", "created_at": "2026-11-01T10:00:00Z", "author": {"handle": "a"}}
    deep = json.dumps({**good, "external_id": "2", "extra": "DEEP"}).replace('"DEEP"', "[" * 256 + "]" * 256)
    lines = [json.dumps({**good, "external_id": "1"}), deep, json.dumps({**good, "external_id": "3"})]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "m.jsonl", "--quiet"])
    assert result.exit_code == 0, result.output  # bad lines are reported, as any other bad line
    assert "line 2: 'extra' is nested deeper than 32 levels; flatten it or leave it out" in result.output
    assert "│    3 │   2 │         0 │        1 │" in result.output
