"""tweepy's v2 client routed to wom's base URL, and its errors turned into collector errors that name the fix.

tweepy's `BaseClient.request` requests `https://api.twitter.com` + route (hard-coded, tweepy 4.17);
`XClient` swaps in a session that sends every request to the configured base URL instead, never follows
a redirect (it could lead to a private address) and bounds time. Responses come back as
`requests.Response`, so ids stay strings and the rate-limit headers stay readable. tweepy logs each
request's headers, bearer token included, at DEBUG: its logger is kept at INFO.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from monitor.collectors.base import CollectorError, RateLimitedError, TransientError
from monitor.collectors.outbound import OutboundPolicy
from monitor.collectors.pinned_requests import PinnedSession

__all__ = [
    "DEFAULT_BASE_URL",
    "TOKEN_VARIABLE",
    "BadRequestError",
    "XClient",
    "call_x",
    "rate_limit_remaining",
    "rate_limit_reset",
    "response_body",
]

DEFAULT_BASE_URL = "https://api.twitter.com"
TOKEN_VARIABLE = "WOM_X_BEARER_TOKEN"  # noqa: S105 (the variable's name, not its value)
REQUEST_TIMEOUT = (5.0, 30.0)  # requests' (connect, read) seconds
_TWEEPY_HOST = "https://api.twitter.com"
_WINDOW = timedelta(minutes=15)  # X's rate-limit window, for a 429 without a reset header

logging.getLogger("tweepy.client").setLevel(logging.INFO)


class _RoutedSession(PinnedSession):
    """Sends tweepy's `https://api.twitter.com/...` requests to `base_url/...`, without following redirects,
    to checked addresses only, within a deadline and a size cap (`pinned_requests.py`)."""

    def __init__(self, base_url: str, policy: OutboundPolicy) -> None:
        super().__init__(policy)
        self.base_url = base_url.rstrip("/")
        self.max_redirects = 0

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        target = url.decode() if isinstance(url, bytes) else url
        if not target.startswith(_TWEEPY_HOST + "/"):
            raise CollectorError(f"refusing an X request outside {_TWEEPY_HOST}: {target[:80]!r}")
        kwargs["allow_redirects"] = False
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return super().request(method, self.base_url + target[len(_TWEEPY_HOST) :], *args, **kwargs)


class XClient(tweepy.Client):
    """tweepy's v2 client routed to `base_url`, returning raw `requests.Response` objects, never sleeping."""

    def __init__(
        self, bearer_token: str, *, base_url: str = DEFAULT_BASE_URL, policy: OutboundPolicy | None = None
    ) -> None:
        super().__init__(bearer_token=bearer_token, return_type=requests.Response, wait_on_rate_limit=False)
        self.session = _RoutedSession(base_url, policy or OutboundPolicy())


class BadRequestError(CollectorError):
    """X answered 400: a query X refuses, or a page token saved by an earlier run that has expired."""


def _next_month(now: datetime) -> datetime:
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def rate_limit_reset(headers: Mapping[str, str], now: datetime) -> datetime:
    """`x-rate-limit-reset` (epoch seconds), kept between a minute and a day from now; else one window on."""
    try:
        reset = datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return now + _WINDOW
    return min(max(reset, now + timedelta(minutes=1)), now + timedelta(days=1))


def rate_limit_remaining(response: requests.Response) -> int | None:
    try:
        return int(response.headers["x-rate-limit-remaining"])
    except (KeyError, TypeError, ValueError):
        return None


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.content.decode("utf-8", errors="replace"))
    except ValueError:
        return None


def response_body(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object X sent (invalid UTF-8 replaced); TransientError for anything else."""
    body = _json_or_none(response)
    if body is None:
        kind = response.headers.get("content-type", "no content type")
        raise TransientError(
            f"X sent something that is not JSON for {what} (HTTP {response.status_code}, {kind})"
        )
    if not isinstance(body, dict):
        raise TransientError(f"X sent JSON that is not an object for {what}")
    if body.get("meta") is not None and not isinstance(body["meta"], dict):
        raise TransientError(f"X sent a 'meta' that is not an object for {what}")
    return body


def _rate_limited(error: tweepy.TooManyRequests, what: str, now: datetime) -> RateLimitedError:
    """A window 429 waits for `x-rate-limit-reset`; the usage-cap 429 (same status) for the cap's period."""
    body = _json_or_none(error.response)
    body = body if isinstance(body, Mapping) else {}
    if body.get("title") == "UsageCapExceeded" or "usage-capped" in str(body.get("type", "")):
        period = str(body.get("period") or "")
        if period == "Monthly":
            retry_at, used_up = _next_month(now), "the monthly post cap of this X app's plan is used up"
        else:
            retry_at = now + timedelta(days=1)
            used_up = f"the {period.lower() or 'usage'} cap of this X app's plan is used up"
        return RateLimitedError(
            f"X usage cap exceeded: {used_up}; X collection pauses until {retry_at:%Y-%m-%d %H:%M} UTC "
            "(raise the cap or the plan in the X developer portal to resume sooner)",
            retry_at,
        )
    retry_at = rate_limit_reset(error.response.headers, now)
    return RateLimitedError(
        f"X rate limit reached on {what} (HTTP 429); retrying after {retry_at:%Y-%m-%d %H:%M:%S} UTC",
        retry_at,
    )


def _detail(error: tweepy.HTTPException, secret: str) -> str:
    text = "; ".join(str(message) for message in error.api_messages)[:300] or str(error.response.reason)
    return text.replace(secret, "***") if secret else text


def call_x(
    client: XClient, what: str, request: Callable[[], requests.Response], now: datetime
) -> requests.Response:
    """Runs one tweepy request. Raises RateLimitedError, TransientError or CollectorError naming the fix."""
    secret = client.bearer_token or ""
    try:
        return request()
    except tweepy.TooManyRequests as e:
        raise _rate_limited(e, what, now) from e
    except tweepy.Unauthorized as e:
        raise CollectorError(
            f"X refused the bearer token (HTTP 401) on {what}; set {TOKEN_VARIABLE} to a valid app bearer "
            "token from the X developer portal"
        ) from e
    except tweepy.Forbidden as e:
        raise CollectorError(
            f"X refused {what} (HTTP 403: {_detail(e, secret)}); this endpoint is not in your X API plan or "
            "the app's access level: check the app's plan in the X developer portal"
        ) from e
    except tweepy.BadRequest as e:
        raise BadRequestError(
            f"X rejected {what} (HTTP 400: {_detail(e, secret)}); check [brands.collect.x] query and the "
            "brand's X handles"
        ) from e
    except tweepy.NotFound as e:
        raise CollectorError(
            f"X answered 404 for {what}; check [collectors.x] base_url and the brand's X handles"
        ) from e
    except tweepy.TwitterServerError as e:
        raise TransientError(f"X answered HTTP {e.response.status_code} for {what}") from e
    except tweepy.HTTPException as e:
        raise CollectorError(
            f"X answered HTTP {e.response.status_code} for {what}; check [collectors.x] base_url"
        ) from e
    except requests.TooManyRedirects as e:
        raise CollectorError(
            f"X answered {what} with a redirect, which wom does not follow; check [collectors.x] base_url"
        ) from e
    except requests.RequestException as e:
        message = str(e).replace(secret, "***") if secret else str(e)
        raise TransientError(f"X request for {what} failed ({type(e).__name__}: {message})") from e
    except (AttributeError, TypeError, ValueError) as e:  # tweepy reading an error body shaped unlike X's
        raise TransientError(f"X sent an unreadable error response for {what} ({type(e).__name__})") from e
