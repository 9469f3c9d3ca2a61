"""the inbox: items (one per conversation a brand should answer), their mentions, their event log, and
authors suppressed as spam or bots

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.storage.models

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inboxitem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('thread_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('first_mention_id', sa.Integer(), nullable=False),
    sa.Column('last_mention_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('intent', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('dismiss_reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('assignee_user_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Float(), nullable=False),
    sa.Column('opened_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.Column('last_mention_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.Column('due_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.Column('first_response_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('answered_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', monitor.storage.models.UTCDateTime(), nullable=True),
    sa.Column('updated_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.ForeignKeyConstraint(['first_mention_id'], ['mention.id'], ),
    sa.ForeignKeyConstraint(['last_mention_id'], ['mention.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inboxitem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inboxitem_assignee_user_id'), ['assignee_user_id'], unique=False)
        batch_op.create_index('ix_inboxitem_author', ['brand_id', 'author_key', 'last_mention_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inboxitem_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inboxitem_brand_id'), ['brand_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inboxitem_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index('ix_inboxitem_queue', ['brand_id', 'status', 'priority', 'id'], unique=False)

    op.create_table('authorsuppression',
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('suppressed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('suppressed_at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['inboxitem.id'], ),
    sa.PrimaryKeyConstraint('author_id')
    )
    op.create_table('inboxevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('at', monitor.storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['inboxitem.id'], ),
    sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inboxevent_item_id'), ['item_id'], unique=False)

    op.create_table('inboxitemmention',
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('thread_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['brand.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['inboxitem.id'], ),
    sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], ),
    sa.PrimaryKeyConstraint('brand_id', 'mention_id')
    )
    with op.batch_alter_table('inboxitemmention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inboxitemmention_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inboxitemmention_thread_key'), ['thread_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inboxitemmention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboxitemmention_thread_key'))
        batch_op.drop_index(batch_op.f('ix_inboxitemmention_item_id'))

    op.drop_table('inboxitemmention')
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboxevent_item_id'))

    op.drop_table('inboxevent')
    op.drop_table('authorsuppression')
    with op.batch_alter_table('inboxitem', schema=None) as batch_op:
        batch_op.drop_index('ix_inboxitem_queue')
        batch_op.drop_index(batch_op.f('ix_inboxitem_opened_at'))
        batch_op.drop_index(batch_op.f('ix_inboxitem_brand_id'))
        batch_op.drop_index(batch_op.f('ix_inboxitem_author_id'))
        batch_op.drop_index('ix_inboxitem_author')
        batch_op.drop_index(batch_op.f('ix_inboxitem_assignee_user_id'))

    op.drop_table('inboxitem')
