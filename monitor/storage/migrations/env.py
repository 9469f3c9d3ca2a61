"""Alembic environment: runs on the engine wom hands over (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from monitor.storage import models  # noqa: F401  (registers the tables)

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
