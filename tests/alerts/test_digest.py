"""The daily digest: exactly one per local day across the DST changes in Europe/Amsterdam
(../shared/RELIABILITY.md J-6), its period on the user's clock, both languages, hostile text escaped in
the HTML and kept to one line in the subject, only http(s) links; sent through a real SMTP server."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from monitor.config import Settings
from monitor.service.digest import digest_period, queue_due_digests
from monitor.storage.models import InboxItem, Mention, MentionBrand, SentimentHour
from monitor.storage.tables import table_of
from tests.alerts.outbox_world import brand_ids, make_user, rows, step, store_alert, world_settings
from tests.alerts.smtp_server import LoopbackController, Recorder

HOSTILE_TEXT = (
    '<script>alert("x")</script> & <img src=x onerror=alert(1)> =?utf-8?q?=0D=0ABcc:_v@evil.example?='
)
HOSTILE_HANDLE = "<b>mallory</b>\r\nBcc: victim@evil.example"


def _digest_days(
    engine: Engine, settings: Settings, start: datetime, end: datetime
) -> list[dict[str, object]]:
    moment = start
    while moment < end:
        queue_due_digests(engine, settings, now=moment)
        moment += timedelta(minutes=10)
    return [row["payload"] for row in rows(engine, kind="digest")]


@pytest.mark.parametrize(
    ("start", "odd_day", "hours"),
    [
        (datetime(2026, 3, 27, 0, 0, tzinfo=UTC), "2026-03-29", 23),  # clocks go forward that night
        (datetime(2026, 10, 23, 0, 0, tzinfo=UTC), "2026-10-25", 25),  # clocks go back that night
    ],
)
def test_one_digest_per_local_day_across_the_dst_change(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    start: datetime,
    odd_day: str,
    hours: int,
) -> None:
    # J-6: a fake clock every 10 minutes for 5 days, digest at 08:00 in Amsterdam
    settings = world_settings(database_url, smtp_port=smtp_server.port)
    brand_ids(engine, settings)
    make_user(engine, "ann", now=start, timezone="Europe/Amsterdam", digest_hour=8)
    payloads = _digest_days(engine, settings, start, start + timedelta(days=5))
    days = [str(p["day"]) for p in payloads]
    assert Counter(days) == Counter({(start + timedelta(days=n)).date().isoformat(): 1 for n in range(5)})
    for payload in payloads:
        since = datetime.fromisoformat(str(payload["since"]))
        until = datetime.fromisoformat(str(payload["until"]))
        for moment in (since, until):
            local = moment.astimezone(ZoneInfo("Europe/Amsterdam"))
            assert (local.hour, local.minute) == (8, 0)
        assert until - since == timedelta(hours=hours if payload["day"] == odd_day else 24)


def test_a_digest_hour_inside_the_spring_gap_still_comes_once() -> None:
    # 02:00 does not exist on 2026-03-29 in Amsterdam; the digest comes at the first moment after the gap
    day = datetime(2026, 3, 29, tzinfo=UTC)
    due = [
        period
        for minutes in range(0, 24 * 60, 5)
        if (
            period := digest_period(
                timezone="Europe/Amsterdam", digest_hour=2, now=day + timedelta(minutes=minutes)
            )
        )
    ]
    assert {period.day.isoformat() for period in due} == {"2026-03-29"}
    assert due[0][2] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 summer time


def _complaint(
    engine: Engine, brand_id: int, *, at: datetime, text: str, handle: str, url: str, reach: int
) -> int:
    mentions, links = table_of(Mention), table_of(MentionBrand)
    with engine.begin() as conn:
        mention_id = conn.execute(
            mentions.insert()
            .values(
                source="x",
                external_id=f"{handle}-{at.isoformat()}-{reach}",
                url=url,
                text=text,
                created_at=at,
                author_handle=handle,
                reach=reach,
                content_key="",
            )
            .returning(mentions.c.id)
        ).scalar_one()
        conn.execute(
            links.insert().values(
                mention_id=mention_id,
                brand_id=brand_id,
                created_at=at,
                source="x",
                sentiment="negative",
                intent="complaint",
            )
        )
    return int(mention_id)


def _inbox_item(
    engine: Engine, brand_id: int, mention_id: int, *, opened: datetime, answered_after: timedelta | None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            table_of(InboxItem)
            .insert()
            .values(
                brand_id=brand_id,
                thread_key=f"x:{mention_id}",
                first_mention_id=mention_id,
                last_mention_id=mention_id,
                author_key=f"h:x:{mention_id}",
                intent="complaint",
                status="open" if answered_after is None else "answered",
                priority=1.0,
                opened_at=opened,
                last_mention_at=opened,
                due_at=opened + timedelta(hours=24),
                first_response_at=None if answered_after is None else opened + answered_after,
                answered_at=None if answered_after is None else opened + answered_after,
                updated_at=opened,
            )
        )


def _hours(engine: Engine, brand_id: int, at: datetime, **counts: int) -> None:
    with engine.begin() as conn:
        conn.execute(table_of(SentimentHour).insert().values(brand_id=brand_id, hour=at, **counts))


@pytest.mark.parametrize(
    ("language", "subject", "heading", "missing"),
    [
        ("en", "[wom] Your digest for 2026-11-21", "Top complaints", "Belangrijkste klachten"),
        ("nl", "[wom] Je overzicht van 2026-11-21", "Belangrijkste klachten", "Top complaints"),
    ],
)
def test_the_digest_in_the_users_language_with_hostile_text_escaped(
    engine: Engine,
    database_url: str,
    smtp_server: LoopbackController,
    recorder: Recorder,
    language: str,
    subject: str,
    heading: str,
    missing: str,
) -> None:
    settings = world_settings(database_url, smtp_port=smtp_server.port)
    ids = brand_ids(engine, settings)
    acme = ids["Acme"]
    make_user(
        engine,
        "ann",
        now=datetime(2026, 11, 1, tzinfo=UTC),
        timezone="Europe/Amsterdam",
        language=language,
        brands=["Acme"],
    )
    day = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    hostile = _complaint(
        engine, acme, at=day, text=HOSTILE_TEXT, handle=HOSTILE_HANDLE, url="javascript:alert(1)", reach=900
    )
    late = _complaint(
        engine, acme, at=day, text="late again", handle="bob", url="https://x.com/bob/status/1", reach=10
    )
    old = _complaint(
        engine, acme, at=day - timedelta(days=3), text="old", handle="cy", url="https://x.com/c/2", reach=1
    )
    _inbox_item(engine, acme, hostile, opened=day, answered_after=timedelta(hours=2))
    _inbox_item(engine, acme, late, opened=day, answered_after=None)
    _inbox_item(engine, acme, old, opened=day - timedelta(days=3), answered_after=None)
    _complaint(
        engine, ids["Globex"], at=day, text="globex only", handle="eve", url="https://x.com/e/1", reach=5
    )
    _hours(engine, acme, day, positive=3, neutral=2, negative=5)
    _hours(engine, acme, day - timedelta(days=1), positive=1, negative=1)
    store_alert(engine, brand_id=acme, kind="negative_spike", title=HOSTILE_TEXT, at=day)

    queue_due_digests(engine, settings, now=datetime(2026, 11, 21, 7, 0, tzinfo=UTC))
    step(engine, settings, datetime(2026, 11, 21, 7, 0, tzinfo=UTC))
    digests = [m for m in recorder.messages() if str(m["Subject"]).startswith(subject)]
    assert len(digests) == 1
    [digest] = digests
    assert str(digest["Subject"]) == subject
    assert {tuple(envelope.rcpt_tos) for envelope in recorder.envelopes} == {("ann@acme.example",)}
    html = digest.get_body(("html",)).get_content()
    text = digest.get_body(("plain",)).get_content()
    assert heading in html and heading in text and missing not in html
    assert "<script>" not in html and "<img" not in html and "<b>mallory" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "javascript:" not in html  # no link from a non-http URL
    assert 'href="https://x.com/bob/status/1"' in html
    assert 'href="https://wom.acme.example"' in html
    assert "globex only" not in text  # ann follows Acme only
    assert "2026-11-20 13:00 CET" in text  # the complaint's time on ann's clock
    assert "10 (" in text  # mentions this period, against the day before
    inbox = {
        "en": "Acme: 2 waiting, 1 overdue; 2 opened, 1 answered, median first response 2.0 h",
        "nl": "Acme: 2 wachtend, 1 te laat; 2 geopend, 1 beantwoord, mediaan eerste reactie 2.0 u",
    }[language]
    assert inbox in text and inbox in html
