"""The inbox page: the work queue (monitor.read.inbox) by priority or age, filtered by status, assignee,
brand and overdue, each item with its thread, author and reach, due time and the actions that fit its
state (monitor.service.inbox), which managers and admins post as forms: the next steps as one row of
buttons, the rest under "More actions" (assign, dismiss with a reason, mark the author as spam or a bot,
which is a dismissal that suppresses the author until the item is reopened, and correct the label of the
item's first mention, posted to the mentions page's correction, POST /mentions/{id}/sentiment). j and k
move through the list (static/inbox.js)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import MAX_ID, ApiError, QueryText, find_brand, get_now
from dashboards.auth import (
    FormRefusedError,
    Visitor,
    check_form,
    current_visitor,
    read_form,
    safe_next,
    sign_in_redirect,
    write_engine,
)
from dashboards.i18n import translations
from dashboards.pages import INTENTS, SENTIMENTS
from dashboards.render import Renderer
from monitor.config import Settings
from monitor.errors import (
    ForbiddenBrandError,
    InboxError,
    InboxStateError,
    UnknownAssigneeError,
    UnknownInboxItemError,
)
from monitor.inbox.rules import ACTIONS, DISMISS_REASONS, STATUSES, Action
from monitor.read.brands import list_brands
from monitor.read.inbox import (
    InboxFilter,
    InboxItemDetail,
    InboxItemOut,
    InboxSort,
    decode_inbox_cursor,
    inbox_details,
    list_inbox,
)
from monitor.read.reach import author_reach
from monitor.read.users import UserOut, list_users
from monitor.service.inbox import act_on_item

__all__ = ["InboxView", "inbox_routes"]

PAGE_SIZE = 25
TO_DO = ("open", "acknowledged", "answered")  # the default view: what still needs someone
STATUS_CHOICES = ("to_do", *STATUSES, "all")
SORTS: tuple[InboxSort, ...] = ("priority", "age")
OVERDUE_CHOICES = ("", "yes", "no")
ActionName = Literal["ack", "assign", "answer", "resolve", "dismiss", "reopen"]
# the one-click steps first, so that they share a row on a phone; then the two forms with a choice
_ACTION_ORDER: tuple[Action, ...] = ("ack", "answer", "resolve", "reopen", "assign", "dismiss")


@dataclass(frozen=True, slots=True)
class InboxView:
    """The list's filters as the URL carries them; a value the page does not offer falls back to the
    default, so an edited URL shows a page, not an error."""

    brand: str = ""
    status: str = "to_do"
    assignee: str = ""  # "", "none" or a user id
    overdue: str = ""
    sort: InboxSort = "priority"

    def query(self, **changes: str) -> str:
        values = {
            "brand": self.brand,
            "status": self.status,
            "assignee": self.assignee,
            "overdue": self.overdue,
            "sort": self.sort,
        } | changes
        return urlencode({k: v for k, v in values.items() if v})


def _view(
    brand: str | None, status: str | None, assignee: str | None, overdue: str | None, sort: str | None
) -> InboxView:
    return InboxView(
        brand=brand or "",
        status=status if status in STATUS_CHOICES else "to_do",
        assignee=assignee if assignee and (assignee == "none" or assignee.isdigit()) else "",
        overdue=overdue if overdue in OVERDUE_CHOICES else "",
        sort="age" if sort == "age" else "priority",
    )


def _filter(view: InboxView, brand_id: int | None) -> InboxFilter:
    assignee = int(view.assignee) if view.assignee.isdigit() and 0 < int(view.assignee) <= MAX_ID else None
    return InboxFilter(
        brand_id=brand_id,
        status=view.status if view.status in STATUSES else None,
        statuses=TO_DO if view.status == "to_do" else None,
        unassigned=view.assignee == "none",
        assignee_user_id=assignee,
        overdue={"yes": True, "no": False}.get(view.overdue),
    )


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One item as the page shows it: with its thread, the author's reach and the actions that fit."""

    item: InboxItemDetail
    reach: int | None
    original: str | None  # the URL of the mention that opened the item
    actions: tuple[str, ...]


def _entries(session: Session, items: list[InboxItemOut]) -> list[InboxEntry]:
    reach = author_reach(session, [i.author_id for i in items if i.author_id is not None])
    entries = []
    for item in inbox_details(session, items):  # without the items erased since the list was read
        first = next((m for m in item.thread if m.id == item.first_mention_id), None)
        fitting = tuple(a for a in _ACTION_ORDER if item.status in ACTIONS[a][0])
        entries.append(
            InboxEntry(
                item=item,
                reach=reach.get(item.author_id) if item.author_id is not None else None,
                original=first.url if first else None,
                actions=fitting,
            )
        )
    return entries


