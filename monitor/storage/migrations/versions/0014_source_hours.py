"""source hours: a brand's word-of-mouth mentions per UTC hour, source and sentiment (`sourcehour`, kept
with `sentimenthour`), filled from the brand links' copies; and indexes for the overview's period
figures: a brand's inbox items by the time they opened (covering a period's response times), its segment
changes by new segment and time, its alerts by kind and time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import monitor.storage.models

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SENTIMENTS = ("positive", "neutral", "negative")


def upgrade() -> None:
    op.create_table(
        "sourcehour",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("hour", monitor.storage.models.UTCDateTime(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("unclassified", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brand.id"]),
        sa.PrimaryKeyConstraint("brand_id", "hour", "source"),
    )
    with op.batch_alter_table("inboxitem", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inboxitem_opened",
            ["brand_id", "opened_at", "status", "due_at", "first_response_at"],
            unique=False,
        )
    with op.batch_alter_table("segmentchange", schema=None) as batch_op:
        batch_op.create_index(
            "ix_segmentchange_brand_to", ["brand_id", "to_segment", "changed_at"], unique=False
        )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_brand_kind_created", ["brand_id", "kind", "created_at"], unique=False)
    # filled from the links as monitor.storage.sentiment_hours counts them at this revision
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        hour = "date_trunc('hour', created_at)"
    else:
        hour = "strftime('%Y-%m-%d %H:00:00.000000', created_at)"
    per_sentiment = ", ".join(
        f"SUM(CASE WHEN sentiment = '{name}' THEN 1 ELSE 0 END)" for name in _SENTIMENTS
    )
    unclassified = "SUM(CASE WHEN sentiment IN ('positive', 'neutral', 'negative') THEN 0 ELSE 1 END)"
    conn.exec_driver_sql(
        "INSERT INTO sourcehour (brand_id, hour, source, positive, neutral, negative, unclassified) "
        f"SELECT brand_id, hour, source, {per_sentiment}, {unclassified} FROM ("
        f"SELECT brand_id, {hour} AS hour, COALESCE(source, '') AS source, sentiment FROM mentionbrand "
        "WHERE own = false AND created_at IS NOT NULL) AS links GROUP BY brand_id, hour, source"
    )


def downgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_brand_kind_created")
    with op.batch_alter_table("segmentchange", schema=None) as batch_op:
        batch_op.drop_index("ix_segmentchange_brand_to")
    with op.batch_alter_table("inboxitem", schema=None) as batch_op:
        batch_op.drop_index("ix_inboxitem_opened")
    op.drop_table("sourcehour")
