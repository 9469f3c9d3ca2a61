"""The one writer of JobRun records: the scheduler's jobs, `wom import`, `wom process` and the worker.

Every stored error goes through `clean_error`: credentials masked, and a database error's SQL
statement, parameters and DETAIL/CONTEXT lines left out, since those carry mention texts and handles
and `wom status` and `/api/v1/status` show stored errors."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.models import JobRun, utcnow
from monitor.storage.tables import table_of

__all__ = [
    "ERROR_LIMIT",
    "clean_error",
    "error_text",
    "finish_run",
    "heartbeat",
    "mark_stale_runs",
    "mask_secrets",
    "record_event",
    "start_run",
]

ERROR_LIMIT = 500
_RUN = table_of(JobRun)
_log = logging.getLogger("wom.runs")
_SECRET_PATTERNS = (
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "://***@"),
    (re.compile(r"(?i)\b(token|key|secret|password|passwd|signature|sig|auth)=[^&\s]+"), r"\1=***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
)
# SQLAlchemy appends "[SQL: …]", "[parameters: …]" and "(Background on this error at: …)"; PostgreSQL
# adds "LINE 1: <statement>", "DETAIL:  Key (…)=(…)" and "CONTEXT: …" lines that quote statements and values
_DATABASE_TAIL = re.compile(
    r"\s*(?:\[SQL: |\[parameters: |\(Background on this error at: |DETAIL: |CONTEXT: |LINE \d+: ).*", re.S
)


def mask_secrets(message: str) -> str:
    """Credentials in URLs, query strings and auth headers replaced by ***."""
    for pattern, replacement in _SECRET_PATTERNS:
        message = pattern.sub(replacement, message)
    return message


def clean_error(message: str) -> str:
    """`message` as it may be stored: no SQL, parameters or secrets, at most ERROR_LIMIT characters."""
    return mask_secrets(_DATABASE_TAIL.sub("", message))[:ERROR_LIMIT]


def error_text(error: BaseException) -> str:
    """`Type: message` on one line, for a run's error or a log line: cleaned like `clean_error`, truncated with …"""
    orig = getattr(error, "orig", None)  # SQLAlchemy: the driver message, without the SQL and parameters
    message = clean_error(str(orig if isinstance(orig, BaseException) else error))
    text = " ".join(f"{type(error).__name__}: {message}".split())
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def start_run(engine: Engine, *, kind: str, name: str, brand: str | None = None) -> int:
    """Insert a `running` row with its first heartbeat; returns its id."""
    now = utcnow()
    with engine.begin() as conn:
        # the first heartbeat goes in with started_at (a run without one looked legacy: meltano#9147)
        insert = sa.insert(_RUN).values(
            kind=kind, name=name, brand=brand, status="running", started_at=now, heartbeat_at=now
        )
        return int(conn.execute(insert.returning(_RUN.c.id)).scalar_one())


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    read: int = 0,
    new: int = 0,
    duplicate: int = 0,
    failed: int = 0,
    error: str | BaseException = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Store how run `run_id` ended; an exception is stored as `error_text`, a message as `clean_error`."""
    now = utcnow()
    message = error_text(error) if isinstance(error, BaseException) else clean_error(error)
    with engine.begin() as conn:
        conn.execute(
            sa.update(_RUN)
            .where(_RUN.c.id == run_id)
            .values(
                status=status,
                finished_at=now,
                heartbeat_at=now,
                items_read=read,
                items_new=new,
                items_duplicate=duplicate,
                items_failed=failed,
                error=message,
                detail=detail or {},
            )
        )


def record_event(engine: Engine, *, kind: str, name: str, status: str, error: str) -> None:
    """A run that never ran (missed, skipped), stored as started and finished now."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(_RUN).values(
                kind=kind,
                name=name,
                status=status,
                started_at=now,
                heartbeat_at=now,
                finished_at=now,
                error=clean_error(error),
            )
        )


def heartbeat(engine: Engine, run_id: int, *, now: datetime | None = None) -> bool:
    """Mark a long run alive; False when the run is no longer `running` (e.g. marked stale)."""
    with engine.begin() as conn:
        updated = conn.execute(
            sa.update(_RUN)
            .where(_RUN.c.id == run_id, _RUN.c.status == "running")
            .values(heartbeat_at=now or utcnow())
        ).rowcount
    return updated == 1


def mark_stale_runs(engine: Engine, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Mark `running` rows whose heartbeat is older than `older_than` as failed; returns how many.

    Such rows were left by a killed process (Meltano's "no heartbeat" rule); a live run heartbeats."""
    now = now or utcnow()
    last_sign = sa.func.coalesce(_RUN.c.heartbeat_at, _RUN.c.started_at)
    marked = 0
    with engine.begin() as conn:
        stale = conn.execute(
            sa.select(_RUN.c.id, _RUN.c.heartbeat_at, _RUN.c.started_at).where(
                _RUN.c.status == "running", last_sign < now - older_than
            )
        ).all()
        for row in stale:
            since = row.heartbeat_at or row.started_at
            marked += conn.execute(
                sa.update(_RUN)
                .where(_RUN.c.id == row.id, _RUN.c.status == "running")
                .values(
                    status="failed",
                    finished_at=now,
                    error=f"stale: no heartbeat since {since.isoformat()} (limit {older_than}); "
                    "its process probably died",
                )
            ).rowcount
    if marked:
        _log.warning("marked %d stale run(s) as failed (no heartbeat for %s)", marked, older_than)
    return marked
