"""`wom serve` (API and dashboard only) and `wom run` (scheduler + API + dashboard in one process)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
from sqlalchemy.engine import Engine

from monitor.cli.context import configure_logging, console, literal, open_database, state, wom_command
from monitor.collectors.runner import SourceRunner
from monitor.config import Settings
from monitor.scheduler import SchedulerService
from monitor.service.schedule import scheduled_jobs
from monitor.storage.leader import LeaderLock

__all__ = ["register", "run_service", "uvicorn_options"]

log = logging.getLogger("wom.run")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `wom serve` and `wom run` pass to uvicorn: address, log level and which proxies to believe.

    uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so a client on the same host
    could claim any address with it and escape the limit on failed key attempts per address (issue 13,
    item 8). The headers are read only from [api] trusted_proxies, and not at all when it is empty."""
    proxies = settings.api.trusted_proxies
    options: dict[str, Any] = {
        "host": settings.api.host,
        "port": settings.api.port,
        "log_level": "warning",
        "proxy_headers": bool(proxies),
    }
    if proxies:
        options["forwarded_allow_ips"] = ",".join(proxies)
    return options


def _serve(settings: Settings, engine: Engine, *, include_dashboard: bool) -> None:
    from api.main import settle_memory
    from dashboards.site import SETTINGS_VARIABLE, web_app

    if settings.api.workers > 1:
        # Python runs one thread at a time per process: worker processes put every core to work
        engine.dispose()
        os.environ[SETTINGS_VARIABLE] = settings.model_dump_json()
        uvicorn.run(
            "dashboards.site:app_from_environment",
            factory=True,
            workers=settings.api.workers,
            **uvicorn_options(settings),
        )
        return
    app = web_app(settings, engine, include_dashboard=include_dashboard)
    settle_memory()
    uvicorn.run(app, **uvicorn_options(settings))


class _Terminated(BaseException):
    """SIGTERM arrived: unwind through the `finally` that gives the scheduler lock back."""


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise _Terminated


def run_service(settings: Settings, engine: Engine, *, with_scheduler: bool) -> None:
    configure_logging()
    # uvicorn stops on SIGTERM and then raises it again; with the default action the process died there,
    # before the `finally` below, and kept its lease for the whole TTL (60 s) instead of handing over
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
    service = None
    runner = None
    terminated = False
    try:
        if with_scheduler:
            runner = SourceRunner(engine, settings)
            service = SchedulerService(
                scheduled_jobs(settings, engine, runner=runner), engine=engine, lock=LeaderLock(engine)
            )
            leads = service.start()
            console.print(
                "scheduler: running the jobs"
                if leads
                else "scheduler: another process holds the lock; serving only"
            )
        base = f"http://{settings.api.host}:{settings.api.port}"
        console.print(f"dashboard: {base}/   API: {base}/api/v1/   docs: {base}/docs   (Ctrl-C stops)")
        console.print("the dashboard and the API ask for a key: `wom apikey create --role viewer` makes one")
        _serve(settings, engine, include_dashboard=True)
    except _Terminated:
        terminated = True
    finally:
        if service is not None:
            service.shutdown(wait=True)  # releases the lock, so a follower takes over at its next try
        if runner is not None:
            runner.close()  # the collectors' sessions, once no job uses them
    if terminated:
        signal.raise_signal(signal.SIGTERM)  # end as killed by SIGTERM, the status uvicorn meant to give


def register(app: typer.Typer) -> None:
    @app.command()
    @wom_command
    def run(
        port: Annotated[int | None, typer.Option(help=literal("Port (default: [api] port)."))] = None,
    ) -> None:
        """Run the scheduler (pipeline, alerts) with the API and the dashboard in one process."""
        settings = state.settings()
        if port is not None:
            settings.api.port = port
        run_service(settings, open_database(settings), with_scheduler=True)

    @app.command()
    @wom_command
    def serve(
        port: Annotated[int | None, typer.Option(help=literal("Port (default: [api] port)."))] = None,
    ) -> None:
        """Serve the API and dashboard only; no scheduled jobs (run them with `wom run` or `wom worker`)."""
        settings = state.settings()
        if port is not None:
            settings.api.port = port
        console.print(f"API: http://{settings.api.host}:{settings.api.port}/api/v1/  (no scheduler)")
        configure_logging()
        _serve(settings, open_database(settings), include_dashboard=True)
