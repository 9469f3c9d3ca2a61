"""Users as `wom user list` and /api/v1/users show them: never a password hash, only whether one is set."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session

from monitor.storage.models import Brand, User
from monitor.storage.tables import table_of

__all__ = [
    "PreferencesOut",
    "QuietHours",
    "UserOut",
    "get_user",
    "list_users",
    "user_named",
]

_USER = table_of(User)
_BRAND = table_of(Brand)


class QuietHours(BaseModel):
    """Local times between which nothing is sent at once; `end` before `start` spans midnight."""

    start: time = Field(description="Local time, HH:MM.")
    end: time = Field(description="Local time, HH:MM.")


class PreferencesOut(BaseModel):
    alert_kinds: list[str] = Field(description="Alert kinds to be told of; empty: every kind.")
    min_severity: Literal["info", "warning", "critical"]
    delivery: Literal["immediate", "digest_only"]
    digest_hour: int = Field(description="Local hour of the daily digest, 0-23.")
    quiet_hours: QuietHours | None


class UserOut(BaseModel):
    id: int
    name: str = Field(description="The login name, lowercase.")
    display_name: str
    email: str
    role: Literal["viewer", "manager", "admin"]
    language: Literal["nl", "en"]
    timezone: str = Field(description="IANA time zone, e.g. Europe/Amsterdam.")
    brands: list[str] = Field(description="Brands the user follows; empty: every brand.")
    preferences: PreferencesOut
    has_password: bool
    active: bool
    created_at: datetime


def _user_out(row: Any, brand_names: dict[int, str]) -> UserOut:
    quiet = None
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = QuietHours(start=row.quiet_start, end=row.quiet_end)
    return UserOut(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        email=row.email,
        role=row.role,
        language=row.language,
        timezone=row.timezone,
        brands=sorted(brand_names[b] for b in (row.brand_ids or []) if b in brand_names),
        preferences=PreferencesOut(
            alert_kinds=list(row.alert_kinds or []),
            min_severity=row.min_severity,
            delivery=row.delivery,
            digest_hour=row.digest_hour,
            quiet_hours=quiet,
        ),
        has_password=row.password_hash is not None,
        active=row.active,
        created_at=row.created_at,
    )


def _users(session: Session, *where: sa.ColumnElement[bool]) -> list[UserOut]:
    conn = session.connection()
    names = {int(r.id): str(r.name) for r in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.name))}
    rows = conn.execute(sa.select(_USER).where(*where).order_by(_USER.c.name)).all()
    return [_user_out(row, names) for row in rows]


def list_users(session: Session) -> list[UserOut]:
    """Every user, by name."""
    return _users(session)


def get_user(session: Session, user_id: int) -> UserOut | None:
    """The user with this id; None when there is none."""
    found = _users(session, _USER.c.id == user_id)
    return found[0] if found else None


def user_named(session: Session, name: str) -> UserOut | None:
    """The user whose login name is `name` (compared lowercase); None when there is none."""
    found = _users(session, _USER.c.name == name.strip().lower())
    return found[0] if found else None
