"""A requests session that connects only to checked addresses and reads bodies within bounds.

praw (prawcore), Mastodon.py and tweepy all send through a `requests.Session` wom hands them. This one
mounts an adapter whose urllib3 connections ask the outbound policy for the host's checked addresses and
connect to one of those (the URL, Host header, SNI and certificate check keep the host name), so a
DNS-rebinding name cannot reach an internal address, on any request or redirect hop. Environment proxies
are ignored (a proxy would resolve the name itself).

Each request runs within a total deadline: the sockets shorten every read and write to what is left of
it. The body is read raw and inflated a piece at a time up to a byte cap (`limits.py`), then handed to
the client as the response's content.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.ssl_ import create_urllib3_context

from monitor.collectors.limits import (
    ACCEPT_ENCODING,
    MAX_RESPONSE_BYTES,
    TOTAL_DEADLINE_SECONDS,
    ResponseTooLargeError,
    deadline_left,
    total_deadline,
)
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.pinning import BodyErrors, connect_checked, read_body

__all__ = ["PinnedSession", "ResponseTooLargeRequestsError"]

_CHUNK = 64 * 1024


class ResponseTooLargeRequestsError(ResponseTooLargeError, requests.RequestException):
    """A requests response body passed its byte cap."""


@contextmanager
def _within_deadline(sock: socket.socket) -> Iterator[None]:
    timeout = sock.gettimeout()
    left = deadline_left(timeout)  # raises DeadlineExceededError, a TimeoutError urllib3 reports as such
    if left == timeout:
        yield
        return
    sock.settimeout(left)
    try:
        yield
    except TimeoutError:
        deadline_left(None)  # says so when it was the deadline that ran out
        raise
    finally:
        sock.settimeout(timeout)


class _DeadlineSocket(socket.socket):
    """Reads and writes shortened to what is left of the deadline; arguments pass through as given,
    since a plain and a TLS socket default them differently."""

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        with _within_deadline(self):
            return super().recv_into(*args, **kwargs)

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        with _within_deadline(self):
            return super().recv(*args, **kwargs)

    def sendall(self, *args: Any, **kwargs: Any) -> None:
        with _within_deadline(self):
            super().sendall(*args, **kwargs)


class _DeadlineSSLSocket(_DeadlineSocket, ssl.SSLSocket):
    pass


class _PinnedConnection(HTTPConnection):
    """`_new_conn` connects to one of the policy's checked addresses for the host, never a fresh lookup."""

    policy: OutboundPolicy

    def _new_conn(self) -> socket.socket:
        if isinstance(self, HTTPSConnection):
            self.ssl_context = self.ssl_context or create_urllib3_context()
            self.ssl_context.sslsocket_class = _DeadlineSSLSocket
        try:
            return connect_checked(
                self.policy,
                self._dns_host,
                self.port,
                self._connect_to,
                failed=(ConnectTimeoutError, NewConnectionError),
                none_left=lambda message: NewConnectionError(self, message),
            )
        except BlockedURLError as e:
            raise NewConnectionError(self, str(e)) from e

    def _connect_to(self, address: str) -> socket.socket:
        try:
            return self._open(address)
        except TimeoutError as e:
            raise ConnectTimeoutError(self, f"connection to {self.host} timed out ({e})") from e
        except OSError as e:
            raise NewConnectionError(self, f"failed to connect to {self.host}: {e}") from e

    def _open(self, address: str) -> socket.socket:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = _DeadlineSocket(family, socket.SOCK_STREAM)
        try:
            for option in self.socket_options or ():
                sock.setsockopt(*option)
            timeout = self.timeout if isinstance(self.timeout, int | float) else socket.getdefaulttimeout()
            sock.settimeout(deadline_left(timeout))
            sock.connect((address, self.port))
        except BaseException:
            sock.close()
            raise
        return sock


def _pinned(base: type[object], policy: OutboundPolicy) -> type[HTTPConnection]:
    # built on whatever connection class urllib3's pool has now, so a test's recorder (vcrpy) still works
    return type(f"Pinned{base.__name__}", (_PinnedConnection, base), {"policy": policy})


class _PinnedHTTPPool(HTTPConnectionPool):
    policy: OutboundPolicy

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ConnectionCls = _pinned(HTTPConnectionPool.ConnectionCls, self.policy)


class _PinnedHTTPSPool(HTTPSConnectionPool):
    policy: OutboundPolicy

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ConnectionCls = _pinned(HTTPSConnectionPool.ConnectionCls, self.policy)  # type: ignore[assignment]


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        pools = {"policy": self.policy}
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("PinnedHTTPPool", (_PinnedHTTPPool,), pools),
            "https": type("PinnedHTTPSPool", (_PinnedHTTPSPool,), pools),
        }


def _raw_chunks(response: requests.Response) -> Iterator[bytes]:
    try:
        yield from response.raw.stream(_CHUNK, decode_content=False)
    except ReadTimeoutError as e:
        raise requests.exceptions.ReadTimeout(e, response=response) from e
    except (Urllib3Error, OSError) as e:
        raise requests.exceptions.ConnectionError(e, response=response) from e


class PinnedSession(requests.Session):
    """A session for one client library: pinned connections, a total deadline and a size cap per request."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        max_bytes: int = MAX_RESPONSE_BYTES,
        deadline: float = TOTAL_DEADLINE_SECONDS,
    ) -> None:
        super().__init__()
        self.trust_env = False  # no environment proxies (and no .netrc credentials)
        self.max_bytes = max_bytes
        self.deadline = deadline
        adapter = _PinnedAdapter(policy)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        kwargs["stream"] = True
        with total_deadline(self.deadline):
            response = super().send(request, **kwargs)
            if response._content is not False:  # already read (a redirect hop, a test's stand-in)
                return response
            errors = BodyErrors(
                too_large=lambda message: ResponseTooLargeRequestsError(message, response=response),
                timed_out=lambda message: requests.exceptions.ReadTimeout(message, response=response),
                undecodable=lambda message: requests.exceptions.ContentDecodingError(
                    message, response=response
                ),
            )
            try:
                response._content = read_body(
                    _raw_chunks(response),
                    content_encoding=response.headers.get("content-encoding", ""),
                    cap=self.max_bytes,
                    errors=errors,
                )
                response._content_consumed = True  # so that closing hands the connection back for reuse
            finally:
                response.close()
        return response
