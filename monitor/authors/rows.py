"""Author rows shared by the author operations: locking them and reading their identities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.errors import UnknownAuthorError
from monitor.storage.models import Author, AuthorIdentity
from monitor.storage.tables import table_of

__all__ = ["identities_of", "lock_authors"]

_AUTHOR = table_of(Author)
_IDENTITY = table_of(AuthorIdentity)


def lock_authors(
    conn: Connection, author_ids: Sequence[int], *, missing_ok: bool = False
) -> dict[int, sa.Row[Any, Any]]:
    """Lock the author rows (in id order, as the profile stage does, so the two never deadlock) until the
    transaction ends; returns id -> (id, display_name) of those that exist. Raises UnknownAuthorError
    for a missing id unless `missing_ok`."""
    query = (
        sa.select(_AUTHOR.c.id, _AUTHOR.c.display_name)
        .where(_AUTHOR.c.id.in_(sorted(set(author_ids))))
        .order_by(_AUTHOR.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = {row.id: row for row in conn.execute(query)}
    for author_id in author_ids:
        if author_id not in found and not missing_ok:
            raise UnknownAuthorError(author_id)
    return found


def identities_of(conn: Connection, author_id: int) -> list[sa.Row[Any, Any, Any, Any, Any]]:
    """(id, source, identity_key, handle, name) of the author's identities, by id."""
    return list(
        conn.execute(
            sa.select(
                _IDENTITY.c.id,
                _IDENTITY.c.source,
                _IDENTITY.c.identity_key,
                _IDENTITY.c.handle,
                _IDENTITY.c.name,
            )
            .where(_IDENTITY.c.author_id == author_id)
            .order_by(_IDENTITY.c.id)
        )
    )
