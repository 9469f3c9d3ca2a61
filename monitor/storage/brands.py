"""Brands live in the config; this keeps the brand table in step with it."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from monitor.config import BrandBase, Settings
from monitor.storage.db import session_scope
from monitor.storage.models import Brand

__all__ = ["sync_brands"]


def _apply(row: Brand, brand: BrandBase, *, timezone: str, competitor_of_id: int | None) -> None:
    row.keywords = list(brand.keywords)
    row.exclusions = list(brand.exclusions)
    row.hashtags = list(brand.hashtags)
    row.handles = {k: list(v) for k, v in brand.handles.items()}
    row.timezone = timezone
    row.competitor_of_id = competitor_of_id
    row.active = True


def sync_brands(engine: Engine, settings: Settings) -> dict[str, int]:
    """Insert or update every configured brand and competitor; brands no longer configured become inactive.

    Returns brand name -> id.
    """
    with session_scope(engine) as session:
        existing = {row.name: row for row in session.exec(select(Brand)).all()}
        configured: set[str] = set()
        for brand in settings.brands:
            row = existing.get(brand.name) or Brand(name=brand.name)
            _apply(row, brand, timezone=brand.timezone, competitor_of_id=None)
            session.add(row)
            session.flush()
            configured.add(brand.name)
            existing[brand.name] = row
            for competitor in brand.competitors:
                comp = existing.get(competitor.name) or Brand(name=competitor.name)
                _apply(comp, competitor, timezone=brand.timezone, competitor_of_id=row.id)
                session.add(comp)
                configured.add(competitor.name)
                existing[competitor.name] = comp
        for name, row in existing.items():
            if name not in configured:
                row.active = False
                session.add(row)
        session.flush()
        return {name: row.id for name, row in existing.items() if row.id is not None and name in configured}
