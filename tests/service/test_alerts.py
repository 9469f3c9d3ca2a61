"""Acknowledging and resolving an alert (monitor.service.alerts) on the real database: the moves that fit,
the ones that do not, an unknown alert, and a brand-scoped caller outside its brands."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.errors import AlertStateError, ForbiddenBrandError, UnknownAlertError
from monitor.service.alerts import change_alert_status
from monitor.service.scope import BrandScope
from monitor.storage.models import Alert
from monitor.storage.tables import table_of
from tests.api.conftest import Seeded, seed


def _status(engine: Engine, alert_id: int) -> str:
    alerts = table_of(Alert)
    with engine.connect() as conn:
        return str(conn.execute(sa.select(alerts.c.status).where(alerts.c.id == alert_id)).scalar_one())


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


def test_open_is_acknowledged_then_resolved(engine: Engine, seeded: Seeded) -> None:
    a1 = seeded.alerts["a1"]
    assert change_alert_status(engine, alert_id=a1, action="ack") == "acknowledged"
    assert _status(engine, a1) == "acknowledged"
    with pytest.raises(
        AlertStateError, match=r"cannot ack alert \d+: it is acknowledged, and ack fits an alert that is open"
    ):
        change_alert_status(engine, alert_id=a1, action="ack")
    assert change_alert_status(engine, alert_id=a1, action="resolve") == "resolved"
    with pytest.raises(AlertStateError) as refused:
        change_alert_status(engine, alert_id=a1, action="resolve")
    assert (refused.value.code, refused.value.state) == ("wrong_state", "resolved")
    assert _status(engine, a1) == "resolved"


def test_an_open_alert_is_resolved_at_once(engine: Engine, seeded: Seeded) -> None:
    assert change_alert_status(engine, alert_id=seeded.alerts["a5"], action="resolve") == "resolved"


def test_unknown_and_out_of_scope_alerts_are_refused(engine: Engine, seeded: Seeded) -> None:
    with pytest.raises(UnknownAlertError, match="there is no alert 999999"):
        change_alert_status(engine, alert_id=999_999, action="ack")
    other = BrandScope(seeded.brands["Other"], "Other", frozenset({seeded.brands["Other"]}))
    with pytest.raises(ForbiddenBrandError, match="is not about brand 'Other'"):
        change_alert_status(engine, alert_id=seeded.alerts["a4"], action="ack", scope=other)
    assert _status(engine, seeded.alerts["a4"]) == "open"
