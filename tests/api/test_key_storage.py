"""API key storage (../shared/RELIABILITY.md S-3): after keys are made, used and revoked, no raw key is in
any table, in the SQLite files or in the logs; the stored form is the SHA-256 digest, compared in
constant time on every request."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from typer.testing import CliRunner

from monitor.cli import app as cli
from monitor.storage import api_keys
from monitor.storage.api_keys import create_api_key, list_api_keys, revoke_api_key
from monitor.storage.db import connect, upgrade_schema
from tests.api.conftest import KeylessClient, build_app, error_of, seed


def database_text(engine: Engine) -> str:
    """Every value of every table, as text."""
    parts = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def secret_forms(key: str) -> list[str]:
    """The key, and its random part alone (longer than the prefix people see)."""
    return [key, key.removeprefix("wom_")]


def test_no_raw_key_in_the_database_or_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()  # without a config, the commands use ./wom.db
    engine = connect(f"sqlite:///{tmp_path / 'wom.db'}", echo=True)  # SQL and parameters go to the log
    upgrade_schema(engine)
    seed(engine)
    keys = [runner.invoke(cli, ["apikey", "create", "--role", "viewer"]).stdout.strip() for _ in range(4)]
    keys += [
        create_api_key(engine, role=role, brand=brand).key
        for role in ("manager", "admin")
        for brand in (None, "Acme", "Other")
    ]
    assert len(set(keys)) == 10
    app = build_app(engine)
    with KeylessClient(app) as client:
        for key in keys:
            assert client.get("/api/v1/brands", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        app.state.access.usage.wait()
        for key in keys[:5]:
            assert runner.invoke(cli, ["apikey", "revoke", key[:12]]).exit_code == 0
        revoke_api_key(engine, keys[5])  # the whole key, as someone might paste it
        for key in keys[:6]:
            response = client.get("/api/v1/brands", headers={"Authorization": f"Bearer {key}"})
            assert error_of(response)["code"] == "revoked_api_key"
        unknown = "wom_" + keys[0][4:][::-1]
        assert client.get("/", headers={"Authorization": f"Bearer {unknown}"}).status_code == 401
    listed = runner.invoke(cli, ["apikey", "list"]).output
    engine.dispose()

    stored = list_api_keys(connect(f"sqlite:///{tmp_path / 'wom.db'}"))
    assert len(stored) == 11  # the ten and the test client's admin key
    assert all(k.last_used_at is not None for k in stored[:10] if k.label != "tests: admin")
    assert sum(k.revoked_at is not None for k in stored) == 6
    files = b"".join(path.read_bytes() for path in tmp_path.glob("wom.db*"))  # the database, its WAL
    text = database_text(connect(f"sqlite:///{tmp_path / 'wom.db'}"))
    logs = caplog.text
    assert "apikey" in logs.lower()  # the key table's SQL was logged, parameters included
    for key in [*keys, unknown]:
        for form in secret_forms(key):
            assert form not in text
            assert form.encode() not in files
            assert form not in logs
            assert form not in listed
    digests = {hashlib.sha256(key.encode()).hexdigest() for key in keys}
    assert digests <= set(text.split("\n"))


def test_every_request_compares_digests_in_constant_time(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine)
    key = create_api_key(engine, role="viewer").key
    compared: list[tuple[Any, Any]] = []
    compare_digest = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", spy)
    with KeylessClient(build_app(engine)) as client:
        assert client.get("/api/v1/brands", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    digest = hashlib.sha256(key.encode()).hexdigest().encode()
    assert compared == [(digest, digest), (digest, digest)]
