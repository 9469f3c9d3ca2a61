"""/api/v1/inbox: the work queue. GET lists items (filtered, by priority or age, cursor-paged) and one item
with its thread and events; POST /inbox/{id}/ack|assign|answer|resolve|dismiss|reopen (manager) acts on
one (monitor.service.inbox), recorded as the key's user, else the key. GET /api/v1/stats/response-times:
time to first response per brand and week, the backlog and missed targets.

An unknown item is a 404; an item of a brand outside a brand-scoped key's brands a 403; an action that does
not fit the item's state, or an item changed since the `version` sent, a 409 whose message names the state
(codes `wrong_state`, `version_conflict`); an unknown or inactive assignee a 422.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import (
    MAX_ID,
    ApiError,
    CurrentKey,
    Instant,
    Principal,
    QueryText,
    as_utc,
    get_now,
    get_session,
    get_settings,
    optional_brand,
    page_limit,
    require_role,
)
from api.responses import json_response
from api.writes import get_write_engine, written_by
from monitor.config import Settings
from monitor.errors import (
    ForbiddenBrandError,
    InboxError,
    InboxStateError,
    UnknownAssigneeError,
    UnknownInboxItemError,
)
from monitor.inbox.rules import Action
from monitor.read.inbox import (
    InboxFilter,
    InboxItemDetail,
    InboxPage,
    InboxSort,
    decode_inbox_cursor,
    inbox_item,
    list_inbox,
)
from monitor.read.response_times import ResponseTimes, response_times
from monitor.service.inbox import apply_action
from monitor.storage.models import Brand

__all__ = ["ActionIn", "AssignIn", "DismissIn", "router"]

router = APIRouter(tags=["inbox"])

Status = Literal["open", "acknowledged", "answered", "resolved", "dismissed"]
OpeningIntent = Literal["complaint", "question"]
DismissReason = Literal["not_relevant", "spam", "bot", "handled_elsewhere"]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="The inbox item's id.")]
Manager = Annotated[Principal, Depends(require_role("manager"))]
_DEFAULT_WEEKS = 12
_ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown inbox item"},
    409: {
        "description": "The action does not fit the item's state, or the item changed; the message names the state"
    },
}


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The item's version as last read; a change by someone else since is a 409, not overwritten.",
    )


class AssignIn(ActionIn):
    assignee_user_id: int | None = Field(ge=1, le=MAX_ID, description="The user to assign; null unassigns.")


class DismissIn(ActionIn):
    reason: DismissReason = Field(
        description="spam and bot also stop the author's mentions opening items and counting in scores, "
        "until the item is reopened."
    )


def _visible_item(session: Session, principal: Principal, item_id: int, now: datetime) -> InboxItemDetail:
    found = inbox_item(session, item_id, now=now)
    if found is None:
        raise ApiError(404, code="unknown_inbox_item", message=str(UnknownInboxItemError(item_id)))
    brand_id, item = found
    if not principal.may_see(brand_id):
        raise ApiError(
            403,
            code="forbidden_brand",
            message=f"inbox item {item_id} is about brand {item.brand!r}; this key may see only {principal.brand!r}",
        )
    return item


@router.get("/inbox", response_model=InboxPage, summary="Inbox items, by priority or age, cursor-paged")
def get_inbox(
    session: Annotated[Session, Depends(get_session)],
    now: Annotated[datetime, Depends(get_now)],
    brand: Annotated[Brand | None, Depends(optional_brand)],
    limit: Annotated[int, Depends(page_limit)],
    status: Annotated[Status | None, Query(description="The item's state.")] = None,
    assignee_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Assigned to this user.")] = None,
    unassigned: Annotated[bool, Query(description="Only items assigned to nobody.")] = False,
    intent: Annotated[OpeningIntent | None, Query(description="What opened the item.")] = None,
    min_priority: Annotated[float | None, Query(ge=0, le=100, description="Priority at least this.")] = None,
    overdue: Annotated[
        bool | None, Query(description="true: waiting past the due time without a response; false: not.")
    ] = None,
    sort: Annotated[
        InboxSort, Query(description="priority: highest first; age: opened longest ago first.")
    ] = "priority",
    cursor: Annotated[
        QueryText,
        Query(max_length=200, description="`next_cursor` of the previous page; omit for the first."),
    ] = None,
) -> Response:
    if unassigned and assignee_id is not None:
        raise ApiError(422, code="invalid_filter", message="give 'assignee_id' or 'unassigned', not both")
    try:
        page_from = None if cursor is None else decode_inbox_cursor(cursor, sort=sort)
    except ValueError as e:
        raise ApiError(
            422,
            code="invalid_cursor",
            message="query parameter 'cursor' is not a cursor this API returned for this sort; pass "
            "next_cursor from the previous page unchanged with the same sort, or leave it out to start again",
        ) from e
    filters = InboxFilter(
        brand_id=None if brand is None else brand.id,
        status=status,
        assignee_user_id=assignee_id,
        unassigned=unassigned,
        intent=intent,
        min_priority=min_priority,
        overdue=overdue,
    )
    page = list_inbox(session, filters=filters, sort=sort, now=now, limit=limit, cursor=page_from)
    return json_response(page)


@router.get(
    "/inbox/{item_id}",
    response_model=InboxItemDetail,
    summary="One inbox item with its thread and what happened to it",
    responses={404: {"description": "Unknown inbox item"}},
)
def get_inbox_item(
    item_id: ItemId,
    session: Annotated[Session, Depends(get_session)],
    principal: CurrentKey,
    now: Annotated[datetime, Depends(get_now)],
) -> Response:
    return json_response(_visible_item(session, principal, item_id, now))


def _act(
    engine: Engine,
    principal: Principal,
    *,
    item_id: int,
    action: Action,
    body: ActionIn | None,
    settings: Settings,
    now: datetime,
    **extra: Any,
) -> InboxItemDetail:
    """Runs the action in one write transaction and answers the item as it left it (read in that
    transaction), mapping the service's errors to 404, 403, 409 and 422."""
    try:
        with engine.begin() as conn:
            apply_action(
                conn,
                item_id=item_id,
                action=action,
                actor=written_by(principal),
                settings=settings,
                now=now,
                version=None if body is None else body.version,
                scope=principal.scope,
                **extra,
            )
            with Session(bind=conn) as session:
                return _visible_item(session, principal, item_id, now)
    except UnknownInboxItemError as e:
        raise ApiError(404, code=e.code, message=str(e)) from e
    except ForbiddenBrandError as e:
        raise ApiError(403, code="forbidden_brand", message=str(e)) from e
    except InboxStateError as e:
        raise ApiError(409, code=e.code, message=str(e)) from e
    except UnknownAssigneeError as e:
        raise ApiError(422, code=e.code, message=str(e)) from e
    except InboxError as e:
        raise ApiError(422, code=e.code, message=str(e)) from e


