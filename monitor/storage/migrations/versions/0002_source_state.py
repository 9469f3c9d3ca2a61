"""source state: per-source back-off and last find

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.storage.models

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sourcestate',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('backoff_until', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('backoff_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_run_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('last_success_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('last_found_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('found_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )


def downgrade() -> None:
    op.drop_table('sourcestate')
