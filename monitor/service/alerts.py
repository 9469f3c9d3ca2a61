"""What people do with an alert: acknowledge it (someone is on it: routing sends no more reminders) or
resolve it (it is over). An alert is open, acknowledged or resolved; the detector and the label service
also resolve and withdraw alerts (monitor.alerts.incidents, monitor.alerts.evaluate).

Acknowledge fits an open alert, resolve an open or acknowledged one; anything else is an AlertStateError
naming the status, and nothing changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.engine import Connection, Engine

from monitor.errors import AlertStateError, ForbiddenBrandError, UnknownAlertError
from monitor.service.scope import BrandScope
from monitor.storage.alert_status import alert_brand_and_status, move_alert_status
from monitor.storage.db import writable

__all__ = ["ALERT_ACTIONS", "AlertAction", "change_alert_status", "move_alert"]

AlertAction = Literal["ack", "resolve"]
# action -> (the statuses it fits, the status it leads to)
ALERT_ACTIONS: dict[AlertAction, tuple[tuple[str, ...], str]] = {
    "ack": (("open",), "acknowledged"),
    "resolve": (("open", "acknowledged"), "resolved"),
}


def change_alert_status(
    engine: Engine,
    *,
    alert_id: int,
    action: AlertAction,
    scope: BrandScope | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> str:
    """Do `action` on alert `alert_id` in a transaction of its own; returns the new status.

    Raises UnknownAlertError, ForbiddenBrandError (outside `scope`) and AlertStateError (the status does
    not fit the action, or someone else changed it meanwhile)."""
    with writable(engine).begin() as conn:
        return move_alert(conn, alert_id=alert_id, action=action, scope=scope, actor=actor, now=now)


def move_alert(
    conn: Connection,
    *,
    alert_id: int,
    action: AlertAction,
    scope: BrandScope | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> str:
    """`change_alert_status` inside the caller's write transaction `conn` (which can then read the alert
    as it left it); records `actor` (api.writes.written_by) and `now` as who acknowledged or resolved it."""
    fits, target = ALERT_ACTIONS[action]
    found = alert_brand_and_status(conn, alert_id)
    if found is None:
        raise UnknownAlertError(alert_id)
    brand_id, status = found
    if scope is not None and not scope.may_see(brand_id):
        raise ForbiddenBrandError(f"alert {alert_id} is not about brand {scope.brand!r}, this key's brand")
    moved = status in fits and move_alert_status(
        conn,
        alert_id,
        from_status=status,
        to_status=target,
        actor=actor,
        at=now or datetime.now(UTC),
    )
    if not moved:
        # of two people acting at once the second finds the status moved on: name the one it has now
        now_found = alert_brand_and_status(conn, alert_id)
        state = status if now_found is None else now_found[1]
        raise AlertStateError(alert_id, action=action, state=state, fits=fits)
    return target
