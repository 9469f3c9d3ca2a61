"""labels, author tombstones, API keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.storage.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mentionlabel',
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('sentiment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('intent', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('labeled_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('labeled_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], ),
    sa.PrimaryKeyConstraint('mention_id')
    )
    op.create_table('authortombstone',
    sa.Column('identity_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('forgotten_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('identity_digest')
    )
    op.create_table('apikey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('last_used_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest')
    )
    with op.batch_alter_table('apikey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apikey_prefix'), ['prefix'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('apikey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apikey_prefix'))
    op.drop_table('apikey')
    op.drop_table('authortombstone')
    op.drop_table('mentionlabel')
