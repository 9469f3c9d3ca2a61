"""Merge suggestions: the same handle (case-insensitive) on two platforms, held by different authors.

Only a suggestion: the same handle can be two people, so nothing is merged until a person runs
`wom authors merge` (or the API's merge). Handles compare without `@`, Reddit's `u/`, a Mastodon
`@instance` and Bluesky's `.bsky.social`. Sources whose "handle" is a display name (app stores,
Trustpilot, feeds) are left out: many people share a name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.handles import handle_key
from monitor.storage.models import AuthorIdentity
from monitor.storage.tables import table_of

__all__ = [
    "NAME_ONLY_SOURCES",
    "MergeSuggestion",
    "SuggestedIdentity",
    "handle_key",
    "merge_suggestions",
    "suggestions_naming",
]

NAME_ONLY_SOURCES = frozenset({"appstore", "googleplay", "trustpilot", "rss"})
# placeholders platforms put where an account was deleted or hidden
_PLACEHOLDERS = frozenset({"", "[deleted]", "deleted", "[removed]", "anonymous"})
_MIN_KEY_LENGTH = 3
_IDENTITY = table_of(AuthorIdentity)


@dataclass(frozen=True, slots=True)
class SuggestedIdentity:
    author_id: int
    identity_id: int
    source: str
    handle: str


@dataclass(frozen=True, slots=True)
class MergeSuggestion:
    """Authors (two or more) with the same handle on different platforms; `into` is the oldest author."""

    handle: str
    into: int
    others: tuple[int, ...]
    identities: tuple[SuggestedIdentity, ...]


def _usable(key: str) -> bool:
    return len(key) >= _MIN_KEY_LENGTH and key not in _PLACEHOLDERS


def _grouped(rows: Iterable[Any], *, limit: int | None = None) -> list[MergeSuggestion]:
    """The suggestions among (author id, identity id, source, handle) rows, by handle key."""
    groups: dict[str, list[SuggestedIdentity]] = defaultdict(list)
    for author_id, identity_id, source, handle in rows:
        key = handle_key(handle)
        if _usable(key):
            groups[key].append(SuggestedIdentity(author_id, identity_id, source, handle))
    suggestions = []
    for key in sorted(groups):
        members = groups[key]
        authors = sorted({m.author_id for m in members})
        if len(authors) < 2 or len({m.source for m in members}) < 2:
            continue
        suggestions.append(
            MergeSuggestion(
                handle=key,
                into=authors[0],
                others=tuple(authors[1:]),
                identities=tuple(sorted(members, key=lambda m: (m.author_id, m.identity_id))),
            )
        )
        if limit is not None and len(suggestions) >= limit:
            break
    return suggestions


def _compared() -> sa.Select[Any]:
    return sa.select(_IDENTITY.c.author_id, _IDENTITY.c.id, _IDENTITY.c.source, _IDENTITY.c.handle).where(
        _IDENTITY.c.source.not_in(sorted(NAME_ONLY_SOURCES))
    )


def merge_suggestions(conn: Connection, *, limit: int | None = None) -> list[MergeSuggestion]:
    """Every group of different authors sharing a handle key on at least two sources, by handle."""
    return _grouped(conn.execute(_compared().execution_options(yield_per=5_000)), limit=limit)


def suggestions_naming(conn: Connection, author_id: int) -> list[MergeSuggestion]:
    """The suggestions of `merge_suggestions` that name `author_id` (as `into` or among `others`), read from
    the identities sharing a handle key with the author's (ix_authoridentity_handle_key), not every one."""
    keys = {
        handle_key(handle)
        for (handle,) in conn.execute(
            sa.select(_IDENTITY.c.handle).where(
                _IDENTITY.c.author_id == author_id, _IDENTITY.c.source.not_in(sorted(NAME_ONLY_SOURCES))
            )
        )
    }
    keys = {key for key in keys if _usable(key)}
    if not keys:
        return []
    rows = conn.execute(_compared().where(_IDENTITY.c.handle_key.in_(sorted(keys)))).all()
    return [s for s in _grouped(rows) if author_id == s.into or author_id in s.others]
