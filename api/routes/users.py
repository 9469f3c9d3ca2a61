"""Users and their notification preferences: /api/v1/users for an admin key without a brand scope, and
/api/v1/users/me (and its preferences) for a key that belongs to a user, who may read and change their
own name, e-mail, language, time zone and preferences, never their role, brands or login name.

An unknown user is a 404, a value the service refuses a 422 naming the field, a login name in use a 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from api.deps import MAX_ID, ApiError, CurrentKey, every_brand, get_now, get_session, require_role
from api.writes import get_write_engine
from monitor.errors import UnknownUserError, UserError
from monitor.read.users import PreferencesOut, UserOut, get_user, list_users
from monitor.service.users import add_user, remove_user, set_user

__all__ = [
    "MePatch",
    "PreferencesPatch",
    "UserIn",
    "UserList",
    "UserPatch",
    "UserRemoved",
    "router",
]

router = APIRouter(tags=["users"])

UserIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The user id.")]
Role = Literal["viewer", "manager", "admin"]
Language = Literal["nl", "en"]
Severity = Literal["info", "warning", "critical"]
Delivery = Literal["immediate", "digest_only"]
Text = Annotated[str, Field(max_length=320)]
_STATUS = {"unknown_user": 404, "name_taken": 409}
_ADMIN = [Depends(require_role("admin")), Depends(every_brand)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown user; the message names the id"},
    409: {"description": "The login name is in use"},
}
_ME_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The API key belongs to no user (`wom apikey create --user NAME` makes one that does)"
    }
}


class QuietHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time = Field(description="Local time, HH:MM.")
    end: time = Field(description="Local time, HH:MM; before `start` spans midnight.")


class PreferencesPatch(BaseModel):
    """Only the fields sent change; `quiet_hours: null` removes the quiet hours."""

    model_config = ConfigDict(extra="forbid")

    alert_kinds: list[Annotated[str, Field(max_length=40)]] | None = Field(
        default=None, max_length=50, description="Alert kinds to be told of; empty: every kind."
    )
    min_severity: Severity | None = None
    delivery: Delivery | None = None
    digest_hour: int | None = Field(default=None, ge=0, le=23, description="Local hour of the digest.")
    quiet_hours: QuietHoursIn | None = None


class MePatch(BaseModel):
    """What a user may change of their own; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Text | None = None
    language: Language | None = None
    timezone: Annotated[str, Field(max_length=64, description="IANA time zone.")] | None = None
    preferences: PreferencesPatch | None = None


class UserPatch(MePatch):
    """What an admin may change of any user; only the fields sent change."""

    name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    role: Role | None = None
    brands: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=200, description="Brand names; empty: every brand."
    )
    active: bool | None = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="The login name (stored lowercase).")
    email: Text
    role: Role = "viewer"
    display_name: Annotated[str, Field(max_length=200)] | None = None
    language: Language = "en"
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone.")
    brands: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=200)
    preferences: PreferencesPatch | None = None


class UserList(BaseModel):
    items: list[UserOut]


class UserRemoved(BaseModel):
    id: int
    api_keys_revoked: int


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except UserError as e:
        raise ApiError(_STATUS.get(e.code, 422), code=e.code, message=str(e)) from e


def _changes(body: BaseModel) -> dict[str, Any]:
    """The service's fields from what the body sent (preferences flattened)."""
    sent = body.model_dump(exclude_unset=True)
    preferences = sent.pop("preferences", None) or {}
    changes = {**sent, **preferences}
    if "quiet_hours" in changes and changes["quiet_hours"] is not None:
        changes["quiet_hours"] = (changes["quiet_hours"]["start"], changes["quiet_hours"]["end"])
    return changes


def _read_back(conn: Connection, user_id: int) -> UserOut:
    # inside the write transaction: on SQLite the request's session may predate the write
    found = get_user(Session(bind=conn), user_id)
    if found is None:
        raise UnknownUserError(user_id)
    return found


