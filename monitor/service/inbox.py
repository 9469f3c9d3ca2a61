"""What people do with inbox items: acknowledge, assign, answer, resolve, dismiss (with a reason), reopen.

Each action fits some states only (monitor.inbox.rules.ACTIONS); one that does not is an InboxStateError
naming the state. Every change is a conditional UPDATE at the version the action read (and, when the caller
sends one, the version it saw), so of two people acting on one item at once one wins and the other gets an
InboxStateError `version_conflict`. Each change is logged as an event with its actor.

Dismissing as spam or bot suppresses the item's author: their mentions open no more items and their
profiles are recomputed without them counting (monitor.scoring.store reads the suppression). Reopening
that item undoes it, and the profiles are recomputed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from monitor.config import Settings
from monitor.errors import (
    ForbiddenBrandError,
    InboxError,
    InboxStateError,
    UnknownAssigneeError,
    UnknownInboxItemError,
)
from monitor.inbox.rules import ACTIONS, DISMISS_REASONS, SUPPRESSING_REASONS, Action, action_target
from monitor.scoring.store import recompute_authors
from monitor.service.scope import BrandScope
from monitor.storage.db import writable
from monitor.storage.inbox import (
    add_event,
    item_row,
    suppress_author,
    suppressed_authors,
    unsuppress_author,
    update_item,
    user_is_active,
)

__all__ = ["ItemChange", "act_on_item", "apply_action"]


@dataclass(frozen=True, slots=True)
class ItemChange:
    """What an action did: the item's state before and after, and its new version."""

    item_id: int
    action: str
    from_status: str
    to_status: str
    version: int
    suppressed_author: bool = False
    unsuppressed_author: bool = False


def act_on_item(
    engine: Engine,
    *,
    item_id: int,
    action: Action,
    actor: str,
    settings: Settings,
    now: datetime,
    version: int | None = None,
    assignee_user_id: int | None = None,
    reason: str | None = None,
    scope: BrandScope | None = None,
) -> ItemChange:
    """`apply_action` in a write transaction of its own, committed before it returns."""
    with writable(engine).begin() as conn:
        return apply_action(
            conn,
            item_id=item_id,
            action=action,
            actor=actor,
            settings=settings,
            now=now,
            version=version,
            assignee_user_id=assignee_user_id,
            reason=reason,
            scope=scope,
        )


def apply_action(
    conn: Connection,
    *,
    item_id: int,
    action: Action,
    actor: str,
    settings: Settings,
    now: datetime,
    version: int | None = None,
    assignee_user_id: int | None = None,
    reason: str | None = None,
    scope: BrandScope | None = None,
) -> ItemChange:
    """Do `action` on item `item_id` as `actor`, in the caller's transaction.

    `version`: the version the caller saw (GET /inbox/{id}); None to act on the current one.
    `assignee_user_id` (assign; None unassigns) and `reason` (dismiss) go with their actions.
    Raises UnknownInboxItemError, ForbiddenBrandError (outside `scope`), InboxStateError (the state does
    not allow it, code `wrong_state`; or the item changed, `version_conflict`), UnknownAssigneeError, and
    InboxError `invalid_reason` for a dismissal without one of DISMISS_REASONS."""
    if action not in ACTIONS:
        raise InboxError("invalid_action", f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    row = item_row(conn, item_id)
    if row is None:
        raise UnknownInboxItemError(item_id)
    if scope is not None and not scope.may_see(row["brand_id"]):
        raise ForbiddenBrandError(
            f"inbox item {item_id} is not about brand {scope.brand!r}, this key's brand"
        )
    status: str = row["status"]
    if version is not None and version != row["version"]:
        raise _conflict(item_id, status)
    target = action_target(action, status)
    if target is None:
        allowed = " or ".join(ACTIONS[action][0])
        raise InboxStateError(
            "wrong_state",
            f"cannot {action} inbox item {item_id}: it is {status}, and {action} fits an item that is "
            f"{allowed}; reload it to see what changed",
            state=status,
        )
    values: dict[str, Any] = {"status": target, "updated_at": now}
    detail: dict[str, Any] = {}
    suppressed = unsuppressed = False
    if action == "assign":
        if assignee_user_id is not None and not user_is_active(conn, assignee_user_id):
            raise UnknownAssigneeError(assignee_user_id)
        values["assignee_user_id"] = assignee_user_id
        detail["assignee_user_id"] = assignee_user_id
    elif action == "answer":
        values["answered_at"] = now
        values["first_response_at"] = row["first_response_at"] or now
    elif action == "resolve":
        values["resolved_at"] = now
    elif action == "dismiss":
        if reason not in DISMISS_REASONS:
            raise InboxError(
                "invalid_reason",
                f"dismissing needs a reason: one of {', '.join(DISMISS_REASONS)} (got {reason!r})",
            )
        values["dismiss_reason"] = reason
        detail["reason"] = reason
    elif action == "reopen":
        values.update(dismiss_reason=None, resolved_at=None)
    if not update_item(conn, item_id, version=row["version"], values=values):
        # the state another writer left: on PostgreSQL this statement sees its commit
        now_row = item_row(conn, item_id)
        raise _conflict(item_id, status if now_row is None else now_row["status"])
    author_id = row["author_id"]
    if action == "dismiss" and reason in SUPPRESSING_REASONS and author_id is not None:
        suppressed = suppress_author(
            conn, author_id=author_id, reason=reason, item_id=item_id, by=actor, now=now
        )
    if action == "reopen" and row["dismiss_reason"] in SUPPRESSING_REASONS and author_id is not None:
        unsuppressed = author_id in suppressed_authors(conn, [author_id]) and unsuppress_author(
            conn, author_id=author_id
        )
    if suppressed or unsuppressed:
        recompute_authors(conn, author_ids=[author_id], settings=settings)
        detail["author_suppressed" if suppressed else "author_unsuppressed"] = author_id
    add_event(
        conn,
        item_id=item_id,
        action=action,
        from_status=status,
        to_status=target,
        actor=actor,
        at=now,
        detail=detail,
    )
    return ItemChange(
        item_id=item_id,
        action=action,
        from_status=status,
        to_status=target,
        version=row["version"] + 1,
        suppressed_author=suppressed,
        unsuppressed_author=unsuppressed,
    )


def _conflict(item_id: int, status: str) -> InboxStateError:
    return InboxStateError(
        "version_conflict",
        f"inbox item {item_id} changed while you acted on it (it is now {status}); reload it and try again",
        state=status,
    )
