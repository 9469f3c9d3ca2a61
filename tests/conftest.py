"""Shared fixtures: real SQLite in tmp_path, real PostgreSQL (a schema per test) when configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from benchmarks.pg_schema import create_schema, drop_schema
from monitor.storage.db import connect, upgrade_schema
from tests.ast_guard import AFFECTED, one_parse_at_a_time

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
POSTGRES_URL_ENV = "WOM_TEST_POSTGRES_URL"

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 set, and rich fixes a Console's width from
# COLUMNS when the Console is made (monitor.cli.context makes one at import), so a test's own COLUMNS
# would be ignored there and long paths and tables would wrap
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips the test with a clear reason when ../shared is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test reads ../shared beside the repo (CI has it)")
    return path


@pytest.fixture(autouse=True, scope="session")
def _one_ast_parse_at_a_time() -> Iterator[None]:
    """See tests/ast_guard.py: on Python 3.11, two threads in `ast.parse` at once may raise SystemError."""
    if not AFFECTED:
        yield
        return
    with one_parse_at_a_time():
        yield


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("WOM_") and key != POSTGRES_URL_ENV:
            monkeypatch.delenv(key)


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(
            f"set {POSTGRES_URL_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test to run PostgreSQL tests"
        )
    return url


def make_postgres_url(base: str) -> tuple[str, str]:
    """A fresh schema on the test server; returns (url with search_path, schema name)."""
    return create_schema(base, "wom_test")


def drop_postgres_schema(base: str, schema: str) -> None:
    drop_schema(base, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wom.db'}"
        return
    base = postgres_base_url()
    url, schema = make_postgres_url(base)
    try:
        yield url
    finally:
        drop_postgres_schema(base, schema)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wom.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = connect(database_url)
    upgrade_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = connect(sqlite_url)
    upgrade_schema(eng)
    yield eng
    eng.dispose()
