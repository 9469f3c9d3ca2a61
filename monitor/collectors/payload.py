"""Small helpers the review sources share: a rate limit's end from `Retry-After`, and a payload made storable.

`json_safe` (from monitor.records) is re-exported here for the sources that used it from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from monitor.records import json_safe

__all__ = ["json_safe", "retry_at"]

_MAX_RETRY_AFTER = timedelta(days=1)  # a longer header is a mistake; the runner retries a day later


def retry_at(headers: Mapping[str, str], now: datetime, default: timedelta) -> datetime:
    """When to ask again: `Retry-After` (seconds or an HTTP date) if present and sane, else `now + default`."""
    value = (headers.get("retry-after") or "").strip()
    wait = default
    if value.isdigit():
        wait = timedelta(seconds=int(value[:9]))
    elif value:
        try:
            wait = parsedate_to_datetime(value).astimezone(UTC) - now
        except (TypeError, ValueError, IndexError):
            wait = default
    return now + min(max(wait, timedelta(0)), _MAX_RETRY_AFTER)
