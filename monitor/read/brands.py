"""Brands as GET /api/v1/brands shows them: competitors and mention counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Row
from sqlmodel import Session, col, select

from monitor.storage.models import Brand, BrandVolume
from monitor.storage.tables import table_of

__all__ = ["BrandOut", "brand_id_named", "brand_rows", "competitor_ids", "list_brands"]


class BrandOut(BaseModel):
    id: int
    name: str
    competitor_of: str | None
    competitors: list[str]
    active: bool
    timezone: str
    mentions: int


def list_brands(session: Session) -> list[BrandOut]:
    """Every brand, by name, with its competitors and the number of word-of-mouth mentions matched to it
    (its own and staff accounts' posts left out: monitor.storage.sentiment_hours)."""
    brands = session.exec(select(Brand).order_by(col(Brand.name))).all()
    counts = dict(session.exec(select(BrandVolume.brand_id, BrandVolume.mentions)).all())
    names = {b.id: b.name for b in brands}
    competitors: dict[int | None, list[str]] = {}
    for brand in brands:
        if brand.competitor_of_id is not None:
            competitors.setdefault(brand.competitor_of_id, []).append(brand.name)
    return [
        BrandOut(
            id=brand.id or 0,
            name=brand.name,
            competitor_of=names.get(brand.competitor_of_id),
            competitors=competitors.get(brand.id, []),
            active=brand.active,
            timezone=brand.timezone,
            mentions=counts.get(brand.id or 0, 0),
        )
        for brand in brands
    ]


def brand_id_named(session: Session, name: str) -> int | None:
    """The id of the brand called exactly `name`; None when there is none."""
    return session.exec(select(Brand.id).where(col(Brand.name) == name)).first()


def brand_rows(session: Session) -> Sequence[Row[Any]]:
    """Every brand as a plain row (every column), by name."""
    # plain rows, not Brand objects: the API looks a brand up on most requests
    table = table_of(Brand)
    return session.connection().execute(sa.select(table).order_by(table.c.name)).all()


def competitor_ids(session: Session, brand_id: int) -> list[int]:
    """The ids of the brands that compete with `brand_id`."""
    found = session.exec(select(Brand.id).where(col(Brand.competitor_of_id) == brand_id)).all()
    return [c for c in found if c is not None]
