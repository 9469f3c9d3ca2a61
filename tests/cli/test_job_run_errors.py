"""A failed `wom import` or `wom process` stores its error without SQL, parameters or secrets.

`/api/v1/status` and `wom status` show stored run errors; a database error's statement and parameters
carry mention texts and handles, so they must never be stored (issue 14)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from monitor.cli import app
from monitor.storage.db import connect
from monitor.storage.models import JobRun
from monitor.storage.tables import table_of

runner = CliRunner()
SECRET_TEXT = "Acme ruined my wedding, call me on 555-0199"
HANDLE = "private_person_42"


def _init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str | None = None) -> str:
    monkeypatch.chdir(tmp_path)
    url = url or f"sqlite:///{tmp_path / 'wom.db'}"
    monkeypatch.setenv("WOM_DATABASE_URL", url)
    result = runner.invoke(app, ["init", "--brand", "Acme"])
    assert result.exit_code == 0, result.output
    return url


def _refuse_writes_to(url: str, table: str) -> None:
    # a real database failure: the driver's error comes with the statement and its parameters
    engine = connect(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(
                    sa.text(
                        f"CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$"
                    )
                )
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
                    )
                )
            else:
                conn.execute(
                    sa.text(
                        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
                    )
                )
    finally:
        engine.dispose()


def _runs(url: str) -> list[tuple[str, str, str, str]]:
    engine = connect(url)
    run = table_of(JobRun)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(run.c.kind, run.c.name, run.c.status, run.c.error).order_by(run.c.id)
            )
            return [(r.kind, r.name, r.status, r.error) for r in rows]
    finally:
        engine.dispose()


def _write_mentions(tmp_path: Path) -> None:
    line = {
        "source": "x",
        "external_id": "1",
        "text": SECRET_TEXT,
        "created_at": "2026-11-01T10:00:00Z",
        "author": {"handle": HANDLE},
        "url": "https://user:hunter2@example.com/p?token=abc123",
    }
    (tmp_path / "m.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")


# the driver's class may stay in the message; the statement, its parameters and PostgreSQL's CONTEXT may not
_MASKED = re.compile(r"\w+Error: (\(\S+\) )?disk quota exceeded")


def test_an_import_that_fails_in_the_database_stores_a_masked_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    url = _init(tmp_path, monkeypatch, database_url)
    _write_mentions(tmp_path)
    _refuse_writes_to(url, "mention")
    result = runner.invoke(app, ["import", "m.jsonl", "--quiet"])
    assert result.exit_code != 0
    [(kind, name, status, error)] = _runs(url)
    assert (kind, name, status) == ("import", "m.jsonl", "failed")
    assert _MASKED.fullmatch(error), error


def test_a_process_run_that_fails_in_the_database_stores_a_masked_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _init(tmp_path, monkeypatch)
    _write_mentions(tmp_path)
    result = runner.invoke(app, ["import", "m.jsonl", "--quiet"])
    assert result.exit_code == 0, result.output
    _refuse_writes_to(url, "mentionbrand")
    result = runner.invoke(app, ["process", "--quiet"])
    assert result.exit_code != 0
    runs = _runs(url)
    assert [run[:3] for run in runs] == [("import", "m.jsonl", "succeeded"), ("pipeline", "match", "failed")]
    assert _MASKED.fullmatch(runs[1][3]), runs[1][3]
