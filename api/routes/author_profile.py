"""One author: GET its profile and timeline; merge, split, forget (DELETE) and export it.

`GET /authors/{id}` is for every key; merge and split need a manager key, forget and export an admin key
without a brand scope (they cover the person across every brand). A brand-scoped key reaches only authors
who wrote about its brands, and sees only those brands' figures and mentions. The writes run in one
transaction each and recompute the authors' profiles (see monitor.authors).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from api.deps import (
    MAX_ID,
    ApiError,
    CurrentKey,
    PageCursor,
    Principal,
    every_brand,
    get_now,
    get_session,
    get_settings,
    page_cursor,
    page_limit,
    require_role,
)
from api.routes.mentions import brands_shown
from api.writes import get_write_engine
from monitor.authors.export import author_export, export_json
from monitor.authors.forget import forget_author
from monitor.authors.merge import merge_authors, split_author
from monitor.config import Settings
from monitor.errors import AuthorError, UnknownAuthorError
from monitor.read.authors import AuthorProfileOut, author_brand_ids, author_exists, author_profile

__all__ = [
    "ForgetOut",
    "MergeIn",
    "MergeOut",
    "SplitIn",
    "SplitOut",
    "router",
]

router = APIRouter(tags=["authors"])

AuthorIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The author id.")]
EntityId = Annotated[int, Field(ge=1, le=MAX_ID)]
# what the request asked that cannot be done: 404 for an unknown author, 409 for a clash with the
# author's current state, 422 for a request that is wrong in itself
_STATUS = {"unknown_author": 404, "split_all_identities": 409}
_AUTHOR_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown author; the message names the id"},
}


class MergeIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    into: EntityId = Field(description="The author that stays.")
    merged: EntityId = Field(alias="from", description="The author whose identities move; it goes.")


class MergeOut(BaseModel):
    author_id: int
    merged_author_id: int
    identities_moved: int
    profiles_recomputed: int


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identity_ids: list[EntityId] = Field(
        min_length=1, max_length=1000, description="Identities of the author to move to a new author."
    )


class SplitOut(BaseModel):
    author_id: int
    new_author_id: int
    identities_moved: int
    profiles_recomputed: int


class ForgetOut(BaseModel):
    """What was erased; only a tombstone per identity remains."""

    author_id: int
    identities: int
    mentions: int
    classifications: int
    labels: int
    brand_links: int
    alerts: int
    deliveries: int
    profiles: int
    segment_changes: int


@contextmanager
def _author_errors() -> Iterator[None]:
    try:
        yield
    except AuthorError as e:
        raise ApiError(_STATUS.get(e.code, 422), code=e.code, message=str(e)) from e
    except sa.exc.IntegrityError as e:
        # PostgreSQL: a collector stored a mention of this author in the same instant
        raise ApiError(
            409, code="conflict", message="the author changed while this request ran; retry it"
        ) from e


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    with _author_errors(), engine.begin() as conn:
        yield conn


def _check_visible(session: Session, author_id: int, principal: Principal) -> None:
    """ApiError 404 for an unknown author; 403 when a brand-scoped key's brands are not among the brands
    the author wrote about."""
    if not author_exists(session, author_id):
        error = UnknownAuthorError(author_id)
        raise ApiError(404, code=error.code, message=str(error))
    if not principal.scoped:
        return
    brand_ids = author_brand_ids(session, author_id)
    if not principal.may_see_any(brand_ids):
        raise ApiError(
            403,
            code="forbidden_brand",
            message=f"author {author_id} did not write about brand {principal.brand!r} or its competitors, "
            "which this API key is limited to; use a key made for their brand or without --brand",
        )


def visible_author(
    author_id: AuthorIdPath, session: Annotated[Session, Depends(get_session)], principal: CurrentKey
) -> int:
    """The path's author id, checked by `_check_visible` before the request body is read."""
    _check_visible(session, author_id, principal)
    return author_id


