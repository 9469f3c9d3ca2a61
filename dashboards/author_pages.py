"""The author page: identities, figures per brand, segment history and the timeline of mentions; merging
(with the merge suggestions: the same handle on another platform) and splitting for managers, forgetting and
exporting for admins. The writes are the API's (api/routes/author_profile.py): monitor.authors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import MAX_ID, ApiError, PageCursor, get_now, page_cursor
from api.routes.mentions import brands_shown
from dashboards.auth import (
    FormRefusedError,
    Visitor,
    check_form,
    current_visitor,
    read_form,
    sign_in_redirect,
    write_engine,
)
from dashboards.pages import INTENTS, SENTIMENTS
from dashboards.render import SECURITY_HEADERS, Renderer
from monitor.authors.export import author_export, export_json
from monitor.authors.forget import forget_author
from monitor.authors.merge import merge_authors, split_author
from monitor.authors.suggest import suggestions_naming
from monitor.config import Settings
from monitor.errors import AuthorError, UnknownAuthorError
from monitor.read.authors import author_brand_ids, author_exists, author_profile

__all__ = ["TIMELINE_SIZE", "author_page_routes"]

TIMELINE_SIZE = 50
AuthorId = Annotated[int, Path(ge=1, le=MAX_ID)]
# an author request that cannot be done: unknown author 404, a clash with its current state 409
_STATUS = {"unknown_author": 404, "split_all_identities": 409}


@contextmanager
def _author_errors() -> Iterator[None]:
    try:
        yield
    except AuthorError as e:
        raise ApiError(_STATUS.get(e.code, 422), code=e.code, message=str(e)) from e


def _check_visible(session: Session, author_id: int, visitor: Visitor) -> None:
    """ApiError 404 for an unknown author, 403 for one a brand-scoped key may not see."""
    if not author_exists(session, author_id):
        error = UnknownAuthorError(author_id)
        raise ApiError(404, code=error.code, message=str(error))
    principal = visitor.principal
    if principal.scoped and not principal.may_see_any(author_brand_ids(session, author_id)):
        raise ApiError(
            403, code="forbidden_brand", message=f"author {author_id} is outside this key's brands"
        )


def _form_id(form: dict[str, str], field: str) -> int:
    value = form.get(field, "")
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise ApiError(422, code="invalid_request", message=f"{field} {value[:20]!r}: give a number")
    return int(value)


def _acting(request: Request, visitor: Visitor | None, form: dict[str, str], *, admin: bool) -> Visitor:
    """The visitor of a form POST that passed the token check and has the role it needs."""
    if visitor is None or visitor.user is None:
        raise FormRefusedError("sign in to change an author")
    check_form(request, form, expected=visitor.csrf_token)
    if admin and not visitor.may_administer:
        raise FormRefusedError("forgetting an author needs the role admin")
    if not visitor.may_act:
        raise FormRefusedError("merging and splitting authors needs the role manager or admin")
    return visitor


def author_page_routes(router: APIRouter, render: Renderer, settings: Settings, engine: Engine) -> None:
    """GET /authors/{id} and its export; POST merge, split and forget, on `router`."""

    @router.get("/authors/{author_id}", response_class=HTMLResponse)
    def author(
        request: Request,
        author_id: AuthorId,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        cursor: Annotated[PageCursor | None, Depends(page_cursor)],
    ) -> Response:
        if visitor is None:
            return sign_in_redirect(request)
        principal = visitor.principal
        with Session(engine) as session, _author_errors():
            _check_visible(session, author_id, visitor)
            profile = author_profile(
                session,
                author_id,
                now=now,
                half_life_days=settings.scoring.half_life_days,
                brand_ids=principal.brand_ids if principal.scoped else None,
                shown=brands_shown(principal),
                limit=TIMELINE_SIZE,
                cursor=cursor,
            )
            # the merge suggestions that name this author
            suggestions = suggestions_naming(session.connection(), author_id) if visitor.may_act else []
        next_cursor = profile.mentions.next_cursor
        older = None if next_cursor is None else f"/authors/{author_id}?" + urlencode({"cursor": next_cursor})
        return render.page(
            request,
            "author.html",
            visitor=visitor,
            current="",
            profile=profile,
            suggestions=suggestions,
            older=older,
            paged=cursor is not None,
            sentiments=SENTIMENTS,
            intents=INTENTS,
        )

    @router.post("/authors/{author_id}/merge")
    def merge(
        request: Request,
        author_id: AuthorId,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        """Merge the author in the form's `merged` into this one."""
        _acting(request, visitor, form, admin=False)
        assert visitor is not None
        merged = _form_id(form, "merged")
        with Session(engine) as session:
            for checked in {author_id, merged}:
                _check_visible(session, checked, visitor)
        with _author_errors(), write_engine(request).begin() as conn:
            merge_authors(conn, into=author_id, merged=merged, settings=settings)
        return RedirectResponse(f"/authors/{author_id}", status_code=303)

    @router.post("/authors/{author_id}/split")
    def split(
        request: Request,
        author_id: AuthorId,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        """Move the form's `identity` to a new author; on to the new author's page."""
        _acting(request, visitor, form, admin=False)
        assert visitor is not None
        identity = _form_id(form, "identity")
        with Session(engine) as session:
            _check_visible(session, author_id, visitor)
        with _author_errors(), write_engine(request).begin() as conn:
            result = split_author(conn, author_id=author_id, identity_ids=[identity], settings=settings)
        return RedirectResponse(f"/authors/{result.new_author_id}", status_code=303)

    @router.post("/authors/{author_id}/forget")
    def forget(
        request: Request,
        author_id: AuthorId,
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        """Erase the author's identities, mentions and derived data (an admin, after ticking `confirm`)."""
        _acting(request, visitor, form, admin=True)
        assert visitor is not None
        if form.get("confirm") != "yes":
            raise ApiError(
                422, code="invalid_request", message="tick the box to confirm forgetting the author"
            )
        with Session(engine) as session:
            _check_visible(session, author_id, visitor)
        with _author_errors(), write_engine(request).begin() as conn:
            forget_author(conn, author_id)
        return RedirectResponse("/", status_code=303)  # the author's page is gone (404)

    @router.get("/authors/{author_id}/export.json")
    def export(
        request: Request,
        author_id: AuthorId,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
    ) -> Response:
        """One person's data as JSON (the same as `wom authors export`), for an admin."""
        if visitor is None:
            return sign_in_redirect(request)
        if not visitor.may_administer:
            raise FormRefusedError("exporting a person's data needs the role admin")
        with Session(engine) as session, _author_errors():
            _check_visible(session, author_id, visitor)
            data: Any = author_export(session.connection(), author_id, now=now)
        headers = SECURITY_HEADERS | {
            "Content-Disposition": f'attachment; filename="wom-author-{author_id}.json"'
        }
        return Response(content=export_json(data), media_type="application/json", headers=headers)
