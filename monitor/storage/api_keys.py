"""API keys: made from a CSPRNG, shown once, stored only as their SHA-256 digest, revocable.

A key reads `wom_` + 43 URL-safe characters (256 random bits), so secret scanners can spot a leaked one.
The table keeps the digest and the key's first characters (`prefix`, not enough to guess the rest) by
which people tell keys apart; the key itself is never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from monitor.errors import ApiKeyError
from monitor.matching import fold
from monitor.storage.db import session_scope
from monitor.storage.models import ApiKey, Brand, User, utcnow
from monitor.storage.tables import table_of

__all__ = [
    "KEY_PREFIX",
    "ROLES",
    "ApiKeyInfo",
    "KeyOwner",
    "NewApiKey",
    "Role",
    "create_api_key",
    "find_api_key",
    "key_digest",
    "list_api_keys",
    "revoke_api_key",
    "role_allows",
    "touch_api_key",
]

KEY_PREFIX = "wom_"
Role = Literal["viewer", "manager", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
_RANDOM_BYTES = 32  # 256 bits; ASVS 5 7.2.3 asks for at least 128
_SHOWN_CHARACTERS = 8  # of the random part, in `prefix`: 48 of 256 bits


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """The user a key belongs to: the key acts as this user, within the user's role."""

    id: int
    name: str
    role: Role
    active: bool


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: everything but the key."""

    id: int
    prefix: str
    role: Role
    brand: str | None
    brand_id: int | None
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user: KeyOwner | None = None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A key just made; `key` exists only here and is shown once."""

    key: str
    info: ApiKeyInfo


def key_digest(key: str) -> str:
    """The stored form of `key`: its SHA-256 as 64 hex characters."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def role_allows(role: str, needed: Role) -> bool:
    """True when `role` ranks at least `needed` (viewer < manager < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _owner(user: Any) -> KeyOwner | None:
    """From a User, or a row with `user_id`, `user_name`, `user_role`, `user_active`."""
    if user is None:
        return None
    if isinstance(user, User):
        assert user.id is not None
        return KeyOwner(id=user.id, name=user.name, role=user.role, active=user.active)  # type: ignore[arg-type]
    if user.user_id is None:
        return None
    return KeyOwner(id=user.user_id, name=user.user_name, role=user.user_role, active=user.user_active)


def _info(row: Any, brand: str | None, user: Any = None) -> ApiKeyInfo:
    """From an ApiKey, or a row with its columns; `user` as `_owner` takes it."""
    assert row.id is not None and row.created_at is not None
    return ApiKeyInfo(
        id=row.id,
        prefix=row.prefix,
        role=row.role,
        brand=brand,
        brand_id=row.brand_id,
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        user=_owner(user),
    )


def _user_named(session: Session, name: str, *, role: str, brand: Brand | None) -> User:
    """The user a new key is for; its role must not pass the user's, nor its brands the user's brands."""
    user = session.exec(select(User).where(col(User.name) == name.strip().lower())).first()
    if user is None:
        raise ApiKeyError(f"no user is named {name!r} for --user; `wom user list` shows them")
    if not user.active:
        raise ApiKeyError(f"user {user.name!r} is inactive; `wom user set {user.name} --active` first")
    if not role_allows(user.role, role):  # type: ignore[arg-type]
        raise ApiKeyError(
            f"user {user.name!r} has role {user.role}; a key for them can have that role or a lower one, "
            f"not {role}"
        )
    if user.brand_ids and (brand is None or brand.id not in user.brand_ids):
        names = session.exec(select(Brand.name).where(col(Brand.id).in_(user.brand_ids))).all()
        raise ApiKeyError(
            f"user {user.name!r} follows only {', '.join(sorted(names))}; give one of them as --brand"
        )
    return user


def _brand_named(session: Session, name: str) -> Brand:
    brands = session.exec(select(Brand).order_by(col(Brand.name))).all()
    for brand in brands:
        if fold(brand.name) == fold(name):
            return brand
    valid = ", ".join(repr(b.name) for b in brands) or "none; add a [[brands]] entry to wom.toml first"
    raise ApiKeyError(f"unknown brand {name!r} for --brand; valid brands: {valid}")


def create_api_key(
    engine: Engine,
    *,
    role: str,
    brand: str | None = None,
    label: str = "",
    user: str | None = None,
    now: datetime | None = None,
) -> NewApiKey:
    """Make and store a key for `role`, limited to `brand` (and its competitors) when one is given, and
    belonging to the user named `user` when one is given (then the API records its actions as that user).

    Raises ApiKeyError for an unknown role or brand, a competitor brand, a label over 200 characters, an
    unknown or inactive user, a role above the user's, or a brand outside the user's brands.
    """
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if len(label) > 200:
        raise ApiKeyError(f"the label has {len(label)} characters; keep it to 200")
    key = KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)
    with session_scope(engine) as session:
        brand_row = None if brand is None else _brand_named(session, brand)
        if brand_row is not None and brand_row.competitor_of_id is not None:
            owner = session.get(Brand, brand_row.competitor_of_id)
            owner_name = owner.name if owner else "its own brand"
            raise ApiKeyError(
                f"{brand_row.name!r} is a competitor of {owner_name!r}; scope the key to {owner_name!r}, "
                "which lets it see its competitors too"
            )
        key_user = None if user is None else _user_named(session, user, role=role, brand=brand_row)
        row = ApiKey(
            prefix=key[: len(KEY_PREFIX) + _SHOWN_CHARACTERS],
            digest=key_digest(key),
            role=role,
            brand_id=None if brand_row is None else brand_row.id,
            label=label,
            created_at=now or utcnow(),
            user_id=None if key_user is None else key_user.id,
        )
        session.add(row)
        session.flush()
        info = _info(row, None if brand_row is None else brand_row.name, key_user)
    return NewApiKey(key=key, info=info)


