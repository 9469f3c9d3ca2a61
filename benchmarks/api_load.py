"""API and dashboard latency under concurrent load on a large database, PostgreSQL and SQLite side by side.

    python -m benchmarks.api_load [--mentions 1000000] [--authors 200000] [--clients 8] [--seconds 10]
                                  [--page-clients N] [--postgres URL | --postgres ''] [--no-sqlite]
                                  [--only api|pages]

Per backend: build the world (benchmarks/bulk_world.py), recompute every author score and the kept
counts from it (as `wom process --rebuild`; both times are reported), start `wom serve` with `--workers`
processes (default: one per core), and let `--clients` threads with keep-alive connections call each list
endpoint and dashboard page for `--seconds`. Reported per endpoint: p50, p95, requests/s and errors; the
pass bar is p95 < 100 ms for an API list endpoint and < 150 ms for a page. A page's bar is on its server
time: `--page-clients` clients (default: one per worker process, so a request does not wait in a queue
behind others), reading over a keep-alive connection on the same machine, as a browser's first byte. Each
page is then also read by `--clients` clients at once and reported beside it, unjudged: with more clients
than cores that figure is mostly the time a request waits for a free core. Pages are read by a signed-in
admin (a session cookie; user interface in Dutch, times in Europe/Amsterdam).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from sqlalchemy.engine import Engine

from benchmarks.bulk_world import WorldFacts, build_world
from benchmarks.pg_schema import create_schema, drop_schema
from dashboards.auth import SESSION_COOKIE
from monitor.config import Settings
from monitor.scoring.store import rebuild_profiles
from monitor.service.sessions import sign_in
from monitor.service.users import add_user
from monitor.storage.api_keys import create_api_key
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.sentiment_hours import rebuild_sentiment_hours

ParamsFor = Callable[[random.Random], dict[str, Any]]
API_BAR_MS = 100.0
PAGE_BAR_MS = 150.0


@dataclass
class Endpoint:
    name: str
    path: str
    params: ParamsFor
    bar_ms: float = API_BAR_MS
    clients: int | None = None  # None: --clients
    judged: bool = True
    path_for: Callable[[random.Random], str] | None = None
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


def _endpoints(facts: WorldFacts, first_cursor: str | None) -> list[Endpoint]:
    since = "2026-01-01T00:00:00Z"
    endpoints = [
        Endpoint("brands", "/api/v1/brands", lambda r: {}),
        Endpoint("mentions (brand)", "/api/v1/mentions", lambda r: {"brand": "Acme", "limit": 50}),
        Endpoint(
            "mentions (brand, negative)",
            "/api/v1/mentions",
            lambda r: {"brand": "Acme", "sentiment": "negative", "limit": 50},
        ),
        Endpoint(
            "mentions (brand, complaint, source)",
            "/api/v1/mentions",
            lambda r: {"brand": "Globex", "intent": "complaint", "source": "reddit", "limit": 50},
        ),
        Endpoint(
            "mentions (q=refund)", "/api/v1/mentions", lambda r: {"brand": "Acme", "q": "refund", "limit": 50}
        ),
        Endpoint(
            "mentions (author)",
            "/api/v1/mentions",
            lambda r: {"author_id": r.choice(facts.sample_author_ids), "limit": 50},
        ),
        Endpoint("alerts (brand, open)", "/api/v1/alerts", lambda r: {"brand": "Acme", "status": "open"}),
        Endpoint("ambassadors", "/api/v1/ambassadors", lambda r: {"brand": "Acme", "limit": 20}),
        Endpoint("detractors", "/api/v1/detractors", lambda r: {"brand": "Acme", "limit": 20}),
        Endpoint(
            "ambassadors (segment, since)",
            "/api/v1/ambassadors",
            lambda r: {"brand": "Globex", "segment": "fan", "since": since, "limit": 20},
        ),
        Endpoint(
            "stats/sentiment (day)", "/api/v1/stats/sentiment", lambda r: {"brand": "Acme", "interval": "day"}
        ),
    ]
    if first_cursor:
        endpoints.insert(
            2,
            Endpoint(
                "mentions (brand, page 2)",
                "/api/v1/mentions",
                lambda r: {"brand": "Acme", "limit": 50, "cursor": first_cursor},
            ),
        )
    return endpoints


def _pages(facts: WorldFacts, *, page_clients: int, crowd: int) -> list[Endpoint]:
    """The dashboard's pages as a community manager opens them, one brand at a time: each at
    `page_clients` clients (judged) and at `crowd` clients (reported)."""
    judged = _page_list(facts)
    for endpoint in judged:
        endpoint.clients = page_clients
    crowded = _page_list(facts)
    for endpoint in crowded:
        endpoint.clients, endpoint.judged = crowd, False
        endpoint.name += f" @{crowd}"
    return judged + (crowded if crowd != page_clients else [])


def _page_list(facts: WorldFacts) -> list[Endpoint]:
    def page(name: str, path: str, params: ParamsFor) -> Endpoint:
        return Endpoint(f"page {name}", path, params, bar_ms=PAGE_BAR_MS)

    author_page = page("/authors/{id}", "/authors", lambda r: {})
    author_page.path_for = lambda r: f"/authors/{r.choice(facts.sample_author_ids)}"
    return [
        page("/ (overview, 30 days)", "/", lambda r: {"brand": "Acme", "period": 30}),
        page("/ (overview, 90 days)", "/", lambda r: {"brand": "Globex", "period": 90}),
        page("/inbox", "/inbox", lambda r: {"brand": "Acme"}),
        page("/mentions", "/mentions", lambda r: {"brand": "Acme"}),
        page(
            "/mentions (negative complaints)",
            "/mentions",
            lambda r: {"brand": "Globex", "sentiment": "negative", "intent": "complaint"},
        ),
        page("/mentions (q=refund)", "/mentions", lambda r: {"brand": "Acme", "q": "refund"}),
        page("/ambassadors", "/ambassadors", lambda r: {"brand": "Acme"}),
        page("/detractors", "/detractors", lambda r: {"brand": "Acme"}),
        page("/alerts", "/alerts", lambda r: {"brand": "Acme"}),
        author_page,
        page("/sources", "/sources", lambda r: {}),
        page("/settings", "/settings", lambda r: {}),
        page("/settings/users", "/settings/users", lambda r: {}),
        page("/settings/keys", "/settings/keys", lambda r: {}),
    ]


def _load(base: str, headers: dict[str, str], endpoint: Endpoint, *, clients: int, seconds: float) -> None:
    """`clients` threads, each with one keep-alive connection, calling `endpoint` until `seconds` pass.

    The clients share the machine with the server and the database, so they are kept light: the
    standard library's HTTP client costs a third of httpx's CPU per request."""
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()
    address = urlsplit(base)
    headers = headers | {"Connection": "keep-alive"}

    def client(n: int) -> None:
        rng = random.Random(n)
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        try:
            while time.perf_counter() < deadline:
                query = urlencode(endpoint.params(rng))
                path = endpoint.path_for(rng) if endpoint.path_for else endpoint.path
                started = time.perf_counter()
                connection.request("GET", f"{path}?{query}" if query else path, headers=headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    endpoint.latencies.append(elapsed)
                    endpoint.errors += response.status != 200
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("wom serve did not answer /healthz within 60 s")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(label: str, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    engine = connect(url)
    upgrade_schema(engine)
    started = time.perf_counter()
    facts = build_world(
        engine,
        mentions=args.mentions,
        authors=args.authors,
        progress=lambda m: print(f"  {label} {m}", flush=True),
    )
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        pairs = rebuild_profiles(conn, settings=Settings())
    rebuild_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        hours = rebuild_sentiment_hours(conn)
    counts_seconds = time.perf_counter() - started
    _analyse(engine)
    key = create_api_key(engine, role="admin", label="benchmark").key
    session_cookie = _signed_in_cookie(engine)
    engine.dispose()
    config = workdir / f"{label}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[api]\nrequests_per_minute = 1000000\nworkers = {args.workers}\n',
        encoding="utf-8",
    )
    port = _free_port()
    server = _serve(config, port)
    base = f"http://127.0.0.1:{port}"
    try:
        first = httpx.get(
            f"{base}/api/v1/mentions",
            params={"brand": "Acme", "limit": 50},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ).json()
        endpoints = []
        if args.only != "pages":
            endpoints += _endpoints(facts, first.get("next_cursor"))
        if args.only != "api":
            endpoints += _pages(facts, page_clients=args.page_clients or args.workers, crowd=args.clients)
        for endpoint in endpoints:
            headers = (
                {"Cookie": session_cookie}
                if endpoint.bar_ms == PAGE_BAR_MS
                else {"Authorization": f"Bearer {key}"}
            )
            _load(base, headers, endpoint, clients=1, seconds=1.0)  # warm caches and query plans
            endpoint.latencies.clear()
            endpoint.errors = 0
            _load(base, headers, endpoint, clients=endpoint.clients or args.clients, seconds=args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "label": label,
        "build_seconds": build_seconds,
        "rebuild_seconds": rebuild_seconds,
        "pairs": pairs,
        "counts_seconds": counts_seconds,
        "hours": hours,
        "endpoints": endpoints,
    }


def _signed_in_cookie(engine: Engine) -> str:
    """A session cookie of an admin who reads the dashboard in Dutch on Amsterdam's clock."""
    password = secrets.token_urlsafe(16)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        add_user(
            conn,
            name="benchmark",
            email="benchmark@example.com",
            role="admin",
            password=password,
            now=now,
            language="nl",
            timezone="Europe/Amsterdam",
        )
        session = sign_in(conn, name="benchmark", password=password, now=now)
    if session is None:
        raise RuntimeError("the benchmark's admin could not sign in")
    return f"{SESSION_COOKIE}={session.token}"


