"""The websession table and the password hash sign-in checks: rows whose values monitor.service.sessions
decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.models import User, WebSession
from monitor.storage.tables import table_of

__all__ = [
    "SessionRow",
    "SignInRow",
    "delete_session",
    "delete_sessions_ended",
    "delete_sessions_of",
    "insert_session",
    "session_row",
    "sign_in_row",
    "touch_session",
]

_SESSION = table_of(WebSession)
_USER = table_of(User)


@dataclass(frozen=True, slots=True)
class SignInRow:
    """What signing in needs of a user: never shown, never logged."""

    user_id: int
    password_hash: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session joined with its user's current name, role, language and time zone."""

    id_hash: str
    user_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_name: str
    display_name: str
    role: str
    language: str
    timezone: str
    brand_ids: tuple[int, ...]
    active: bool


def sign_in_row(conn: Connection, name: str) -> SignInRow | None:
    """The user whose login name is `name` (already lowercase); None when there is none."""
    row = conn.execute(
        sa.select(_USER.c.id, _USER.c.password_hash, _USER.c.active).where(_USER.c.name == name)
    ).one_or_none()
    if row is None:
        return None
    return SignInRow(user_id=int(row.id), password_hash=row.password_hash, active=bool(row.active))


def insert_session(
    conn: Connection, *, id_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        _SESSION.insert().values(
            id_hash=id_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


def session_row(conn: Connection, id_hash: str) -> SessionRow | None:
    """The session stored under `id_hash` with its user; None when there is none."""
    row = conn.execute(
        sa.select(
            _SESSION,
            _USER.c.name,
            _USER.c.display_name,
            _USER.c.role,
            _USER.c.language,
            _USER.c.timezone,
            _USER.c.brand_ids,
            _USER.c.active,
        )
        .join(_USER, _USER.c.id == _SESSION.c.user_id)
        .where(_SESSION.c.id_hash == id_hash)
    ).one_or_none()
    if row is None:
        return None
    return SessionRow(
        id_hash=row.id_hash,
        user_id=int(row.user_id),
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        user_name=row.name,
        display_name=row.display_name,
        role=row.role,
        language=row.language,
        timezone=row.timezone,
        brand_ids=tuple(int(b) for b in row.brand_ids or ()),
        active=bool(row.active),
    )


def touch_session(conn: Connection, id_hash: str, *, now: datetime) -> None:
    conn.execute(_SESSION.update().where(_SESSION.c.id_hash == id_hash).values(last_seen_at=now))


def delete_session(conn: Connection, id_hash: str) -> None:
    conn.execute(_SESSION.delete().where(_SESSION.c.id_hash == id_hash))


def delete_sessions_of(conn: Connection, user_id: int) -> int:
    """End every session of user `user_id`; returns how many there were."""
    return int(conn.execute(_SESSION.delete().where(_SESSION.c.user_id == user_id)).rowcount)


def delete_sessions_ended(conn: Connection, *, expired_before: datetime, idle_before: datetime) -> int:
    """Remove sessions past their end or idle since before `idle_before`; returns how many."""
    ended = sa.or_(_SESSION.c.expires_at <= expired_before, _SESSION.c.last_seen_at <= idle_before)
    return int(conn.execute(_SESSION.delete().where(ended)).rowcount)
