"""Routing new and changed alerts into the outbox: who gets an e-mail now, what waits for the digest, which
webhooks are called (the decisions are monitor.alerts.routing's; this reads and writes the rows).

Run before each delivery pass (the `deliver-alerts` job). One transaction per run; every message has a
dedupe key, so a second run, or two processes at once, queue nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.alerts.delivery import DeliveryResult, deliver_pending
from monitor.alerts.email import alert_message_id
from monitor.alerts.routing import (
    AlertAction,
    AlertState,
    Notice,
    Recipient,
    alert_action,
    for_user,
    severity_at_least,
)
from monitor.alerts.webhooks import slack_alert_body, standard_alert_body
from monitor.config import Settings, WebhookSettings
from monitor.storage.models import utcnow
from monitor.storage.outbox import (
    active_recipients,
    alerts_to_route,
    brand_names,
    immediate_since,
    last_due_at,
    message_id_for,
    notices,
    open_negative_spikes,
    queue_messages,
    save_notice,
)

__all__ = [
    "RoutingResult",
    "dashboard_url",
    "deliver_outbox",
    "recipients_of",
    "route_alerts",
    "webhook_row",
]

# Slack accepts about one message a second per incoming webhook
SLACK_SPACING = timedelta(seconds=1)


@dataclass(slots=True)
class RoutingResult:
    pushed: int = 0  # alerts pushed for the first time
    updates: int = 0
    reminders: int = 0
    emails: int = 0  # e-mails queued to go out at once
    rolled_into_digest: int = 0  # (alert, user) pairs left for the digest
    webhooks: int = 0
    inhibited: int = 0
    recorded: int = 0
    waiting: int = 0


def dashboard_url(settings: Settings) -> str:
    """The dashboard's public address: `[dashboard] public_url`, else `[api] public_url`."""
    return settings.dashboard.public_url or settings.api.public_url


def recipients_of(rows: Sequence[sa.Row[Any]]) -> list[Recipient]:
    return [
        Recipient(
            user_id=int(row.id),
            email=str(row.email or ""),
            language=str(row.language or "en"),
            timezone=str(row.timezone or "UTC"),
            brand_ids=tuple(int(b) for b in (row.brand_ids or [])),
            alert_kinds=tuple(str(k) for k in (row.alert_kinds or [])),
            min_severity=str(row.min_severity or "critical"),
            delivery=str(row.delivery or "immediate"),
            digest_hour=int(row.digest_hour if row.digest_hour is not None else 8),
            quiet_start=row.quiet_start,
            quiet_end=row.quiet_end,
        )
        for row in rows
    ]


def _covers(spike: sa.Row[Any], moment: datetime, *, now: datetime) -> bool:
    detail = spike.detail or {}
    start = datetime.fromisoformat(detail["start"]) if detail.get("start") else spike.event_at
    end = datetime.fromisoformat(detail["end"]) if detail.get("end") else now
    return bool(start <= moment <= end)


def deliver_outbox(
    engine: Engine,
    settings: Settings,
    *,
    now: Callable[[], datetime] = utcnow,
    limit: int = 100,
) -> DeliveryResult:
    """Route the alerts stored since the last pass, then send the due outbox messages."""
    route_alerts(engine, settings, now=now())
    return deliver_pending(engine, settings, now=now, limit=limit)


def route_alerts(engine: Engine, settings: Settings, *, now: datetime) -> RoutingResult:
    """Queue the messages that alerts stored since the last run (and reminders) call for."""
    alerts = settings.alerts
    group_wait = timedelta(minutes=alerts.group_wait_minutes)
    repeat = timedelta(hours=alerts.repeat_hours) if alerts.repeat_hours else None
    max_age = timedelta(days=alerts.max_age_days)
    result = RoutingResult()
    with engine.begin() as conn:
        rows = alerts_to_route(conn, reminders_since=now - max_age)
        if not rows:
            return result
        notes = notices(conn, [int(row.id) for row in rows])
        spikes = open_negative_spikes(conn)
        users = recipients_of(active_recipients(conn))
        sent_last_hour = {
            user.user_id: immediate_since(conn, user_id=user.user_id, since=now - timedelta(hours=1))
            for user in users
        }
        names = brand_names(conn)
        planned: list[tuple[sa.Row[Any], AlertState, Any, AlertAction, list[int]]] = []
        for row in rows:
            state = AlertState(
                id=int(row.id),
                brand_id=int(row.brand_id),
                kind=str(row.kind),
                severity=str(row.severity),
                status=str(row.status),
                event_at=row.event_at,
                created_at=row.created_at or row.event_at,
            )
            note = notes.get(state.id)
            notice = (
                None
                if note is None
                else Notice(note.state, note.pushed_severity, int(note.reminders), note.last_pushed_at)
            )
            covering = [
                int(s.id)
                for s in spikes
                if s.brand_id == state.brand_id and s.id != state.id and _covers(s, state.event_at, now=now)
            ]
            action = alert_action(
                state,
                notice,
                open_spike_ids=covering,
                now=now,
                group_wait=group_wait,
                repeat=repeat,
                max_age=max_age,
                max_reminders=alerts.max_reminders,
            )
            if action != "none":
                planned.append((row, state, note, action, covering))
        # new alerts and updates take the hour's budget first; reminders get what is left (monitor.alerts.routing)
        planned.sort(key=lambda plan: plan[3] == "remind")
        for row, state, note, action, covering in planned:
            notice = (
                None
                if note is None
                else Notice(note.state, note.pushed_severity, int(note.reminders), note.last_pushed_at)
            )
            if action in ("wait", "record", "inhibit"):
                labels = {"wait": "waiting", "record": "recorded", "inhibit": "inhibited"}
                save_notice(
                    conn,
                    values={
                        "alert_id": state.id,
                        "state": labels[action],
                        "pushed_severity": "",
                        "inhibited_by": covering[0] if action == "inhibit" else None,
                        "reminders": 0,
                        "routed_at": now,
                        "last_pushed_at": None,
                    },
                )
                counter = {"wait": "waiting", "record": "recorded", "inhibit": "inhibited"}[action]
                setattr(result, counter, getattr(result, counter) + 1)
                continue
            reminders = (notice.reminders if notice else 0) + (1 if action == "remind" else 0)
            _queue_alert(
                conn,
                settings,
                row,
                state,
                action=action,
                sequence=reminders,
                users=users,
                sent_last_hour=sent_last_hour,
                brand_name=names.get(state.brand_id, ""),
                now=now,
                result=result,
            )
            save_notice(
                conn,
                values={
                    "alert_id": state.id,
                    "state": "pushed",
                    "pushed_severity": state.severity,
                    "inhibited_by": None,
                    "reminders": reminders,
                    "routed_at": note.routed_at if note is not None else now,
                    "last_pushed_at": now,
                },
            )
            if action == "push":
                result.pushed += 1
            elif action == "update":
                result.updates += 1
            else:
                result.reminders += 1
    return result


