"""sentiment hours and brand volumes: mention counts per brand, UTC hour and sentiment, and per brand,
filled from the stored mentions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models
from monitor.storage.sentiment_hours import rebuild_sentiment_hours

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sentimenthour',
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('hour', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.Column('positive', sa.Integer(), nullable=False),
    sa.Column('neutral', sa.Integer(), nullable=False),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.Column('unclassified', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.PrimaryKeyConstraint('brand_id', 'hour')
    )
    op.create_table('brandvolume',
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.PrimaryKeyConstraint('brand_id')
    )
    rebuild_sentiment_hours(op.get_bind())


def downgrade() -> None:
    op.drop_table('brandvolume')
    op.drop_table('sentimenthour')
