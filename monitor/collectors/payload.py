"""Small helpers the review sources share: a rate limit's end from `Retry-After`, and a payload made storable.

`json_safe` exists because `raw` is written with orjson, which refuses integers past 64 bits and lone
surrogates; a platform payload may carry either, and one such item must not fail its whole page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from monitor.records import clean_text

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


def json_safe(value: Any) -> Any:
    """`value` with control characters and lone surrogates removed from strings and oversized numbers as text."""
    if isinstance(value, str):
        return clean_text(value)[0]
    if isinstance(value, Mapping):
        return {clean_text(str(key))[0]: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
