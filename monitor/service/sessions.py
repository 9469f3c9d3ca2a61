"""Signing people in to the dashboard: server-side sessions behind a random cookie token.

The cookie carries 32 random bytes (URL-safe); the table keeps only their SHA-256 digest, so reading the
table signs nobody in. Each session holds a synchronizer token for the dashboard's forms (`csrf_token`).
A session ends `SESSION_LIFETIME` after sign-in, after `SESSION_IDLE` without a request, when its user
signs out, changes password, is removed or made inactive.

Limiting attempts is the caller's job (the dashboard counts failures per user name and per address).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy.engine import Connection

from monitor.service.passwords import MAX_PASSWORD_LENGTH, password_matches
from monitor.storage.web_sessions import (
    delete_session,
    delete_sessions_ended,
    insert_session,
    session_row,
    sign_in_row,
    touch_session,
)

__all__ = [
    "SESSION_IDLE",
    "SESSION_LIFETIME",
    "TOUCH_EVERY",
    "NewSession",
    "SignedIn",
    "end_stale_sessions",
    "find_session",
    "new_token",
    "note_seen",
    "sign_in",
    "sign_out",
    "tokens_match",
]

SESSION_LIFETIME = timedelta(days=7)
SESSION_IDLE = timedelta(hours=12)
# last_seen_at is written at most this often per session: a page view is otherwise no write
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just made: `token` goes in the cookie and is never stored."""

    token: str
    csrf_token: str
    user_id: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The person behind a request's session cookie, as they are now (role and language are read fresh)."""

    user_id: int
    name: str
    display_name: str
    role: str
    language: str
    timezone: str
    brand_ids: tuple[int, ...]
    csrf_token: str
    last_seen_at: datetime


def new_token() -> str:
    """32 random bytes, URL-safe: a session token or a form token."""
    return secrets.token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a form's token with the session's."""
    return given is not None and secrets.compare_digest(expected.encode(), given.encode())


@cache
def _decoy_hash() -> str:
    from monitor.service.passwords import hash_password

    return hash_password(new_token())


def sign_in(conn: Connection, *, name: str, password: str, now: datetime) -> NewSession | None:
    """A new session for the active user `name` when `password` is theirs; None otherwise (unknown name,
    no password set, inactive, wrong password: one answer, and about the same time, for each)."""
    found = sign_in_row(conn, name.strip().lower()) if len(name) <= 64 else None
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    if found is None or found.password_hash is None:
        password_matches(_decoy_hash(), password)  # the same work as for a known name
        return None
    if not password_matches(found.password_hash, password) or not found.active:
        return None
    token, csrf_token = new_token(), new_token()
    expires_at = now + SESSION_LIFETIME
    insert_session(
        conn,
        id_hash=_digest(token),
        user_id=found.user_id,
        csrf_token=csrf_token,
        now=now,
        expires_at=expires_at,
    )
    return NewSession(token=token, csrf_token=csrf_token, user_id=found.user_id, expires_at=expires_at)


def find_session(conn: Connection, token: str | None, *, now: datetime) -> SignedIn | None:
    """The signed-in person of `token`; None for no, an unknown, an ended or an inactive user's session.
    Only reads: `note_seen` records the request when `SignedIn.last_seen_at` is older than TOUCH_EVERY."""
    if not token or len(token) > 128:
        return None
    row = session_row(conn, _digest(token))
    if row is None or not row.active:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= SESSION_IDLE:
        return None
    return SignedIn(
        user_id=row.user_id,
        name=row.user_name,
        display_name=row.display_name,
        role=row.role,
        language=row.language,
        timezone=row.timezone,
        brand_ids=row.brand_ids,
        csrf_token=row.csrf_token,
        last_seen_at=row.last_seen_at,
    )


def note_seen(conn: Connection, token: str, *, now: datetime) -> None:
    """Record a request of the session `token` (it stays alive for another SESSION_IDLE)."""
    touch_session(conn, _digest(token), now=now)


def sign_out(conn: Connection, token: str | None) -> None:
    """End the session `token` (nothing happens for an unknown one)."""
    if token and len(token) <= 128:
        delete_session(conn, _digest(token))


def end_stale_sessions(conn: Connection, *, now: datetime) -> int:
    """Remove sessions that ended (lifetime or idle limit); returns how many."""
    return delete_sessions_ended(conn, expired_before=now, idle_before=now - SESSION_IDLE)
