"""Taking mentions in: items sent to POST /api/v1/mentions and files given to `wom import` pass the same
record rule (`parse_mention`) and the same brand rule (a named brand must be an active brand, by `fold`).

`ingest_items` stores a request's good items in one transaction and reports every item in order;
`import_file_recorded` runs a file import as a recorded job run (`wom import`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from monitor.errors import ForbiddenBrandError, ImportFileError, RecordError
from monitor.importer import ImportSummary, import_file
from monitor.matching import fold
from monitor.records import MentionRecord, parse_mention
from monitor.service.scope import BrandScope
from monitor.storage.brands import active_brand_ids
from monitor.storage.db import read_only
from monitor.storage.mentions import store_mentions, stored_ids
from monitor.storage.runs import finish_run, heartbeat, start_run

__all__ = [
    "IngestItem",
    "IngestReport",
    "KnownBrands",
    "import_file_recorded",
    "ingest_items",
    "load_known_brands",
]

Status = Literal["created", "duplicate", "forgotten", "rejected"]
_REJECTIONS_KEPT = 500  # in the job run's detail; `wom status` shows them


class IngestItem(BaseModel):
    """One item of the body, in order: `id` of the stored mention (created or duplicate), or why not."""

    index: int
    status: Status
    id: int | None = None
    source: str | None = None
    external_id: str | None = None
    reason: str | None = None


class IngestReport(BaseModel):
    created: int
    duplicate: int
    forgotten: int
    rejected: int
    items: list[IngestItem]


@dataclass(frozen=True, slots=True)
class KnownBrands:
    """The active brands and competitors, by folded name."""

    ids: dict[str, int]

    def id_of(self, name: str) -> int | None:
        return self.ids.get(fold(name).strip())

    def knows(self, name: str) -> bool:
        return self.id_of(name) is not None

    def problem(self, record: MentionRecord) -> str | None:
        """Why the record cannot be taken for its brand, or None."""
        if record.brand is None or self.knows(record.brand):
            return None
        return f"'brand' {record.brand!r} is not configured; add it to [[brands]] or drop the field"


def load_known_brands(engine: Engine) -> KnownBrands:
    with read_only(engine).connect() as conn:
        return KnownBrands(active_brand_ids(conn))


def _parse(data: Any, *, brands: KnownBrands, scope: BrandScope | None) -> MentionRecord | str:
    """The record, or why the item is rejected. A scoped caller's record carries its brand: an item without
    a brand gets it, and the match stage links the mention only to that brand and its competitors
    (`scope_brand_id`), whatever its text names, so it never raises another brand's alerts."""
    try:
        record = parse_mention(data)
    except RecordError as e:
        return str(e)
    problem = brands.problem(record)
    if problem is not None:
        return problem
    if scope is None:
        return record
    return replace(record, brand=record.brand or scope.brand, scope_brand_id=scope.brand_id)


def _forbid_other_brands(records: Sequence[MentionRecord], *, brands: KnownBrands, scope: BrandScope) -> None:
    for record in records:
        brand_id = brands.id_of(record.brand or "")
        if brand_id is not None and not scope.may_see(brand_id):
            raise ForbiddenBrandError(
                f"this API key is limited to brand {scope.brand!r} and its competitors, and an "
                f"item names {record.brand!r}; nothing was stored. Use a key made for that brand or "
                "without --brand"
            )


def ingest_items(engine: Engine, items: Sequence[Any], *, scope: BrandScope | None) -> IngestReport:
    """Check every item, store the good ones in one transaction, and report each item in order.

    Raises ForbiddenBrandError, storing nothing, when an item names a brand outside `scope`: that is the
    caller's limit, not a bad item."""
    brands = load_known_brands(engine)
    parsed = [_parse(item, brands=brands, scope=scope) for item in items]
    records = [p for p in parsed if isinstance(p, MentionRecord)]
    if scope is not None:
        _forbid_other_brands(records, brands=brands, scope=scope)
    created_keys: frozenset[tuple[str, str]] = frozenset()
    if records:
        # not checked_new: the lookup inside the transaction makes `new_keys` exact
        created_keys = store_mentions(engine, records).new_keys or frozenset()
    with read_only(engine).connect() as conn:
        ids = stored_ids(conn, [(r.source, r.external_id) for r in records])
    report: list[IngestItem] = []
    seen: set[tuple[str, str]] = set()
    for index, outcome in enumerate(parsed):
        if isinstance(outcome, str):
            report.append(IngestItem(index=index, status="rejected", reason=outcome))
            continue
        key = (outcome.source, outcome.external_id)
        status: Status
        if key not in ids:
            status = "forgotten"
        elif key in created_keys and key not in seen:
            status = "created"
        else:
            status = "duplicate"
        seen.add(key)
        report.append(
            IngestItem(index=index, status=status, id=ids.get(key), source=key[0], external_id=key[1])
        )

    def count(status: Status) -> int:
        return sum(1 for item in report if item.status == status)

    return IngestReport(
        created=count("created"),
        duplicate=count("duplicate"),
        forgotten=count("forgotten"),
        rejected=count("rejected"),
        items=report,
    )


def import_file_recorded(
    engine: Engine, path: Path, *, batch_size: int, on_progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Import `path` as a job run of kind "import" (its figures and first rejections recorded; a failure
    recorded with its error masked), with a heartbeat at every batch."""
    if not path.is_file():
        raise ImportFileError(f"{path} is not a file; give the path of a .jsonl or .csv file")
    brands = load_known_brands(engine)
    run_id = start_run(engine, kind="import", name=path.name)

    def progress(size: int) -> None:
        if on_progress is not None:
            on_progress(size)
        heartbeat(engine, run_id)

    try:
        summary = import_file(
            engine, path, known_brands=brands.knows, batch_size=batch_size, on_progress=progress
        )
    except Exception as e:
        finish_run(engine, run_id, status="failed", error=e)
        raise
    finish_run(
        engine,
        run_id,
        status="succeeded",
        read=summary.read,
        new=summary.new,
        duplicate=summary.duplicate,
        failed=len(summary.rejected),
        detail={
            "forgotten": summary.forgotten,
            "rejected": [{"line": r.line, "reason": r.reason} for r in summary.rejected[:_REJECTIONS_KEPT]],
        },
    )
    return summary
