"""Adding, changing and removing users: every value is checked here, and a bad one is a UserError that
names the field, the value and what to give instead (the API answers 422, the CLI prints it).

Changes are a mapping of field to value, so a caller sets only what it was given (an API PATCH). The
fields: name, display_name, email, role, language, timezone, brands (names), alert_kinds, min_severity,
delivery, digest_hour, quiet_hours ((start, end) local times, or None), active.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Connection

from monitor.errors import UnknownUserError, UserError
from monitor.matching import fold
from monitor.service.passwords import hash_password
from monitor.storage.api_keys import ROLES
from monitor.storage.users import (
    brand_names,
    delete_user,
    insert_user,
    update_user,
    user_emails,
    user_id_named,
    user_names,
)
from monitor.storage.web_sessions import delete_sessions_of

__all__ = [
    "ALERT_KINDS",
    "DELIVERY_MODES",
    "LANGUAGES",
    "RETIRED_ALERT_KINDS",
    "SEVERITIES",
    "USER_FIELDS",
    "add_user",
    "import_email_recipients",
    "remove_user",
    "set_password",
    "set_user",
    "user_id_for",
]

LANGUAGES = ("nl", "en")
SEVERITIES = ("info", "warning", "critical")
DELIVERY_MODES = ("immediate", "digest_only")
# the kinds monitor/alerts/rules.py raises; a kind the alert rules add belongs here too.
# `complaint_to_answer` is raised no more (complaints are the inbox's work; lateness is first_response_missed)
# but stays a valid choice: preferences that name it keep loading and saving unchanged, and the alerts of
# that kind stored before are still routed, listed and filtered by it. It can go once no database holds any.
ALERT_KINDS = (
    "complaint_to_answer",
    "influential_negative",
    "negative_spike",
    "ambassador_at_risk",
    "new_ambassador",
    "detractor_emerging",
    "review_rating_drop",
    "first_response_missed",
    "source_down",
    "source_silent",
)
# valid, but offered as a new choice nowhere (the settings page shows it only to those whose preferences
# already name it, so they can keep or drop it)
RETIRED_ALERT_KINDS = ("complaint_to_answer",)

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _invalid(field: str, message: str) -> UserError:
    return UserError("invalid_value", f"'{field}' {message}", field=field)


def _text(field: str, value: Any, *, limit: int) -> str:
    if not isinstance(value, str):
        raise _invalid(field, f"must be text, not {value!r}")
    if _CONTROL.search(value):
        raise _invalid(field, "must not contain control characters (line breaks, tabs, NUL); remove them")
    if len(value) > limit:
        raise _invalid(field, f"has {len(value)} characters; keep it to {limit}")
    return value.strip()


def _one_of(field: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise _invalid(field, f"is {value!r}; use one of {', '.join(allowed)}")
    return str(value)


def _name(value: Any) -> str:
    name = _text("name", value, limit=64).lower()
    if not _NAME.fullmatch(name):
        raise _invalid(
            "name",
            f"is {name!r}; a login name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
        )
    return name


def _email(value: Any) -> str:
    email = _text("email", value, limit=320)
    if not _EMAIL.fullmatch(email):
        raise _invalid("email", f"is {email!r}; give one address like name@example.org")
    return email


def _timezone(value: Any) -> str:
    zone = _text("timezone", value, limit=64)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(
            "timezone", f"is {zone!r}, not an IANA time zone; use a name like Europe/Amsterdam or UTC"
        ) from None
    return zone


def _alert_kinds(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise _invalid("alert_kinds", f"must be a list of alert kinds, not {value!r}")
    return sorted({_one_of("alert_kinds", kind, ALERT_KINDS) for kind in value})


def _digest_hour(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 23:
        raise _invalid("digest_hour", f"is {value!r}; give the local hour of the digest, 0 to 23")
    return value


def _quiet_hours(value: Any) -> dict[str, time | None]:
    if value is None:
        return {"quiet_start": None, "quiet_end": None}
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise _invalid("quiet_hours", f"is {value!r}; give a start and an end time, or none")
    start, end = value
    if not isinstance(start, time) or not isinstance(end, time):
        raise _invalid("quiet_hours", f"is {value!r}; give local times like 22:00 and 07:00")
    if start.tzinfo is not None or end.tzinfo is not None:
        raise _invalid("quiet_hours", "are local times in the user's time zone; give them without an offset")
    if start == end:
        raise _invalid("quiet_hours", f"start and end are both {start:%H:%M}; give two different times")
    return {
        "quiet_start": start.replace(second=0, microsecond=0),
        "quiet_end": end.replace(second=0, microsecond=0),
    }


def _active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid("active", f"is {value!r}; give true or false")
    return value


def _brand_ids(conn: Connection, value: Any) -> list[int]:
    if not isinstance(value, list | tuple):
        raise _invalid("brands", f"must be a list of brand names, not {value!r}")
    known = brand_names(conn)
    by_fold = {fold(name): brand_id for brand_id, name in known.items()}
    ids = set()
    for name in value:
        brand_id = by_fold.get(fold(name)) if isinstance(name, str) else None
        if brand_id is None:
            valid = ", ".join(repr(n) for n in sorted(known.values())) or "none; add a [[brands]] entry first"
            raise UserError(
                "unknown_brand", f"'brands' names {name!r}, which is no brand; valid: {valid}", field="brands"
            )
        ids.add(brand_id)
    return sorted(ids)


# field -> its check; each field is the column of the same name
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "display_name": lambda v: _text("display_name", v, limit=200),
    "email": _email,
    "role": lambda v: _one_of("role", v, ROLES),
    "language": lambda v: _one_of("language", v, LANGUAGES),
    "timezone": _timezone,
    "alert_kinds": _alert_kinds,
    "min_severity": lambda v: _one_of("min_severity", v, SEVERITIES),
    "delivery": lambda v: _one_of("delivery", v, DELIVERY_MODES),
    "digest_hour": _digest_hour,
    "active": _active,
}
USER_FIELDS = (*_CHECKS, "brands", "quiet_hours")


def _columns(conn: Connection, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The table's columns and values for `changes`; raises UserError naming the first bad one."""
    values: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "brands":
            values["brand_ids"] = _brand_ids(conn, value)
        elif field == "quiet_hours":
            values.update(_quiet_hours(value))
        elif field in _CHECKS:
            values[field] = _CHECKS[field](value)
        else:
            raise _invalid(field, f"is not a user field; use {', '.join(USER_FIELDS)}")
    return values


