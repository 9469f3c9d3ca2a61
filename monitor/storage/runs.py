"""JobRun bookkeeping for commands that run outside the scheduler (`wom import`, `wom process`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.models import JobRun, utcnow

__all__ = ["finish_run", "start_run"]

_RUN = JobRun.__table__  # type: ignore[attr-defined]


def start_run(engine: Engine, *, kind: str, name: str, brand: str | None = None) -> int:
    now = utcnow()
    with engine.begin() as conn:
        return int(
            conn.execute(
                sa.insert(_RUN)
                .values(kind=kind, name=name, brand=brand, status="running", started_at=now, heartbeat_at=now)
                .returning(_RUN.c.id)
            ).scalar_one()
        )


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    read: int = 0,
    new: int = 0,
    duplicate: int = 0,
    failed: int = 0,
    error: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    now = utcnow()
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
                error=error[:2000],
                detail=detail or {},
            )
        )
