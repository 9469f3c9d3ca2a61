"""HTTP for collectors: every hop checked against the outbound policy, bounded time, no secrets in logs.

Redirects are followed by hand, at most `MAX_REDIRECTS`, and each target is checked before it is
requested, so an allowed host cannot bounce a request to a private address. Connections go only to the
addresses the policy checked (`pinned.py`), each request has a total deadline and a decoded-size cap
(`limits.py`). httpx logs full URLs (with query-string keys) at INFO, so its loggers are kept at WARNING.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from monitor.collectors.limits import MAX_RESPONSE_BYTES, TOTAL_DEADLINE_SECONDS
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.pinned import bounded_transport

__all__ = ["MAX_REDIRECTS", "SafeHttp"]

MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "wom/0.1 (+https://github.com/wom-monitor/wom; self-hosted word-of-mouth monitor)"

for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class SafeHttp:
    """A small wrapper over one `httpx.Client` that refuses what the policy refuses."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
        deadline: float = TOTAL_DEADLINE_SECONDS,
    ) -> None:
        """`transport` replaces the pinned network transport (tests replay recordings through it); the
        deadline and the size cap apply either way."""
        self.policy = policy
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=bounded_transport(policy, transport, max_bytes=max_bytes, deadline=deadline),
        )

    def get(
        self, url: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """GET with redirects checked hop by hop. Raises BlockedURLError or httpx.HTTPError."""
        request_url = httpx.URL(self.policy.check(url), params=params)
        for _ in range(MAX_REDIRECTS + 1):
            response = self._client.get(request_url, headers=headers)
            if not response.has_redirect_location:  # not `is_redirect`: that is true for a 304 too
                return response
            location = response.headers.get("location", "")
            response.close()
            request_url = request_url.join(location)
            self.policy.check(str(request_url))
        raise BlockedURLError(f"more than {MAX_REDIRECTS} redirects from {url!r}; refusing to follow further")

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST to a checked URL; a redirect is returned to the caller, never followed."""
        return self._client.post(self.policy.check(url), content=content, headers=headers)

    def close(self) -> None:
        """Closes the client's connections; safe to call again."""
        self._client.close()

    def __enter__(self) -> SafeHttp:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
