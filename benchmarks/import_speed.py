"""`wom import` speed on SQLite and PostgreSQL, next to the obvious alternative: a hand-written bulk insert.

    python -m benchmarks.import_speed [--lines 100000] [--postgres postgresql+psycopg://postgres@127.0.0.1/test]

Prints, per backend: first import (validation, authors, duplicates check, insert) in lines/s; the raw
bulk insert of the same mention rows by hand (orjson + one executemany/COPY, no validation, no authors);
their ratio; and a re-import of the same file (0 new rows) with its speed-up over the first import.
Classification is not part of an import.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import orjson
import sqlalchemy as sa

from benchmarks.mentions_file import write_mentions
from monitor.importer import import_file
from monitor.storage.db import connect, upgrade_schema

_COLUMNS = ("source", "external_id", "text", "created_at", "author_handle", "url", "lang", "raw")


def _raw_rows(path: Path) -> list[tuple[object, ...]]:
    rows = []
    for line in path.read_bytes().splitlines():
        item = orjson.loads(line)
        rows.append(
            (
                item["source"],
                item["external_id"],
                item["text"],
                item["created_at"][:19].replace("T", " "),
                item["author"]["handle"],
                item.get("url"),
                item.get("lang"),
                line.decode(),
            )
        )
    return rows


def _hand_bulk_sqlite(path: Path, database: Path) -> float:
    started = time.perf_counter()
    rows = _raw_rows(path)
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        f"CREATE TABLE m (id INTEGER PRIMARY KEY, {', '.join(_COLUMNS)}, UNIQUE(source, external_id))"
    )
    with conn:
        conn.executemany(
            f"INSERT INTO m ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", rows
        )
    conn.close()
    return time.perf_counter() - started


def _hand_bulk_postgres(path: Path, url: str) -> float:
    import psycopg

    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    rows = _raw_rows(path)
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS wom_bench_hand")
        conn.execute(
            "CREATE TABLE wom_bench_hand (id bigserial PRIMARY KEY, source text, external_id text, text text, "
            "created_at timestamp, author_handle text, url text, lang text, raw json, UNIQUE(source, external_id))"
        )
        with conn.cursor().copy(f"COPY wom_bench_hand ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
    elapsed = time.perf_counter() - started
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP TABLE wom_bench_hand")
    return elapsed


def _fresh_postgres_schema(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS wom_bench CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA wom_bench")
    engine.dispose()
    return url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dwom_bench"


def measure(lines: int, postgres_url: str | None, workdir: Path) -> list[dict[str, float | str]]:
    path = workdir / "mentions.jsonl"
    write_mentions(path, lines=lines)
    results: list[dict[str, float | str]] = []
    backends = [("sqlite", f"sqlite:///{workdir / 'wom.db'}")]
    if postgres_url:
        backends.append(("postgresql", _fresh_postgres_schema(postgres_url)))
    for name, url in backends:
        engine = connect(url)
        upgrade_schema(engine)
        first = import_file(engine, path)
        again = import_file(engine, path)
        assert again.new == 0, "a re-import must add nothing"
        engine.dispose()
        if name == "sqlite":
            hand = _hand_bulk_sqlite(path, workdir / "hand.db")
        else:
            hand = _hand_bulk_postgres(path, postgres_url or "")
        results.append(
            {
                "backend": name,
                "import_lines_per_s": first.read / first.seconds,
                "hand_bulk_lines_per_s": lines / hand,
                "import_vs_hand": (first.read / first.seconds) / (lines / hand),
                "reimport_lines_per_s": again.read / again.seconds,
                "reimport_speedup": first.seconds / again.seconds,
                "reimport_new": float(again.new),
            }
        )
    if postgres_url:
        cleanup = sa.create_engine(postgres_url)
        with cleanup.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS wom_bench CASCADE")
        cleanup.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL; a scratch schema wom_bench is used")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(args.lines, args.postgres, Path(tmp))
    print(f"wom import of {args.lines:,} lines (classification excluded)")
    header = f"{'backend':<11} {'wom import':>12} {'hand bulk':>12} {'ratio':>7} {'re-import':>12} {'speed-up':>9} {'new':>4}"
    print(header)
    for r in results:
        print(
            f"{r['backend']:<11} {r['import_lines_per_s']:>10,.0f}/s {r['hand_bulk_lines_per_s']:>10,.0f}/s "
            f"{r['import_vs_hand']:>6.2f}x {r['reimport_lines_per_s']:>10,.0f}/s {r['reimport_speedup']:>8.1f}x "
            f"{int(r['reimport_new']):>4}"
        )


if __name__ == "__main__":
    main()
