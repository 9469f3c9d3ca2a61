"""`json_array_agg`: an aggregate that collects a column into a JSON array, on PostgreSQL and SQLite alike.

Used where one query should bring back a short list per row (a mention's brand names) instead of a second
query for them: PostgreSQL spells it `json_agg`, SQLite `json_group_array`. Both leave the order of the
items open, so callers sort them; PostgreSQL gives NULL for no rows, SQLite `[]`, so callers read None as
an empty list.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["json_array_agg"]


class json_array_agg(FunctionElement[Any]):
    """`json_array_agg(column)`: the column's values of the group as a JSON array (a Python list when read)."""

    type = sa.JSON()
    inherit_cache = True
    name = "json_array_agg"


@compiles(json_array_agg, "postgresql")
def _postgresql(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


@compiles(json_array_agg)
def _default(element: json_array_agg, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"
