"""Brands live in the config; this keeps the brand table in step with it, and the brand links' `own`
(monitor.storage.brand_links) and the counts that leave own posts out with the brands' handles."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col, select

from monitor.config import BrandBase, Settings
from monitor.matching import fold
from monitor.storage.brand_links import refresh_own_links
from monitor.storage.db import session_scope
from monitor.storage.models import Brand
from monitor.storage.sentiment_hours import cells_of, refresh_cells
from monitor.storage.tables import table_of

__all__ = ["active_brand_ids", "sync_brands"]

_BRAND = table_of(Brand)


def _apply(
    row: Brand, brand: BrandBase, *, timezone: str, competitor_of_id: int | None, staff_handles: list[str]
) -> bool:
    """Copy `brand` onto `row`; True when the handles whose posts are the brand's own changed."""
    handles = {k: list(v) for k, v in brand.handles.items()}
    own_changed = (row.handles or {}) != handles or (row.staff_handles or []) != staff_handles
    row.keywords = list(brand.keywords)
    row.exclusions = list(brand.exclusions)
    row.hashtags = list(brand.hashtags)
    row.handles = handles
    row.staff_handles = list(staff_handles)
    row.timezone = timezone
    row.competitor_of_id = competitor_of_id
    row.active = True
    return own_changed


def sync_brands(engine: Engine, settings: Settings) -> dict[str, int]:
    """Insert or update every configured brand and competitor; brands no longer configured become inactive.

    A configured name finds its row ignoring case and accents (`fold`, the matcher's equality), so a
    brand renamed from "Acme" to "ACME" keeps its row, its mentions and its history, under the new name.

    When a brand's handles or the staff handles ([scoring] staff_handles) changed, its links' `own` and
    the counts they move are recomputed in the same transaction, so they equal a rebuild.

    Returns brand name (as configured) -> id.
    """
    with session_scope(engine) as session:
        rows = session.exec(select(Brand).order_by(col(Brand.id))).all()
        exact = {row.name: row for row in rows}
        by_key: dict[str, Brand] = {}
        for row in rows:
            # rows whose names fold alike predate this rule: the same name wins, then the active, then the oldest
            key = fold(row.name)
            if key not in by_key or (row.active and not by_key[key].active):
                by_key[key] = row
        ids: dict[str, int] = {}
        kept: set[int] = set()
        own_changed: set[int] = set()
        staff = list(settings.scoring.staff_handles)

        def upsert(brand: BrandBase, *, timezone: str, competitor_of_id: int | None) -> Brand:
            row = exact.get(brand.name) or by_key.get(fold(brand.name)) or Brand(name=brand.name)
            row.name = brand.name
            changed = _apply(
                row, brand, timezone=timezone, competitor_of_id=competitor_of_id, staff_handles=staff
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            if changed:
                own_changed.add(row.id)
            by_key[fold(brand.name)] = row
            ids[brand.name] = row.id
            kept.add(row.id)
            return row

        for brand in settings.brands:
            row = upsert(brand, timezone=brand.timezone, competitor_of_id=None)
            for competitor in brand.competitors:
                upsert(competitor, timezone=brand.timezone, competitor_of_id=row.id)
        for row in rows:
            if row.id not in kept:
                row.active = False
                session.add(row)
        session.flush()
        if own_changed:
            conn = session.connection()
            # last: refresh_cells takes the cell locks (monitor.storage.sentiment_hours)
            refresh_cells(conn, cells_of(conn, refresh_own_links(conn, sorted(own_changed))))
        return ids


def active_brand_ids(conn: Connection) -> dict[str, int]:
    """Folded name (`fold`, the one brand-name equality) -> id of every active brand and competitor."""
    rows = conn.execute(sa.select(_BRAND.c.id, _BRAND.c.name).where(_BRAND.c.active.is_(True)))
    return {fold(name).strip(): brand_id for brand_id, name in rows}