def user_id_for(conn: Connection, name: str) -> int:
    """The id of the user named `name` (any case). Raises UnknownUserError."""
    user_id = user_id_named(conn, name.strip().lower())
    if user_id is None:
        raise UnknownUserError(name)
    return user_id


def add_user(
    conn: Connection,
    *,
    name: str,
    email: str,
    role: str = "viewer",
    password: str | None = None,
    now: datetime,
    **fields: Any,
) -> int:
    """Add a user; `fields` are further USER_FIELDS (defaults: display name = name, language en, UTC, every
    brand and alert kind, critical alerts at once, digest at 8, no quiet hours). Returns the new id.

    Raises UserError: `invalid_value` naming the field, `name_taken`, `unknown_brand`."""
    values = {
        "display_name": "",
        "language": "en",
        "timezone": "UTC",
        "brand_ids": [],
        "alert_kinds": [],
        "min_severity": "critical",
        "delivery": "immediate",
        "digest_hour": 8,
        "active": True,
        **_columns(conn, {"name": name, "email": email, "role": role, **fields}),
        "password_hash": None if password is None else hash_password(password),
        "created_at": now,
    }
    values["display_name"] = values["display_name"] or values["name"]
    return insert_user(conn, values=values)


def set_user(conn: Connection, user_id: int, changes: Mapping[str, Any]) -> None:
    """Change the given fields of user `user_id` (nothing else).

    Raises UnknownUserError, and UserError as `add_user` does."""
    values = _columns(conn, changes)
    if "display_name" in values and not values["display_name"]:
        raise _invalid("display_name", "is empty; give the name people know the user by")
    if not values:
        raise _invalid("fields", f"none given; change at least one of {', '.join(USER_FIELDS)}")
    update_user(conn, user_id, values=values)


def set_password(conn: Connection, user_id: int, password: str | None) -> None:
    """Set (or with None, clear) user `user_id`'s password; their sessions end.
    Raises UnknownUserError, UserError `invalid_value`."""
    update_user(
        conn, user_id, values={"password_hash": None if password is None else hash_password(password)}
    )
    delete_sessions_of(conn, user_id)


def remove_user(conn: Connection, user_id: int, *, now: datetime) -> int:
    """Delete user `user_id`; its API keys are revoked. Returns how many keys were revoked. Raises UnknownUserError."""
    return delete_user(conn, user_id, now=now)


def _free_name(email: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9._-]", "-", email.partition("@")[0].lower()).strip("._-")[:60] or "user"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def import_email_recipients(
    conn: Connection, addresses: Iterable[str], *, now: datetime
) -> tuple[list[tuple[str, str]], list[str]]:
    """Make a viewer user for each address of `[alerts] email_to` that no user has yet (compared
    lowercase), named after the address's local part (`-2`, `-3` when taken). Returns (made as
    (name, email), skipped addresses). Raises UserError for an address that is not one."""
    have = user_emails(conn)
    taken_names = user_names(conn)
    made: list[tuple[str, str]] = []
    skipped: list[str] = []
    for address in addresses:
        email = _email(address)
        if email.lower() in have:
            skipped.append(email)
            continue
        name = _free_name(email, taken_names)
        add_user(conn, name=name, email=email, role="viewer", now=now)
        taken_names.add(name)
        have.add(email.lower())
        made.append((name, email))
    return made, skipped
