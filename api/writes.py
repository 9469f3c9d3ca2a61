"""The write side of the API: routes that change the database (labels, ingested mentions) open their own
transaction on `get_write_engine` and commit it before they answer, so a failed commit is never a 2xx.

The request's `get_session` stays read-only; on SQLite its snapshot may predate the write, so a route
that answers with what it wrote reads it back inside its write transaction (`Session(bind=conn)`).
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.engine import Engine

from api.deps import Principal

__all__ = ["get_write_engine", "written_by"]


async def get_write_engine(request: Request) -> Engine:
    """The app's engine for writers: on SQLite a transaction takes the write lock at BEGIN and waits its
    turn (busy_timeout) behind the pipeline instead of failing half-way; on PostgreSQL `engine.begin()`
    is one transaction (the read engine autocommits each statement)."""
    engine: Engine = request.app.state.write_engine
    return engine


def written_by(principal: Principal) -> str:
    """Who made a change, as stored with it (a label's `labeled_by`): `user:NAME` for a key that belongs
    to a user, else the API key's id (`apikey:ID`), never the key."""
    if principal.user_name is not None:
        return f"user:{principal.user_name}"
    return f"apikey:{principal.key_id}"
