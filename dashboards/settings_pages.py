"""The settings pages, for every signed-in person: /settings (one's own display name, language, time zone,
alert preferences and password), /settings/keys (one's API keys; an admin sees and revokes every key) and,
for admins, /settings/users (add, change, deactivate and remove users).

Each form posts its token and is answered with a redirect back (`?done=` names the message shown), or with
the page again, 422, and each refused value's problem next to its field in the visitor's language. A new
key and a password made for a new user are the exception: they exist only in that one answer (not
stored, never in a URL), so it is the page itself, marked not to be stored by the browser. The use cases
are monitor.service.users and monitor.service.accounts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import MAX_ID, ApiError, get_now
from dashboards.auth import (
    FormRefusedError,
    Visitor,
    check_form,
    current_visitor,
    read_form,
    set_session_cookie,
    sign_in_redirect,
    write_engine,
)
from dashboards.i18n import translations
from dashboards.render import Renderer
from dashboards.words import N_
from monitor.errors import ApiKeyError, UnknownUserError, UserError
from monitor.read.brands import BrandOut, list_brands
from monitor.read.users import UserOut, get_user, list_users
from monitor.service.accounts import (
    change_own_password,
    change_user,
    create_key_for,
    keys_of,
    new_password,
    remove_user_keeping_an_admin,
    revoke_key,
)
from monitor.service.users import (
    ALERT_KINDS,
    DELIVERY_MODES,
    LANGUAGES,
    RETIRED_ALERT_KINDS,
    SEVERITIES,
    add_user,
)
from monitor.storage.api_keys import ROLES, NewApiKey

__all__ = ["COMMON_ZONES", "settings_routes"]

Section = Literal["settings", "keys", "users"]
# offered under the time zone field; any IANA name may be typed
COMMON_ZONES = (
    "Europe/Amsterdam",
    "Europe/Brussels",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/London",
    "Europe/Madrid",
    "America/Curacao",
    "America/Paramaribo",
    "America/Aruba",
    "America/New_York",
    "Asia/Jakarta",
    "UTC",
)
# ?done= after a redirect, and the message it shows
DONE = {
    "saved": N_("Saved"),
    "password": N_("Your password is changed; your other sessions have ended."),
    "revoked": N_("The key is revoked."),
    "removed": N_("The user is removed."),
}
# what was wrong with a refused value, by the field monitor.service.users names
FIELD_PROBLEMS = {
    "name": N_("A login name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit."),
    "display_name": N_("Give a name of up to 200 characters, without line breaks or tabs."),
    "email": N_("Give one e-mail address, like name@example.org."),
    "timezone": N_("That is not a time zone; give a name like Europe/Amsterdam or UTC."),
    "digest_hour": N_("Give the hour of the digest as a whole number from 0 to 23."),
    "quiet_hours": N_("Give a start and an end (like 22:00 and 07:00) that differ, or leave both empty."),
    "password": N_("Use 12 to 1024 characters; a few words make a password easy to type and hard to guess."),
    "brands": N_("Choose brands from the list."),
}
_PROBLEMS_BY_CODE = {
    "wrong_password": N_("That is not your current password."),
    "last_admin": N_("This is the only active admin: make another user admin first."),
    "name_taken": N_("That login name is taken; choose another."),
    "unknown_brand": N_("Choose brands from the list."),
}
_CHOOSE = N_("Choose one of the options.")
_PREFERENCE_FIELDS = ("display_name", "language", "timezone", "min_severity", "delivery", "digest_hour")


def _problem(gettext: Callable[[str], str], error: UserError) -> str:
    if error.code in _PROBLEMS_BY_CODE:
        return gettext(_PROBLEMS_BY_CODE[error.code])
    return gettext(FIELD_PROBLEMS.get(error.field or "", _CHOOSE))


def _hour(value: str) -> int | str:
    """The digest hour as given: a number when it is one (the service checks its range)."""
    value = value.strip()
    return int(value) if value.isdecimal() and len(value) <= 2 else value


def _quiet_hours(start: str, end: str) -> tuple[Any, Any] | None:
    """None for two empty fields, else the two times (a field that is no time stays text, which the
    service refuses)."""
    if not start.strip() and not end.strip():
        return None

    def parsed(value: str) -> time | str:
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            return value

    return parsed(start), parsed(end)


def _clock(value: time | None) -> str:
    return "" if value is None else value.strftime("%H:%M")


def _preferences_form(me: UserOut) -> dict[str, Any]:
    quiet = me.preferences.quiet_hours
    return {
        "display_name": me.display_name,
        "language": me.language,
        "timezone": me.timezone,
        "alert_kinds": list(me.preferences.alert_kinds),
        "min_severity": me.preferences.min_severity,
        "delivery": me.preferences.delivery,
        "digest_hour": str(me.preferences.digest_hour),
        "quiet_start": _clock(quiet.start if quiet else None),
        "quiet_end": _clock(quiet.end if quiet else None),
    }


def _offered_kinds(chosen: list[str]) -> tuple[str, ...]:
    """The alert kinds to tick: every kind, less those raised no more unless `chosen` already names them."""
    return tuple(kind for kind in ALERT_KINDS if kind not in RETIRED_ALERT_KINDS or kind in chosen)


def _checked(form: dict[str, str], prefix: str, allowed: tuple[str, ...]) -> list[str]:
    """The values of the checkboxes named `prefix` + value that were ticked, among `allowed`."""
    return [value for value in allowed if f"{prefix}{value}" in form]


def _brand_choices(form: dict[str, str], brands: list[BrandOut]) -> list[str]:
    return [b.name for b in brands if f"brand-{b.id}" in form]


def _main_brands(session: Session) -> list[BrandOut]:
    """The brands a user may follow and a key may be limited to: not the competitors (a key for a brand
    sees its competitors too)."""
    return [b for b in list_brands(session) if b.competitor_of is None]


def _own(visitor: Visitor) -> tuple[Visitor, int]:
    """The visitor and their user id; settings are a signed-in person's (an API key has none)."""
    if visitor.user is None:
        raise ApiError(403, code="forbidden", message="settings belong to a signed-in person; sign in first")
    return visitor, visitor.user.user_id


