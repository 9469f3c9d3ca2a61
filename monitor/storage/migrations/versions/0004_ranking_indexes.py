"""indexes for the ranked author lists

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 02:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('authorbrandstats', schema=None) as batch_op:
        batch_op.create_index('ix_authorbrandstats_brand_ambassador', ['brand_id', 'ambassador_score', 'author_id'], unique=False)
        batch_op.create_index('ix_authorbrandstats_brand_detractor', ['brand_id', 'detractor_score', 'author_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('authorbrandstats', schema=None) as batch_op:
        batch_op.drop_index('ix_authorbrandstats_brand_detractor')
        batch_op.drop_index('ix_authorbrandstats_brand_ambassador')
