"""A small world for the outbox tests: settings aimed at a real SMTP server and a real HTTP receiver, users
made by the real service, alerts stored as rows, and a step that routes and delivers at a fake time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.alerts.delivery import DeliveryResult, deliver_pending
from monitor.config import Settings, settings_from_mapping
from monitor.service.notify import RoutingResult, route_alerts
from monitor.service.users import add_user
from monitor.storage.brands import sync_brands
from monitor.storage.models import Alert, NotificationDelivery
from monitor.storage.tables import table_of
from tests.alerts.smtp_server import Recorder

SENDER = "wom <wom@acme.example>"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks docs' example key
SECRET_ENV = "WOM_TEST_WEBHOOK_SECRET"
ALERT = table_of(Alert)
DELIVERY = table_of(NotificationDelivery)


def world_settings(
    url: str,
    *,
    smtp_port: int,
    hook_port: int | None = None,
    alerts: dict[str, Any] | None = None,
    hooks: Sequence[dict[str, Any]] = (),
    email_to: Sequence[str] = (),
    public_url: str = "https://wom.acme.example",
) -> Settings:
    allowed = [f"127.0.0.1:{hook_port}"] if hook_port else []
    return settings_from_mapping(
        {
            "database": {"url": url},
            "brands": [
                {"name": "Acme", "keywords": ["acme"]},
                {"name": "Globex", "keywords": ["globex"]},
            ],
            # no reminders unless a test asks for them (the repeat-interval test does)
            "alerts": {"email_to": list(email_to), "repeat_hours": 0, **(alerts or {})},
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "sender": SENDER, "starttls": False},
            "dashboard": {"public_url": public_url},
            "collectors": {"allow_private_hosts": allowed},
            "webhooks": list(hooks),
        }
    )


def make_user(
    engine: Engine,
    name: str,
    *,
    now: datetime,
    language: str = "en",
    timezone: str = "UTC",
    delivery: str = "immediate",
    min_severity: str = "critical",
    quiet: tuple[time, time] | None = None,
    brands: Sequence[str] = (),
    digest_hour: int = 8,
) -> int:
    with engine.begin() as conn:
        return add_user(
            conn,
            name=name,
            email=f"{name}@acme.example",
            now=now,
            language=language,
            timezone=timezone,
            delivery=delivery,
            min_severity=min_severity,
            quiet_hours=quiet,
            brands=list(brands),
            digest_hour=digest_hour,
        )


def brand_ids(engine: Engine, settings: Settings) -> dict[str, int]:
    return sync_brands(engine, settings)


def store_alert(
    engine: Engine,
    *,
    brand_id: int,
    kind: str,
    title: str,
    at: datetime,
    severity: str = "critical",
    status: str = "open",
    detail: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> int:
    with engine.begin() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(ALERT)).scalar_one()
        return int(
            conn.execute(
                ALERT.insert()
                .values(
                    brand_id=brand_id,
                    kind=kind,
                    dedupe_key=f"{kind}:{brand_id}:{count}:{at.isoformat()}",
                    severity=severity,
                    title=title,
                    detail=detail or {},
                    status=status,
                    event_at=at,
                    created_at=created_at or at,
                )
                .returning(ALERT.c.id)
            ).scalar_one()
        )


def set_alert(engine: Engine, alert_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(ALERT.update().where(ALERT.c.id == alert_id).values(**values))


def step(engine: Engine, settings: Settings, at: datetime) -> tuple[RoutingResult, DeliveryResult]:
    """One pass of the deliver job at fake time `at`."""
    routed = route_alerts(engine, settings, now=at)
    return routed, deliver_pending(engine, settings, now=lambda: at, limit=1000)


def rows(engine: Engine, **where: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = sa.select(DELIVERY).order_by(DELIVERY.c.id)
        for key, value in where.items():
            query = query.where(DELIVERY.c[key] == value)
        return [dict(row) for row in conn.execute(query).mappings()]


def per_recipient(recorder: Recorder) -> Counter[str]:
    return Counter(address for envelope in recorder.envelopes for address in envelope.rcpt_tos)
