"""Which brands a caller may see: a brand-scoped API key's brand and that brand's competitors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["BrandScope"]


@dataclass(frozen=True, slots=True)
class BrandScope:
    brand_id: int
    brand: str
    brand_ids: frozenset[int]  # the brand and its competitors

    def may_see(self, brand_id: int | None) -> bool:
        return brand_id in self.brand_ids

    def may_see_any(self, brand_ids: Iterable[int]) -> bool:
        return not self.brand_ids.isdisjoint(brand_ids)
