"""httpx transports that connect only to checked addresses and read bodies within bounds.

`PinnedTransport` gives httpcore a network backend whose `connect_tcp` ignores the system resolver: it
asks the outbound policy for the host's checked addresses and connects to one of those. The URL, the
Host header and TLS (SNI and certificate checks) keep the real host name. Every connection is made this
way, so every redirect hop (atproto follows them itself) and every reconnect goes to an address that was
checked at that moment, and a DNS-rebinding name cannot reach an internal address.

`BoundedTransport` wraps any transport: it runs each request within a total deadline and returns the
body already read, inflated a piece at a time and capped (see `limits.py`).
"""

from __future__ import annotations

import ssl
import typing
from collections.abc import Iterable

import httpcore
import httpx

from monitor.collectors.limits import (
    ACCEPT_ENCODING,
    MAX_RESPONSE_BYTES,
    TOTAL_DEADLINE_SECONDS,
    DeadlineExceededError,
    ResponseTooLargeError,
    deadline_left,
    total_deadline,
)
from monitor.collectors.outbound import OutboundPolicy
from monitor.collectors.pinning import BodyErrors, connect_checked, read_body

__all__ = ["BoundedTransport", "PinnedTransport", "ResponseTooLargeHttpError", "bounded_transport"]

_DROPPED_HEADERS = ("content-encoding", "content-length", "transfer-encoding")


class ResponseTooLargeHttpError(ResponseTooLargeError, httpx.TransportError):
    """An httpx response body passed its byte cap."""


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    try:
        return deadline_left(timeout)
    except DeadlineExceededError as e:
        raise error(str(e)) from e


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes wait no longer than what is left of the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))
        except httpcore.ReadTimeout:
            _left(None, httpcore.ReadTimeout)  # says so when it was the deadline that ran out
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))
        except httpcore.WriteTimeout:
            _left(None, httpcore.WriteTimeout)
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        def connect(address: str) -> httpcore.NetworkStream:
            stream = self._inner.connect_tcp(
                address,
                port,
                timeout=_left(timeout, httpcore.ConnectTimeout),
                local_address=local_address,
                socket_options=socket_options,
            )
            return _DeadlineStream(stream)

        return connect_checked(  # raises BlockedURLError
            self._policy,
            host,
            port,
            connect,
            failed=(httpcore.ConnectError, httpcore.ConnectTimeout),
            none_left=httpcore.ConnectError,
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("wom does not connect to unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport (HTTP/1.1, certificate checks, no proxies) on the pinned network backend."""

    def __init__(self, policy: OutboundPolicy) -> None:
        super().__init__()
        self._pool.close()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(policy),
        )


class BoundedTransport(httpx.BaseTransport):
    """Each request within `deadline` seconds; the body read (at most `max_bytes`, decoded) before it is
    returned, so the response carries no Content-Encoding."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        max_bytes: int = MAX_RESPONSE_BYTES,
        deadline: float = TOTAL_DEADLINE_SECONDS,
    ) -> None:
        self._inner = inner
        self.max_bytes = max_bytes
        self.deadline = deadline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        with total_deadline(self.deadline):
            response = self._inner.handle_request(request)
            chunks: Iterable[bytes] = response.iter_raw()
            encoding = response.headers.get("content-encoding", "")
            if response.is_stream_consumed:  # built in memory (a replaying transport), read and decoded
                chunks, encoding = [response.content], ""
            errors = BodyErrors(
                too_large=lambda message: ResponseTooLargeHttpError(message, request=request),
                timed_out=lambda message: httpx.ReadTimeout(message, request=request),
                undecodable=lambda message: httpx.DecodingError(message, request=request),
            )
            try:
                body = read_body(chunks, content_encoding=encoding, cap=self.max_bytes, errors=errors)
            finally:
                response.close()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_HEADERS]
        return httpx.Response(
            response.status_code, headers=headers, content=body, extensions=response.extensions
        )

    def close(self) -> None:
        self._inner.close()


def bounded_transport(
    policy: OutboundPolicy,
    inner: httpx.BaseTransport | None = None,
    *,
    max_bytes: int = MAX_RESPONSE_BYTES,
    deadline: float = TOTAL_DEADLINE_SECONDS,
) -> BoundedTransport:
    """The pinned transport (or `inner`: tests replay recordings through theirs) within bounds."""
    return BoundedTransport(inner or PinnedTransport(policy), max_bytes=max_bytes, deadline=deadline)
