"""sentiment hours, brand volumes and brand-list copies on the brand links: mention counts per brand,
UTC hour and sentiment, and per brand; each link's mention time, source, sentiment and intent (filled
from the stored mentions by 0011)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models

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
    with op.batch_alter_table('mentionbrand', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', monitor.storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('sentiment', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('intent', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_mentionbrand_feed', ['brand_id', 'created_at', 'mention_id'], unique=False)
        batch_op.create_index('ix_mentionbrand_sentiment_feed', ['brand_id', 'sentiment', 'created_at', 'mention_id'], unique=False)
        batch_op.create_index('ix_mentionbrand_intent_feed', ['brand_id', 'intent', 'created_at', 'mention_id'], unique=False)
    with op.batch_alter_table('authorbrandstats', schema=None) as batch_op:
        batch_op.create_index('ix_authorbrandstats_segment_ambassador', ['brand_id', 'segment', 'ambassador_score', 'author_id'], unique=False)
        batch_op.create_index('ix_authorbrandstats_segment_detractor', ['brand_id', 'segment', 'detractor_score', 'author_id'], unique=False)
    # filled by 0011, which rebuilds them: the rebuild is today's code and reads columns added after this


def downgrade() -> None:
    with op.batch_alter_table('mentionbrand', schema=None) as batch_op:
        batch_op.drop_index('ix_mentionbrand_intent_feed')
        batch_op.drop_index('ix_mentionbrand_sentiment_feed')
        batch_op.drop_index('ix_mentionbrand_feed')
        batch_op.drop_column('intent')
        batch_op.drop_column('sentiment')
        batch_op.drop_column('source')
        batch_op.drop_column('created_at')
    with op.batch_alter_table('authorbrandstats', schema=None) as batch_op:
        batch_op.drop_index('ix_authorbrandstats_segment_detractor')
        batch_op.drop_index('ix_authorbrandstats_segment_ambassador')
    op.drop_table('brandvolume')
    op.drop_table('sentimenthour')
