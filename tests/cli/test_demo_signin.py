"""`wom demo` leaves a signed-in path: it prints an admin's user name and password that sign in to the
dashboard over the demo's database, and how to reopen it with its config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards.site import web_app
from monitor.cli import app
from monitor.config import load_settings
from monitor.storage.db import connect
from tests.dashboards.signin_helpers import browser, sign_in

runner = CliRunner()


def test_demo_prints_a_user_that_signs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    found = re.search(r"user name (\S+), password (\S+) ", result.output)
    assert found is not None, result.output
    assert "reopen it later with: wom serve -c .wom-demo/wom.toml" in result.output
    name, password = found.groups()
    settings = load_settings(tmp_path / ".wom-demo" / "wom.toml")
    engine = connect(settings.database.url)
    try:
        with browser(web_app(settings, engine)) as client:
            assert sign_in(client, name, "not the password at all").status_code == 401
            assert sign_in(client, name, password).status_code == 303
            page = client.get("/")
            assert page.status_code == 200 and "(admin)" in page.text
        # a second demo in the same folder gives the same user a new password; the old one stops working
        again = runner.invoke(app, ["demo", "--no-serve"])
        assert again.exit_code == 0, again.output
        with browser(web_app(settings, engine)) as client:
            assert sign_in(client, name, password).status_code == 401
    finally:
        engine.dispose()
