"""YouTube Data API v3 over SafeHttp: errors by their reason, daily quota units, the API key never shown.

The key travels as the `key=` query parameter, so every text that could carry a URL (httpx errors,
refused redirects) is masked before it becomes an exception message. Errors are JSON envelopes
`{"error": {"code", "message", "errors": [{"domain", "reason"}], "status"}}`; there are no rate-limit
headers.

Quota: every list call costs 1 unit of the project's daily allowance, which resets at midnight
America/Los_Angeles. `QuotaMeter` counts the units this process spent today; each stream's cursor carries
the count it saw, and a meter takes over a higher count for the same day from any cursor it reads, so a
restarted process resumes from the last count stored instead of from zero (it may undercount what other
processes spent; YouTube's own `quotaExceeded` is the backstop).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from monitor.collectors.base import CollectorError, RateLimitedError, TransientError
from monitor.collectors.http import SafeHttp
from monitor.collectors.outbound import BlockedURLError

__all__ = [
    "API_KEY_VARIABLE",
    "DEFAULT_BASE_URL",
    "BadRequestError",
    "QuotaMeter",
    "VideoUnavailableError",
    "YouTubeApi",
    "next_quota_reset",
]

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
API_KEY_VARIABLE = "WOM_YOUTUBE_API_KEY"
PACIFIC = ZoneInfo("America/Los_Angeles")
RATE_LIMIT_PAUSE = timedelta(minutes=15)  # rateLimitExceeded carries no reset time
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_VIDEO_REASONS = frozenset({"commentsDisabled", "videoNotFound"})
_KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "forbidden", "accessNotConfigured", "ipRefererBlocked"})


class VideoUnavailableError(CollectorError):
    """One video's comments cannot be read (`reason`: commentsDisabled, videoNotFound); skip it, don't retry."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class BadRequestError(CollectorError):
    """HTTP 400 for a reason other than the key (e.g. a page token YouTube no longer accepts)."""


def next_quota_reset(now: datetime) -> datetime:
    """The next midnight in America/Los_Angeles, in UTC: when the daily quota is renewed."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return midnight.astimezone(UTC)


def _quota_day(now: datetime) -> str:
    return now.astimezone(PACIFIC).date().isoformat()


class QuotaMeter:
    """Units spent on the current Pacific day; refuses a call that would pass `daily_quota`."""

    def __init__(self, daily_quota: int, now: Callable[[], datetime]) -> None:
        self.daily_quota = daily_quota
        self._now = now
        self.day = _quota_day(now())
        self.used = 0

    def _roll(self) -> None:
        today = _quota_day(self._now())
        if today != self.day:
            self.day, self.used = today, 0

    def absorb(self, saved: Any) -> None:
        """Takes over a count stored in a cursor (`{"day", "used"}`) when it is today's and higher."""
        self._roll()
        if not isinstance(saved, Mapping) or saved.get("day") != self.day:
            return
        used = saved.get("used")
        if isinstance(used, int) and not isinstance(used, bool) and self.used < used <= 10 * self.daily_quota:
            self.used = used

    def spend(self, units: int = 1) -> None:
        """Counts `units`; raises RateLimitedError (until the Pacific midnight) when they would pass the quota."""
        self._roll()
        if self.used + units > self.daily_quota:
            now = self._now()
            raise RateLimitedError(
                f"YouTube quota spent: {self.used} of {self.daily_quota} units used on {self.day} (Pacific "
                f"time); collecting again after midnight Pacific, or raise [collectors.youtube] daily_quota "
                f"if your Google Cloud project has more",
                next_quota_reset(now),
            )
        self.used += units

    def snapshot(self) -> dict[str, Any]:
        self._roll()
        return {"day": self.day, "used": self.used}


def _envelope(response: httpx.Response) -> tuple[str, str, str]:
    """(reason, message, status) from a Google error envelope; empty strings when there is none."""
    try:
        error = response.json().get("error")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return "", "", ""
    if not isinstance(error, Mapping):
        return "", "", ""
    details = error.get("errors")
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], Mapping) else {}
    reason = value if isinstance(value := first.get("reason"), str) else ""
    message = value if isinstance(value := error.get("message"), str) else ""
    status = value if isinstance(value := error.get("status"), str) else ""
    return reason, message, status


class YouTubeApi:
    """GETs on `{base_url}/{resource}` with the key added; returns the JSON object or raises collector errors."""

    def __init__(
        self,
        http: SafeHttp,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        quota: QuotaMeter,
        now: Callable[[], datetime],
    ) -> None:
        self.http = http
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.quota = quota
        self._now = now

    def mask(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def get(self, resource: str, params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """One list call (1 quota unit). `what` names the request in error messages, e.g. 'video abc'."""
        self.quota.spend(1)
        try:
            response = self.http.get(f"{self.base_url}/{resource}", params={**params, "key": self._key})
        except BlockedURLError as e:
            raise CollectorError(self.mask(f"YouTube {resource} for {what} refused: {e}")) from None
        except httpx.HTTPError as e:
            raise TransientError(
                self.mask(f"YouTube {resource} for {what} failed ({type(e).__name__}: {e})")
            ) from None
        if response.status_code >= 400:
            self._raise(response, resource, what)
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TransientError(
                f"YouTube {resource} for {what} sent something that is not JSON ({e})"
            ) from None
        if not isinstance(body, dict):
            raise TransientError(f"YouTube {resource} for {what} sent JSON that is not an object")
        return body

    def _raise(self, response: httpx.Response, resource: str, what: str) -> None:
        status = response.status_code
        reason, message, api_status = _envelope(response)
        said = self.mask(
            f"HTTP {status} {reason or api_status or 'without a reason'}: {message}".rstrip(": ")
        )
        if reason in _QUOTA_REASONS:
            raise RateLimitedError(
                f"YouTube daily quota exceeded ({said}); collecting again after midnight Pacific",
                next_quota_reset(self._now()),
            )
        if reason in _RATE_REASONS or status == 429:
            raise RateLimitedError(
                f"YouTube rate limit ({said}); pausing this source", self._now() + RATE_LIMIT_PAUSE
            )
        if reason in _VIDEO_REASONS:
            raise VideoUnavailableError(f"YouTube {resource} for {what}: {said}", reason)
        if status >= 500:
            raise TransientError(f"YouTube {resource} for {what} answered {said}")
        if reason in _KEY_REASONS or status in (401, 403) or "API key" in message:
            raise CollectorError(
                f"YouTube refused the API key ({said}); check {API_KEY_VARIABLE}: a key of a Google Cloud "
                f"project with the YouTube Data API v3 enabled and no referrer/IP restriction that excludes wom"
            )
        if status == 404:
            raise CollectorError(f"YouTube has no {what} ({said}); check the ids in [brands.collect.youtube]")
        if status == 400:
            raise BadRequestError(f"YouTube {resource} for {what} answered {said}")
        raise CollectorError(f"YouTube {resource} for {what} answered {said}")
