"""The form handles are compared in (merge suggestions): kept with each identity as
`authoridentity.handle_key`, so that the suggestions naming one author read only the identities sharing its
keys (an index lookup) instead of every identity."""

from __future__ import annotations

from typing import Any

__all__ = ["handle_key", "handle_key_default"]


def handle_key(handle: str) -> str:
    """The form handles are compared in: `@Alice`, `u/alice`, `alice@mastodon.social` and
    `alice.bsky.social` all give `alice`."""
    key = handle.strip().casefold().lstrip("@")
    for prefix in ("/u/", "u/"):
        key = key.removeprefix(prefix)
    key = key.split("@", 1)[0]
    return key.removesuffix(".bsky.social")


def handle_key_default(context: Any) -> str:
    """The column default of `authoridentity.handle_key`: the key of the row's `handle`."""
    return handle_key(str(context.get_current_parameters()["handle"]))
