"""Bounds on one outbound request: a total deadline and a cap on the decoded body.

Socket timeouts bound each read, not a request: a server that sends one byte every few seconds never
trips them and would hold `wom collect` (and, under `wom run` with `max_instances=1`, every later run of
the source) for as long as it likes. So a request runs inside `total_deadline(...)`, and the sockets wom
opens (see `pinned.py` and `pinned_requests.py`) shorten each read and write to what is left of it.

Bodies are read as a stream and counted after decompression, so a large body or a gzip bomb stops at the
cap after at most one more chunk instead of being buffered (a 400 MB feed once took 910 MB of memory).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from monitor.errors import WomError

__all__ = [
    "MAX_RESPONSE_BYTES",
    "TOTAL_DEADLINE_SECONDS",
    "DeadlineExceededError",
    "ResponseTooLargeError",
    "check_size",
    "deadline_left",
    "read_capped",
    "total_deadline",
]

ACCEPT_ENCODING = "gzip, deflate"  # what `read_capped` can inflate a piece at a time
_PIECE = 64 * 1024
_EXPIRED = 0.001  # seconds: a socket timed out at the deadline may wake a hair before it

MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # decoded; the largest feed or API page seen is a few MB
TOTAL_DEADLINE_SECONDS = 60.0  # per request, connect to last byte; redirect hops count as requests

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("wom_request_deadline", default=None)


class ResponseTooLargeError(WomError):
    """A response body passed its byte cap (counted after decompression)."""


class DeadlineExceededError(WomError, TimeoutError):
    """A request ran past its total deadline."""


class UnsupportedEncodingError(WomError, ValueError):
    """The server compressed the body with an encoding wom did not ask for."""


@contextmanager
def total_deadline(seconds: float) -> Iterator[None]:
    """Everything inside must finish within `seconds` (or an enclosing, earlier deadline)."""
    ends = time.monotonic() + seconds
    current = _DEADLINE.get()
    token = _DEADLINE.set(current if current is not None and current[0] <= ends else (ends, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline_left(timeout: float | None) -> float | None:
    """`timeout` shortened to what is left of the current deadline; DeadlineExceededError when none is."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline[0] - time.monotonic()
    if left <= _EXPIRED:
        raise DeadlineExceededError(f"the request took longer than its total deadline of {deadline[1]:g} s")
    return left if timeout is None else min(timeout, left)


def check_size(received: int, cap: int) -> None:
    """Raises ResponseTooLargeError once `received` decoded bytes pass `cap`."""
    if received > cap:
        raise ResponseTooLargeError(
            f"the response was larger than {cap:,} bytes (after decompression), more than wom reads from "
            "one response; stopped reading"
        )


class _Inflater:
    """gzip or deflate (zlib-wrapped, else raw, as browsers accept it), inflated at most `_PIECE` at a time."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._first and not self._gzip:
            self._first = False
            try:
                piece = self._decoder.decompress(data, _PIECE)
            except zlib.error:
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                piece = self._decoder.decompress(data, _PIECE)
        else:
            piece = self._decoder.decompress(data, _PIECE)
        yield piece
        while self._decoder.unconsumed_tail:
            yield self._decoder.decompress(self._decoder.unconsumed_tail, _PIECE)


def _decoded(chunks: Iterable[bytes], content_encoding: str) -> Iterator[bytes]:
    encodings = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
    encodings = [encoding for encoding in encodings if encoding != "identity"]
    if not encodings:
        yield from chunks
        return
    if len(encodings) > 1 or encodings[0] not in ("gzip", "x-gzip", "deflate"):
        raise UnsupportedEncodingError(
            f"the server sent Content-Encoding {content_encoding[:40]!r}, which wom did not ask for "
            f"(it asks for {ACCEPT_ENCODING})"
        )
    inflater = _Inflater(encodings[0])
    for chunk in chunks:
        yield from inflater.feed(chunk)


def read_capped(chunks: Iterable[bytes], *, content_encoding: str, cap: int) -> bytes:
    """The body from its raw `chunks`, inflated a piece at a time and stopped once it passes `cap` bytes
    or the current deadline. Raises ResponseTooLargeError, DeadlineExceededError, UnsupportedEncodingError
    or zlib.error (a corrupt body)."""
    parts: list[bytes] = []
    received = 0
    for piece in _decoded(chunks, content_encoding):
        deadline_left(None)
        received += len(piece)
        check_size(received, cap)
        parts.append(piece)
    return b"".join(parts)
