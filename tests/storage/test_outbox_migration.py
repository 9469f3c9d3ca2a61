"""Migration 0009 (the outbox) upgrades a 0008 database that holds alerts and their e-mails: the rows keep
their ids and Message-IDs and get dedupe keys, and the old alerts are not routed to users again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from monitor.config import settings_from_mapping
from monitor.service.notify import route_alerts
from monitor.service.users import add_user
from monitor.storage.db import _alembic_config, connect, upgrade_schema
from monitor.storage.models import AlertNotice, NotificationDelivery
from monitor.storage.tables import table_of
from tests.conftest import drop_postgres_schema, make_postgres_url, postgres_base_url

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url, schema = make_postgres_url(postgres_base_url())
    engine = connect(url)
    yield engine
    engine.dispose()
    if schema is not None:
        drop_postgres_schema(postgres_base_url(), schema)


def test_0009_keeps_the_deliveries_of_a_0008_database(unmigrated: Engine) -> None:
    command.upgrade(_alembic_config(unmigrated), "0008")
    naive = AT.replace(tzinfo=None)
    with unmigrated.begin() as conn:
        brand = conn.execute(
            sa.text("INSERT INTO brand (name, timezone, active) VALUES ('Acme', 'UTC', true) RETURNING id")
        ).scalar_one()
        alert = conn.execute(
            sa.text(
                "INSERT INTO alert (brand_id, kind, dedupe_key, severity, title, status, event_at, created_at)"
                " VALUES (:b, 'complaint_to_answer', 'k1', 'critical', 't', 'open', :at, :at) RETURNING id"
            ),
            {"b": brand, "at": naive},
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO notificationdelivery (alert_id, channel, recipient, status, attempts, message_id,"
                " last_error, next_attempt_at) VALUES (:a, 'email', 'ann@acme.example', 'sent', 1,"
                " '<wom-alert-1.abc@acme.example>', '', :at)"
            ),
            {"a": alert, "at": naive},
        )
    upgrade_schema(unmigrated)
    deliveries, notices = table_of(NotificationDelivery), table_of(AlertNotice)
    with unmigrated.begin() as conn:
        [row] = conn.execute(sa.select(deliveries)).mappings().all()
        assert (row["alert_id"], row["kind"], row["dedupe_key"], row["message_id"], row["user_id"]) == (
            alert,
            "alert",
            f"alert:{alert}:email:ann@acme.example",
            "<wom-alert-1.abc@acme.example>",
            None,
        )
        assert [tuple(r) for r in conn.execute(sa.select(notices.c.alert_id, notices.c.state))] == [
            (alert, "recorded")
        ]
        add_user(conn, name="ann", email="ann@acme.example", now=AT)
    settings = settings_from_mapping({"brands": [{"name": "Acme", "keywords": ["acme"]}]})
    routed = route_alerts(unmigrated, settings, now=AT)
    assert (routed.pushed, routed.emails) == (0, 0)
    with unmigrated.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one() == 1
