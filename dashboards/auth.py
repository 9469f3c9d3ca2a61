"""Who is looking at a dashboard page: a signed-in person (a session cookie), or, as a fallback for
scripts, an API key (`Authorization: Bearer KEY`, or the password of HTTP Basic).

A browser without a session is sent to the sign-in page; any other client without a key gets the API's
401. Forms are posted only with a session: each carries the session's synchronizer token (`csrf`),
checked with the request's Origin and Sec-Fetch-Site on every POST (a mismatch is a 403), and the sign-in
and language forms before sign-in carry a token that must equal the pre-session cookie's (double submit).

Roles: viewers see, managers act, admins administer (`Visitor.may_act`, `Visitor.may_administer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.auth import (
    BASIC_CHALLENGE,
    AccessControl,
    Principal,
    authenticate,
    basic_password,
    bearer_token,
)
from api.deps import get_now
from api.errors import ApiError
from dashboards.i18n import choose_language, zone_named
from monitor.service.sessions import (
    SESSION_LIFETIME,
    TOUCH_EVERY,
    SignedIn,
    find_session,
    new_token,
    note_seen,
    tokens_match,
)
from monitor.storage.api_keys import ROLES, Role, role_allows

__all__ = [
    "LANGUAGE_COOKIE",
    "PRE_SESSION_COOKIE",
    "FormRefusedError",
    "Visitor",
    "check_form",
    "current_visitor",
    "is_https",
    "pre_session_token",
    "read_form",
    "safe_next",
    "session_cookie_name",
    "session_token",
    "set_session_cookie",
    "sign_in_redirect",
    "wants_html",
    "write_engine",
]

SESSION_COOKIE = "wom_session"
SECURE_SESSION_COOKIE = "__Host-wom_session"  # Secure, Path=/, no Domain: no subdomain can set it
PRE_SESSION_COOKIE = "wom_form"
LANGUAGE_COOKIE = "wom_lang"
_MAX_FORM_BYTES = 64 * 1024


class FormRefusedError(ApiError):
    """A POST without a valid form token, from another site, or by a role that may not make it: a 403."""

    def __init__(self, reason: str) -> None:
        super().__init__(403, code="form_refused", message=f"{reason}; reload the page and try again")


@dataclass(frozen=True, slots=True)
class Visitor:
    """The one a page is for: `principal` decides what they may see (brand scope, role); `user` is the
    signed-in person (None for an API key), whose `csrf_token` every form of the page carries."""

    principal: Principal
    user: SignedIn | None
    language: str
    zone: ZoneInfo

    @property
    def role(self) -> Role:
        return self.principal.role

    def may(self, needed: Role) -> bool:
        return role_allows(self.principal.role, needed)

    @property
    def may_act(self) -> bool:
        """Managers and admins act (label, work the inbox); only with a session, as forms need one."""
        return self.user is not None and self.may("manager")

    @property
    def may_administer(self) -> bool:
        return self.user is not None and self.may("admin")

    @property
    def csrf_token(self) -> str:
        return "" if self.user is None else self.user.csrf_token


def write_engine(request: Request) -> Engine:
    """The app's engine for writers (api/main.py keeps it on app.state)."""
    engine: Engine = request.app.state.write_engine
    return engine


def is_https(request: Request) -> bool:
    """True when the request came over https, or the dashboard's public address is https."""
    public_url: str = request.app.state.settings.dashboard.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def session_cookie_name(request: Request) -> str:
    return SECURE_SESSION_COOKIE if is_https(request) else SESSION_COOKIE


def session_token(request: Request) -> str | None:
    return request.cookies.get(SECURE_SESSION_COOKIE) or request.cookies.get(SESSION_COOKIE)


def set_session_cookie(response: Response, request: Request, token: str | None) -> None:
    """Set the session cookie to `token`, or clear it for None."""
    name = session_cookie_name(request)
    if token is None:
        for cookie in (SESSION_COOKIE, SECURE_SESSION_COOKIE):
            response.delete_cookie(cookie, path="/", secure=cookie == SECURE_SESSION_COOKIE, httponly=True)
        return
    response.set_cookie(
        name,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def wants_html(request: Request) -> bool:
    """True for a browser's page request (it accepts text/html)."""
    return "text/html" in request.headers.get("accept", "")


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site (not `//host`, no scheme), else "/"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in target):
        return "/"
    return target


def sign_in_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/signin?" + urlencode({"next": safe_next(here)}), status_code=303)


def _language(request: Request, preference: str | None) -> str:
    return choose_language(
        preference=preference,
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )


def _signed_in(request: Request, token: str, now: datetime) -> SignedIn | None:
    with Session(request.app.state.engine) as session:
        found = find_session(session.connection(), token, now=now)
    if found is not None and now - found.last_seen_at >= TOUCH_EVERY:
        with write_engine(request).begin() as conn:
            note_seen(conn, token, now=now)
    return found


def _key_principal(request: Request) -> Principal:
    authorization = request.headers.get("authorization")
    access: AccessControl = request.app.state.access
    with Session(request.app.state.engine) as session:
        return authenticate(
            session,
            access,
            key=basic_password(authorization) or bearer_token(authorization),
            client=request.client.host if request.client else "",
            challenge=BASIC_CHALLENGE,
        )


def current_visitor(request: Request, now: Annotated[datetime, Depends(get_now)]) -> Visitor | None:
    """The visitor of a page request; None for a browser that must sign in first (send it to
    `sign_in_redirect`). Raises the API's ApiError 401/429 for a client without a valid key."""
    token = session_token(request)
    user = _signed_in(request, token, now) if token else None
    if user is not None:
        # a person sees every brand; the brands they follow pick the one shown first
        role: Role = next((r for r in ROLES if r == user.role), "viewer")
        principal = Principal(key_id=0, role=role, user_id=user.user_id, user_name=user.name)
        return Visitor(principal, user, _language(request, user.language), zone_named(user.timezone))
    if request.headers.get("authorization") is None and wants_html(request):
        return None
    principal = _key_principal(request)  # the API's 401 or 429 when there is no valid key
    return Visitor(principal, None, _language(request, None), zone_named(None))


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an application/x-www-form-urlencoded body (the first value of each name)."""
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise FormRefusedError("the form is too large")
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:  # browsers send it with every cross-site POST; its absence is a same-site form
        return True
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme in ("http", "https")


def check_form(request: Request, form: dict[str, str], *, expected: str | None) -> None:
    """Raises FormRefusedError unless the POST comes from this site and carries `expected` (the
    session's token, or the pre-session cookie's) as its `csrf` field."""
    if not _same_origin(request):
        raise FormRefusedError("the form was sent from another site")
    if not expected or not tokens_match(expected, form.get("csrf")):
        raise FormRefusedError("the form's token is missing or stale")


def pre_session_token(request: Request) -> str:
    """The token of the forms shown before sign-in: the pre-session cookie's, or a new one to set."""
    return request.cookies.get(PRE_SESSION_COOKIE) or new_token()