@router.get(
    "/authors/{author_id}",
    response_model=AuthorProfileOut,
    responses=_AUTHOR_ERRORS,
    summary="An author: identities, per-brand stats and scores, segment history, mentions",
)
def get_author(
    author_id: Annotated[int, Depends(visible_author)],
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
    principal: CurrentKey,
    limit: Annotated[int, Depends(page_limit)],
    cursor: Annotated[PageCursor | None, Depends(page_cursor)],
) -> AuthorProfileOut:
    with _author_errors():
        return author_profile(
            session,
            author_id,
            now=now,
            half_life_days=settings.scoring.half_life_days,
            brand_ids=principal.brand_ids if principal.scoped else None,
            shown=brands_shown(principal),
            limit=limit,
            cursor=cursor,
        )


@router.post(
    "/authors/merge",
    response_model=MergeOut,
    responses=_AUTHOR_ERRORS,
    dependencies=[Depends(require_role("manager"))],
    summary="Merge author `from` into author `into` (one person across platforms)",
)
def merge(
    body: MergeIn,
    session: Annotated[Session, Depends(get_session)],
    principal: CurrentKey,
    engine: Annotated[Engine, Depends(get_write_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> MergeOut:
    if body.into != body.merged:
        for author_id in (body.into, body.merged):
            _check_visible(session, author_id, principal)
    with _write(engine) as conn:
        result = merge_authors(conn, into=body.into, merged=body.merged, settings=settings)
    return MergeOut(
        author_id=result.author_id,
        merged_author_id=result.merged_author_id,
        identities_moved=result.identities_moved,
        profiles_recomputed=result.profiles,
    )


@router.post(
    "/authors/{author_id}/split",
    response_model=SplitOut,
    responses={**_AUTHOR_ERRORS, 409: {"description": "Every identity of the author was named"}},
    dependencies=[Depends(require_role("manager"))],
    summary="Move some identities of an author to a new author",
)
def split(
    author_id: Annotated[int, Depends(visible_author)],
    body: SplitIn,
    engine: Annotated[Engine, Depends(get_write_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> SplitOut:
    with _write(engine) as conn:
        result = split_author(conn, author_id=author_id, identity_ids=body.identity_ids, settings=settings)
    return SplitOut(
        author_id=result.author_id,
        new_author_id=result.new_author_id,
        identities_moved=result.identities_moved,
        profiles_recomputed=result.profiles,
    )


@router.delete(
    "/authors/{author_id}",
    response_model=ForgetOut,
    responses=_AUTHOR_ERRORS,
    dependencies=[Depends(require_role("admin")), Depends(every_brand)],
    summary="Forget an author: erase its identities, mentions and derived data; keep only tombstones",
)
def forget(
    author_id: Annotated[int, Depends(visible_author)],
    engine: Annotated[Engine, Depends(get_write_engine)],
) -> ForgetOut:
    with _write(engine) as conn:
        result = forget_author(conn, author_id)
    erased = result.erased
    return ForgetOut(
        author_id=author_id,
        identities=result.identities,
        mentions=erased.mentions,
        classifications=erased.classifications,
        labels=erased.labels,
        brand_links=erased.brand_links,
        alerts=erased.alerts,
        deliveries=erased.deliveries,
        profiles=result.profiles,
        segment_changes=result.segment_changes,
    )


@router.get(
    "/authors/{author_id}/export",
    responses={
        **_AUTHOR_ERRORS,
        200: {
            "description": "One person's data (the same JSON as `wom authors export`)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
    response_class=Response,
    dependencies=[Depends(require_role("admin")), Depends(every_brand)],
    summary="Export one person's data as JSON (identities, mentions, classifications, labels, stats, alerts)",
)
def export(
    author_id: Annotated[int, Depends(visible_author)],
    session: Annotated[Session, Depends(get_session)],
    now: Annotated[datetime, Depends(get_now)],
) -> Response:
    with _author_errors():
        data = author_export(session.connection(), author_id, now=now)
    return Response(
        content=export_json(data),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="wom-author-{author_id}.json"'},
    )
