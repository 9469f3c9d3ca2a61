"""schemathesis against the OpenAPI schema (../shared/RELIABILITY.md S-1): every operation of the real app,
on a seeded SQLite database, with an admin key; cases valid by the schema and cases that break it.

Checks: no server error; status codes, content types, bodies and headers as documented; a missing required
header refused; the key not ignored (a request without it is refused). Not checked: that every
schema-valid request is accepted (an opaque `cursor` the API did not write is rightly a 422), and that
every schema-violating one is refused (schemathesis sends `false` for a string and counts `?status=false`
as invalid, though a query string is text; and the API ignores unknown query parameters, as FastAPI does).
The invalid cases still run, for the other checks.

Deterministic: hypothesis is derandomized and keeps no example database, so CI runs the same cases.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from sqlalchemy.engine import Engine

from monitor.config import ApiSettings, Settings
from tests.api.conftest import Seeded, TestClient, build_app, error_of, seed

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis import checks as st_checks
    from schemathesis.core.failures import FailureGroup

MINIMUM_CASES = 2_000
# per operation and generation mode, at least 100; more while there are few operations, as some give
# fewer cases than asked (no parameters: one valid case, no invalid one)
CASES_PER_OPERATION = 100
SPARE = 1.3
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    st_checks.response_headers_conformance,
    st_checks.missing_required_header,
    st_checks.unsupported_method,
    st_checks.ignored_auth,
]


def _failure_names(error: BaseException) -> list[str]:
    inner = getattr(error, "exceptions", None)
    return [type(e).__name__ for e in inner] if inner else [type(error).__name__]


class Run:
    """Cases run and failures found, per operation and generation mode."""

    def __init__(self, headers: dict[str, str], *, cases_per_operation: int) -> None:
        self.headers = headers
        self.cases_per_operation = cases_per_operation
        self.cases: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.failures: dict[str, str] = {}  # the first message per operation, mode and kind

    def operation(self, operation: Any, mode: GenerationMode) -> None:
        label = operation.label

        @settings(
            max_examples=self.cases_per_operation,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            self.cases[label] += 1
            try:
                case.call_and_validate(headers=self.headers, checks=CHECKS)
            except (Exception, FailureGroup) as e:  # a group of failures per failed case, or the app's error
                for name in _failure_names(e):
                    self.kinds[name] += 1
                    self.failures.setdefault(f"{label} [{mode.value}] {name}", str(e)[:1500])

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # an operation without parameters has no invalid input


def test_schemathesis_finds_no_server_error_and_no_schema_violation(sqlite_engine: Engine) -> None:
    seed(sqlite_engine)
    # far above what the cases send, so no 429 hides an answer
    app = build_app(sqlite_engine, Settings(api=ApiSettings(requests_per_minute=1_000_000)))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    wanted = math.ceil(MINIMUM_CASES * SPARE / (len(operations) * len(GenerationMode)))
    run = Run(
        {"Authorization": f"Bearer {app.state.test_key}"},
        cases_per_operation=max(CASES_PER_OPERATION, wanted),
    )
    for mode in GenerationMode:
        for operation in operations:
            run.operation(operation, mode)

    total = sum(run.cases.values())
    print(
        f"schemathesis: {total} cases over {len(run.cases)} operations; failures by kind: {dict(run.kinds)}"
    )
    assert run.failures == {}
    assert total >= MINIMUM_CASES, dict(run.cases)
    assert set(run.cases) == {operation.label for operation in operations}


@pytest.fixture(autouse=True)
def _schemathesis_warnings() -> Any:
    # schemathesis' own test client runs starlette's TestClient on httpx, which warns (see tests/api/conftest.py)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        yield


def test_found_by_schemathesis(client: TestClient, seeded: Seeded) -> None:
    """What the run above found once, kept as plain cases."""
    unreadable = client.put(
        f"/api/v1/mentions/{seeded.mentions['m01']}/label",
        content=b"\x10\xff\xfe",
        headers={"Content-Type": "application/json"},
    )
    assert (unreadable.status_code, error_of(unreadable)) == (
        400,
        {
            "code": "bad_request",
            "message": "the request body cannot be read: send JSON in UTF-8 with Content-Type: application/json",
        },
    )
    huge = client.get("/api/v1/mentions", params={"author_id": 2**63})
    assert (huge.status_code, error_of(huge)["code"]) == (422, "invalid_request")
