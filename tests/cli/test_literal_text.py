"""Brackets in help and in printed messages are text, not rich markup ("Port (default:  port)." lost "[api]")."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from monitor.cli import app

runner = CliRunner()


def _commands(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if isinstance(command, TyperGroup):
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from _commands(sub, (*path, name))


def _bracketed_help() -> list[tuple[tuple[str, ...], str]]:
    """Every (command path, bracketed word) that a help text of a command or one of its options holds."""
    found = []
    for path, command in _commands(typer.main.get_command(app), ()):
        texts = [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
        for text in texts:
            plain = text.replace("\\[", "[")
            found += [(path, word) for word in re.findall(r"\[[^\]\s]*\]", plain)]
    return found


BRACKETED = _bracketed_help()


def test_the_help_texts_hold_brackets() -> None:
    # the walk below would pass on nothing: make sure it sees the help texts the bug was filed on
    assert ((("serve",), "[api]")) in BRACKETED
    assert ((("model", "train"), "[classifier]")) in BRACKETED


@pytest.mark.parametrize(("path", "word"), BRACKETED, ids=[f"{' '.join(p)} {w}" for p, w in BRACKETED])
def test_help_shows_brackets(path: tuple[str, ...], word: str) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert word in result.output
    assert "\\[" not in result.output


def test_serve_help_names_the_config_key() -> None:
    result = runner.invoke(app, ["serve", "--help"], terminal_width=200)
    assert "Port (default: [api] port)." in result.output


def test_a_printed_message_keeps_its_brackets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # a long tmp path (as under pytest-xdist) would wrap mid-name
    config = tmp_path / "[table]" / "wom.toml"
    result = runner.invoke(app, ["--config", str(config), "init", "--brand", "Acme"])
    assert result.exit_code == 0, result.output
    assert f"wrote {config}" in result.output
