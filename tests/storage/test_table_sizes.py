"""Table sizes for the Sources page: small tables counted, large ones estimated from the planner's
statistics (PostgreSQL) or the highest rowid (SQLite), never by reading every row."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from monitor.storage.table_sizes import TableSize, table_sizes
from tests.api.conftest import seed


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables
        }


def test_small_tables_are_counted_and_large_ones_estimated(engine: Engine) -> None:
    seed(engine)
    counts = _counts(engine)
    assert counts["mention"] > 1
    tables = SQLModel.metadata.sorted_tables
    with engine.connect() as conn:
        exact = table_sizes(conn, tables, exact_below=10**9)
    assert exact == {name: TableSize(n, estimated=False) for name, n in counts.items()}
    if engine.dialect.name == "postgresql":  # the statistics autovacuum would gather
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    with engine.connect() as conn:
        sizes = table_sizes(conn, tables, exact_below=2)
    assert sizes["mention"] == TableSize(counts["mention"], estimated=True)  # exact on a fresh table
    for name, n in counts.items():
        assert sizes[name].estimated == (n >= 2), name
        assert sizes[name].rows == n, name
