"""A throwaway PostgreSQL schema per benchmark run, so runs never see each other's rows."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

__all__ = ["create_schema", "drop_schema"]


def create_schema(base: str, prefix: str) -> tuple[str, str]:
    """A new schema on the server at `base`; returns (url whose search_path is that schema, schema name)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()
