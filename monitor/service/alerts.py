"""What people do with an alert: acknowledge it (someone is on it: routing sends no more reminders) or
resolve it (it is over). An alert is open, acknowledged or resolved; the detector and the label service
also resolve and withdraw alerts (monitor.alerts.incidents, monitor.alerts.evaluate).

Acknowledge fits an open alert, resolve an open or acknowledged one; anything else is an AlertStateError
naming the status, and nothing changes.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.engine import Engine

from monitor.errors import AlertStateError, ForbiddenBrandError, UnknownAlertError
from monitor.service.scope import BrandScope
from monitor.storage.alert_status import alert_brand_and_status, move_alert_status
from monitor.storage.db import writable

__all__ = ["ALERT_ACTIONS", "AlertAction", "change_alert_status"]

AlertAction = Literal["ack", "resolve"]
# action -> (the statuses it fits, the status it leads to)
ALERT_ACTIONS: dict[AlertAction, tuple[tuple[str, ...], str]] = {
    "ack": (("open",), "acknowledged"),
    "resolve": (("open", "acknowledged"), "resolved"),
}


def change_alert_status(
    engine: Engine, *, alert_id: int, action: AlertAction, scope: BrandScope | None = None
) -> str:
    """Do `action` on alert `alert_id` in a transaction of its own; returns the new status.

    Raises UnknownAlertError, ForbiddenBrandError (outside `scope`) and AlertStateError (the status does
    not fit the action, or someone else changed it meanwhile)."""
    fits, target = ALERT_ACTIONS[action]
    with writable(engine).begin() as conn:
        found = alert_brand_and_status(conn, alert_id)
        if found is None:
            raise UnknownAlertError(alert_id)
        brand_id, status = found
        if scope is not None and not scope.may_see(brand_id):
            raise ForbiddenBrandError(
                f"alert {alert_id} is not about brand {scope.brand!r}, this key's brand"
            )
        if status not in fits or not move_alert_status(conn, alert_id, from_status=status, to_status=target):
            raise AlertStateError(alert_id, action=action, state=status, fits=fits)
    return target
