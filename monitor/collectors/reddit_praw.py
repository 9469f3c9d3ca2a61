"""praw set up for a scheduled job: read-only app token, no sleeping, no redirects, errors as collector errors.

prawcore sleeps in three places: its `RateLimiter` spreads requests over the 600 s window (up to 10 s
before each call, until the reset when `x-ratelimit-remaining` hits 0), and its retry strategy waits
2-4 s before retrying a 5xx or a dropped connection. A collector must never sleep (the runner backs the
source off instead), so the read-only session gets a limiter that raises RateLimitedError when the
window is nearly spent and a retry strategy that retries once without waiting.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import praw
import praw.exceptions
import prawcore
import requests
from prawcore.rate_limit import RateLimiter
from prawcore.sessions import FiniteRetryStrategy

from monitor.collectors.base import CollectorError, RateLimitedError, TransientError
from monitor.collectors.outbound import OutboundPolicy
from monitor.collectors.payload import retry_at
from monitor.collectors.pinned_requests import PinnedSession

__all__ = [
    "CLIENT_ID_VARIABLE",
    "CLIENT_SECRET_VARIABLE",
    "REQUEST_TIMEOUT_SECONDS",
    "NoSleepRateLimiter",
    "read_only_reddit",
    "translated_errors",
]

CLIENT_ID_VARIABLE = "WOM_REDDIT_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "WOM_REDDIT_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret
REQUEST_TIMEOUT_SECONDS = 20.0
WINDOW = timedelta(seconds=600)  # Reddit's rate-limit window (x-ratelimit-reset counts down within it)
# Stop while a few requests are left, so that the karma lookup of the page in hand and a token refresh
# do not run into a 429; the next run starts after the window resets.
RESERVED_REQUESTS = 5
_MAX_BACKOFF = timedelta(days=1)  # a longer Retry-After is a mistake; ask again a day later

_log = logging.getLogger(__name__)


class NoSleepRateLimiter(RateLimiter):
    """prawcore's limiter without its sleeps: when the window is nearly spent it raises RateLimitedError.

    prawcore paces requests (up to 10 s each) even with most of the window left; a run makes at most a
    few dozen requests, so skipping that pacing is safe as long as we stop before the window runs out.
    """

    def __init__(self, now: Callable[[], datetime]) -> None:
        super().__init__(window_size=int(WINDOW.total_seconds()))
        self._now = now
        self.reset_at: datetime | None = None

    def delay(self) -> None:
        if self.remaining is None or self.remaining > RESERVED_REQUESTS:
            return
        now = self._now()
        if self.reset_at is not None and self.reset_at <= now:
            return  # the window has reset since the last response
        retry_at = self.reset_at or now + WINDOW
        raise RateLimitedError(
            f"Reddit's rate-limit window is spent ({self.remaining} requests left, "
            f"x-ratelimit-used {self.used}); pausing until it resets",
            retry_at,
        )

    def update(self, *, response_headers: Mapping[str, str]) -> None:
        try:
            super().update(response_headers=response_headers)
            reset = response_headers.get("x-ratelimit-reset")
            if reset is not None:
                seconds = float(reset)
                if math.isfinite(seconds):
                    self.reset_at = self._now() + min(timedelta(seconds=max(0.0, seconds)), _MAX_BACKOFF)
        except (KeyError, TypeError, ValueError, OverflowError):
            _log.warning("Reddit sent unusable x-ratelimit headers; ignoring them for this response")


@dataclass(frozen=True)
class _ImmediateRetry(FiniteRetryStrategy):
    """One retry (a 5xx, a dropped connection, or a 401 that needs a fresh token), without sleeping first."""

    retries: int = 1

    def _sleep_seconds(self) -> float | None:
        return None


class _TooManyRequests(prawcore.TooManyRequests):
    """prawcore's 429 error, also for a Retry-After given as an HTTP date (prawcore reads it as seconds)."""

    def __init__(self, response: requests.Response, /) -> None:
        try:
            super().__init__(response)
        except ValueError:
            prawcore.PrawcoreException.__init__(self, f"received {response.status_code} HTTP response")


class _NoRedirectSession(PinnedSession):
    """Never follows a redirect: it could lead to a private address the outbound policy would refuse.

    prawcore already asks so for data requests; this covers the token POST. Connections go only to
    addresses the policy checked, within a total deadline and a size cap (`pinned_requests.py`).
    """

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def http_session(policy: OutboundPolicy) -> requests.Session:
    """The requests session a read-only client should be given (see `read_only_reddit`)."""
    return _NoRedirectSession(policy)