def _queue_alert(
    conn: Connection,
    settings: Settings,
    row: sa.Row[Any],
    state: AlertState,
    *,
    action: str,
    sequence: int,
    users: Sequence[Recipient],
    sent_last_hour: dict[int, int],
    brand_name: str,
    now: datetime,
    result: RoutingResult,
) -> None:
    kind = "reminder" if action == "remind" else "alert"
    tag = {"push": "", "update": f":{state.severity}", "remind": f":{sequence}"}[action]
    cap = settings.alerts.max_immediate_per_hour
    rows: list[dict[str, Any]] = []
    for user in users:
        choice = for_user(
            user,
            state,
            now=now,
            sent_last_hour=sent_last_hour[user.user_id],
            cap=cap,
            reminder=action == "remind",
        )
        if choice == "skip" or (choice == "digest" and action != "push"):
            continue  # the digest lists open alerts anyway: a reminder or update over the cap is dropped
        key = f"{kind}:{state.id}{tag}:email:{user.email.casefold()}"
        message_id = (
            alert_message_id(state.id, user.email, sender=settings.smtp.sender)
            if action == "push"
            else message_id_for(key, channel="email", sender=settings.smtp.sender)
        )
        rows.append(
            {
                "alert_id": state.id,
                "channel": "email",
                "recipient": user.email,
                "kind": kind,
                "user_id": user.user_id,
                "dedupe_key": key,
                "payload": {"timezone": user.timezone, "language": user.language, "note": action},
                "status": "pending" if choice == "push" else "digest",
                "attempts": 0,
                "message_id": message_id,
                "last_error": "",
                "created_at": now,
                "next_attempt_at": now,
                "sent_at": None,
            }
        )
        if choice == "push":
            sent_last_hour[user.user_id] += 1
            result.emails += 1
        else:
            result.rolled_into_digest += 1
    for hook in settings.webhooks:
        if severity_at_least(state.severity, hook.min_severity):
            # queued one by one: the next Slack row's time is read from the rows already queued
            queue_messages(
                conn,
                [
                    webhook_row(
                        conn,
                        settings,
                        hook,
                        alert=row,
                        kind=kind,
                        key=f"{kind}:{state.id}{tag}:{hook.kind}:{hook.name}",
                        note=action,
                        brand_name=brand_name,
                        now=now,
                    )
                ],
            )
            result.webhooks += 1
    queue_messages(conn, rows)


def webhook_row(
    conn: Connection,
    settings: Settings,
    hook: WebhookSettings,
    *,
    alert: Any,
    kind: str,
    key: str,
    note: str,
    brand_name: str,
    now: datetime,
) -> dict[str, Any]:
    """One outbox row for a webhook; its JSON body is built now, so every retry sends the same bytes."""
    base = dashboard_url(settings).rstrip("/")
    alert_url = f"{base}/alerts/{alert.id}" if base and alert.id is not None else None
    channel = "slack" if hook.kind == "slack" else "webhook"
    notes = {"push": "", "update": "Updated", "remind": "Reminder: still open", "test": "Test message"}
    if hook.kind == "slack":
        body = slack_alert_body(
            title=str(alert.title),
            severity=str(alert.severity),
            brand_name=brand_name,
            event_at=alert.event_at,
            alert_url=alert_url,
            note=notes.get(note, ""),
        )
    else:
        body = standard_alert_body(
            event_type=f"alert.{ {'push': 'opened', 'update': 'updated', 'remind': 'reminder'}.get(note, note) }",
            alert_id=alert.id,
            kind=str(alert.kind),
            title=str(alert.title),
            severity=str(alert.severity),
            status=str(alert.status),
            brand_name=brand_name,
            event_at=alert.event_at,
            alert_url=alert_url,
            at=now,
        )
    due = now
    if channel == "slack":
        last = last_due_at(conn, channel=channel, recipient=hook.name)
        if last is not None and last + SLACK_SPACING > due:
            due = last + SLACK_SPACING
    return {
        "alert_id": alert.id,
        "channel": channel,
        "recipient": hook.name,
        "kind": kind,
        "user_id": None,
        "dedupe_key": key,
        "payload": {"body": body},
        "status": "pending",
        "attempts": 0,
        "message_id": message_id_for(key, channel=channel, sender=settings.smtp.sender),
        "last_error": "",
        "created_at": now,
        "next_attempt_at": due,
        "sent_at": None,
    }
