"""`wom import`: the summary lists as many rejected lines as `--show-rejected` asks for."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app

runner = CliRunner()


def _write_lines(path: Path, *, bad: int) -> None:
    good = {
        "source": "x",
        "external_id": "ok",
        "text": "Acme is great",
        "created_at": "2026-11-01T10:00:00Z",
        "author": {"handle": "anna"},
    }
    lines = [json.dumps(good)]
    lines += [json.dumps({**good, "external_id": str(i), "created_at": f"never {i}"}) for i in range(bad)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("shown", "listed", "more"),
    [(0, 0, "… and 25 more rejected lines"), (3, 3, "… and 22 more rejected lines"), (25, 25, None)],
)
def test_show_rejected_lists_that_many_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shown: int, listed: int, more: str | None
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "--brand", "Acme"]).exit_code == 0
    _write_lines(tmp_path / "m.jsonl", bad=25)
    result = runner.invoke(app, ["import", "m.jsonl", "--quiet", "--show-rejected", str(shown)])
    assert result.exit_code == 0, result.output
    listed_lines = [line for line in result.output.splitlines() if line.startswith("  line ")]
    assert [line.split(" is not")[0] for line in listed_lines] == [
        f"  line {n}: 'created_at' 'never {n - 2}'" for n in range(2, 2 + listed)
    ]
    if more is None:
        assert "more rejected lines" not in result.output
    else:
        assert f"{more} (see `wom status`)" in result.output


def test_show_rejected_defaults_to_twenty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "--brand", "Acme"]).exit_code == 0
    _write_lines(tmp_path / "m.jsonl", bad=25)
    result = runner.invoke(app, ["import", "m.jsonl", "--quiet"])
    assert result.exit_code == 0, result.output
    assert sum(line.startswith("  line ") for line in result.output.splitlines()) == 20
    assert "… and 5 more rejected lines (see `wom status`)" in result.output
