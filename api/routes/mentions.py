"""/api/v1/mentions: GET newest first, filtered, cursor-paged, each with its current classification, where a
person's label wins over the model (monitor.storage.labels); PUT and DELETE `/mentions/{id}/label` (manager)
correct a mention and undo the correction; POST (manager) ingests mentions (api/routes/ingest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import (
    MAX_ID,
    ApiError,
    CurrentKey,
    Instant,
    PageCursor,
    Principal,
    QueryText,
    as_utc,
    get_now,
    get_session,
    get_settings,
    optional_brand,
    page_cursor,
    page_limit,
    require_role,
)
from api.responses import json_response
from api.routes import ingest
from api.writes import get_write_engine, written_by
from monitor.classify.base import Intent, Sentiment
from monitor.config import Settings
from monitor.errors import ForbiddenBrandError, UnknownMentionError
from monitor.read.mentions import (
    MentionFilter,
    MentionOut,
    MentionPage,
    list_mentions,
    mention_out,
)
from monitor.service.labels import LabelEffects, label_mention, unlabel_mention
from monitor.storage.models import Brand

__all__ = ["LabelIn", "brands_shown", "router"]

router = APIRouter(tags=["mentions"])


def brands_shown(principal: Principal) -> frozenset[int] | None:
    """The brands whose names a key may see on a mention: a brand-scoped key only its own and their
    competitors', also on a mention a collector matched to other brands too; None for every brand."""
    return principal.brand_ids if principal.scoped else None


@router.get("/mentions", response_model=MentionPage, summary="Mentions, newest first, cursor-paged")
def get_mentions(
    session: Annotated[Session, Depends(get_session)],
    principal: CurrentKey,
    brand: Annotated[Brand | None, Depends(optional_brand)],
    limit: Annotated[int, Depends(page_limit)],
    cursor: Annotated[PageCursor | None, Depends(page_cursor)],
    source: Annotated[QueryText, Query(max_length=40, description="Platform, e.g. reddit.")] = None,
    sentiment: Annotated[Sentiment | None, Query(description="Current classification.")] = None,
    intent: Annotated[Intent | None, Query(description="Current classification.")] = None,
    lang: Annotated[QueryText, Query(max_length=8, description="ISO 639-1 code.")] = None,
    author_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: Annotated[Instant | None, Query(description="ISO 8601, inclusive; no offset means UTC.")] = None,
    until: Annotated[Instant | None, Query(description="ISO 8601, exclusive; no offset means UTC.")] = None,
    q: Annotated[
        QueryText, Query(max_length=200, description="Case-insensitive substring of the text.")
    ] = None,
) -> Response:
    since, until = as_utc(since), as_utc(until)
    if since is not None and until is not None and since >= until:
        raise ApiError(422, code="invalid_range", message="'since' must be earlier than 'until'; swap them")
    filters = MentionFilter(
        brand_id=None if brand is None else brand.id,
        source=source,
        sentiment=sentiment,
        intent=intent,
        lang=lang,
        author_id=author_id,
        since=since,
        until=until,
        q=q,
    )
    page = list_mentions(session, filters, limit=limit, cursor=cursor, shown=brands_shown(principal))
    return json_response(page)


class LabelIn(BaseModel):
    """A person's correction: `sentiment`, `intent` or both (a field left out or null stays the model's)."""

    model_config = ConfigDict(extra="forbid")

    sentiment: Sentiment | None = None
    intent: Intent | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> LabelIn:
        if self.sentiment is None and self.intent is None:
            raise ValueError("give 'sentiment', 'intent' or both; to undo a label, DELETE it")
        return self


MentionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The mention's id.")]
Manager = Annotated[Principal, Depends(require_role("manager"))]


def _labeled(change: Callable[[], LabelEffects | None]) -> LabelEffects | None:
    """Runs a label use case, answering its domain errors as 404 and 403."""
    try:
        return change()
    except UnknownMentionError as e:
        raise ApiError(404, code="unknown_mention", message=str(e)) from e
    except ForbiddenBrandError as e:
        raise ApiError(403, code="forbidden_brand", message=str(e)) from e


def _answer(engine: Engine, mention_id: int, principal: Principal) -> MentionOut:
    with Session(engine) as session:
        out = mention_out(session, mention_id, shown=brands_shown(principal))
    if out is None:  # removed between the write and this read (`wom authors forget`)
        raise ApiError(404, code="unknown_mention", message=str(UnknownMentionError(mention_id)))
    return out


@router.put(
    "/mentions/{mention_id}/label",
    response_model=MentionOut,
    summary="Correct a mention's sentiment or intent (manager); scores and alerts follow",
)
def put_label(
    mention_id: MentionId,
    body: LabelIn,
    principal: Manager,
    engine: Annotated[Engine, Depends(get_write_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> MentionOut:
    """The mention's one current label becomes `body` (replacing any earlier one). It wins over the model
    everywhere; the author's scores of every brand of the mention are recomputed before this answers, and
    alerts follow (see README, How it works). Answers the mention as GET /mentions shows it."""
    _labeled(
        lambda: label_mention(
            engine,
            mention_id=mention_id,
            sentiment=body.sentiment,
            intent=body.intent,
            labeled_by=written_by(principal),
            scope=principal.scope,
            settings=settings,
            now=now,
        ),
    )
    return _answer(engine, mention_id, principal)


@router.delete(
    "/mentions/{mention_id}/label",
    response_model=MentionOut,
    summary="Undo a mention's label (manager): the model decides again",
)
def delete_label(
    mention_id: MentionId,
    principal: Manager,
    engine: Annotated[Engine, Depends(get_write_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> MentionOut:
    effects = _labeled(
        lambda: unlabel_mention(
            engine, mention_id=mention_id, scope=principal.scope, settings=settings, now=now
        ),
    )
    if effects is None:
        raise ApiError(
            404, code="no_label", message=f"mention {mention_id} has no label; there is nothing to undo"
        )
    return _answer(engine, mention_id, principal)


router.include_router(ingest.router)
