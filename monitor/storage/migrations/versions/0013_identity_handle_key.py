"""identity handle key: authoridentity.handle_key, the form handles are compared in for merge suggestions
(monitor.storage.handles.handle_key), indexed, so that an author's page finds the identities sharing its
handles with an index lookup instead of reading every identity; filled in for the existing rows

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000


def _handle_key(handle: str) -> str:
    # monitor.storage.handles.handle_key as of this revision
    key = handle.strip().casefold().lstrip("@")
    for prefix in ("/u/", "u/"):
        key = key.removeprefix(prefix)
    key = key.split("@", 1)[0]
    return key.removesuffix(".bsky.social")


def upgrade() -> None:
    # NOT NULL with a server default for the rows already there; the model's column default fills it in on
    # every insert from now on
    with op.batch_alter_table("authoridentity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "handle_key",
                sqlmodel.sql.sqltypes.AutoString(length=300),
                nullable=False,
                server_default="",
            )
        )
    conn = op.get_bind()
    identity = sa.table("authoridentity", sa.column("id", sa.Integer()), sa.column("handle", sa.String()))
    update = sa.text("UPDATE authoridentity SET handle_key = :key WHERE id = :id")
    last = 0
    while True:
        rows = conn.execute(
            sa.select(identity.c.id, identity.c.handle)
            .where(identity.c.id > last)
            .order_by(identity.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(update, [{"key": _handle_key(handle), "id": row_id} for row_id, handle in rows])
        last = rows[-1][0]
    with op.batch_alter_table("authoridentity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authoridentity_handle_key"), ["handle_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("authoridentity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authoridentity_handle_key"))
        batch_op.drop_column("handle_key")