def _simple_action(action: Action, summary: str) -> Callable[..., InboxItemDetail]:
    def act(
        item_id: ItemId,
        principal: Manager,
        engine: Annotated[Engine, Depends(get_write_engine)],
        settings: Annotated[Settings, Depends(get_settings)],
        now: Annotated[datetime, Depends(get_now)],
        body: ActionIn | None = None,
    ) -> InboxItemDetail:
        return _act(engine, principal, item_id=item_id, action=action, body=body, settings=settings, now=now)

    act.__name__ = f"post_inbox_{action}"
    router.post(
        f"/inbox/{{item_id}}/{action}",
        response_model=InboxItemDetail,
        summary=summary,
        responses=_ACTION_ERRORS,
    )(act)
    return act


post_ack = _simple_action("ack", "Acknowledge an open item (manager)")
post_answer = _simple_action(
    "answer", "Mark a waiting item answered (manager); the first answer is its first response"
)
post_resolve = _simple_action("resolve", "Resolve an item (manager)")
post_reopen = _simple_action(
    "reopen", "Reopen an answered, resolved or dismissed item (manager); undoes a spam or bot dismissal"
)


@router.post(
    "/inbox/{item_id}/assign",
    response_model=InboxItemDetail,
    summary="Assign an item to a user, or to nobody (manager)",
    responses={**_ACTION_ERRORS, 422: {"description": "Unknown or inactive assignee"}},
)
def post_assign(
    item_id: ItemId,
    body: AssignIn,
    principal: Manager,
    engine: Annotated[Engine, Depends(get_write_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> InboxItemDetail:
    return _act(
        engine,
        principal,
        item_id=item_id,
        action="assign",
        body=body,
        settings=settings,
        now=now,
        assignee_user_id=body.assignee_user_id,
    )


@router.post(
    "/inbox/{item_id}/dismiss",
    response_model=InboxItemDetail,
    summary="Dismiss an item with a reason (manager); spam or bot suppresses its author",
    responses=_ACTION_ERRORS,
)
def post_dismiss(
    item_id: ItemId,
    body: DismissIn,
    principal: Manager,
    engine: Annotated[Engine, Depends(get_write_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> InboxItemDetail:
    return _act(
        engine,
        principal,
        item_id=item_id,
        action="dismiss",
        body=body,
        settings=settings,
        now=now,
        reason=body.reason,
    )


@router.get(
    "/stats/response-times",
    response_model=ResponseTimes,
    summary="Time to first response per brand and ISO week (median, 90th percentile), backlog, missed targets",
)
def get_response_times(
    session: Annotated[Session, Depends(get_session)],
    principal: CurrentKey,
    now: Annotated[datetime, Depends(get_now)],
    brand: Annotated[Brand | None, Depends(optional_brand)],
    since: Annotated[
        Instant | None, Query(description="ISO 8601, items opened from; default 12 weeks back.")
    ] = None,
    until: Annotated[Instant | None, Query(description="ISO 8601, exclusive; default now.")] = None,
) -> Response:
    end = as_utc(until) or now
    try:
        start = as_utc(since) or end - timedelta(weeks=_DEFAULT_WEEKS)
    except OverflowError:  # `until` in the first 12 weeks of year 1
        start = datetime.min.replace(tzinfo=UTC)
    if start >= end:
        raise ApiError(422, code="invalid_range", message="'since' must be earlier than 'until'; swap them")
    if brand is not None:
        brand_ids: frozenset[int] | None = frozenset({brand.id}) if brand.id is not None else frozenset()
    else:
        brand_ids = principal.brand_ids if principal.scoped else None
    return json_response(response_times(session, brand_ids=brand_ids, since=start, until=end, now=now))
