"""The typed way from a SQLModel table class to its SQLAlchemy `Table`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

__all__ = ["table_of"]


def table_of(model: type[SQLModel]) -> sa.Table:
    """Return the `Table` behind a SQLModel class declared with `table=True`.

    SQLModel sets `__table__` at class creation but does not declare it, so type checkers
    cannot see it; this is the one place that reads it.

    Raises:
        TypeError: `model` is a plain SQLModel (no `table=True`), which has no table.
    """
    table = getattr(model, "__table__", None)
    if not isinstance(table, sa.Table):
        raise TypeError(
            f"{model.__name__} has no table; declare it with `class {model.__name__}(SQLModel, table=True)`"
        )
    return table