def _found(session: Session, user_id: int) -> UserOut:
    found = get_user(session, user_id)
    if found is None:
        error = UnknownUserError(user_id)
        raise ApiError(404, code=error.code, message=str(error))
    return found


def _own_id(principal: CurrentKey) -> int:
    if principal.user_id is None:
        raise ApiError(
            404,
            code="no_user",
            message="this API key belongs to no user, so it has no /users/me; an admin makes a key "
            "that does with `wom apikey create --user NAME`",
        )
    return principal.user_id


def _patch(engine: Engine, user_id: int, body: BaseModel) -> UserOut:
    changes = _changes(body)
    with _user_errors(), engine.begin() as conn:
        if changes:
            set_user(conn, user_id, changes)
        return _read_back(conn, user_id)


@router.get(
    "/users",
    response_model=UserList,
    dependencies=_ADMIN,
    summary="Every user, by name, with their notification preferences",
)
def users(session: Annotated[Session, Depends(get_session)]) -> UserList:
    return UserList(items=list_users(session))


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses={409: _ERRORS[409]},
    dependencies=_ADMIN,
    summary="Add a user (no password: `wom user set NAME --password` sets one)",
)
def add(
    body: UserIn,
    engine: Annotated[Engine, Depends(get_write_engine)],
    now: Annotated[datetime, Depends(get_now)],
) -> UserOut:
    fields = _changes(body)
    with _user_errors(), engine.begin() as conn:
        user_id = add_user(conn, now=now, **fields)
        return _read_back(conn, user_id)


@router.get(
    "/users/me", response_model=UserOut, responses=_ME_ERRORS, summary="The user the API key belongs to"
)
def me(session: Annotated[Session, Depends(get_session)], principal: CurrentKey) -> UserOut:
    return _found(session, _own_id(principal))


@router.patch(
    "/users/me",
    response_model=UserOut,
    responses=_ME_ERRORS,
    summary="Change one's own display name, e-mail, language, time zone or preferences",
)
def patch_me(
    body: MePatch, principal: CurrentKey, engine: Annotated[Engine, Depends(get_write_engine)]
) -> UserOut:
    return _patch(engine, _own_id(principal), body)


@router.get(
    "/users/me/preferences",
    response_model=PreferencesOut,
    responses=_ME_ERRORS,
    summary="One's own notification preferences",
)
def my_preferences(
    session: Annotated[Session, Depends(get_session)], principal: CurrentKey
) -> PreferencesOut:
    return _found(session, _own_id(principal)).preferences


@router.patch(
    "/users/me/preferences",
    response_model=PreferencesOut,
    responses=_ME_ERRORS,
    summary="Change one's own notification preferences",
)
def patch_my_preferences(
    body: PreferencesPatch, principal: CurrentKey, engine: Annotated[Engine, Depends(get_write_engine)]
) -> PreferencesOut:
    return _patch(engine, _own_id(principal), MePatch(preferences=body)).preferences


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    responses={404: _ERRORS[404]},
    dependencies=_ADMIN,
    summary="A user",
)
def user(user_id: UserIdPath, session: Annotated[Session, Depends(get_session)]) -> UserOut:
    return _found(session, user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    responses=_ERRORS,
    dependencies=_ADMIN,
    summary="Change a user: only the fields sent change",
)
def patch_user(
    user_id: UserIdPath, body: UserPatch, engine: Annotated[Engine, Depends(get_write_engine)]
) -> UserOut:
    return _patch(engine, user_id, body)


@router.delete(
    "/users/{user_id}",
    response_model=UserRemoved,
    responses={404: _ERRORS[404]},
    dependencies=_ADMIN,
    summary="Remove a user; the API keys that belong to them are revoked",
)
def delete_user(
    user_id: UserIdPath,
    engine: Annotated[Engine, Depends(get_write_engine)],
    now: Annotated[datetime, Depends(get_now)],
) -> UserRemoved:
    with _user_errors(), engine.begin() as conn:
        revoked = remove_user(conn, user_id, now=now)
    return UserRemoved(id=user_id, api_keys_revoked=revoked)