def read_only_reddit(
    *,
    client_id: str,
    client_secret: str,
    user_agent: str,
    oauth_url: str,
    token_url: str,
    now: Callable[[], datetime],
    session: requests.Session,
) -> praw.Reddit:
    """A read-only (app-only token) praw client whose every request goes to `oauth_url` or `token_url`.

    `session` comes from `http_session()`, so that no redirect is followed.
    """
    reddit = praw.Reddit(
        client_id=client_id,
        client_secret=client_secret,
        user_agent=user_agent,
        oauth_url=oauth_url,
        reddit_url=token_url,
        # explicit, so praw.ini or praw_* environment variables cannot switch to a user login
        username=None,
        password=None,
        refresh_token=None,
        check_for_updates=False,
        check_for_async=False,
        requestor_kwargs={"session": session, "timeout": REQUEST_TIMEOUT_SECONDS},
    )
    reddit.read_only = True
    core = reddit._read_only_core  # praw exposes no hook for the limiter or retries
    if (
        not isinstance(core, prawcore.Session)
        or not isinstance(getattr(core, "_rate_limiter", None), RateLimiter)
        or not hasattr(core, "_retry_strategy_class")
    ):
        raise CollectorError(
            "this praw/prawcore version is not supported (its rate limiter could not be replaced, "
            "so it would sleep inside a run); reinstall wom's pinned dependencies with `pip install -e .`"
        )
    core._rate_limiter = NoSleepRateLimiter(now)
    core._retry_strategy_class = _ImmediateRetry
    core.STATUS_EXCEPTIONS = {**core.STATUS_EXCEPTIONS, 429: _TooManyRequests}
    return reddit


def _retry_at(headers: Mapping[str, str], now: datetime) -> datetime:
    """Retry-After (seconds or an HTTP date), else x-ratelimit-reset, else a whole window."""
    reset = str(headers.get("x-ratelimit-reset") or "").strip()
    try:
        default = timedelta(seconds=float(reset)) if reset else WINDOW
    except (ValueError, OverflowError):
        default = WINDOW
    return retry_at(headers, now, default)


def _status(error: prawcore.ResponseException) -> int:
    return int(getattr(error.response, "status_code", 0) or 0)


_CREDENTIALS_HINT = (
    f"check {CLIENT_ID_VARIABLE} and {CLIENT_SECRET_VARIABLE} (the id and secret of a Reddit app of type "
    "'script' or 'web'); since November 2025 new apps need Reddit's approval before they get Data API access"
)


def _translate(error: Exception, what: str, now: datetime) -> CollectorError:
    if isinstance(error, prawcore.TooManyRequests) or (
        isinstance(error, prawcore.ResponseException) and _status(error) == 429
    ):
        headers = getattr(error.response, "headers", None) or {}
        return RateLimitedError(f"Reddit answered 429 Too Many Requests for {what}", _retry_at(headers, now))
    if isinstance(error, prawcore.OAuthException):
        return CollectorError(f"Reddit refused the app token ({error.error}); {_CREDENTIALS_HINT}")
    if (
        isinstance(error, prawcore.InvalidToken)
        or (isinstance(error, prawcore.ResponseException) and _status(error) == 401)
        or (isinstance(error, KeyError) and error.args == (401,))  # prawcore: a 401 without www-authenticate
    ):
        return CollectorError(
            f"Reddit refused the app's credentials (HTTP 401) for {what}; {_CREDENTIALS_HINT}"
        )
    if isinstance(error, prawcore.InsufficientScope | prawcore.Forbidden) or (
        isinstance(error, prawcore.ResponseException) and _status(error) == 403
    ):
        return CollectorError(
            f"Reddit answered 403 Forbidden for {what}: a subreddit may be private, quarantined or banned "
            f"(fix [brands.collect.reddit] subreddits), or the app lacks Data API access: {_CREDENTIALS_HINT}"
        )
    if isinstance(error, prawcore.NotFound | prawcore.Redirect):
        # Reddit answers an unknown subreddit with a redirect to its subreddit search
        return CollectorError(
            f"Reddit has no {what} (HTTP {_status(error)}); fix the name in [brands.collect.reddit] "
            "subreddits, or check [collectors.reddit] base_url"
        )
    if isinstance(error, prawcore.BadJSON):
        return TransientError(f"Reddit sent something that is not JSON for {what}")
    if isinstance(error, prawcore.ServerError) or (
        isinstance(error, prawcore.ResponseException) and _status(error) >= 500
    ):
        return TransientError(f"Reddit answered HTTP {_status(error)} for {what}")
    if isinstance(error, prawcore.RequestException):
        return TransientError(
            f"request to Reddit for {what} failed ({type(error.original_exception).__name__})"
        )
    if isinstance(error, prawcore.ResponseException) and 300 <= _status(error) < 400:
        return CollectorError(
            f"Reddit redirected the request for {what} (HTTP {_status(error)}); redirects are not followed, "
            "check [collectors.reddit] base_url and token_url"
        )
    if isinstance(error, prawcore.ResponseException):
        return CollectorError(
            f"Reddit answered HTTP {_status(error)} for {what}; check [brands.collect.reddit] query"
        )
    if isinstance(error, praw.exceptions.RedditAPIException):
        return CollectorError(
            f"Reddit refused the request for {what} ({error}); check [brands.collect.reddit]"
        )
    return TransientError(f"Reddit sent a malformed response for {what} ({type(error).__name__})")


@contextmanager
def translated_errors(what: str, *, now: Callable[[], datetime], secrets: tuple[str, ...]) -> Iterator[None]:
    """praw/prawcore failures (and malformed bodies they choke on) as CollectorError subclasses.

    `what` names the request for the message ("r/acme comments"); `secrets` are masked out of it.
    """
    try:
        yield
    except CollectorError:
        raise
    except (
        prawcore.PrawcoreException,
        praw.exceptions.PRAWException,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
    ) as e:
        translated = _translate(e, what, now())
        message = str(translated)
        for secret in secrets:
            if len(secret) >= 4:
                message = message.replace(secret, "***")
        translated.args = (message,)
        raise translated from e
