"""What wom's two HTTP stacks share: httpx (`pinned.py`) and requests (`pinned_requests.py`).

Both connect only to the addresses the outbound policy checked, trying them in turn, and read a body
inflated a piece at a time within the request's deadline and byte cap (`limits.py`). Each adapter only
turns these into its library's connections and exceptions.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from monitor.collectors.limits import (
    DeadlineExceededError,
    ResponseTooLargeError,
    UnsupportedEncodingError,
    read_capped,
)
from monitor.collectors.outbound import OutboundPolicy

__all__ = ["BodyErrors", "connect_checked", "read_body"]

_Connection = TypeVar("_Connection")


def connect_checked(
    policy: OutboundPolicy,
    host: str,
    port: int,
    connect: Callable[[str], _Connection],
    *,
    failed: tuple[type[Exception], ...],
    none_left: Callable[[str], Exception],
) -> _Connection:
    """The first connection `connect(address)` makes to one of the policy's checked addresses for the
    host, never a fresh lookup. An error in `failed` moves on to the next address; the last such error
    is raised once none is left (`none_left(message)` when there was no address at all).
    Raises BlockedURLError when the policy refuses the host."""
    error: Exception | None = None
    for address in policy.addresses(host, port):
        try:
            return connect(address)
        except failed as e:
            error = e
    raise error or none_left(f"no address to connect to for {host}")


@dataclass(frozen=True, slots=True)
class BodyErrors:
    """The client library's exception for each way a body can break its bounds, built from a message."""

    too_large: Callable[[str], Exception]
    timed_out: Callable[[str], Exception]
    undecodable: Callable[[str], Exception]


def read_body(chunks: Iterable[bytes], *, content_encoding: str, cap: int, errors: BodyErrors) -> bytes:
    """The decoded body of raw `chunks`, at most `cap` bytes and within the current deadline; a body
    past either, or one that cannot be inflated, raises the library's error from `errors`."""
    try:
        return read_capped(chunks, content_encoding=content_encoding, cap=cap)
    except ResponseTooLargeError as e:
        raise errors.too_large(str(e)) from e
    except DeadlineExceededError as e:
        raise errors.timed_out(str(e)) from e
    except (UnsupportedEncodingError, zlib.error) as e:
        raise errors.undecodable(str(e)) from e
