"""An alert's status as people change it: read the row, and the conditional UPDATE that moves it on only
from the status it was read in (so of two people acting at once, one wins)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.models import Alert
from monitor.storage.tables import table_of

__all__ = ["alert_brand_and_status", "move_alert_status"]

_ALERT = table_of(Alert)


def alert_brand_and_status(conn: Connection, alert_id: int) -> tuple[int, str] | None:
    """(brand id, status) of the alert; None when there is none."""
    row = conn.execute(sa.select(_ALERT.c.brand_id, _ALERT.c.status).where(_ALERT.c.id == alert_id)).first()
    return None if row is None else (int(row.brand_id), str(row.status))


def move_alert_status(
    conn: Connection,
    alert_id: int,
    *,
    from_status: str,
    to_status: str,
    actor: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Set the status to `to_status` if it is still `from_status`; False when it was not. Moving to
    acknowledged or resolved records `actor` and `at` as who did it and when."""
    values: dict[str, object] = {"status": to_status}
    if to_status in ("acknowledged", "resolved"):
        values |= {f"{to_status}_by": actor, f"{to_status}_at": at}
    result = conn.execute(
        sa.update(_ALERT).where(_ALERT.c.id == alert_id, _ALERT.c.status == from_status).values(**values)
    )
    return result.rowcount == 1
