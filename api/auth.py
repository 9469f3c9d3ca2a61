"""Who is calling: API keys checked per request, roles, brand scope, the per-key request limit.

A key is sent as `Authorization: Bearer KEY` (the dashboard also takes it as the password of HTTP Basic,
so a browser can ask for it). It is looked up by its SHA-256 digest on every request, so revoking it
takes effect on the next request. A key made with `--brand` sees that brand and its competitors only;
what spans every brand (status, metrics, forgetting a person) needs a key without `--brand`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.errors import ApiError
from api.ratelimit import RequestLimiter
from monitor.read.brands import competitor_ids
from monitor.service.scope import BrandScope
from monitor.storage.api_keys import ROLES, Role, find_api_key, role_allows, touch_api_key
from monitor.storage.models import Brand, utcnow

__all__ = [
    "BASIC_CHALLENGE",
    "BEARER_CHALLENGE",
    "AccessControl",
    "Principal",
    "authenticate",
    "basic_password",
    "bearer_token",
    "check_role",
    "forbid_other_brand",
    "require_every_brand",
]

_log = logging.getLogger(__name__)
BEARER_CHALLENGE = 'Bearer realm="wom"'
BASIC_CHALLENGE = 'Basic realm="wom", charset="UTF-8"'
_HOW_TO_GET_ONE = "an admin makes one with `wom apikey create --role viewer` (see README, The API)"


@dataclass(frozen=True, slots=True)
class Principal:
    """The API key behind a request: its id, role, for a brand-scoped key the brands it may see, and for a
    key that belongs to a user that user's id and name (`role` is then the lower of key's and user's)."""

    key_id: int
    role: Role
    brand_id: int | None = None
    brand: str | None = None
    brand_ids: frozenset[int] = frozenset()  # the brand and its competitors; empty when not scoped
    user_id: int | None = None
    user_name: str | None = None

    @property
    def scoped(self) -> bool:
        return self.brand_id is not None

    @property
    def scope(self) -> BrandScope | None:
        """The brands a brand-scoped key is limited to, as the services take it; None for every brand."""
        if self.brand_id is None or self.brand is None:
            return None
        return BrandScope(self.brand_id, self.brand, self.brand_ids)

    def may_see(self, brand_id: int | None) -> bool:
        return not self.scoped or brand_id in self.brand_ids

    def may_see_any(self, brand_ids: Iterable[int]) -> bool:
        return not self.scoped or not self.brand_ids.isdisjoint(brand_ids)


