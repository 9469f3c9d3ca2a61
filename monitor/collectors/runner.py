"""Runs a source over every brand stream configured for it: retries, back-off, state, one report.

One source's failure or rate limit never touches another source. Within a source, a stream that fails
(after bounded retries of transient faults) does not stop the other streams; a rate limit stops the
source until the platform's reset time, recorded in the source state so the scheduler skips it
without sleeping.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from monitor.collectors.base import (
    BrandQuery,
    Collector,
    CollectorError,
    CollectResult,
    MissingCredentialError,
    RateLimitedError,
    TransientError,
    collect,
)
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.registry import load_spec
from monitor.collectors.sources import SourceContext, SourceSpec
from monitor.config import Settings
from monitor.job_runs import JobResult, current_run_id
from monitor.matching import fold
from monitor.source_settings import configured_sources
from monitor.storage.brands import sync_brands
from monitor.storage.runs import heartbeat, mask_secrets
from monitor.storage.source_state import load_states, record_outcome

__all__ = ["SourceReport", "SourceRunner", "StreamReport", "configured_sources"]

_log = logging.getLogger("wom.collect")
_MAX_RETRY_DELAY = 4.0


@dataclass(slots=True)
class StreamReport:
    brand: str
    query_key: str
    read: int = 0
    new: int = 0
    duplicate: int = 0
    forgotten: int = 0
    failed: int = 0
    attempts: int = 0
    cursor: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    skipped: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SourceReport:
    """How one run of a source went. status: succeeded, failed, rate_limited, disabled, backing_off."""

    source: str
    label: str
    status: str = "succeeded"
    error: str = ""
    retry_at: datetime | None = None
    streams: list[StreamReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(stream, name) for stream in self.streams)

    def as_job_result(self) -> JobResult:
        status = {"backing_off": "skipped"}.get(self.status, self.status)
        return JobResult(
            read=self.total("read"),
            new=self.total("new"),
            duplicate=self.total("duplicate"),
            failed=self.total("failed") + sum(1 for stream in self.streams if stream.error),
            status=status,
            error=self.error
            or "; ".join(f"{s.brand}/{s.query_key}: {s.error}" for s in self.streams if s.error),
            detail={
                "retry_at": self.retry_at.isoformat() if self.retry_at else None,
                "streams": [
                    {
                        "brand": s.brand,
                        "query": s.query_key,
                        "new": s.new,
                        "duplicate": s.duplicate,
                        "forgotten": s.forgotten,
                        "failed": s.failed,
                        "error": s.error,
                        "cursor": s.cursor,
                    }
                    for s in self.streams
                ],
            },
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SourceRunner:
    """Builds each source's collector once (sessions are reused across runs) and runs it on demand.

    `close()` (or leaving a `with` block) closes the collectors built so far; use it when the process
    or the command ends."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        resolver: Callable[[str, int], list[str]] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.environ = os.environ if environ is None else environ
        self.now = now
        self.sleep = sleep
        self.transport = transport
        self.policy = OutboundPolicy.from_hosts(settings.collectors.allow_private_hosts, resolver=resolver)
        self._collectors: dict[str, Collector] = {}
        self._brand_ids: dict[str, int] | None = None

    def streams(self, spec: SourceSpec, only_brand: str | None = None) -> list[BrandQuery]:
        if self._brand_ids is None:
            self._brand_ids = sync_brands(self.engine, self.settings)
        queries: list[BrandQuery] = []
        for brand in self.settings.brands:
            for entry in [brand, *brand.competitors]:
                options = getattr(entry.collect, spec.name)
                if options is None or (only_brand and fold(entry.name) != fold(only_brand)):
                    continue
                queries.extend(spec.queries(self._brand_ids[entry.name], entry, options))
        return queries

    def close(self) -> None:
        """Closes every collector built so far, even when one fails to; a later run builds anew."""
        collectors, self._collectors = self._collectors, {}
        with ExitStack() as stack:
            for collector in collectors.values():
                stack.callback(collector.close)

    def __enter__(self) -> SourceRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _collector(self, spec: SourceSpec) -> Collector:
        if spec.name not in self._collectors:
            context = SourceContext(
                name=spec.name,
                settings=self.settings.collectors.source(spec.name),
                policy=self.policy,
                environ=self.environ,
                now=self.now,
                transport=self.transport,
            )
            self._collectors[spec.name] = spec.build(context)
        return self._collectors[spec.name]

    def run(
        self,
        source: str,
        *,
        only_brand: str | None = None,
        force: bool = False,
        on_page: Callable[[BrandQuery, CollectResult], None] | None = None,
    ) -> SourceReport:
        """Runs `source` once over its streams (of `only_brand`, if given). Never raises for a source fault."""
        source_settings = self.settings.collectors.source(source)
        report = SourceReport(source, source)
        if not source_settings.enabled:
            report.status, report.error = (
                "disabled",
                f"disabled in the config ([collectors.{source}] enabled)",
            )
            return report
        now = self.now()
        state = load_states(self.engine).get(source)
        if state is not None and state.backing_off(now) and not force:
            report.status, report.retry_at = "backing_off", state.backoff_until
            report.error = (
                f"backing off until {state.backoff_until:%Y-%m-%d %H:%M} UTC: {state.backoff_reason}"
            )
            return report
        try:
            spec = load_spec(source)
            report.label = spec.label
            queries = self.streams(spec, only_brand)
            collector = self._collector(spec)
        except MissingCredentialError as e:
            report.status, report.error = "disabled", str(e)
            return report
        except (CollectorError, BlockedURLError) as e:
            report.status, report.error = "failed", mask_secrets(str(e))
            self._record(report, now)
            return report
        limited: dict[str, datetime] = {}  # rate limit scope -> when it may be asked again
        for query in queries:
            # a feed's URL is its stream name: its token is masked like in errors, for the label and record
            stream = StreamReport(query.brand, mask_secrets(query.query_key))
            report.streams.append(stream)
            scope = query.rate_limit_scope
            if scope is not None and scope in limited:
                stream.error = f"not asked: {scope} is rate-limited until {limited[scope]:%Y-%m-%d %H:%M} UTC"
                continue
            try:
                self._run_stream(collector, query, stream, on_page)
            except RateLimitedError as e:
                # the source backs off until the first limit ends; a still limited part answers 429 again
                first = e.retry_at if report.retry_at is None else min(report.retry_at, e.retry_at)
                report.status, report.retry_at = "rate_limited", first
                report.error = "; ".join(filter(None, [report.error, mask_secrets(str(e))]))
                if scope is None:
                    break
                limited[scope] = e.retry_at
        if report.status == "succeeded" and any(stream.error for stream in report.streams):
            report.status = "failed"
        self._record(report, now)
        return report

    def _run_stream(
        self,
        collector: Collector,
        query: BrandQuery,
        stream: StreamReport,
        on_page: Callable[[BrandQuery, CollectResult], None] | None,
    ) -> None:
        """Runs one stream, retrying transient faults; raises RateLimitedError, notes any other error."""
        attempts = self.settings.collectors.max_attempts
        for attempt in range(1, attempts + 1):
            stream.attempts = attempt
            error = self._attempt(collector, query, stream, on_page)
            if error is None:
                stream.error = ""
                return
            if isinstance(error, RateLimitedError):
                raise error
            if isinstance(error, (CollectorError, BlockedURLError)) and not isinstance(error, TransientError):
                stream.error = mask_secrets(str(error))
                return
            if not isinstance(error, TransientError):  # a bug in one collector must not stop the others
                _log.error("collector %s failed on %s: %r", collector.source, query.query_key, error)
                stream.error = mask_secrets(f"{type(error).__name__}: {error}")
                return
            stream.error = mask_secrets(str(error))
            if attempt < attempts:
                self.sleep(min(0.5 * 2 ** (attempt - 1), _MAX_RETRY_DELAY))
        stream.error = f"{stream.error} (after {attempts} attempt{'s' if attempts > 1 else ''})"

    def _attempt(
        self,
        collector: Collector,
        query: BrandQuery,
        stream: StreamReport,
        on_page: Callable[[BrandQuery, CollectResult], None] | None,
    ) -> Exception | None:
        """One pass from the saved cursor; what it stored is added to `stream` even when it fails."""
        run_id = current_run_id()
        progress: list[CollectResult] = []

        def page_done(result: CollectResult) -> None:
            if not progress:
                progress.append(result)  # the attempt's running totals, the same object on every page
            if run_id is not None:
                heartbeat(self.engine, run_id)
            if on_page is not None:
                on_page(query, result)

        try:
            collect(self.engine, collector, query, on_page=page_done)
        except Exception as e:
            return e
        finally:
            if progress:
                self._add(stream, progress[0])
        return None

    @staticmethod
    def _add(stream: StreamReport, result: CollectResult) -> None:
        stream.read += result.read
        stream.new += result.new
        stream.duplicate += result.duplicate
        stream.forgotten += result.forgotten
        stream.failed += result.failed
        stream.skipped.extend(result.skipped)
        stream.cursor = result.cursor

    def _record(self, report: SourceReport, now: datetime) -> None:
        interval = timedelta(minutes=self.settings.collectors.source(report.source).interval_minutes)
        record_outcome(
            self.engine,
            report.source,
            now=now,
            succeeded=report.status == "succeeded",
            new=report.total("new"),
            retry_at=report.retry_at if report.status == "rate_limited" else None,
            reason=report.error[:500],
            interval=interval,
        )