def _analyse(engine: Engine) -> None:
    """Statistics for the planners after the derived tables are filled, as autovacuum/ANALYZE would."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("WOM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--page-clients",
        type=int,
        help="clients reading a page at once for its judged server time (default: workers)",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--only", choices=("api", "pages"), help="measure only the API or only the pages")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="[api] workers of wom serve (default: cores)"
    )
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.postgres:
            url, schema = create_schema(args.postgres, "wom_load")
            try:
                results.append(measure("postgresql", url, args, workdir))
            finally:
                drop_schema(args.postgres, schema)
        if not args.no_sqlite:
            results.append(measure("sqlite", f"sqlite:///{workdir / 'load.db'}", args, workdir))
    print(
        f"\n{args.mentions:,} mentions, {args.authors:,} authors, {args.clients} concurrent clients "
        f"(a page's judged server time: {args.page_clients or args.workers}; '@{args.clients}': the page at "
        f"{args.clients}, unjudged), "
        f"wom serve with {args.workers} worker processes, {args.seconds:g} s per endpoint "
        f"(pass bar: p95 < {API_BAR_MS:g} ms for the API, < {PAGE_BAR_MS:g} ms for a page)\n"
    )
    for result in results:
        print(
            f"{result['label']}: world built in {result['build_seconds']:.0f} s; all scores recomputed "
            f"({result['pairs']:,} author-brand pairs) in {result['rebuild_seconds']:.1f} s; sentiment "
            f"hours, brand volumes and brand-link copies recomputed ({result['hours']:,} hours) in "
            f"{result['counts_seconds']:.1f} s"
        )
    header = f"{'endpoint':<40}" + "".join(f" {r['label'][:10]:>10} p50  p95 ms   req/s err" for r in results)
    print("\n" + header)
    for index, endpoint in enumerate(results[0]["endpoints"]):
        line = f"{endpoint.name:<40}"
        for result in results:
            other = result["endpoints"][index]
            rate = len(other.latencies) / args.seconds
            p50 = _percentile(other.latencies, 0.5) * 1000
            p95 = _percentile(other.latencies, 0.95) * 1000
            line += f" {p50:>14.1f} {p95:>5.1f} {rate:>8.1f} {other.errors:>3}"
        print(line)
    for result in results:
        for kind, bar in (("API", API_BAR_MS), ("page", PAGE_BAR_MS)):
            measured = [e for e in result["endpoints"] if e.bar_ms == bar and e.judged]
            if measured:
                worst = max(_percentile(e.latencies, 0.95) for e in measured) * 1000
                verdict = "PASS" if worst < bar else "FAIL"
                print(f"{result['label']}: worst {kind} p95 {worst:.1f} ms (bar {bar:g} ms) -> {verdict}")
    return results


if __name__ == "__main__":
    main()
