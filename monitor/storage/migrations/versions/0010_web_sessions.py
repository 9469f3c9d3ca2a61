"""web sessions: one row per signed-in browser, keyed by the SHA-256 digest of its cookie's token

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.storage.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "websession",
        sa.Column("id_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", monitor.storage.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", monitor.storage.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", monitor.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_websession_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_websession_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_websession_expires_at"))
        batch_op.drop_index(batch_op.f("ix_websession_user_id"))
    op.drop_table("websession")
