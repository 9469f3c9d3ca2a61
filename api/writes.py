"""The write side of the API: routes that change the database (labels, ingested mentions) open their own
transaction on `get_write_engine` and commit it before they answer, so a failed commit is never a 2xx.

The request's `get_session` stays read-only; on SQLite its snapshot may predate the write, so a route
that answers with what it wrote reads it back inside its write transaction (`Session(bind=conn)`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.engine import Engine

from api.deps import Principal, get_engine
from monitor.storage.db import writable

__all__ = ["get_write_engine", "written_by"]


async def get_write_engine(engine: Annotated[Engine, Depends(get_engine)]) -> Engine:
    """The app's engine for writers: on SQLite a transaction takes the write lock at BEGIN and waits its
    turn (busy_timeout) behind the pipeline instead of failing half-way."""
    return writable(engine)


def written_by(principal: Principal) -> str:
    """Who made a change, as stored with it (a label's `labeled_by`): the API key's id, never the key."""
    return f"apikey:{principal.key_id}"
