"""A job run as one recorded JobRun: what a job returns (`JobResult`) and `run_recorded`, which runs it.

The scheduler of `wom run`, `wom collect` and the source runner share this; it needs no APScheduler, so
the runner (and whatever imports it) does not load the scheduler.
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.runs import error_text, finish_run, start_run

__all__ = ["JobResult", "current_run_id", "run_recorded"]

_log = logging.getLogger("wom.scheduler")
_current_run: contextvars.ContextVar[int | None] = contextvars.ContextVar("wom_current_run", default=None)


@dataclass
class JobResult:
    """What a job did: counts for `wom status` and free-form `detail` (no secrets).

    A job that handles its own failure returns `status` (e.g. "failed", "rate_limited", "disabled")
    with `error`; by default a returned result is "succeeded"."""

    read: int = 0
    new: int = 0
    duplicate: int = 0
    failed: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    status: str = "succeeded"
    error: str = ""


def current_run_id() -> int | None:
    """The JobRun id of the job running in this thread, for `heartbeat` in long jobs."""
    return _current_run.get()


def run_recorded(
    engine: Engine, *, kind: str, name: str, func: Callable[[], JobResult | None], owner: str | None = None
) -> int | None:
    """Run `func` as one recorded JobRun; returns the run id (None when the row could not be written).

    Never raises for an `Exception` in `func`: the run is stored as failed with the exception's type
    and message (secrets masked, truncated) and logged, and the caller carries on."""
    try:
        run_id = start_run(engine, kind=kind, name=name)
    except sa.exc.SQLAlchemyError as e:
        _log.error("job %s not run: cannot record its start: %s", name, error_text(e))
        return None
    token = _current_run.set(run_id)
    try:
        result = func() or JobResult()
    except Exception as e:
        message = error_text(e)
        _log.error("job %s failed (run %d): %s", name, run_id, message)
        _log.debug("job %s traceback:\n%s", name, "".join(traceback.format_tb(e.__traceback__)))
        _finish_run(engine, run_id, status="failed", result=JobResult(), error=message, owner=owner)
        return run_id
    except BaseException as e:
        _finish_run(engine, run_id, status="failed", result=JobResult(), error=error_text(e), owner=owner)
        raise
    finally:
        _current_run.reset(token)
    _finish_run(engine, run_id, status=result.status, result=result, error=result.error, owner=owner)
    return run_id


def _finish_run(
    engine: Engine, run_id: int, *, status: str, result: JobResult, error: str, owner: str | None
) -> None:
    detail = dict(result.detail)
    if owner is not None:
        detail.setdefault("scheduler", owner)
    try:
        finish_run(
            engine,
            run_id,
            status=status,
            read=result.read,
            new=result.new,
            duplicate=result.duplicate,
            failed=result.failed,
            error=error,
            detail=detail,
        )
    except sa.exc.SQLAlchemyError as e:
        _log.error("cannot record the end of run %d (%s): %s", run_id, status, error_text(e))
