"""One error shape for every failure, /healthz, and nothing internal leaking into a response."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.db import connect, upgrade_schema
from tests.api.conftest import Seeded, TestClient, build_app, error_of

LEAKS = ("Traceback", "SELECT", "sqlite", "psycopg", 'File "', "secret")


def assert_no_leak(text: str) -> None:
    for word in LEAKS:
        assert word not in text


def test_healthz_ok(engine: Engine) -> None:
    with TestClient(build_app(engine)) as client:
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_healthz_503_when_the_sqlite_file_is_gone(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'data' / 'wom.db'}")
    upgrade_schema(engine)
    engine.dispose()
    shutil.rmtree(tmp_path / "data")
    with TestClient(build_app(engine)) as client:
        health = client.get("/healthz")
        brands = client.get("/api/v1/brands")
    assert health.status_code == 503
    assert error_of(health) == {
        "code": "database_unavailable",
        "message": "the database cannot be reached; check that it runs and that WOM_DATABASE_URL points at it, "
        "then retry",
    }
    assert brands.status_code == 503
    assert error_of(brands)["code"] == "database_unavailable"
    assert_no_leak(health.text + brands.text)
    assert str(tmp_path) not in health.text + brands.text


def test_healthz_503_when_postgres_does_not_listen() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = connect(f"postgresql+psycopg://wom:secret@127.0.0.1:{port}/wom")
    with TestClient(build_app(engine)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert error_of(response)["code"] == "database_unavailable"
    assert_no_leak(response.text)
    engine.dispose()


def test_a_failing_query_does_not_leak_sql(engine: Engine, seeded: Seeded) -> None:
    with engine.begin() as conn:
        for table in (
            "notificationdelivery",
            "alertnotice",
            "alert",
        ):  # the alert table and those that refer to it
            conn.execute(sa.text(f"DROP TABLE {table}"))
    with TestClient(build_app(engine), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/alerts")
    # SQLite reports a missing table as an OperationalError, PostgreSQL as a ProgrammingError
    expected = (503, "database_unavailable") if engine.dialect.name == "sqlite" else (500, "internal_error")
    assert (response.status_code, error_of(response)["code"]) == expected
    assert_no_leak(response.text)


def test_unexpected_error_is_500_without_details(engine: Engine) -> None:
    app = build_app(engine)

    def explode() -> None:
        raise RuntimeError("SELECT secret FROM vault at /srv/wom/secret.py")

    app.add_api_route("/api/v1/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/explode")
    assert response.status_code == 500
    assert error_of(response) == {
        "code": "internal_error",
        "message": "the server hit an unexpected error and logged it; retry, and if it persists check the server log",
    }
    assert_no_leak(response.text)


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "message"),
    [
        ("GET", "/api/v1/nothing", 404, "not_found", "there is nothing at /api/v1/nothing; see /docs for the endpoints"),
        ("PATCH", "/api/v1/mentions", 405, "method_not_allowed",
         "PATCH is not allowed on /api/v1/mentions; see /docs for the methods"),
        ("GET", "/api/v1/mentions?limit=x", 422, "invalid_request",
         "query parameter 'limit': Input should be a valid integer, unable to parse string as an integer. "
         "Fix the request and retry; /docs lists the values."),
        ("GET", "/api/v1/ambassadors?limit=0", 422, "invalid_request",
         "query parameter 'brand': Field required; query parameter 'limit': Input should be greater than or equal "
         "to 1. Fix the request and retry; /docs lists the values."),
    ],
)  # fmt: skip
def test_error_shape(engine: Engine, method: str, path: str, status: int, code: str, message: str) -> None:
    with TestClient(build_app(engine)) as client:
        response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert error_of(response) == {"code": code, "message": message}


def test_openapi_lists_the_versioned_endpoints(engine: Engine) -> None:
    with TestClient(build_app(engine)) as client:
        docs = client.get("/docs")
        schema = client.get("/openapi.json").json()
    assert docs.status_code == 200
    assert sorted(p for p in schema["paths"] if p.startswith("/api/")) == [
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}",
        "/api/v1/alerts/{alert_id}/ack",
        "/api/v1/alerts/{alert_id}/resolve",
        "/api/v1/ambassadors",
        "/api/v1/authors/merge",
        "/api/v1/authors/{author_id}",
        "/api/v1/authors/{author_id}/export",
        "/api/v1/authors/{author_id}/split",
        "/api/v1/brands",
        "/api/v1/detractors",
        "/api/v1/inbox",
        "/api/v1/inbox/{item_id}",
        "/api/v1/inbox/{item_id}/ack",
        "/api/v1/inbox/{item_id}/answer",
        "/api/v1/inbox/{item_id}/assign",
        "/api/v1/inbox/{item_id}/dismiss",
        "/api/v1/inbox/{item_id}/reopen",
        "/api/v1/inbox/{item_id}/resolve",
        "/api/v1/mentions",
        "/api/v1/mentions/{mention_id}/label",
        "/api/v1/stats/response-times",
        "/api/v1/stats/sentiment",
        "/api/v1/status",
        "/api/v1/users",
        "/api/v1/users/me",
        "/api/v1/users/me/preferences",
        "/api/v1/users/{user_id}",
    ]
    assert "/" not in schema["paths"]  # the dashboard is not part of the API
    documented = schema["paths"]["/api/v1/mentions"]["get"]["responses"]["422"]["content"]["application/json"]
    assert documented["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_api_only_app_has_no_dashboard(engine: Engine) -> None:
    with TestClient(build_app(engine, include_dashboard=False)) as client:
        assert client.get("/").status_code == 404
        assert client.get("/api/v1/brands").status_code == 200


def test_reads_do_not_wait_for_a_writer(engine: Engine, client: TestClient) -> None:
    # the pipeline holds the write lock for a whole batch; on SQLite a reader that asked for it too
    # would wait for busy_timeout (30 s) and then answer 503
    with engine.begin() as writer:
        writer.execute(sa.text("UPDATE mention SET reach = reach + 1"))
        for path in ("/api/v1/mentions", "/api/v1/status", "/healthz", "/"):
            assert client.get(path).status_code == 200