def _inbox_context(
    session: Session, visitor: Visitor, view: InboxView, cursor: str | None, now: datetime
) -> tuple[int, dict[str, Any]]:
    brands = [b for b in list_brands(session) if visitor.principal.may_see(b.id)]
    users: list[UserOut] = [u for u in list_users(session) if u.active]
    context: dict[str, Any] = {
        "view": view,
        "brands": brands,
        "users": users,
        "entries": [],
        "next_href": None,
        "error": None,
    }
    brand_id = visitor.principal.brand_id
    if view.brand:
        try:
            brand_id = find_brand(session, view.brand, visitor.principal).id
        except ApiError as e:
            return e.status_code, context | {"error": e.message}
    try:
        page_from = None if not cursor else decode_inbox_cursor(cursor, sort=view.sort)
    except ValueError:
        page_from = None  # a cursor from an edited URL: start at the top
    page = list_inbox(
        session, filters=_filter(view, brand_id), sort=view.sort, now=now, limit=PAGE_SIZE, cursor=page_from
    )
    context["entries"] = _entries(session, page.items)
    if page.next_cursor:
        context["next_href"] = "/inbox?" + view.query(cursor=page.next_cursor)
    return 200, context


def _conflict_message(visitor: Visitor, error: InboxStateError, item_id: int) -> str:
    gettext = translations(visitor.language).gettext
    state = gettext(error.state)
    if error.code == "version_conflict":
        return gettext(
            "Someone else changed item %(id)s while you were working on it; it is now %(state)s. "
            "Look at it again and choose once more."
        ) % {"id": item_id, "state": state}
    return gettext("That does not fit item %(id)s any more: it is %(state)s. Look at it again.") % {
        "id": item_id,
        "state": state,
    }


def _assignee(form: dict[str, str]) -> int | None:
    value = form.get("assignee", "")
    if value == "":
        return None
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise ApiError(
            422, code="invalid_request", message="assignee: give a user id, or nothing to unassign"
        )
    return int(value)


def inbox_routes(router: APIRouter, render: Renderer, settings: Settings, engine: Engine) -> None:
    """GET /inbox and POST /inbox/{id}/{action} on `router`."""

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        brand: Annotated[QueryText, Query(max_length=200)] = None,
        status: Annotated[QueryText, Query(max_length=20)] = None,
        assignee: Annotated[QueryText, Query(max_length=20)] = None,
        overdue: Annotated[QueryText, Query(max_length=5)] = None,
        sort: Annotated[QueryText, Query(max_length=10)] = None,
        cursor: Annotated[QueryText, Query(max_length=200)] = None,
    ) -> Response:
        if visitor is None:
            return sign_in_redirect(request)
        view = _view(brand, status, assignee, overdue, sort)
        with Session(engine) as session:
            code, context = _inbox_context(session, visitor, view, cursor, now)
        return render.page(
            request,
            "inbox.html",
            visitor=visitor,
            status=code,
            current="inbox",
            status_choices=STATUS_CHOICES,
            sorts=SORTS,
            dismiss_reasons=DISMISS_REASONS,
            sentiments=SENTIMENTS,
            intents=INTENTS,
            **context,
        )

    @router.post("/inbox/{item_id}/{action}")
    def act(
        request: Request,
        now: Annotated[datetime, Depends(get_now)],
        visitor: Annotated[Visitor | None, Depends(current_visitor)],
        form: Annotated[dict[str, str], Depends(read_form)],
        item_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        action: ActionName,
    ) -> Response:
        """A manager's action on an item; back to the list it was taken from, or a message on a conflict."""
        if visitor is None or visitor.user is None:
            raise FormRefusedError("sign in to work the inbox")
        check_form(request, form, expected=visitor.csrf_token)
        if not visitor.may_act:
            raise FormRefusedError("working the inbox needs the role manager or admin")
        version = form.get("version", "")
        chosen: Action = action
        back = safe_next(form.get("next"))
        try:
            act_on_item(
                write_engine(request),
                item_id=item_id,
                action=chosen,
                actor=f"user:{visitor.user.name}",
                settings=settings,
                now=now,
                version=int(version) if version.isdigit() and 0 < int(version) <= MAX_ID else None,
                assignee_user_id=_assignee(form) if action == "assign" else None,
                reason=form.get("reason") if action == "dismiss" else None,
                scope=visitor.principal.scope,
            )
        except InboxStateError as e:
            return render.page(
                request,
                "refused.html",
                visitor=visitor,
                status=409,
                current="inbox",
                message=_conflict_message(visitor, e, item_id),
                back=back,
            )
        except UnknownInboxItemError as e:
            raise ApiError(404, code=e.code, message=str(e)) from e
        except ForbiddenBrandError as e:
            raise ApiError(403, code="forbidden_brand", message=str(e)) from e
        except (UnknownAssigneeError, InboxError) as e:
            raise ApiError(422, code=e.code, message=str(e)) from e
        return RedirectResponse(back, status_code=303)
