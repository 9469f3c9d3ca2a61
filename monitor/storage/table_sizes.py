"""How many rows each table holds, cheaply: an exact count reads every row (at a million mentions, a full
scan per table per page view), so a large table's size is the planner's estimate on PostgreSQL
(pg_class.reltuples, kept by ANALYZE and autovacuum) and its highest rowid on SQLite (an index seek; rows
deleted below it make it a little high). Tables whose estimate is under `exact_below` are counted exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["TableSize", "table_sizes"]


@dataclass(frozen=True, slots=True)
class TableSize:
    rows: int
    estimated: bool  # an estimate (a large table), not a count


def _estimates(conn: Connection, tables: Sequence[sa.Table]) -> dict[str, int]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, c.reltuples FROM pg_class c "
                "WHERE c.relkind = 'r' AND c.relname IN :names AND pg_table_is_visible(c.oid)"
            ).bindparams(sa.bindparam("names", expanding=True)),
            {"names": [t.name for t in tables]},
        ).all()
        # reltuples is -1 (or 0 on older servers) for a table never analyzed: counted exactly
        return {name: max(int(estimate), 0) for name, estimate in rows}
    quote = conn.dialect.identifier_preparer.quote
    # the tables' own names, from the models; max(rowid) is a seek to the end of the table's b-tree
    highest = conn.exec_driver_sql(
        "SELECT " + ", ".join(f"(SELECT max(rowid) FROM {quote(t.name)})" for t in tables)
    ).one()
    return {t.name: int(n or 0) for t, n in zip(tables, highest, strict=True)}


def table_sizes(conn: Connection, tables: Sequence[sa.Table], *, exact_below: int) -> dict[str, TableSize]:
    """The rows of each of `tables`: counted exactly where the estimate is under `exact_below` (two
    queries in all), estimated above it."""
    if not tables:
        return {}
    estimates = _estimates(conn, tables)
    small = [t for t in tables if estimates.get(t.name, 0) < exact_below]
    sizes = {t.name: TableSize(estimates[t.name], estimated=True) for t in tables if t not in small}
    if small:
        counts = conn.execute(
            sa.select(
                *(sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name) for t in small)
            )
        ).one()
        sizes |= {t.name: TableSize(int(n), estimated=False) for t, n in zip(small, counts, strict=True)}
    return {t.name: sizes[t.name] for t in tables}
