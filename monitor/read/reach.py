"""How many people an author reaches: the largest audience of their accounts (followers, subscribers),
for a page that shows many authors at once."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlmodel import Session

from monitor.storage.models import AuthorIdentity
from monitor.storage.tables import table_of

__all__ = ["author_reach"]

_IDENTITY = table_of(AuthorIdentity)


def author_reach(session: Session, author_ids: Collection[int]) -> dict[int, int]:
    """Author id -> the largest reach of their accounts; authors whose reach is unknown are left out.
    One query."""
    if not author_ids:
        return {}
    query = (
        sa.select(_IDENTITY.c.author_id, sa.func.max(_IDENTITY.c.reach))
        .where(_IDENTITY.c.author_id.in_(sorted(set(author_ids))), _IDENTITY.c.reach.is_not(None))
        .group_by(_IDENTITY.c.author_id)
    )
    return {int(author): int(reach) for author, reach in session.connection().execute(query)}
