"""A brand row for collector tests (cursors belong to a brand)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.collectors.base import BrandQuery
from monitor.storage.models import Brand
from monitor.storage.tables import table_of

_BRAND = table_of(Brand)


def brand_query(engine: Engine, name: str = "Acme") -> BrandQuery:
    """Stores brand `name` and returns a query for it keyed by its lower-cased name."""
    with engine.begin() as conn:
        brand_id = conn.execute(sa.insert(_BRAND).values(name=name).returning(_BRAND.c.id)).scalar_one()
    return BrandQuery(brand_id=int(brand_id), brand=name, query_key=name.lower())
