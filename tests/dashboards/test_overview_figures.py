"""The overview's figures of issue 16 beyond the trend: mentions per source with their sentiment, the inbox
(backlog now, response times of the period), top complaints, new ambassadors and ambassadors at risk of
the period, for the brand and period in the URL, in English and Dutch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.read.digest import top_complaints
from monitor.storage.models import Alert, InboxItem, SegmentChange
from tests.api.conftest import NOW, Seeded, TestClient, build_app, count_queries, seed

ENGLISH = {"Accept-Language": "en"}
DUTCH = {"Accept-Language": "nl"}


def _item(
    seeded: Seeded,
    brand: str,
    n: int,
    opened_ago: timedelta,
    *,
    status: str,
    due_at: datetime,
    first_response_at: datetime | None = None,
) -> InboxItem:
    opened = NOW - opened_ago
    return InboxItem(
        brand_id=seeded.brands[brand],
        thread_key=f"x:thread-{n}",
        first_mention_id=seeded.mentions["m02"],
        last_mention_id=seeded.mentions["m02"],
        author_key=f"h:x:@someone{n}",
        intent="complaint",
        opened_at=opened,
        last_mention_at=opened,
        updated_at=opened,
        status=status,
        due_at=due_at,
        first_response_at=first_response_at,
    )


def _seed_overview(session: Session, seeded: Seeded) -> None:
    hours = timedelta(hours=1)
    day = timedelta(days=1)
    session.add_all(
        [
            # opened in the last 30 days: answered after 2 h and 4 h, and one still open past its due time
            _item(
                seeded,
                "Acme",
                1,
                5 * day,
                status="answered",
                due_at=NOW - 5 * day + 4 * hours,
                first_response_at=NOW - 5 * day + 2 * hours,
            ),
            _item(
                seeded,
                "Acme",
                2,
                3 * day,
                status="resolved",
                due_at=NOW - 3 * day + 4 * hours,
                first_response_at=NOW - 3 * day + 4 * hours,
            ),
            _item(seeded, "Acme", 3, 2 * day, status="open", due_at=NOW - day),
            # opened 60 days ago, acknowledged and not yet due: in the backlog, in the 90-day figures only
            _item(seeded, "Acme", 4, 60 * day, status="acknowledged", due_at=NOW + hours),
            _item(seeded, "Other", 5, day, status="open", due_at=NOW - hours),  # another brand's
        ]
    )
    for author, age in (("alice", 2 * day), ("carol", 40 * day)):
        session.add(
            SegmentChange(
                author_id=seeded.authors[author],
                brand_id=seeded.brands["Acme"],
                from_segment="occasional",
                to_segment="ambassador",
                changed_at=NOW - age,
            )
        )
    for key, title, age in (("r1", "Alice is going quiet", 3 * day), ("r2", "Carol went quiet", 50 * day)):
        session.add(
            Alert(
                brand_id=seeded.brands["Acme"],
                kind="ambassador_at_risk",
                dedupe_key=f"ambassador_at_risk:{key}",
                severity="warning",
                title=title,
                status="open",
                event_at=NOW - age,
                created_at=NOW - age,
            )
        )
    session.commit()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    seeded = seed(engine)
    with Session(engine) as session:
        _seed_overview(session, seeded)
    with TestClient(build_app(engine)) as test_client:
        yield test_client


def _section(html: str, css: str) -> str:
    found = re.search(rf'<(section|div) class="{css}">(.*?)</section>', html, re.S)
    assert found, css
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(2))).strip()


def _page(client: TestClient, headers: dict[str, str], **params: str) -> str:
    response = client.get("/", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.text)


def test_mentions_per_source_with_their_sentiment(client: TestClient) -> None:
    rows = re.findall(
        r'<tr><td data-label="Source">(\w+)</td>' + r'<td data-label="\w+" class="number">(\d+)</td>' * 5,
        _page(client, ENGLISH, brand="Acme"),
    )
    # source, mentions, positive, neutral, negative, unclassified: most mentions first
    assert rows == [
        ("x", "5", "1", "1", "2", "1"),
        ("mastodon", "3", "2", "1", "0", "0"),
        ("reddit", "3", "0", "1", "2", "0"),
        ("trustpilot", "1", "0", "0", "1", "0"),
    ]
    week = _page(client, ENGLISH, brand="Acme", period="7")
    assert '<tr><td data-label="Source">x</td><td data-label="Mentions" class="number">4</td>' in week
    assert '<td data-label="Bron">x</td>' in _page(client, DUTCH, brand="Acme")


def test_inbox_backlog_and_response_times(client: TestClient) -> None:
    assert _section(_page(client, ENGLISH, brand="Acme"), "inbox-figures") == (
        "Inbox 2 waiting now 1 overdue now 3 opened in the period 2 answered of those "
        "3.0 h median first response 3.8 h 90th percentile first response"
    )
    assert "4 opened in the period" in _section(
        _page(client, ENGLISH, brand="Acme", period="90"), "inbox-figures"
    )
    assert _section(_page(client, DUTCH, brand="Acme"), "inbox-figures") == (
        "Inbox 2 wachten nu 1 nu te laat 3 geopend in de periode 2 daarvan beantwoord "
        "3.0 u mediaan eerste reactie 3.8 u 90e percentiel eerste reactie"
    )
    assert 'class="inbox-figures"' not in _page(client, ENGLISH, brand="Rival")  # a competitor has no inbox


def test_top_complaints_widest_reach_first(client: TestClient) -> None:
    complaints = _section(_page(client, ENGLISH, brand="Acme"), "complaints")
    assert complaints.startswith("Top complaints u/erin")
    reaches = [int(r) for r in re.findall(r"reach (\d+)", complaints)]
    assert reaches == [100, 70, 50, 20]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme hacked?" in complaints
    assert _section(_page(client, DUTCH, brand="Acme"), "complaints").startswith("Grootste klachten u/erin")
    assert (
        _section(_page(client, ENGLISH, brand="Other"), "complaints")
        == "Top complaints No complaints in the period."
    )


def test_new_ambassadors_and_ambassadors_at_risk_of_the_period(client: TestClient) -> None:
    html = _page(client, ENGLISH, brand="Acme")
    assert _section(html, "new-ambassadors") == "New ambassadors (1) Alice"
    assert _section(html, "at-risk").startswith("Ambassadors at risk (1) Alice is going quiet warning · open")
    quarter = _page(client, ENGLISH, brand="Acme", period="90")
    assert _section(quarter, "new-ambassadors") == "New ambassadors (2) Carol Alice"
    assert "Carol went quiet" in _section(quarter, "at-risk")
    dutch = _page(client, DUTCH, brand="Acme", period="7")
    assert _section(dutch, "new-ambassadors") == "Nieuwe ambassadeurs (1) Alice"
    assert _section(dutch, "at-risk").startswith(
        "Ambassadeurs die dreigen af te haken (1) Alice is going quiet"
    )
    rival = _page(client, ENGLISH, brand="Rival")
    assert "Nobody became an ambassador in the period." in rival
    assert "No ambassador at risk in the period." in rival


def test_the_new_figures_cost_a_fixed_number_of_queries(engine: Engine, client: TestClient) -> None:
    # six more than before (sources 1, inbox 2, complaints 1, new ambassadors 1, at risk 1), however
    # many mentions, items or authors the period holds
    week = count_queries(engine, client, "/", {"brand": "Acme", "period": 7})
    quarter = count_queries(engine, client, "/", {"brand": "Acme", "period": 90})
    assert week == quarter


def test_top_complaints_are_weighed_from_the_latest_of_the_period(engine: Engine) -> None:
    """Past `latest` complaints in the period only the newest are weighed by reach (a bounded read for a
    busy brand's quarter); at or above the period's count it is every complaint, as on the page."""
    seeded = seed(engine)
    acme = seeded.brands["Acme"]
    since, until = NOW - timedelta(days=30), NOW + timedelta(seconds=1)
    with engine.connect() as conn:
        every = top_complaints(conn, brand_ids=[acme], since=since, until=until, limit=10)
        assert [c.reach for c in every] == [100, 70, 50, 20]
        newest_first = sorted(every, key=lambda c: (c.created_at, c.mention_id), reverse=True)
        for latest in (1, 2, 3):
            weighed = top_complaints(
                conn, brand_ids=[acme], since=since, until=until, limit=10, latest=latest
            )
            expected = sorted(newest_first[:latest], key=lambda c: (-c.reach, c.mention_id))
            assert weighed == expected
        assert top_complaints(conn, brand_ids=[acme], since=since, until=until, limit=10, latest=4) == every
        assert top_complaints(conn, brand_ids=[], since=since, until=until) == []
