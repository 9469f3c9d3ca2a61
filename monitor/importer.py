"""`wom import`: JSON Lines or CSV files of mentions, bad lines reported and skipped, re-imports add nothing."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import Engine

from monitor.errors import ImportFileError
from monitor.records import JSON_NEEDS_CLEANING_RE, MentionRecord, RecordError, mention_key, parse_mention
from monitor.storage.mentions import existing_keys, refresh_statistics, store_mentions

__all__ = ["ImportSummary", "Rejection", "import_file", "read_records"]

MAX_LINE_BYTES = 1_000_000
# A long import into a small table runs on the planner statistics of the small table (autovacuum samples
# once a minute at most), and the duplicate lookups turn into scans; refresh them as the table grows
# (counted in batches that stored something, so a re-import pays nothing).
_ANALYZE_AFTER_BATCHES = frozenset({1, 4, 16, 64, 256})
_JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str


@dataclass(slots=True)
class ImportSummary:
    read: int = 0
    new: int = 0
    duplicate: int = 0
    forgotten: int = 0  # lines of a forgotten author (`wom authors forget`), refused
    rejected: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lines_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


def _decode_line(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"invalid UTF-8 at byte {e.start}; save the file as UTF-8") from e


def _json_lines(handle: io.BufferedReader) -> Iterator[tuple[int, int, Any]]:
    for number, raw in enumerate(handle, start=1):
        size = len(raw)
        if not raw.strip():
            continue
        if size > MAX_LINE_BYTES:
            yield number, size, RecordError(f"line is {size:,} bytes; the limit is {MAX_LINE_BYTES:,}")
            continue
        try:
            text = _decode_line(raw, number)
            yield number, size, (orjson.loads(text), JSON_NEEDS_CLEANING_RE.search(text) is None)
        except RecordError as e:
            yield number, size, e
        except orjson.JSONDecodeError as e:
            yield number, size, RecordError(f"not valid JSON: {e.msg} at column {e.colno}")


def _nest(row: dict[str, str | None]) -> dict[str, Any]:
    """CSV columns named like the JSON fields; nested ones as `author.handle`, `engagement.likes`."""
    item: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or value is None or value == "":
            continue
        if "." in column:
            parent, child = column.split(".", 1)
            item.setdefault(parent, {})[child] = value
        else:
            item[column] = value
    return item


def _csv_lines(handle: io.BufferedReader) -> Iterator[tuple[int, int, Any]]:
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="surrogateescape", newline="")
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.DictReader(text)
    position = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield reader.line_num, 0, RecordError(f"bad CSV: {e}")
            continue
        consumed = handle.tell() - position  # the wrapper reads ahead in chunks: progress is approximate
        position += consumed
        values = [v for v in row.values() if isinstance(v, str)]
        if any("\udc80" <= ch <= "\udcff" for value in values for ch in value):
            yield reader.line_num, consumed, RecordError("invalid UTF-8; save the file as UTF-8")
        elif None in row:
            yield reader.line_num, consumed, RecordError("more values than columns in the header")
        else:
            yield reader.line_num, consumed, (_nest(row), False)


def _raw_items(path: Path) -> Iterator[tuple[int, int, tuple[Any, bool] | RecordError]]:
    """(line number, bytes, (decoded item, whether it is free of control characters) or why not)."""
    opener: Callable[[io.BufferedReader], Iterator[tuple[int, int, Any]]]
    opener = _csv_lines if path.suffix.lower() == ".csv" else _json_lines
    try:
        handle = path.open("rb")
    except OSError as e:
        raise ImportFileError(f"cannot read {path}: {e.strerror}; check the path and its permissions") from e
    with handle:
        yield from opener(handle)  # type: ignore[arg-type]


def read_records(path: Path) -> Iterator[tuple[int, int, MentionRecord | RecordError]]:
    """(line number, bytes, record or the reason it was rejected) for every non-empty line."""
    for number, size, item in _raw_items(path):
        if isinstance(item, RecordError):
            yield number, size, item
            continue
        data, raw_is_clean = item
        try:
            yield number, size, parse_mention(data, raw_is_clean=raw_is_clean)
        except RecordError as e:
            yield number, size, e


def import_file(
    engine: Engine,
    path: Path,
    *,
    known_brands: Callable[[str], bool] | None = None,
    batch_size: int = 2000,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import `path` in batches of `batch_size` (one transaction each). Safe to re-run after a crash.

    Lines whose `(source, external_id)` is already stored count as duplicates before full validation,
    so a re-import costs little more than reading the file.
    """
    if path.suffix.lower() not in _JSON_SUFFIXES | {".csv"}:
        raise ImportFileError(f"{path.name}: unknown file type; use .jsonl (JSON Lines) or .csv")
    summary = ImportSummary()
    started = time.perf_counter()
    pending: list[tuple[int, Any, bool]] = []
    pending_bytes = 0
    batches = 0

    def flush() -> None:
        nonlocal pending_bytes, batches
        keys = {number: mention_key(data) for number, data, _ in pending}
        with engine.connect() as conn:
            stored = existing_keys(conn, [key for key in keys.values() if key is not None])
        records: list[MentionRecord] = []
        for number, data, raw_is_clean in pending:
            if keys[number] in stored:
                summary.duplicate += 1
                continue
            try:
                record = parse_mention(data, raw_is_clean=raw_is_clean)
            except RecordError as e:
                summary.rejected.append(Rejection(number, str(e)))
                continue
            if record.brand is not None and known_brands is not None and not known_brands(record.brand):
                reason = f"'brand' {record.brand!r} is not configured; add it to [[brands]] or drop the field"
                summary.rejected.append(Rejection(number, reason))
                continue
            records.append(record)
        if records:
            result = store_mentions(engine, records, checked_new=True)
            summary.new += result.new
            summary.duplicate += result.duplicate
            summary.forgotten += result.forgotten
            if result.new:
                batches += 1
                if batches in _ANALYZE_AFTER_BATCHES:
                    refresh_statistics(engine)
        pending.clear()
        if on_progress is not None and pending_bytes:
            on_progress(pending_bytes)
        pending_bytes = 0

    for number, size, item in _raw_items(path):
        summary.read += 1
        pending_bytes += size
        if isinstance(item, RecordError):
            summary.rejected.append(Rejection(number, str(item)))
            continue
        pending.append((number, item[0], item[1]))
        if len(pending) >= batch_size:
            flush()
    flush()
    summary.rejected.sort(key=lambda rejection: rejection.line)
    summary.seconds = time.perf_counter() - started
    return summary
