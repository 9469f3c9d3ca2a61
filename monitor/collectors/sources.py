"""How a source plugs in: a `SourceSpec` builds its collector from a `SourceContext` and lists a brand's streams.

Every source module (`monitor/collectors/<source>.py`) exposes `SPEC`. The registry imports a module
only when its source is used, so a broken or missing client library disables that source alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.collectors.base import BrandQuery, Collector, MissingCredentialError
from monitor.collectors.http import SafeHttp
from monitor.collectors.limits import MAX_RESPONSE_BYTES
from monitor.collectors.options import SourceSettings
from monitor.collectors.outbound import OutboundPolicy
from monitor.config import BrandBase

__all__ = ["SourceContext", "SourceSpec", "brand_terms"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SourceContext:
    """What a source needs to build its collector: its settings, the outbound policy and the environment."""

    name: str
    settings: SourceSettings
    policy: OutboundPolicy
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    now: Callable[[], datetime] = _utcnow
    transport: httpx.BaseTransport | None = None  # tests replay recordings through this

    def base_url(self, default: str) -> str:
        """The configured base URL (else `default`), refused when the policy refuses it."""
        return self.policy.check(self.settings.base_url or default).rstrip("/")

    def http(self, *, max_bytes: int = MAX_RESPONSE_BYTES) -> SafeHttp:
        """SafeHttp on the policy: checked and pinned connections, a total deadline, `max_bytes` decoded.

        A build function calls it after `base_url` and `secret`, whose refusals would leak the client."""
        return SafeHttp(self.policy, transport=self.transport, max_bytes=max_bytes)

    def secret(self, variable: str) -> str:
        """The environment variable's value; MissingCredentialError (which disables the source) when unset."""
        value = self.environ.get(variable, "").strip()
        if not value:
            raise MissingCredentialError(self.name, variable)
        return value


@dataclass(frozen=True)
class SourceSpec:
    """One source: its name, the variables it needs, how to build it and what to ask it per brand.

    `queries(brand_id, brand, options)` gets the brand's `[brands.collect.<source>]` options model."""

    name: str
    label: str  # for people: "Hacker News"
    credentials: tuple[str, ...]  # environment variables the source needs (optional ones not listed)
    build: Callable[[SourceContext], Collector]
    queries: Callable[[int, BrandBase, Any], list[BrandQuery]]


def brand_terms(brand: BrandBase) -> list[str]:
    """The brand's keywords, else its hashtags without '#': what keyword-search sources search for."""
    return list(brand.keywords) or [tag.lstrip("#") for tag in brand.hashtags]