def settings_routes(router: APIRouter, render: Renderer, engine: Engine) -> None:
    """GET /settings, /settings/keys, /settings/users and their forms on `router`."""

    def show(
        request: Request,
        visitor: Visitor,
        section: Section,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        **extra: Any,
    ) -> HTMLResponse:
        _, user_id = _own(visitor)
        with Session(engine) as session:
            me = get_user(session, user_id)
            brands = _main_brands(session)
            users = list_users(session) if section == "users" and visitor.may_administer else []
        if me is None:  # removed while signed in: the session has ended with it
            raise ApiError(403, code="forbidden", message="this user no longer exists; sign in again")
        done = request.query_params.get("done", "")
        context: dict[str, Any] = {
            "section": section,
            "me": me,
            "done": DONE.get(done) if status == 200 else None,
            "errors": errors or {},
            "prefs": _preferences_form(me),
            "zones": COMMON_ZONES,
            "severities": SEVERITIES,
            "delivery_modes": DELIVERY_MODES,
            "user_languages": LANGUAGES,
            "roles": ROLES,
            "key_roles": [r for r in ROLES if visitor.may(r)],
            "brands": brands,
            "key_brands": [b for b in brands if not me.brands or b.name in me.brands],
            "my_keys": keys_of(engine, user_id) if section == "keys" else [],
            "all_keys": keys_of(engine, None) if section == "keys" and visitor.may_administer else [],
            "users": users,
            "new_key": None,
            "new_user": None,
            "key_form": {"role": "viewer", "brand": "", "label": ""},
            "user_form": {"name": "", "email": "", "display_name": "", "role": "viewer", "language": "nl"},
            "open_user": None,
        } | extra
        context["alert_kinds"] = _offered_kinds(context["prefs"]["alert_kinds"])
        response = render.page(
            request, "settings.html", visitor=visitor, status=status, current="settings", **context
        )
        if context["new_key"] is not None or context["new_user"] is not None:
            response.headers["Cache-Control"] = "no-store"  # a secret shown once stays out of the cache
        return response

    def page_route(path: str, section: Section) -> None:
        @router.get(path, response_class=HTMLResponse, name=f"settings_{section}")
        def page(request: Request, visitor: Annotated[Visitor | None, Depends(current_visitor)]) -> Response:
            if visitor is None:
                return sign_in_redirect(request)
            if section == "users" and not visitor.may_administer:
                raise ApiError(403, code="forbidden", message="the users are an admin's to see and change")
            return show(request, visitor, section)

    page_route("/settings", "settings")
    page_route("/settings/keys", "keys")
    page_route("/settings/users", "users")

    def form_of(request: Request, visitor: Visitor | None, form: dict[str, str], what: str) -> Visitor:
        if visitor is None or visitor.user is None:
            raise FormRefusedError(f"sign in to {what}")
        check_form(request, form, expected=visitor.csrf_token)
        return visitor

    def administer(visitor: Visitor) -> None:
        if not visitor.may_administer:
            raise FormRefusedError("adding, changing and removing users needs the role admin")

    def done(where: str, what: str) -> RedirectResponse:
        return RedirectResponse(f"{where}?done={what}", status_code=303)

    @router.post("/settings/preferences")
    def save_preferences(
        request: Request,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        visitor = form_of(request, visitor, form, "change your settings")
        _, user_id = _own(visitor)
        given: dict[str, Any] = {f: form.get(f, "") for f in _PREFERENCE_FIELDS}
        given["digest_hour"] = _hour(form.get("digest_hour", ""))
        given["alert_kinds"] = _checked(form, "kind-", ALERT_KINDS)
        given["quiet_hours"] = _quiet_hours(form.get("quiet_start", ""), form.get("quiet_end", ""))
        try:
            with write_engine(request).begin() as conn:
                change_user(conn, user_id, given)
        except UserError as e:
            gettext = translations(visitor.language).gettext
            field = e.field or "display_name"
            typed = {f: form.get(f, "") for f in (*_PREFERENCE_FIELDS, "quiet_start", "quiet_end")}
            return show(
                request,
                visitor,
                "settings",
                status=422,
                errors={f"prefs.{field}": _problem(gettext, e)},
                prefs=typed | {"alert_kinds": given["alert_kinds"]},
            )
        return done("/settings", "saved")

    @router.post("/settings/password")
    def change_password(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        visitor = form_of(request, visitor, form, "change your password")
        assert visitor.user is not None
        gettext = translations(visitor.language).gettext
        if form.get("password", "") != form.get("repeat", ""):
            problem = gettext("The two new passwords differ; type the same one twice.")
            return show(request, visitor, "settings", status=422, errors={"password.repeat": problem})
        try:
            with write_engine(request).begin() as conn:
                session = change_own_password(
                    conn,
                    name=visitor.user.name,
                    current=form.get("current_password", ""),
                    new=form.get("password", ""),
                    now=now,
                )
        except UserError as e:
            problem = _problem(gettext, e)
            return show(request, visitor, "settings", status=422, errors={f"password.{e.field}": problem})
        response = done("/settings", "password")
        set_session_cookie(response, request, session.token)
        return response

    @router.post("/settings/keys", response_class=HTMLResponse)
    def create_key(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        visitor = form_of(request, visitor, form, "make an API key")
        assert visitor.user is not None
        role = form.get("role", "")
        if role not in ROLES or not visitor.may(role):  # type: ignore[arg-type]
            raise FormRefusedError(f"a key of yours can have your role ({visitor.role}) or a lower one")
        key_form = {"role": role, "brand": form.get("brand", ""), "label": form.get("label", "")}
        made: NewApiKey | None = None
        try:
            made = create_key_for(
                engine=write_engine(request),
                user_name=visitor.user.name,
                role=role,
                brand=key_form["brand"] or None,
                label=key_form["label"],
                now=now,
            )
        except ApiKeyError:
            gettext = translations(visitor.language).gettext
            problem = gettext("Choose one of the brands you follow, and a label of up to 200 characters.")
            return show(
                request, visitor, "keys", status=422, errors={"key.brand": problem}, key_form=key_form
            )
        return show(request, visitor, "keys", new_key=made)

    @router.post("/settings/keys/{key_id}/revoke")
    def revoke(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
        key_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ) -> Response:
        visitor = form_of(request, visitor, form, "revoke an API key")
        _, user_id = _own(visitor)
        try:
            revoke_key(
                write_engine(request), key_id, user_id=None if visitor.may_administer else user_id, now=now
            )
        except ApiKeyError as e:
            raise ApiError(404, code="unknown_key", message=str(e)) from e
        return done("/settings/keys", "revoked")

    @router.post("/settings/users", response_class=HTMLResponse)
    def add(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        visitor = form_of(request, visitor, form, "add a user")
        administer(visitor)
        with Session(engine) as session:
            brands = _main_brands(session)
        typed = {f: form.get(f, "") for f in ("name", "email", "display_name", "role", "language")}
        password = form.get("password", "") or new_password()
        try:
            with write_engine(request).begin() as conn:
                add_user(
                    conn,
                    name=typed["name"],
                    email=typed["email"],
                    role=typed["role"],
                    password=password,
                    now=now,
                    display_name=typed["display_name"],
                    language=typed["language"],
                    brands=_brand_choices(form, brands),
                )
        except UserError as e:
            gettext = translations(visitor.language).gettext
            return show(
                request,
                visitor,
                "users",
                status=422,
                errors={f"new_user.{e.field or 'name'}": _problem(gettext, e)},
                user_form=typed,
            )
        shown = None if form.get("password") else password
        return show(
            request, visitor, "users", new_user={"name": typed["name"].strip().lower(), "password": shown}
        )

    @router.post("/settings/users/{user_id}")
    def change(
        request: Request,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
        user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ) -> Response:
        visitor = form_of(request, visitor, form, "change a user")
        administer(visitor)
        with Session(engine) as session:
            brands = _main_brands(session)
        changes = {
            "role": form.get("role", ""),
            "brands": _brand_choices(form, brands),
            "active": form.get("active") == "on",
        }
        try:
            with write_engine(request).begin() as conn:
                change_user(conn, user_id, changes)
        except UnknownUserError as e:
            raise ApiError(404, code=e.code, message=str(e)) from e
        except UserError as e:
            gettext = translations(visitor.language).gettext
            return show(
                request,
                visitor,
                "users",
                status=422,
                errors={f"user-{user_id}.{e.field}": _problem(gettext, e)},
                open_user=user_id,
            )
        return done("/settings/users", "saved")

    @router.post("/settings/users/{user_id}/remove")
    def remove(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
        user_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    ) -> Response:
        visitor = form_of(request, visitor, form, "remove a user")
        administer(visitor)
        try:
            with write_engine(request).begin() as conn:
                remove_user_keeping_an_admin(conn, user_id, now=now)
        except UnknownUserError as e:
            raise ApiError(404, code=e.code, message=str(e)) from e
        except UserError as e:
            gettext = translations(visitor.language).gettext
            return show(
                request,
                visitor,
                "users",
                status=422,
                errors={f"user-{user_id}.remove": _problem(gettext, e)},
                open_user=user_id,
            )
        if visitor.user is not None and user_id == visitor.user.user_id:
            return RedirectResponse("/signin", status_code=303)  # removed oneself: the session ended too
        return done("/settings/users", "removed")
