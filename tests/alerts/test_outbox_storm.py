"""A-1 end to end (../shared/RELIABILITY.md): 1,000 negative mentions in 10 minutes, 30 of them by
influential authors, through the real alert stage (the spike detector) and then routing and delivery to a
real SMTP server and HTTP receiver: one spike incident alert, no influential-negative push while it is open,
at most the hourly cap of e-mails per user, Slack paced at one message a second."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.alerts.delivery import deliver_pending
from monitor.service.notify import route_alerts
from monitor.storage.models import Alert
from monitor.storage.tables import table_of
from tests.alerts.http_receiver import serve_receiver
from tests.alerts.outbox_world import make_user, rows
from tests.alerts.smtp_server import LoopbackController, Recorder
from tests.alerts.test_spikes import NOW, _feed, usual_posts

_ALERT = table_of(Alert)


def _storm(count: int, *, first: int, minutes: int = 10) -> list[tuple[str, object, str, str, str]]:
    step = timedelta(minutes=minutes) / count
    return [
        (f"s{first + i}", NOW + step * i, f"@storm{first + i}", "acme lost my parcel, refund now", "negative")
        for i in range(count)
    ]


def test_a_storm_of_1000_negatives_is_one_incident_and_few_messages(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    recorder: Recorder,
) -> None:
    feed = _feed(engine, database_url)
    with serve_receiver() as hook:
        feed.settings.smtp.host = "127.0.0.1"
        feed.settings.smtp.port = smtp_server.port
        feed.settings.smtp.starttls = False
        feed.settings.alerts.email_to = []
        feed.settings.alerts.repeat_hours = 0
        feed.settings.collectors.allow_private_hosts = [f"127.0.0.1:{hook.port}"]
        feed.settings.webhooks = (
            type(feed.settings)
            .model_validate({"webhooks": [{"name": "team", "kind": "slack", "url": hook.url}]})
            .webhooks
        )
        for name in ("ann", "ben", "cas"):
            make_user(engine, name, now=NOW)
        feed.add(usual_posts(NOW - timedelta(days=4), 4 * 24, prefix="h"), at=NOW - timedelta(minutes=1))

        feed.add(_storm(970, first=0), at=NOW + timedelta(minutes=10))
        feed.settings.alerts.influential_min_reach = 50  # the next 30 authors count as influential
        feed.add(_storm(30, first=970, minutes=1), at=NOW + timedelta(minutes=11))

        moments = [NOW + timedelta(minutes=m) for m in range(10, 70)]
        for moment in moments:  # the deliver job every minute for an hour
            route_alerts(engine, feed.settings, now=moment)
            deliver_pending(engine, feed.settings, now=lambda moment=moment: moment, limit=1000)

    with engine.connect() as conn:
        kinds = Counter(str(k) for k in conn.execute(sa.select(_ALERT.c.kind)).scalars())
    assert kinds["negative_spike"] == 1  # spike_alerts_opened
    assert kinds["influential_negative"] == 30
    per_user = Counter(address for envelope in recorder.envelopes for address in envelope.rcpt_tos)
    assert per_user == Counter({f"{n}@acme.example": 1 for n in ("ann", "ben", "cas")})  # the spike, once
    subjects = {str(m["Subject"]) for m in recorder.messages()}
    assert len(subjects) == 1 and "Negative spike" in subjects.pop()
    influential_rows = [
        r
        for r in rows(engine)
        if r["alert_id"] is not None and r["channel"] != "slack" and r["kind"] != "alert"
    ]
    assert influential_rows == []
    assert len(hook.requests) == 1  # Slack: the spike only
