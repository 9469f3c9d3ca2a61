"""own posts: mentionbrand.own (the brand's own or a staff account posted it: a response, not word of
mouth), sentimenthour.own (those posts per brand and hour, in no other column) and brand.staff_handles
([scoring] staff_handles as of the last sync); the brand links, hours and volumes are rebuilt from the
stored mentions, so they count word of mouth only

The staff handles are not known here: the rebuild decides `own` from the brands' handles, and the next
sync of the brands with the config (every wom command and the collectors run it,
monitor.storage.brands.sync_brands) stores the staff handles and recomputes the links they make own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:00:00
"""

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from monitor.storage.models import UTCDateTime
from monitor.storage.sentiment_hours import floor_hour, rebuild_sentiment_hours

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("brand", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_handles", sa.JSON(), nullable=True))
    with op.batch_alter_table("mentionbrand", schema=None) as batch_op:
        batch_op.add_column(sa.Column("own", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("sentimenthour", schema=None) as batch_op:
        batch_op.add_column(sa.Column("own", sa.Integer(), nullable=False, server_default="0"))
    rebuild_sentiment_hours(op.get_bind(), source_hours=False)  # sourcehour comes with 0014


def downgrade() -> None:
    # before 0011 the hours and volumes counted own posts like any other: add them back, by the
    # sentiment their links carry (every hour with an own post has its row, own > 0)
    hour = sa.table(
        "sentimenthour",
        sa.column("brand_id"),
        sa.column("hour", UTCDateTime()),
        *(sa.column(name) for name in ("positive", "neutral", "negative", "unclassified")),
    )
    volume = sa.table("brandvolume", sa.column("brand_id"), sa.column("mentions"))
    link = sa.table(
        "mentionbrand",
        sa.column("brand_id"),
        sa.column("created_at", UTCDateTime()),
        sa.column("sentiment"),
        sa.column("own", sa.Boolean()),
    )
    conn = op.get_bind()
    per_cell: Counter[tuple[int, datetime, str]] = Counter()
    for brand_id, created_at, sentiment in conn.execute(
        sa.select(link.c.brand_id, link.c.created_at, link.c.sentiment).where(link.c.own.is_(True))
    ):
        per_cell[(brand_id, floor_hour(created_at), sentiment or "unclassified")] += 1
    per_brand: Counter[int] = Counter()
    for (brand_id, start, column), count in per_cell.items():
        conn.execute(
            sa.update(hour)
            .where(hour.c.brand_id == brand_id, hour.c.hour == start)
            .values({column: hour.c[column] + count})
        )
        per_brand[brand_id] += count
    for brand_id, count in per_brand.items():
        moved = conn.execute(
            sa.update(volume).where(volume.c.brand_id == brand_id).values(mentions=volume.c.mentions + count)
        )
        if moved.rowcount == 0:
            conn.execute(sa.insert(volume).values(brand_id=brand_id, mentions=count))
    with op.batch_alter_table("sentimenthour", schema=None) as batch_op:
        batch_op.drop_column("own")
    with op.batch_alter_table("mentionbrand", schema=None) as batch_op:
        batch_op.drop_column("own")
    # not batch: copying brand (as batch mode does on SQLite) fails the foreign keys that point at it;
    # SQLite 3.35+ and PostgreSQL drop a plain column in place
    op.execute(sa.text("ALTER TABLE brand DROP COLUMN staff_handles"))