def list_api_keys(engine: Engine) -> list[ApiKeyInfo]:
    """Every key, oldest first, revoked ones included."""
    with Session(engine) as session:
        rows = session.exec(
            select(ApiKey, Brand.name, User)
            .outerjoin(Brand, col(Brand.id) == col(ApiKey.brand_id))
            .outerjoin(User, col(User.id) == col(ApiKey.user_id))
            .order_by(col(ApiKey.id))
        ).all()
        return [_info(row, brand, user) for row, brand, user in rows]


def revoke_api_key(engine: Engine, prefix_or_id: str, *, now: datetime | None = None) -> ApiKeyInfo:
    """Revoke the key with this id or prefix (as `wom apikey list` shows them); revoking twice keeps the first time.

    Raises ApiKeyError when nothing or more than one key matches, naming what to pass instead.
    """
    wanted = prefix_or_id.strip()
    if wanted.startswith(KEY_PREFIX) and len(wanted) > len(KEY_PREFIX) + _SHOWN_CHARACTERS:
        # someone pasted the whole key: find it by digest, never by comparing text
        condition = col(ApiKey.digest) == key_digest(wanted)
    elif wanted.isdecimal():
        condition = col(ApiKey.id) == int(wanted)
    else:
        condition = col(ApiKey.prefix) == wanted
    with session_scope(engine) as session:
        rows = session.exec(select(ApiKey).where(condition)).all()
        if not rows:
            raise ApiKeyError(f"no API key has the id or prefix {wanted!r}; `wom apikey list` shows them")
        if len(rows) > 1:
            ids = ", ".join(str(r.id) for r in rows)
            raise ApiKeyError(
                f"{len(rows)} keys have the prefix {wanted!r} (ids {ids}); revoke by id instead"
            )
        row = rows[0]
        if row.revoked_at is None:
            row.revoked_at = now or utcnow()
            session.add(row)
        brand = None if row.brand_id is None else session.get(Brand, row.brand_id)
        owner = None if row.user_id is None else session.get(User, row.user_id)
        return _info(row, None if brand is None else brand.name, owner)


def find_api_key(session: Session, key: str) -> ApiKeyInfo | None:
    """The key whose digest matches `key`, revoked or not; None when there is none.

    The lookup goes by digest, so how long it takes says nothing about the key; the final comparison is
    constant-time all the same.
    """
    digest = key_digest(key)
    # plain columns, not an ApiKey object: this runs on every API request
    keys, brands, users = table_of(ApiKey).c, table_of(Brand).c, table_of(User).c
    row = (
        session.connection()
        .execute(
            sa.select(
                keys.id,
                keys.digest,
                keys.prefix,
                keys.role,
                keys.brand_id,
                keys.label,
                keys.created_at,
                keys.last_used_at,
                keys.revoked_at,
                brands.name.label("brand"),
                keys.user_id,
                users.name.label("user_name"),
                users.role.label("user_role"),
                users.active.label("user_active"),
            )
            .outerjoin(table_of(Brand), brands.id == keys.brand_id)
            .outerjoin(table_of(User), users.id == keys.user_id)
            .where(keys.digest == digest)
        )
        .first()
    )
    if row is None or not hmac.compare_digest(row.digest.encode(), digest.encode()):
        return None
    return _info(row, row.brand, row)


def touch_api_key(engine: Engine, key_id: int, *, now: datetime | None = None) -> None:
    """Record that the key was used at `now`."""
    with session_scope(engine) as session:
        row = session.get(ApiKey, key_id)
        if row is not None:
            row.last_used_at = now or utcnow()
            session.add(row)
