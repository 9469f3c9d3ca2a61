"""The user table: insert, update and delete rows whose values monitor.service.users has checked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.errors import UnknownUserError, UserError
from monitor.storage.models import ApiKey, Brand, NotificationDelivery, User
from monitor.storage.tables import table_of
from monitor.storage.web_sessions import delete_sessions_of

__all__ = [
    "active_admin_ids",
    "brand_names",
    "delete_user",
    "insert_user",
    "update_user",
    "user_emails",
    "user_id_named",
    "user_names",
]

_USER = table_of(User)
_KEY = table_of(ApiKey)
_DELIVERY = table_of(NotificationDelivery)
_BRAND = table_of(Brand)


def _name_taken(name: str) -> UserError:
    return UserError("name_taken", f"there is already a user named {name!r}; pick another name", field="name")


def user_id_named(conn: Connection, name: str) -> int | None:
    """The id of the user whose (lowercase) name is `name`; None when there is none."""
    found = conn.execute(sa.select(_USER.c.id).where(_USER.c.name == name)).scalar_one_or_none()
    return None if found is None else int(found)


def user_emails(conn: Connection) -> set[str]:
    """Every user's e-mail address, lowercased."""
    return {str(e).lower() for e in conn.execute(sa.select(_USER.c.email)).scalars()}


def user_names(conn: Connection) -> set[str]:
    """Every user's login name."""
    return {str(n) for n in conn.execute(sa.select(_USER.c.name)).scalars()}


def active_admin_ids(conn: Connection) -> set[int]:
    """The ids of the active users with the role admin."""
    query = sa.select(_USER.c.id).where(_USER.c.role == "admin", _USER.c.active.is_(True))
    return {int(i) for i in conn.execute(query).scalars()}


def brand_names(conn: Connection) -> dict[int, str]:
    """Every brand: id -> name."""
    return {int(r.id): str(r.name) for r in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.name))}


def insert_user(conn: Connection, *, values: Mapping[str, Any]) -> int:
    """Store a user; returns its id. Raises UserError `name_taken` when the name is in use."""
    if user_id_named(conn, values["name"]) is not None:
        raise _name_taken(values["name"])
    try:
        # a savepoint: on PostgreSQL a failed insert would otherwise end the caller's transaction
        with conn.begin_nested():
            return int(conn.execute(_USER.insert().values(**values).returning(_USER.c.id)).scalar_one())
    except sa.exc.IntegrityError as e:  # another writer took the name in the same instant
        raise _name_taken(values["name"]) from e


def update_user(conn: Connection, user_id: int, *, values: Mapping[str, Any]) -> None:
    """Change the given columns of user `user_id`.

    Raises UnknownUserError when there is no such user, UserError `name_taken` for a name in use."""
    name = values.get("name")
    if name is not None and user_id_named(conn, name) not in (None, user_id):
        raise _name_taken(name)
    try:
        with conn.begin_nested():
            changed = conn.execute(_USER.update().where(_USER.c.id == user_id).values(**values)).rowcount
    except sa.exc.IntegrityError as e:
        raise _name_taken(str(name)) from e
    if changed == 0:
        raise UnknownUserError(user_id)


def delete_user(conn: Connection, user_id: int, *, now: datetime) -> int:
    """Delete user `user_id`; its sessions end, its API keys are revoked (at `now`, unless they already
    were) and kept without a user, its unsent messages are not sent. Returns how many keys were revoked now. Raises UnknownUserError."""
    delete_sessions_of(conn, user_id)
    revoked = conn.execute(
        _KEY.update().where(_KEY.c.user_id == user_id, _KEY.c.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    conn.execute(_KEY.update().where(_KEY.c.user_id == user_id).values(user_id=None))
    # the outbox keeps what was sent to them, without the user; what was still to go is not sent
    conn.execute(
        _DELIVERY.update()
        .where(_DELIVERY.c.user_id == user_id, _DELIVERY.c.status.in_(("pending", "sending", "digest")))
        .values(status="failed", last_error="the user was removed")
    )
    conn.execute(_DELIVERY.update().where(_DELIVERY.c.user_id == user_id).values(user_id=None))
    if conn.execute(_USER.delete().where(_USER.c.id == user_id)).rowcount == 0:
        raise UnknownUserError(user_id)
    return int(revoked)
