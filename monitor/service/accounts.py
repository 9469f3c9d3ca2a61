"""What a person does to their own account and an admin to others' from the dashboard's settings: change
one's password (the current one first; every other session ends), change or remove a user without
leaving the monitor without an active admin, and make, list and revoke API keys that belong to a user.

Values are checked by monitor.service.users and monitor.storage.api_keys; the rules added here raise
UserError with a stable `code` (`wrong_password`, `last_admin`) or ApiKeyError.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from monitor.errors import ApiKeyError, UserError
from monitor.service.passwords import check_password, password_matches
from monitor.service.sessions import NewSession, sign_in
from monitor.service.users import remove_user, set_password, set_user
from monitor.storage.api_keys import ApiKeyInfo, NewApiKey, create_api_key, list_api_keys, revoke_api_key
from monitor.storage.users import active_admin_ids
from monitor.storage.web_sessions import sign_in_row

__all__ = [
    "change_own_password",
    "change_user",
    "create_key_for",
    "keys_of",
    "new_password",
    "remove_user_keeping_an_admin",
    "revoke_key",
]


def new_password() -> str:
    """A password an admin hands to a new user: 16 random URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def change_own_password(conn: Connection, *, name: str, current: str, new: str, now: datetime) -> NewSession:
    """Set the password of the user `name` to `new` when `current` is theirs now. Every session of theirs
    ends (set_password); the returned one replaces the session the change was made in.

    Raises UserError `wrong_password` (field `current_password`), or `invalid_value` (field `password`)."""
    found = sign_in_row(conn, name)
    if found is None or found.password_hash is None or not password_matches(found.password_hash, current):
        raise UserError("wrong_password", "the current password is not this user's", field="current_password")
    check_password(new)
    set_password(conn, found.user_id, new)
    session = sign_in(conn, name=name, password=new, now=now)
    if session is None:  # an inactive user has no session to change a password in
        raise UserError("wrong_password", f"user {name!r} cannot sign in", field="current_password")
    return session


def _keep_an_admin(conn: Connection, user_id: int, field: str) -> None:
    if active_admin_ids(conn) == {user_id}:
        raise UserError(
            "last_admin",
            "this is the only active admin; make another user admin first, so that someone can still "
            "administer the monitor",
            field=field,
        )


def change_user(conn: Connection, user_id: int, changes: Mapping[str, Any]) -> None:
    """`set_user`, refusing to take the role admin from, or deactivate, the last active admin.

    Raises UserError `last_admin` (field `role` or `active`), and what `set_user` raises."""
    if changes.get("role", "admin") != "admin":
        _keep_an_admin(conn, user_id, "role")
    if changes.get("active", True) is not True:
        _keep_an_admin(conn, user_id, "active")
    set_user(conn, user_id, changes)


def remove_user_keeping_an_admin(conn: Connection, user_id: int, *, now: datetime) -> int:
    """`remove_user`, refusing to remove the last active admin (UserError `last_admin`, field `user`)."""
    _keep_an_admin(conn, user_id, "user")
    return remove_user(conn, user_id, now=now)


def keys_of(engine: Engine, user_id: int | None) -> list[ApiKeyInfo]:
    """The keys not revoked, oldest first: those of the user `user_id`, or every key for None."""
    return [
        k
        for k in list_api_keys(engine)
        if k.revoked_at is None and (user_id is None or (k.user is not None and k.user.id == user_id))
    ]


def create_key_for(
    engine: Engine, *, user_name: str, role: str, brand: str | None, label: str, now: datetime
) -> NewApiKey:
    """A key belonging to the user `user_name`, with their role or a lower one and, when they follow
    brands, limited to one of them. Raises ApiKeyError."""
    return create_api_key(
        engine, role=role, brand=brand or None, label=label.strip(), user=user_name, now=now
    )


def revoke_key(engine: Engine, key_id: int, *, user_id: int | None, now: datetime) -> ApiKeyInfo:
    """Revoke key `key_id` when it belongs to the user `user_id` (any key for None: an admin).

    Raises ApiKeyError when there is no such key not yet revoked, or it is someone else's."""
    if not any(k.id == key_id for k in keys_of(engine, user_id)):
        raise ApiKeyError(f"there is no API key {key_id} of yours to revoke; the settings page lists them")
    return revoke_api_key(engine, str(key_id), now=now)
