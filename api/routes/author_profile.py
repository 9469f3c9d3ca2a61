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
from monitor.authors.overview import author_overview
from monitor.config import Settings
from monitor.errors import AuthorError, UnknownAuthorError
from monitor.read.mentions import MentionFilter, MentionPage, list_mentions
from monitor.scoring.profile import decay_to
from monitor.storage.models import Author, AuthorIdentity, Mention, MentionBrand

__all__ = [
    "AuthorProfileOut",
    "BrandProfileOut",
    "ForgetOut",
    "IdentityOut",
    "MergeIn",
    "MergeOut",
    "SegmentChangeOut",
    "SplitIn",
    "SplitOut",
    "router",
]

router = APIRouter(tags=["authors"])
_LINK = MentionBrand.__table__  # type: ignore[attr-defined]
_MENTION = Mention.__table__  # type: ignore[attr-defined]
_IDENTITY = AuthorIdentity.__table__  # type: ignore[attr-defined]

AuthorIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The author id.")]
EntityId = Annotated[int, Field(ge=1, le=MAX_ID)]
# what the request asked that cannot be done: 404 for an unknown author, 409 for a clash with the
# author's current state, 422 for a request that is wrong in itself
_STATUS = {"unknown_author": 404, "split_all_identities": 409}
_AUTHOR_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown author; the message names the id"},
}


class IdentityOut(BaseModel):
    id: int
    source: str
    identity_key: str
    platform_id: str | None
    handle: str
    name: str
    reach: int | None
    reach_kind: str
    updated_at: datetime | None


class BrandProfileOut(BaseModel):
    """The author's figures for one brand. Scores are decayed to now, as the rankings show them;
    `score_terms` hold as of `last_mention_at`."""

    brand: str
    segment: str
    ambassador_score: float
    detractor_score: float
    score_terms: dict[str, Any]
    mentions: int
    positive: int
    neutral: int
    negative: int
    complaints: int
    questions: int
    reach: int
    engagement: int
    first_mention_at: datetime | None
    last_mention_at: datetime | None
    average_rating: float | None
    evidence: list[int]


class SegmentChangeOut(BaseModel):
    brand: str
    from_segment: str
    to_segment: str
    changed_at: datetime
    mention_id: int | None


class AuthorProfileOut(BaseModel):
    id: int
    display_name: str
    created_at: datetime | None
    identities: list[IdentityOut]
    brands: list[BrandProfileOut]
    segment_history: list[SegmentChangeOut] = Field(description="Oldest first.")
    mentions: MentionPage = Field(description="The author's mentions, newest first; page on with `cursor`.")


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
    if session.get(Author, author_id) is None:
        error = UnknownAuthorError(author_id)
        raise ApiError(404, code=error.code, message=str(error))
    if not principal.scoped:
        return
    brand_ids = session.execute(
        sa.select(_LINK.c.brand_id)
        .join(_MENTION, _MENTION.c.id == _LINK.c.mention_id)
        .join(_IDENTITY, _IDENTITY.c.id == _MENTION.c.author_identity_id)
        .where(_IDENTITY.c.author_id == author_id)
        .distinct()
    ).scalars()
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
        overview = author_overview(session.connection(), author_id)
    half_life = settings.scoring.half_life_days
    brands = [
        BrandProfileOut(
            **{
                key: getattr(profile, key)
                for key in BrandProfileOut.model_fields
                if key not in ("ambassador_score", "detractor_score")
            },
            ambassador_score=decay_to(
                profile.ambassador_score,
                last_mention_at=profile.last_mention_at,
                now=now,
                half_life_days=half_life,
            ),
            detractor_score=decay_to(
                profile.detractor_score,
                last_mention_at=profile.last_mention_at,
                now=now,
                half_life_days=half_life,
            ),
        )
        for profile in overview.brands
        if principal.may_see(profile.brand_id)
    ]
    return AuthorProfileOut(
        id=overview.id,
        display_name=overview.display_name,
        created_at=overview.created_at,
        identities=[IdentityOut.model_validate(i, from_attributes=True) for i in overview.identities],
        brands=brands,
        segment_history=[
            SegmentChangeOut.model_validate(c, from_attributes=True)
            for c in overview.segment_history
            if principal.may_see(c.brand_id)
        ],
        mentions=list_mentions(
            session,
            MentionFilter(author_id=author_id, brand_ids=principal.brand_ids if principal.scoped else None),
            limit=limit,
            cursor=cursor,
            shown=brands_shown(principal),
        ),
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
