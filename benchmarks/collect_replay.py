"""`wom collect` over every source against local servers replaying the recorded responses.

    python -m benchmarks.collect_replay [--brands 5] [--postgres URL]

Every source's base URL points at its own replay server on 127.0.0.1 (allowed in the config, as an
operator would allow a proxy); credentials are dummies in the environment. `wom collect` runs in a fresh
process per database, so its peak memory is its own. Reported per source: streams, items read, new,
duplicate, failed, requests served; overall: items/s and peak RSS, SQLite and PostgreSQL side by side.
Each brand has its own streams over the same recordings, so all but the first brand mostly read
duplicates (App Store storefronts are the exception: their ids carry the country).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.pg_schema import create_schema, drop_schema
from benchmarks.replay_server import ReplayServers, source_handlers
from monitor.storage.db import connect
from monitor.storage.models import JobRun
from monitor.storage.tables import table_of

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SOURCES = (
    "x",
    "reddit",
    "appstore",
    "googleplay",
    "mastodon",
    "bluesky",
    "hackernews",
    "youtube",
    "rss",
    "trustpilot",
)
CREDENTIALS = {
    "WOM_X_BEARER_TOKEN": "replay-token",
    "WOM_REDDIT_CLIENT_ID": "replay-id",
    "WOM_REDDIT_CLIENT_SECRET": "replay-secret",
    "WOM_BLUESKY_HANDLE": "replay.bsky.social",
    "WOM_BLUESKY_APP_PASSWORD": "replay-app-password",
    "WOM_YOUTUBE_API_KEY": "replay-key",
    "WOM_TRUSTPILOT_API_KEY": "replay-key",
}


def _config(database_url: str, urls: dict[str, str], brands: int) -> str:
    hosts = ", ".join(f'"{url.removeprefix("http://")}"' for url in urls.values())
    lines = [
        f'[database]\nurl = "{database_url}"\n',
        f"[collectors]\nallow_private_hosts = [{hosts}]\nmax_attempts = 1\n",
    ]
    for source in SOURCES:
        if source in ("mastodon",):
            continue
        extra = f'token_url = "{urls[source]}"\n' if source == "reddit" else ""
        lines.append(f'[collectors.{source}]\nbase_url = "{urls[source]}"\n{extra}')
    for n in range(brands):
        name = f"Brand{n}"
        lines.append(
            f"""
[[brands]]
name = "{name}"
keywords = ["brexit", "slack", "{name.lower()}"]
hashtags = ["#hoot"]

[brands.collect.x]
own_mentions = false
[brands.collect.reddit]
subreddits = ["askreddit"]
[brands.collect.appstore]
app_ids = ["284815942"]
countries = ["us", "gb", "nl", "de", "fr", "be", "ca", "au", "ie", "nz"]
[brands.collect.googleplay]
app_ids = ["com.example.app{n}"]
locales = ["en-us"]
[brands.collect.mastodon]
instances = ["{urls["mastodon"]}"]
hashtags = ["hoot"]
[brands.collect.bluesky]
query = "redistricting"
[brands.collect.hackernews]
queries = ["koffiekoning"]
[brands.collect.youtube]
channel_ids = ["UC_x5XG1OV2P6uZZ5FSM9Ttw"]
video_ids = ["F1UP7wRCPH8"]
[brands.collect.rss]
feeds = ["https://www.google.com/alerts/feeds/{n}/alerts", "https://www.youtube.com/feeds/videos.xml?channel_id=UC{n}"]
[brands.collect.trustpilot]
business_unit_ids = ["bu{n}"]
"""
        )
    return "\n".join(lines)


def _run_collect(config: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and output of one `wom collect` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOM_")}
    env.update(CREDENTIALS)
    env["COLUMNS"] = "200"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "collect", "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, _, usage = os.wait4(process.pid, 0)  # the child's own rusage, not the sum of all children
    process.returncode = 0
    seconds = time.perf_counter() - started
    return seconds, usage.ru_maxrss / 1024, output


def _runs(database_url: str) -> list[dict[str, Any]]:
    engine = connect(database_url)
    table = table_of(JobRun)
    try:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
    finally:
        engine.dispose()


def _measure(
    label: str, database_url: str, urls: dict[str, str], brands: int, workdir: Path
) -> dict[str, Any]:
    config = workdir / f"{label}.toml"
    config.write_text(_config(database_url, urls, brands), encoding="utf-8")
    seconds, peak, output = _run_collect(config)
    runs = _runs(database_url)
    by_source = {run["name"].removeprefix("collect-"): run for run in runs}
    read = sum(run["items_read"] for run in runs)
    return {
        "label": label,
        "seconds": seconds,
        "peak_mb": peak,
        "read": read,
        "runs": by_source,
        "output": output,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brands", type=int, default=5, help="brands, each with streams on every source")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("WOM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL server for the side-by-side run ('' to skip)",
    )
    args = parser.parse_args(argv)
    if not (SHARED / "fixtures").exists():
        sys.exit(f"{SHARED / 'fixtures'} is absent: this benchmark replays ../shared/fixtures")
    results = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        ReplayServers(source_handlers(SHARED, datetime.now(UTC))) as replay,
    ):
        workdir = Path(tmp)
        results.append(
            _measure("sqlite", f"sqlite:///{workdir / 'wom.db'}", replay.urls, args.brands, workdir)
        )
        sqlite_requests = dict(replay.requests)
        if args.postgres:
            url, schema = create_schema(args.postgres, "wom_bench")
            try:
                results.append(_measure("postgresql", url, replay.urls, args.brands, workdir))
            finally:
                drop_schema(args.postgres, schema)
    first = results[0]
    print(f"wom collect, {args.brands} brands, every source replayed from ../shared/fixtures on 127.0.0.1\n")
    print(
        f"{'source':<11} {'status':<10} {'streams':>7} {'read':>6} {'new':>6} {'dup':>6} {'failed':>6} {'requests':>8}"
    )
    for source in SOURCES:
        run = first["runs"].get(source)
        if run is None:
            print(f"{source:<11} (no run recorded)")
            continue
        streams = len((run["detail"] or {}).get("streams", []))
        print(
            f"{source:<11} {run['status']:<10} {streams:>7} {run['items_read']:>6} {run['items_new']:>6} "
            f"{run['items_duplicate']:>6} {run['items_failed']:>6} {sqlite_requests.get(source, 0):>8}"
        )
        if run["error"]:
            print(f"{'':<11} error: {run['error'][:150]}")
    print()
    print(f"{'database':<11} {'items':>6} {'seconds':>8} {'items/s':>8} {'peak RSS MB':>12} {'ratio':>6}")
    for result in results:
        rate = result["read"] / result["seconds"]
        ratio = rate / (first["read"] / first["seconds"])
        print(
            f"{result['label']:<11} {result['read']:>6} {result['seconds']:>8.2f} {rate:>8.1f} "
            f"{result['peak_mb']:>12.0f} {ratio:>5.2f}x"
        )
    return results


if __name__ == "__main__":
    main()
