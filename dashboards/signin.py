"""Sign-in, sign-out and the language switch.

Failed sign-ins are limited per user name and per client address (`SignInLimits`):
past the limit the form answers 429 with Retry-After and checks no password, so
guessing is slow whichever of the two an attacker varies.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine

from api.deps import get_now
from dashboards.auth import (
    LANGUAGE_COOKIE,
    PRE_SESSION_COOKIE,
    FormRefusedError,
    Visitor,
    check_form,
    current_visitor,
    is_https,
    pre_session_token,
    read_form,
    safe_next,
    session_token,
    set_session_cookie,
    write_engine,
)
from dashboards.i18n import LANGUAGES, choose_language
from dashboards.render import Renderer
from monitor.service.sessions import end_stale_sessions, sign_in, sign_out
from monitor.service.users import set_user

__all__ = ["SignInLimits", "sign_in_routes"]

_YEAR = 365 * 24 * 3600
_MAX_KEYS = 10_000  # past this, names and addresses without a recent failure are forgotten


class SignInLimits:
    """Failed sign-ins allowed within `window`: `per_name` for one user name, `per_client` from one address.

    Counted on the request's clock (the app's `get_now`), so a test can move it. The API's token buckets
    (api/ratelimit.py) refill by the second on the process's own clock, which suits request rates, not a
    handful of guesses per quarter of an hour."""

    def __init__(
        self, *, per_name: int = 5, per_client: int = 20, window: timedelta = timedelta(minutes=15)
    ) -> None:
        self._limits = {"name": per_name, "client": per_client}
        self._window = window
        self._failures: dict[tuple[str, str], list[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: datetime) -> list[datetime]:
        recent = [t for t in self._failures.get(key, []) if now - t < self._window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent

    def wait(self, name: str, client: str, now: datetime) -> int:
        """Seconds until an attempt for `name` from `client` may be checked; 0 when it may be now."""
        wait = 0.0
        with self._lock:
            for key in (("name", name), ("client", client)):
                recent = self._recent(key, now)
                if len(recent) >= self._limits[key[0]]:
                    wait = max(wait, (recent[-self._limits[key[0]]] + self._window - now).total_seconds())
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def failed(self, name: str, client: str, now: datetime) -> None:
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:
                for key in list(self._failures):
                    self._recent(key, now)
            for key in (("name", name), ("client", client)):
                self._failures.setdefault(key, []).append(now)


def _pre_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        PRE_SESSION_COOKIE, token, path="/", secure=is_https(request), httponly=True, samesite="lax"
    )


def sign_in_routes(router: APIRouter, render: Renderer, limits: SignInLimits) -> None:
    """GET/POST /signin, POST /signout, POST /language on `router`."""

    def sign_in_page(request: Request, *, status: int = 200, **context: Any) -> HTMLResponse:
        token = pre_session_token(request)
        language = choose_language(
            preference=None,
            cookie=request.cookies.get(LANGUAGE_COOKIE),
            accept_language=request.headers.get("accept-language"),
        )
        context.setdefault("next", safe_next(request.query_params.get("next")))
        context.setdefault("name", "")
        context.setdefault("problem", None)
        response = render.page(
            request, "signin.html", visitor=None, language=language, status=status, csrf=token, **context
        )
        _pre_session_cookie(response, request, token)
        return response

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request) -> HTMLResponse:
        return sign_in_page(request)

    @router.post("/signin", response_class=HTMLResponse)
    def signin(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        check_form(request, form, expected=request.cookies.get(PRE_SESSION_COOKIE))
        name = form.get("name", "").strip().lower()[:64]
        client = request.client.host if request.client else ""
        back = safe_next(form.get("next"))
        wait = limits.wait(name, client, now)
        if wait:
            response = sign_in_page(request, status=429, name=name, next=back, problem=("too_many", wait))
            response.headers["Retry-After"] = str(wait)
            return response
        engine: Engine = write_engine(request)
        with engine.begin() as conn:
            started = sign_in(conn, name=name, password=form.get("password", ""), now=now)
            if started is not None:
                end_stale_sessions(conn, now=now)
        if started is None:
            limits.failed(name, client, now)
            return sign_in_page(request, status=401, name=name, next=back, problem=("wrong", 0))
        signed_in = RedirectResponse(back, status_code=303)
        set_session_cookie(signed_in, request, started.token)
        signed_in.delete_cookie(PRE_SESSION_COOKIE, path="/")
        return signed_in

    @router.post("/signout")
    def signout(
        request: Request,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        if visitor is None or visitor.user is None:
            return RedirectResponse("/signin", status_code=303)
        check_form(request, form, expected=visitor.csrf_token)
        with write_engine(request).begin() as conn:
            sign_out(conn, session_token(request))
        response = RedirectResponse("/signin", status_code=303)
        set_session_cookie(response, request, None)
        return response

    @router.post("/language")
    def switch_language(
        request: Request,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        language = form.get("language", "")
        if visitor is not None and visitor.user is not None:
            check_form(request, form, expected=visitor.csrf_token)
        else:
            check_form(request, form, expected=request.cookies.get(PRE_SESSION_COOKIE))
        if language not in LANGUAGES:
            raise FormRefusedError(f"unknown language {language[:20]!r}")
        if visitor is not None and visitor.user is not None:
            with write_engine(request).begin() as conn:
                set_user(conn, visitor.user.user_id, {"language": language})
        response = RedirectResponse(safe_next(form.get("next")), status_code=303)
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=_YEAR, path="/", secure=is_https(request), samesite="lax"
        )
        return response
