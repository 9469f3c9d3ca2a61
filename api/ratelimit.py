"""Per-key request limits: a token bucket per key, held in this process.

Each key has a bucket of `per_minute` requests that refills continuously at `per_minute` a minute, so a
client may burst up to the limit and then goes at the limit's pace. Several API processes each keep their
own buckets.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

__all__ = ["RequestLimiter"]

_MAX_BUCKETS = 10_000  # past this, buckets that have refilled (idle keys or addresses) are dropped


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RequestLimiter:
    """`take(key)` spends one request of `key`; it returns 0 when allowed, else the seconds to wait."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}
        self._lock = threading.Lock()  # sync dependencies run on several threadpool threads at once

    def take(self, key: Hashable) -> int:
        """0 and one request spent, or the whole seconds (at least 1) until one is available again."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _MAX_BUCKETS:
                    self._drop_full(now)
                bucket = self._buckets[key] = _Bucket(tokens=float(self.per_minute), updated=now)
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))

    def blocked(self, key: Hashable) -> int:
        """Like `take`, but spends nothing: 0 when `key` has a request left, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0
            tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * self._rate)
            return 0 if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / self._rate))

    def _drop_full(self, now: float) -> None:
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self._rate >= self.per_minute
        ]
        for key in full:
            del self._buckets[key]
