"""`wom import`: JSON Lines or CSV files of mentions, bad lines reported and skipped, re-imports add nothing."""

from __future__ import annotations

import csv
import io
import time
from collections import deque
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
            nested = item.setdefault(parent, {})
            if not isinstance(nested, dict):  # found by the I-10 fuzz: TypeError on str assignment
                raise RecordError(f"columns {parent!r:.40} and {column!r:.60} both given; keep one of them")
            nested[child] = value
        elif isinstance(item.get(column), dict):
            raise RecordError(
                f"column {column!r:.40} and nested {column + '.'!r:.40} columns both given; keep one"
            )
        else:
            item[column] = value
    return item


class _RecordTooLongError(Exception):
    """The lines of one CSV record passed MAX_LINE_BYTES characters."""


class _CsvLines:
    """The lines of a CSV file for `csv.reader`, keeping those of the record being read (at most
    MAX_LINE_BYTES characters), so that the lines after an unterminated quote can be read again."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._again: deque[tuple[int, str]] = deque()
        self._count = 0
        self.record: list[tuple[int, str]] = []
        self.ended = False  # the file ended inside the record: a quote that is never closed
        self._size = 0

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, line = self._again.popleft()
        else:
            line = next(self._lines, "")
            if not line:
                self.ended = bool(self.record)
                raise StopIteration
            self._count += 1
            number = self._count
        self.record.append((number, line))
        self._size += len(line)
        if self._size > MAX_LINE_BYTES:
            raise _RecordTooLongError
        return line

    def start_record(self) -> None:
        self.record, self.ended, self._size = [], False, 0

    def read_again(self) -> None:
        """The lines of this record after its first are read again, as records of their own."""
        self._again.extendleft(reversed(self.record[1:]))


_READ_AGAIN = (
    "; this line was skipped and the lines after it were read again as rows of their own. Close the quote, "
    'or write a quote inside a quoted field as two ("")'
)


def _csv_lines(handle: io.BufferedReader) -> Iterator[tuple[int, int, Any]]:
    """Rows by the line they start on. A quoted field may run over several lines; a quote that is not
    closed by the end of the file, within MAX_LINE_BYTES, or before the row would stop fitting the header
    rejects the line it opened on, and the lines after it are read again (so one stray quote costs one
    row, not the rest of the file)."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    csv.field_size_limit(MAX_LINE_BYTES + 1)  # _CsvLines stops a record first
    lines = _CsvLines(text)
    reader = csv.reader(lines)
    header: list[str] | None = None
    position = 0
    while True:
        lines.start_record()
        error: str | None = None
        try:
            values = next(reader, None)
        except _RecordTooLongError:
            values, error = None, "too long"
        except csv.Error as e:
            values, error = None, f"bad CSV: {e}"
        if not lines.record:
            return
        first, last = lines.record[0][0], lines.record[-1][0]
        consumed = handle.tell() - position  # the wrapper reads ahead in chunks: progress is approximate
        position += consumed
        if header is None and values and error is None:
            header = values
            continue
        if len(lines.record) > 1 or lines.ended:
            unterminated = _unterminated(lines, values, error, header=header or [], last=last)
            if unterminated is not None:
                lines.read_again()
                yield first, consumed, RecordError(unterminated + _READ_AGAIN)
                continue
        if error == "too long":
            error = f"line is {len(lines.record[0][1]):,} characters; the limit is {MAX_LINE_BYTES:,}"
        if error is not None or values is None:
            yield first, consumed, RecordError(error or "bad CSV")
        elif values:  # a blank line is no row
            yield first, consumed, _csv_row(values, header or [])


def _unterminated(
    lines: _CsvLines, values: list[str] | None, error: str | None, *, header: list[str], last: int
) -> str | None:
    """Why the record `lines` holds is an unterminated quote, or None when it is a good multi-line row."""
    if lines.ended:
        return "a quote opened on this line is never closed (the file ends inside it)"
    if error == "too long":
        return (
            f"a quote opened on this line runs on for over {MAX_LINE_BYTES:,} characters without being closed"
        )
    if error is not None:
        return f"a quote opened on this line runs on to line {last}, where the CSV breaks ({error})"
    if values is not None and len(values) != len(header):
        return (
            f"a quote opened on this line closes only on line {last}, and the {len(lines.record)} lines read "
            f"as one row do not fit the header ({len(values)} values for {len(header)} columns)"
        )
    return None


def _csv_row(values: list[str], header: list[str]) -> RecordError | tuple[dict[str, Any], bool]:
    if any("\udc80" <= ch <= "\udcff" for value in values for ch in value):
        return RecordError("invalid UTF-8; save the file as UTF-8")
    if len(values) > len(header):
        return RecordError("more values than columns in the header")
    try:
        return _nest(dict(zip(header, values, strict=False))), False
    except RecordError as e:
        return e


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
