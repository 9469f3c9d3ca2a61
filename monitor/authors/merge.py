"""Merging two authors into one person, and splitting identities off into a new author.

Only people decide this (`wom authors merge/split`, the API); `monitor.authors.suggest` only proposes.
Both recompute the profiles of every author involved from their mentions, so per-brand stats, scores
and the segment history afterwards equal a rebuild from scratch: a merged author's history is the one
its combined mentions give, as if it had been one person all along. Alerts already raised stay, and
follow the identities they are about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.authors.rows import identities_of, lock_authors
from monitor.config import Settings
from monitor.errors import AuthorError
from monitor.scoring.store import recompute_authors
from monitor.storage.inbox import move_inbox_author
from monitor.storage.models import Alert, Author, AuthorIdentity, Mention, utcnow
from monitor.storage.tables import table_of

__all__ = ["MergeResult", "SplitResult", "merge_authors", "split_author"]

_AUTHOR = table_of(Author)
_IDENTITY = table_of(AuthorIdentity)
_ALERT = table_of(Alert)
_MENTION = table_of(Mention)


@dataclass(frozen=True, slots=True)
class MergeResult:
    author_id: int
    merged_author_id: int
    identities_moved: int
    profiles: int  # (author, brand) pairs recomputed


@dataclass(frozen=True, slots=True)
class SplitResult:
    author_id: int
    new_author_id: int
    identities_moved: int
    profiles: int


def merge_authors(conn: Connection, *, into: int, merged: int, settings: Settings) -> MergeResult:
    """Move every identity (and alert) of author `merged` to author `into`, delete `merged`, recompute both.

    Raises UnknownAuthorError for a missing id and AuthorError `same_author` when the two are one."""
    if into == merged:
        raise AuthorError(
            "same_author", f"cannot merge author {into} into itself; give two different author ids"
        )
    authors = lock_authors(conn, [into, merged])
    moved = conn.execute(
        sa.update(_IDENTITY).where(_IDENTITY.c.author_id == merged).values(author_id=into)
    ).rowcount
    conn.execute(sa.update(_ALERT).where(_ALERT.c.author_id == merged).values(author_id=into))
    move_inbox_author(conn, merged=merged, into=into)
    if not authors[into].display_name and authors[merged].display_name:
        conn.execute(
            sa.update(_AUTHOR).where(_AUTHOR.c.id == into).values(display_name=authors[merged].display_name)
        )
    profiles = recompute_authors(conn, author_ids=[into, merged], settings=settings)
    conn.execute(sa.delete(_AUTHOR).where(_AUTHOR.c.id == merged))
    return MergeResult(author_id=into, merged_author_id=merged, identities_moved=moved, profiles=profiles)


def split_author(
    conn: Connection, *, author_id: int, identity_ids: Sequence[int], settings: Settings
) -> SplitResult:
    """Move `identity_ids` of `author_id` to a new author (with the alerts about their mentions) and
    recompute both. Raises UnknownAuthorError, or AuthorError when an identity is not the author's
    (`unknown_identity`), none is given (`no_identities`) or all would go (`split_all_identities`)."""
    wanted = sorted(set(identity_ids))
    if not wanted:
        raise AuthorError("no_identities", "name at least one identity id to split off")
    lock_authors(conn, [author_id])
    identities = identities_of(conn, author_id)
    own = {row.id for row in identities}
    foreign = [i for i in wanted if i not in own]
    if foreign:
        raise AuthorError(
            "unknown_identity",
            f"identities {', '.join(map(str, foreign))} are not author {author_id}'s; its identities are "
            f"{', '.join(map(str, sorted(own)))} (see `wom authors show {author_id}`)",
        )
    if len(wanted) == len(own):
        raise AuthorError(
            "split_all_identities",
            f"splitting off every identity of author {author_id} would leave it with none; "
            "keep at least one identity with it",
        )
    first = next(row for row in identities if row.id == wanted[0])
    new_id = conn.execute(
        sa.insert(_AUTHOR)
        .values(display_name=first.name or first.handle, created_at=utcnow(), forgotten=False)
        .returning(_AUTHOR.c.id)
    ).scalar_one()
    conn.execute(sa.update(_IDENTITY).where(_IDENTITY.c.id.in_(wanted)).values(author_id=new_id))
    conn.execute(
        sa.update(_ALERT)
        .where(
            _ALERT.c.author_id == author_id,
            _ALERT.c.mention_id.in_(
                sa.select(_MENTION.c.id).where(_MENTION.c.author_identity_id.in_(wanted))
            ),
        )
        .values(author_id=new_id)
    )
    profiles = recompute_authors(conn, author_ids=[author_id, new_id], settings=settings)
    return SplitResult(
        author_id=author_id, new_author_id=int(new_id), identities_moved=len(wanted), profiles=profiles
    )