class KeyUsage:
    """Writes each key's `last_used_at`, at most once a minute per key, from a thread of its own.

    On SQLite a write waits for the pipeline's write lock; requests must not, so they only note the use.
    The thread ends when nothing is left to write and starts again on the next note.
    """

    def __init__(self, engine: Engine, *, every_seconds: float = 60.0) -> None:
        self._engine = engine
        self._every = every_seconds
        self._noted: dict[int, float] = {}
        self._pending: dict[int, datetime] = {}
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def note(self, key_id: int) -> None:
        """Record that `key_id` was used now (written soon, unless it was written in the last minute)."""
        now = time.monotonic()
        with self._lock:
            if now - self._noted.get(key_id, -self._every) < self._every:
                return
            self._noted[key_id] = now
            self._pending[key_id] = utcnow()
            if self._writer is None:
                self._writer = threading.Thread(target=self._write, name="wom-key-usage", daemon=True)
                self._writer.start()

    def wait(self, timeout: float = 10.0) -> None:
        """Block until what was noted is written (for tests and shutdown)."""
        with self._lock:
            writer = self._writer
        if writer is not None:
            writer.join(timeout)

    def _write(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._writer = None
                    return
                pending, self._pending = self._pending, {}
            for key_id, used_at in pending.items():
                try:
                    touch_api_key(self._engine, key_id, now=used_at)
                except sa.exc.SQLAlchemyError as e:  # bookkeeping only: the request was answered
                    _log.warning("could not record the use of API key %s: %s", key_id, e)


class AccessControl:
    """Per app: the request limit per key, the limit on failed attempts per client address, key usage."""

    def __init__(self, *, requests_per_minute: int, engine: Engine) -> None:
        self.per_key = RequestLimiter(requests_per_minute)
        self.failures = RequestLimiter(requests_per_minute)
        self.usage = KeyUsage(engine)


def bearer_token(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer KEY` header; None when there is none."""
    scheme, _, value = (authorization or "").partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


def basic_password(authorization: str | None) -> str | None:
    """The password of an `Authorization: Basic ...` header (the user name is ignored); None when there is none."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def _unauthorized(code: str, message: str, challenge: str) -> ApiError:
    return ApiError(401, code=code, message=message, headers={"WWW-Authenticate": challenge})


def _rate_limited(seconds: int, message: str) -> ApiError:
    return ApiError(429, code="rate_limited", message=message, headers={"Retry-After": str(seconds)})


def _refuse(access: AccessControl, client: str, error: ApiError) -> ApiError:
    # failed attempts are limited per client address, so guessing keys is slow; valid keys never wait on it
    wait = access.failures.take(("client", client))
    if wait:
        return _rate_limited(
            wait, f"too many requests without a valid API key from this address; retry after {wait} s"
        )
    return error


def _scope(session: Session, brand_id: int) -> frozenset[int]:
    return frozenset([brand_id, *competitor_ids(session, brand_id)])


def authenticate(
    session: Session,
    access: AccessControl,
    *,
    key: str | None,
    client: str,
    challenge: str = BEARER_CHALLENGE,
) -> Principal:
    """The principal of `key`; spends one request of its limit.

    Raises ApiError 401 (with `WWW-Authenticate: challenge`) for no, an unknown or a revoked key, and 429
    (with `Retry-After`) past the key's limit or past the failed attempts allowed from `client`.
    """
    if key is None:
        error = _unauthorized(
            "missing_api_key", f"send an API key as 'Authorization: Bearer KEY'; {_HOW_TO_GET_ONE}", challenge
        )
        raise _refuse(access, client, error)
    found = find_api_key(session, key)
    if found is None:
        error = _unauthorized(
            "invalid_api_key",
            f"this API key is not known; check that it was copied whole, or get a new one: {_HOW_TO_GET_ONE}",
            challenge,
        )
        raise _refuse(access, client, error)
    if found.revoked_at is not None:
        when = found.revoked_at.strftime("%Y-%m-%d %H:%M UTC")
        error = _unauthorized(
            "revoked_api_key",
            f"this API key was revoked at {when}; get a new one: {_HOW_TO_GET_ONE}",
            challenge,
        )
        raise _refuse(access, client, error)
    if found.user is not None and not found.user.active:
        error = _unauthorized(
            "inactive_user",
            f"this API key belongs to user {found.user.name!r}, who is inactive; "
            f"an admin makes them active with `wom user set {found.user.name} --active`",
            challenge,
        )
        raise _refuse(access, client, error)
    wait = access.per_key.take(("key", found.id))
    if wait:
        raise _rate_limited(
            wait,
            f"this API key made more than its {access.per_key.per_minute} requests a minute "
            f"([api] requests_per_minute); retry after {wait} s",
        )
    access.usage.note(found.id)
    scope = frozenset() if found.brand_id is None else _scope(session, found.brand_id)
    role = found.role
    if found.user is not None and found.user.role in ROLES:
        # a user's role lowered after the key was made lowers the key's with it
        role = min(role, found.user.role, key=ROLES.index)
    return Principal(
        key_id=found.id,
        role=role,
        brand_id=found.brand_id,
        brand=found.brand,
        brand_ids=scope,
        user_id=None if found.user is None else found.user.id,
        user_name=None if found.user is None else found.user.name,
    )


def check_role(principal: Principal, needed: Role, *, what: str) -> None:
    """Raises ApiError 403 when the key's role ranks below `needed`; `what` names the request."""
    if not role_allows(principal.role, needed):
        raise ApiError(
            403,
            code="forbidden_role",
            message=f"{what} needs an API key with role {needed} or higher, and this key has role "
            f"{principal.role}; ask an admin for one (`wom apikey create --role {needed}`)",
        )


def forbid_other_brand(principal: Principal, brand: Brand) -> None:
    """Raises ApiError 403 when `brand` is outside a brand-scoped key's brands."""
    if not principal.may_see(brand.id):
        raise ApiError(
            403,
            code="forbidden_brand",
            message=f"this API key is limited to brand {principal.brand!r} and its competitors, "
            f"not {brand.name!r}; use a key made for that brand or without --brand",
        )


def require_every_brand(principal: Principal, *, what: str) -> None:
    """Raises ApiError 403 for a brand-scoped key: `what` covers every brand."""
    if principal.scoped:
        raise ApiError(
            403,
            code="forbidden_brand",
            message=f"{what} covers every brand, and this API key is limited to brand {principal.brand!r}; "
            "use a key made without --brand",
        )
