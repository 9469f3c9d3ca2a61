"""the outbox: notificationdelivery carries every channel and kind (alert, reminder, digest, test) with a
stable dedupe key, the user it is for and a payload; alertnotice records what routing did with each alert

Existing rows are alert e-mails: they keep their ids and Message-IDs and get the dedupe key
`alert:<alert id>:email:<recipient>`. Existing alerts are noted as recorded, so the upgrade pushes none
of them to users again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notificationdelivery", schema=None) as batch_op:
        batch_op.drop_constraint("uq_delivery", type_="unique")
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="alert", nullable=False))
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("created_at", monitor.storage.models.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_notificationdelivery_dedupe_key"), ["dedupe_key"])
        batch_op.create_foreign_key(
            batch_op.f("fk_notificationdelivery_user_id_user"), "user", ["user_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_notificationdelivery_user_id"), ["user_id"], unique=False)
        batch_op.create_index("ix_notificationdelivery_due", ["status", "next_attempt_at"], unique=False)
    delivery = sa.table(
        "notificationdelivery",
        sa.column("alert_id", sa.Integer()),
        sa.column("channel", sa.String()),
        sa.column("recipient", sa.String()),
        sa.column("dedupe_key", sa.String()),
    )
    key = (
        sa.literal("alert:")
        + sa.cast(delivery.c.alert_id, sa.String())
        + sa.literal(":")
        + delivery.c.channel
    )
    op.execute(delivery.update().values(dedupe_key=key + sa.literal(":") + delivery.c.recipient))

    op.create_table(
        "alertnotice",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pushed_severity", sa.String(length=16), nullable=False),
        sa.Column("inhibited_by", sa.Integer(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("routed_at", monitor.storage.models.UTCDateTime(), nullable=False),
        sa.Column("last_pushed_at", monitor.storage.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
        ),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    # alerts from before the upgrade were already e-mailed to [alerts] email_to: routing leaves them be
    op.execute(
        "INSERT INTO alertnotice (alert_id, state, pushed_severity, reminders, routed_at) "
        "SELECT id, 'recorded', '', 0, COALESCE(created_at, event_at) FROM alert"
    )


def downgrade() -> None:
    op.drop_table("alertnotice")
    op.execute(
        "DELETE FROM notificationdelivery WHERE alert_id IS NULL OR kind <> 'alert' OR channel <> 'email'"
    )
    with op.batch_alter_table("notificationdelivery", schema=None) as batch_op:
        batch_op.drop_index("ix_notificationdelivery_due")
        batch_op.drop_index(batch_op.f("ix_notificationdelivery_user_id"))
        batch_op.drop_constraint(batch_op.f("fk_notificationdelivery_user_id_user"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_notificationdelivery_dedupe_key"), type_="unique")
        batch_op.drop_column("created_at")
        batch_op.drop_column("payload")
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("user_id")
        batch_op.drop_column("kind")
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_delivery", ["alert_id", "channel", "recipient"])
