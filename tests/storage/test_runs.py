"""The one JobRun writer stores errors without SQL, parameters or secrets, from an exception or a message."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.models import JobRun
from monitor.storage.runs import ERROR_LIMIT, clean_error, finish_run, record_event, start_run
from monitor.storage.tables import table_of

_RUN = table_of(JobRun)
TEXT = "my neighbour Jan de Vries hates Acme"


def _error(engine: Engine, run_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.select(_RUN.c.error).where(_RUN.c.id == run_id)).scalar_one())


def _database_error(engine: Engine) -> sa.exc.DBAPIError:
    # a real one: the statement and its parameters are in str(error)
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as info:
        conn.execute(sa.text("SELECT * FROM no_such_table WHERE text = :text"), {"text": TEXT})
    assert TEXT in str(info.value)
    return info.value


def test_an_exception_is_stored_as_its_type_and_driver_message(engine: Engine) -> None:
    run_id = start_run(engine, kind="import", name="m.jsonl")
    finish_run(engine, run_id, status="failed", error=_database_error(engine))
    stored = _error(engine, run_id)
    assert stored.startswith(("OperationalError: no such table: no_such_table", "ProgrammingError: relation"))
    assert TEXT not in stored and "SELECT" not in stored and "Background" not in stored


def test_a_message_holding_sql_and_secrets_is_cleaned(engine: Engine) -> None:
    run_id = start_run(engine, kind="pipeline", name="match")
    error = _database_error(engine)
    finish_run(
        engine, run_id, status="failed", error=f"{type(error).__name__}: {error} at https://u:pw@h/?token=t"
    )
    stored = _error(engine, run_id)
    assert TEXT not in stored and "[SQL" not in stored and "pw" not in stored
    record_event(engine, kind="collector", name="collect-x", status="missed", error="GET https://h/?key=abc")
    with engine.connect() as conn:
        events = conn.execute(sa.select(_RUN.c.error).where(_RUN.c.status == "missed")).scalars().all()
    assert events == ["GET https://h/?key=***"]


@pytest.mark.parametrize(
    ("message", "stored"),
    [
        (
            "duplicate key value\nDETAIL:  Key (handle)=(jan) already exists.\n[SQL: INSERT …]",
            "duplicate key value",
        ),
        ("RaiseException: boom\nCONTEXT:  PL/pgSQL function f() line 1 at RAISE", "RaiseException: boom"),
        (
            "(sqlite3.IntegrityError) full\n[SQL: INSERT INTO mention VALUES (?)]\n[parameters: ('x',)]",
            "(sqlite3.IntegrityError) full",
        ),
        (
            "relation \"x\" does not exist\nLINE 1: SELECT * FROM x WHERE text = 'Jan'\n ^",
            'relation "x" does not exist',
        ),
        ("Authorization: Bearer abc.def failed", "Authorization: Bearer *** failed"),
        ("x" * (ERROR_LIMIT + 10), "x" * ERROR_LIMIT),
    ],
)
def test_clean_error(message: str, stored: str) -> None:
    assert clean_error(message) == stored
