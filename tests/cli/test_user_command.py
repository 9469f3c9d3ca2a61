"""`wom user add|list|set|remove|import-email-to` and `wom apikey create --user` on a real config and database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from monitor.cli import app
from monitor.service.passwords import password_matches

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("WOM_USER_PASSWORD", raising=False)
    monkeypatch.delenv("WOM_ALERTS_EMAIL_TO", raising=False)
    assert runner.invoke(app, ["init", "--brand", "Acme"]).exit_code == 0
    return tmp_path


def _rows(workdir: Path, sql: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(f"sqlite:///{workdir / 'wom.db'}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql))]
    engine.dispose()
    return rows


def test_add_then_list_shows_the_user_and_preferences(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.cli.context import console

    # wide enough for every cell whatever width an earlier test left the shared console at
    monkeypatch.setattr(console, "width", 300)
    result = runner.invoke(
        app,
        [
            "user", "add", "Ann", "--email", "ann@example.org", "--role", "manager", "--display-name",
            "Ann de Wit", "--language", "nl", "--timezone", "Europe/Amsterdam", "--brand", "acme",
            "--alert-kind", "negative_spike", "--min-severity", "warning", "--delivery", "digest_only",
            "--digest-hour", "7", "--quiet-hours", "22:00-07:30",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == "added user 1 (ann), role manager\n"
    listed = runner.invoke(app, ["user", "list"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if " ann " in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells == [
        "1", "ann", "Ann de Wit", "ann@example.org", "manager", "nl", "Europe/Amsterdam", "Acme",
        "negative_spike ≥ warning, digest_only, digest 7:00, quiet 22:00-07:30", "yes",
    ]  # fmt: skip
    assert _rows(workdir, "SELECT name, password_hash FROM user") == [("ann", None)]


def test_the_password_comes_from_the_environment_or_a_prompt(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOM_USER_PASSWORD", "from the environment")
    result = runner.invoke(app, ["user", "add", "ann", "--email", "ann@example.org", "--password"])
    assert result.exit_code == 0, result.output
    assert "from the environment" not in result.output
    monkeypatch.delenv("WOM_USER_PASSWORD")
    typed = "typed at the prompt\n"
    result = runner.invoke(app, ["user", "set", "ann", "--password"], input=typed + typed)
    assert result.exit_code == 0, result.output
    assert "typed at the prompt" not in result.output
    [(stored,)] = _rows(workdir, "SELECT password_hash FROM user")
    assert isinstance(stored, str) and password_matches(stored, "typed at the prompt")
    result = runner.invoke(app, ["user", "set", "ann", "--no-password"])
    assert result.exit_code == 0, result.output
    assert _rows(workdir, "SELECT password_hash FROM user") == [(None,)]


def test_a_password_is_never_an_argument(workdir: Path) -> None:
    result = runner.invoke(app, ["user", "add", "ann", "--email", "a@example.org", "--password", "secret"])
    assert result.exit_code == 2  # click: 'secret' is an unexpected extra argument
    assert _rows(workdir, "SELECT count(*) FROM user") == [(0,)]


def test_set_changes_what_is_given_and_errors_name_the_fix(workdir: Path) -> None:
    runner.invoke(app, ["user", "add", "ann", "--email", "ann@example.org", "--quiet-hours", "23:00-06:00"])
    result = runner.invoke(
        app, ["user", "set", "ANN", "--role", "admin", "--quiet-hours", "off", "--inactive"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "changed user 1 (ann)\n"
    assert _rows(workdir, "SELECT role, quiet_start, quiet_end, active, email FROM user") == [
        ("admin", None, None, 0, "ann@example.org")
    ]
    bad = runner.invoke(app, ["user", "set", "ann", "--timezone", "Europe/Amsterdamm"])
    assert bad.exit_code == 2
    assert "'timezone' is 'Europe/Amsterdamm', not an IANA time zone" in bad.output
    bad = runner.invoke(app, ["user", "set", "ann", "--quiet-hours", "late"])
    assert bad.exit_code == 2 and "e.g. 22:00-07:00, or 'off'" in bad.output
    bad = runner.invoke(app, ["user", "set", "zoe", "--language", "nl"])
    assert bad.exit_code == 2 and "there is no user with the name 'zoe'; `wom user list`" in bad.output
    bad = runner.invoke(app, ["user", "add", "Ann", "--email", "x@example.org"])
    assert bad.exit_code == 2 and "there is already a user named 'ann'" in bad.output
    nothing = runner.invoke(app, ["user", "set", "ann"])
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output


def test_remove_revokes_the_users_keys(workdir: Path) -> None:
    runner.invoke(app, ["user", "add", "ann", "--email", "ann@example.org", "--role", "manager"])
    made = runner.invoke(app, ["apikey", "create", "--role", "manager", "--user", "ann"])
    assert made.exit_code == 0, made.output
    assert "role manager, every brand, of user ann." in made.stderr
    listed = runner.invoke(app, ["apikey", "list"]).output
    assert " ann " in listed
    above = runner.invoke(app, ["apikey", "create", "--role", "admin", "--user", "ann"])
    assert above.exit_code == 2 and "user 'ann' has role manager" in above.output
    refused = runner.invoke(app, ["user", "remove", "ann"], input="n\n")
    assert refused.exit_code == 1 and _rows(workdir, "SELECT count(*) FROM user") == [(1,)]
    result = runner.invoke(app, ["user", "remove", "ann", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.output == "removed user 1 (ann); revoked 1 API key(s)\n"
    [(revoked_at, user_id)] = _rows(workdir, "SELECT revoked_at, user_id FROM apikey")
    assert revoked_at is not None and user_id is None
    assert "no users yet" in runner.invoke(app, ["user", "list"]).output


def test_import_email_to_makes_viewers_once(workdir: Path) -> None:
    nothing = runner.invoke(app, ["user", "import-email-to"])
    assert nothing.exit_code == 0 and nothing.output == "[alerts] email_to is empty: no users to make\n"
    config = workdir / "wom.toml"
    config.write_text(
        config.read_text()
        + '\n[smtp]\nhost = "127.0.0.1"\n\n[alerts]\nemail_to = ["ops@example.org", "Owner@Example.org"]\n'
    )
    runner.invoke(app, ["user", "add", "boss", "--email", "owner@example.org", "--role", "admin"])
    result = runner.invoke(app, ["user", "import-email-to"])
    assert result.exit_code == 0, result.output
    assert "added viewer ops <ops@example.org>" in result.stdout
    assert "skipped Owner@Example.org: a user already has it" in result.stderr
    assert "1 user(s) added" in result.stdout
    assert _rows(workdir, "SELECT name, email, role FROM user ORDER BY id") == [
        ("boss", "owner@example.org", "admin"),
        ("ops", "ops@example.org", "viewer"),
    ]
    again = runner.invoke(app, ["user", "import-email-to"])
    assert again.exit_code == 0 and "0 user(s) added" in again.stdout
