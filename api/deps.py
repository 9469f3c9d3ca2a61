"""Request dependencies shared by the API and the dashboard: API key, session, settings, clock, brand, paging.

The app keeps its `Settings`, `Engine` and `AccessControl` on `app.state`; everything here reads them from
the request, so the routes never import a global.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.auth import (
    AccessControl,
    Principal,
    authenticate,
    check_role,
    forbid_other_brand,
    require_every_brand,
)
from api.errors import ApiError
from api.key_first import checked_principal
from monitor.config import Settings
from monitor.matching import fold
from monitor.read.brands import brand_rows
from monitor.read.paging import PageCursor
from monitor.storage.api_keys import Role
from monitor.storage.models import Brand, utcnow

__all__ = [
    "MAX_ID",
    "ApiError",
    "CurrentKey",
    "Instant",
    "PageCursor",
    "Principal",
    "QueryText",
    "RequiredText",
    "api_access",
    "as_utc",
    "decode_cursor",
    "every_brand",
    "find_brand",
    "get_engine",
    "get_now",
    "get_session",
    "get_settings",
    "optional_brand",
    "page_cursor",
    "page_limit",
    "require_role",
    "required_brand",
]


def _reject_nul(value: str | None) -> str | None:
    # PostgreSQL refuses NUL in text parameters (SQLite takes it), so refuse it on both, up front
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters; remove them")
    return value


QueryText = Annotated[str | None, AfterValidator(_reject_nul)]
RequiredText = Annotated[str, AfterValidator(_reject_nul)]

# ids are PostgreSQL `integer` columns: a larger one is a 422 here, not a database error (a 500) later
MAX_ID = 2**31 - 1
_EARLIEST, _LATEST = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"


def _utc_in_range(value: datetime) -> datetime:
    """`value` in UTC (no offset is read as UTC). Raises ValueError when UTC cannot hold it: year 1 at
    +14:00 is before 0001-01-01 in UTC, 9999-12-31 at -14:00 after 9999-12-31."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        side = "before " + _EARLIEST if value.year == 1 else "after " + _LATEST
        raise ValueError(
            f"is {side} once converted to UTC; send a time from {_EARLIEST} to {_LATEST}"
        ) from None


Instant = Annotated[datetime, AfterValidator(_utc_in_range)]
"""A time parameter, as aware UTC; one that UTC cannot hold is a 422 naming the parameter."""


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> AsyncIterator[Session]:
    """A read-only unit of work: nothing is committed, the transaction ends when the request does.

    Opened and closed on the event loop, not in the thread pool: opening connects nothing (the first
    query does, in the route's thread), and closing only hands the connection back to the pool, with
    a rollback that waits for nothing (SQLite: a local call; PostgreSQL: the read engine autocommits)."""
    with Session(engine) as session:
        yield session


async def get_now() -> datetime:
    """The clock that decays scores and ends default ranges; tests override it to pin exact values."""
    return utcnow()


# Dependencies that neither wait for the database nor compute much are `async def`: FastAPI runs those on
# the event loop, where a plain `def` would cost a trip to the thread pool and back on every request.

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `wom apikey create`, sent as `Authorization: Bearer KEY`.",
)


def api_access(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The key behind the request, checked for every /api/v1 route (see api/auth.py); depend on it, or
    on `CurrentKey`, to know the key's id, role and brand scope.

    Raises ApiError 401 without a valid key and 429 past the key's request limit. A request with a body
    had its key checked before the body was read (api/key_first.py); that check stands.
    """
    checked = checked_principal(request.scope)
    if checked is not None:
        return checked
    access: AccessControl = request.app.state.access
    return authenticate(
        session,
        access,
        key=None if credentials is None else credentials.credentials,
        client=request.client.host if request.client else "",
    )


CurrentKey = Annotated[Principal, Depends(api_access)]


def require_role(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency for routes that need more than reading (`manager`: write mentions, labels, merge/split
    authors; `admin`: forget authors). Raises ApiError 403 for a key of a lower role; returns the key."""

    async def check(request: Request, principal: CurrentKey) -> Principal:
        check_role(principal, role, what=f"{request.method} {request.url.path}")
        return principal

    check.__name__ = f"require_{role}"
    return check


async def every_brand(request: Request, principal: CurrentKey) -> Principal:
    """A dependency for routes whose answer covers every brand: ApiError 403 for a brand-scoped key."""
    require_every_brand(principal, what=f"{request.method} {request.url.path}")
    return principal


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a time without an offset is read as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def find_brand(session: Session, name: str, principal: Principal | None = None) -> Brand:
    """The brand called `name`, case and accents ignored (`fold`, the matcher's equality).

    Raises ApiError 404 naming the valid brands (those `principal` may see), 403 for a brand outside a
    brand-scoped key's brands.
    """
    rows = brand_rows(session)
    for row in rows:
        if fold(row.name) == fold(name):
            brand = Brand(**row._mapping)
            if principal is not None:
                forbid_other_brand(principal, brand)
            return brand
    visible = [b for b in rows if principal is None or principal.may_see(b.id)]
    valid = ", ".join(repr(b.name) for b in visible) or "none yet; add a [[brands]] entry to wom.toml"
    raise ApiError(404, code="unknown_brand", message=f"unknown brand {name!r}; valid brands: {valid}")


def required_brand(
    session: Annotated[Session, Depends(get_session)],
    principal: CurrentKey,
    brand: Annotated[RequiredText, Query(min_length=1, max_length=200, description="Brand name.")],
) -> Brand:
    return find_brand(session, brand, principal)


def optional_brand(
    session: Annotated[Session, Depends(get_session)],
    principal: CurrentKey,
    brand: Annotated[
        QueryText,
        Query(max_length=200, description="Brand name; a brand-scoped key without it gets its own brand."),
    ] = None,
) -> Brand | None:
    if brand is not None:
        return find_brand(session, brand, principal)
    # a brand-scoped key never lists across brands: no brand means its own
    return None if principal.brand_id is None else session.get(Brand, principal.brand_id)


def decode_cursor(token: str) -> PageCursor:
    """Raises ApiError 422 for anything `encode_cursor` did not write: also an id no row can have
    (1 to MAX_ID) and a time that UTC cannot hold."""
    try:
        raw: Any = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        at, item_id = raw
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or not isinstance(item_id, int) or isinstance(item_id, bool):
            raise ValueError(token)
        if not 1 <= item_id <= MAX_ID:
            raise ValueError(token)
        parsed = parsed.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as e:
        raise ApiError(
            422,
            code="invalid_cursor",
            message="query parameter 'cursor' is not a cursor this API returned; "
            "pass next_cursor from the previous page unchanged, or leave it out to start again",
        ) from e
    return PageCursor(at=parsed, id=item_id)


async def page_cursor(
    cursor: Annotated[
        QueryText,
        Query(max_length=200, description="`next_cursor` of the previous page; omit for the first."),
    ] = None,
) -> PageCursor | None:
    return None if cursor is None else decode_cursor(cursor)


async def page_limit(limit: Annotated[int, Query(ge=1, le=200, description="Items per page.")] = 50) -> int:
    return limit
