"""schemathesis against the OpenAPI schema (../shared/RELIABILITY.md S-1): every operation of the real app,
on a seeded SQLite database and on PostgreSQL, with an admin key; cases valid by the schema and cases that break it.

Checks: no server error; status codes, content types, bodies and headers as documented; a missing required
header refused; the key not ignored (a request without it is refused). Not checked: that every
schema-valid request is accepted (an opaque `cursor` the API did not write is rightly a 422), and that
every schema-violating one is refused (schemathesis sends `false` for a string and counts `?status=false`
as invalid, though a query string is text; and the API ignores unknown query parameters, as FastAPI does).
The invalid cases still run, for the other checks.

On top of what the schema describes, `since`, `until` and `cursor` also get the values at the ends of the
calendar and of the database's integers (issue 13, item 5: a datetime at year 1 with +14:00 or at 9999-12-31
with -14:00, an id past 2**31 or 2**64 in a cursor), which schemathesis' own date-times never reach.

Deterministic: hypothesis is derandomized and keeps no example database, so CI runs the same cases.
"""

from __future__ import annotations

import base64
import json
import math
import warnings
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


# the ends of what datetime holds, with the widest offsets: converted to UTC some fall outside it
EXTREME_TIMES = st.builds(
    "{}T{}{}".format,
    st.sampled_from(["0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31"]),
    st.sampled_from(["00:00:00", "13:59:59", "23:59:59.999999"]),
    st.sampled_from(["Z", "+14:00", "-14:00", "+23:59", "-23:59"]),
)
# ids at the ends of PostgreSQL's integer, of 64 bits, and beyond
EXTREME_IDS = st.one_of(
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]),
    st.integers(min_value=-(2**80), max_value=2**80),
)


def _cursor(at: str, item_id: int) -> str:
    """A cursor written the way the API writes its own (api/deps.py encode_cursor)."""
    payload = json.dumps([at, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


CRAFTED_CURSORS = st.builds(
    _cursor, st.one_of(EXTREME_TIMES, st.just("2026-11-20T12:00:00+00:00")), EXTREME_IDS
)
EXTREMES = {"since": EXTREME_TIMES, "until": EXTREME_TIMES, "cursor": CRAFTED_CURSORS}


def with_extremes(context: Any, query: Any) -> Any:
    """A flatmap_query hook: the generated query, with some of its time and cursor parameters (those the
    operation has) replaced by an extreme value."""
    names = {parameter.name for parameter in context.operation.query} & set(EXTREMES)
    if not names:
        return st.just(query)
    extra = st.fixed_dictionaries({}, optional={name: EXTREMES[name] for name in sorted(names)})
    return extra.map(lambda values: {**(query or {}), **values})


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


def test_schemathesis_finds_no_server_error_and_no_schema_violation(engine: Engine) -> None:
    # on PostgreSQL too: its integer ids and timestamps overflow where SQLite's do not
    seed(engine)
    # far above what the cases send, so no 429 hides an answer
    app = build_app(engine, Settings(api=ApiSettings(requests_per_minute=1_000_000)))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.hook("flatmap_query")(with_extremes)
    operations = [result.ok() for result in schema.get_all_operations()]
    wanted = math.ceil(MINIMUM_CASES * SPARE / (len(operations) * len(GenerationMode)))
    run = Run(
        {"Authorization": f"Bearer {app.state.test_key}"},
        cases_per_operation=max(CASES_PER_OPERATION, wanted),
    )
    # hypothesis parses lambda sources with `ast` in the middle of a draw, while the app's threads may parse
    # too: on Python 3.11 that could fail a case with a SystemError, see tests/ast_guard.py
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
