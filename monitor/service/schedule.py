"""The jobs `wom run` schedules, built from the config: the pipeline, the outbox (alerts routed, e-mails and
webhooks sent), daily digests, retention and one job per collected source (monitor.scheduler runs them,
each recorded as a JobRun)."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from monitor.authors.retention import apply_retention
from monitor.collectors.runner import SourceRunner
from monitor.config import Settings
from monitor.scheduler import JobResult, ScheduledJob
from monitor.service.digest import queue_due_digests
from monitor.service.notify import deliver_outbox
from monitor.service.pipeline import make_pipeline, run_pipeline_once
from monitor.service.status import source_health
from monitor.service.watch import watch_alerts
from monitor.storage.models import utcnow

__all__ = ["collect_job_name", "collector_jobs", "scheduled_jobs"]

log = logging.getLogger("wom.run")


def collect_job_name(source: str) -> str:
    """The JobRun name (and scheduled job id) of a source's runs."""
    return f"collect-{source}"


def scheduled_jobs(
    settings: Settings, engine: Engine, *, runner: SourceRunner | None = None
) -> list[ScheduledJob]:
    """The jobs `wom run` schedules, built from the config: pipeline, alert e-mails, retention, collectors.

    The collector jobs run on `runner` (a new one when None), which the caller closes once they stop."""
    pipeline = make_pipeline(settings, engine)

    def run_pipeline() -> JobResult:
        done = run_pipeline_once(pipeline)
        return JobResult(read=done.claimed, new=done.done)

    def deliver() -> JobResult:
        result = deliver_outbox(engine, settings)
        return JobResult(new=result.sent, failed=result.failed, detail={"retrying": result.retrying})

    def digests() -> JobResult:
        return JobResult(new=queue_due_digests(engine, settings, now=utcnow()))

    def watch() -> JobResult:
        result = watch_alerts(engine, settings, now=utcnow())
        return JobResult(new=result.opened, detail={"resolved": result.resolved})

    def retain() -> JobResult:
        result = apply_retention(engine, settings)
        return JobResult(read=result.erased.mentions, detail=result.summary())

    jobs = [ScheduledJob("pipeline", run_pipeline, settings.pipeline.interval_seconds, "pipeline")]
    # users may be added while wom runs, so the outbox and digest jobs always run (cheap when idle)
    jobs.append(ScheduledJob("deliver-alerts", deliver, 60, "maintenance"))
    jobs.append(ScheduledJob("digests", digests, 300, "maintenance"))
    # overdue inbox items, sources down or silent, rating drops: raised by time passing, not by a mention
    jobs.append(ScheduledJob("watch-alerts", watch, 300, "maintenance"))
    if settings.privacy.retention_days:
        jobs.append(ScheduledJob("retention", retain, 3600, "maintenance"))
    jobs.extend(collector_jobs(settings, engine, runner=runner))
    return jobs


def collector_jobs(
    settings: Settings, engine: Engine, *, runner: SourceRunner | None = None
) -> list[ScheduledJob]:
    """One job per source some brand is collected from, at the source's interval, run on `runner`.

    A source that is disabled or lacks its credentials is not scheduled; `wom status` says why."""
    runner = runner or SourceRunner(engine, settings)
    jobs: list[ScheduledJob] = []
    for health in source_health(settings, engine):
        if health.state == "disabled":
            log.warning("collector %s not scheduled: %s", health.source, health.message)
            continue

        def run_source(source: str = health.source) -> JobResult:
            return runner.run(source).as_job_result()

        minutes = settings.collectors.source(health.source).interval_minutes
        jobs.append(ScheduledJob(collect_job_name(health.source), run_source, minutes * 60, "collector"))
    return jobs
