"""GET /api/v1/brands: the tracked brands (a brand-scoped key: its own and its competitors), which brand
each competitor belongs to, mention counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import CurrentKey, get_session
from api.responses import json_response
from monitor.read.brands import BrandOut, list_brands

__all__ = ["BrandList", "router"]

router = APIRouter(tags=["brands"])


class BrandList(BaseModel):
    items: list[BrandOut]


@router.get("/brands", response_model=BrandList, summary="Brands and competitors with mention counts")
def get_brands(session: Annotated[Session, Depends(get_session)], principal: CurrentKey) -> Response:
    return json_response(BrandList(items=[b for b in list_brands(session) if principal.may_see(b.id)]))
