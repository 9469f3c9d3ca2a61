"""The dashboard's Sources page (/sources, formerly /status): every source's state in plain words with what
to do, the processing stages, and the job runs and stored rows folded below; hostile text escaped; keys
for every brand only."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.config import Settings, settings_from_mapping
from monitor.service import status
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import JobRun, Mention
from monitor.storage.source_state import record_outcome
from monitor.storage.tables import table_of
from tests.api.conftest import NOW, KeylessClient, Seeded, TestClient, build_app, seed
from tests.dashboards.signin_helpers import browser, make_user, sign_in

CSP = (
    "default-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
HOSTILE_ERROR = '<script>alert("run")</script> feed answered <img src=x onerror=alert(4)>'
REFUSED = "Reddit refused the token (HTTP 401) <img src=x onerror=alert(5)>: set WOM_REDDIT_CLIENT_SECRET"


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"anyone:{key}".encode()).decode()}


def source_settings() -> Settings:
    collect = {
        "hackernews": {},
        "x": {},
        "reddit": {},
        "mastodon": {},
        "bluesky": {},
        "trustpilot": {"business_unit_ids": ["abc"]},
    }
    return settings_from_mapping(
        {
            "brands": [{"name": "Acme", "keywords": ["acme"], "collect": collect}],
            "collectors": {"trustpilot": {"enabled": False}},
        },
        environ={},
    )


def _run(engine: Engine, source: str, status: str, age: timedelta, *, new: int = 0, error: str = "") -> None:
    with Session(engine) as session:
        session.add(
            JobRun(
                kind="collector",
                name=f"collect-{source}",
                status=status,
                started_at=NOW - age,
                finished_at=NOW - age + timedelta(minutes=1),
                items_new=new,
                error=error,
            )
        )
        session.commit()


def source_world(engine: Engine) -> Seeded:
    """hackernews waiting (rate limited), reddit failing for two runs, mastodon silent, bluesky working,
    x without its token, trustpilot switched off; the other sources not set up. Returns the seed's ids."""
    seeded = seed(engine)
    record_outcome(
        engine,
        "hackernews",
        now=NOW - timedelta(minutes=5),
        succeeded=False,
        new=0,
        retry_at=NOW + timedelta(minutes=15),
        reason="429 Too Many Requests",
    )
    record_outcome(engine, "reddit", now=NOW - timedelta(hours=5), succeeded=True, new=2)
    for age in (timedelta(hours=2), timedelta(minutes=40)):
        record_outcome(engine, "reddit", now=NOW - age, succeeded=False, new=0, reason=REFUSED)
        _run(engine, "reddit", "failed", age, error=REFUSED)
    _run(engine, "reddit", "failed", timedelta(hours=9))  # before the last success: not this streak
    record_outcome(engine, "mastodon", now=NOW - timedelta(days=5), succeeded=True, new=40)
    record_outcome(engine, "mastodon", now=NOW - timedelta(hours=1), succeeded=True, new=0)
    record_outcome(engine, "bluesky", now=NOW - timedelta(minutes=12), succeeded=True, new=3)
    _run(engine, "bluesky", "ok", timedelta(minutes=12), new=3)
    _run(engine, "bluesky", "ok", timedelta(hours=6), new=5)
    _run(engine, "bluesky", "ok", timedelta(hours=30), new=100)  # older than a day: not counted
    with Session(engine) as session:
        session.add(
            JobRun(kind="import", name="reviews.jsonl", status="failed", started_at=NOW, error=HOSTILE_ERROR)
        )
        session.commit()
    return seeded


def _cards(html: str) -> dict[str, str]:
    """Each source card's text, tags dropped and spaces joined, by source."""
    found = re.findall(r'<li class="source state-[a-z_]+" id="source-([a-z]+)">(.*?)</li>', html, re.DOTALL)
    return {name: " ".join(re.sub(r"<[^>]+>", " ", body).split()) for name, body in found}


# the variables set for the world above (reddit's and bluesky's); X's token and YouTube's key are not
CREDENTIALS = (
    "WOM_REDDIT_CLIENT_ID",
    "WOM_REDDIT_CLIENT_SECRET",
    "WOM_BLUESKY_HANDLE",
    "WOM_BLUESKY_APP_PASSWORD",
)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WOM_X_BEARER_TOKEN", "WOM_YOUTUBE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in CREDENTIALS:
        monkeypatch.setenv(name, "set")


@pytest.mark.usefixtures("credentials")
def test_sources_page_words_each_state_with_what_to_do(engine: Engine) -> None:
    source_world(engine)
    app = build_app(engine, source_settings())
    with KeylessClient(app) as client:
        response = client.get("/sources", headers=_basic(app.state.test_key))
    assert response.status_code == 200, response.text
    assert response.headers["content-security-policy"] == CSP
    html = response.text
    cards = _cards(html)
    # set up first, in the registry's order, then the others
    assert list(cards)[:6] == ["x", "reddit", "mastodon", "bluesky", "hackernews", "trustpilot"]
    assert set(cards) == {
        "x", "reddit", "appstore", "googleplay", "mastodon", "bluesky", "hackernews", "youtube", "rss",
        "trustpilot",
    }  # fmt: skip
    # times in the key's zone (UTC here)
    assert cards["bluesky"].startswith("Bluesky ✓ Working — last new mention 12 minutes ago Nothing to do.")
    assert "Last run 2026-11-20 11:48" in cards["bluesky"] and "Next run 2026-11-20 12:03" in cards["bluesky"]
    assert "New in the last 24 hours 8" in cards["bluesky"]
    assert cards["hackernews"].startswith(
        "Hacker News ‖ Waiting : Hacker News asked us to slow down until 2026-11-20 12:15 Nothing to do"
    )
    assert "Next run 2026-11-20 12:15" in cards["hackernews"]
    assert cards["reddit"].startswith(
        "Reddit ✗ Failing since 2026-11-20 10:00 : Reddit refused the token (HTTP 401) "
        "&lt;img src=x onerror=alert(5)&gt;: set "
        "WOM_REDDIT_CLIENT_SECRET Fix what the message says (the keys are WOM_REDDIT_CLIENT_ID, "
        "WOM_REDDIT_CLIENT_SECRET) and restart wom"
    )
    # a failing run is retried after its back-off (past here): the next run is overdue without `wom run`
    assert "Next run 2026-11-20 11:30 (overdue: is wom run running?)" in cards["reddit"]
    assert cards["mastodon"].startswith(
        "Mastodon ! Silent : nothing new since 2026-11-15 12:00, although it found 40 mentions before "
        "Check its key, its query and its base URL in wom.toml ([brands.collect.mastodon])."
    )
    assert cards["x"].startswith(
        "X ✗ Cannot run : WOM_X_BEARER_TOKEN is not set Set WOM_X_BEARER_TOKEN in wom's environment and "
        "restart wom."
    )
    assert "Next run not until it is fixed" in cards["x"]
    assert cards["trustpilot"].startswith(
        "Trustpilot – Switched off Remove enabled = false from [collectors.trustpilot] in wom.toml"
    )
    assert cards["youtube"] == (
        "YouTube ○ Not set up Add [brands.collect.youtube] to a brand in wom.toml to collect from it. "
        "It needs WOM_YOUTUBE_API_KEY."
    )
    # the processing stages: the seed leaves one mention to classify; the pipeline job last ran 30 min ago
    processing = " ".join(
        re.sub(r"<[^>]+>", " ", html.split('id="processing"')[1].split("</section>")[0]).split()
    )
    assert "… Working through new mentions" in processing
    assert "Waiting to be classified 1 " in processing and "Waiting for the alert check 0 " in processing
    assert "Last run 2026-11-20 11:30 Next run 2026-11-20 11:31 (overdue: is wom run running?)" in processing
    # the technical details, folded: the job runs with hostile text escaped, the stored rows by what they are
    details = html.split('id="details"')[1]
    assert details.count('<details class="technical">') == 2
    assert (
        "&lt;script&gt;alert(&#34;run&#34;)&lt;/script&gt; feed answered &lt;img src=x onerror=alert(4)&gt;"
        in details
    )
    counts = dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", details))
    assert counts["Mentions"] == "18"
    assert "jobrun" not in html and "mentionlabel" not in html
    assert not re.search(r"<script|<img", html, re.IGNORECASE)
    assert "schema is behind" not in html


@pytest.mark.usefixtures("credentials")
def test_sources_page_in_dutch_in_the_users_zone(engine: Engine) -> None:
    source_world(engine)
    make_user(engine, "anna", role="viewer", timezone="Europe/Amsterdam", language="nl")
    app = build_app(engine, source_settings())
    with browser(app) as client:
        sign_in(client, "anna")
        html = client.get("/sources").text
    cards = _cards(html)
    assert cards["bluesky"].startswith("Bluesky ✓ Werkt — laatste nieuwe vermelding 12 minuten geleden")
    assert "tot 2026-11-20 13:15" in cards["hackernews"]  # an hour on in Amsterdam
    assert cards["youtube"].startswith("YouTube ○ Niet ingesteld Voeg [brands.collect.youtube] toe")


def test_old_status_address_redirects(engine: Engine) -> None:
    with TestClient(build_app(engine)) as client:
        moved = client.get("/status", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/sources"


def test_sources_page_needs_a_key_for_every_brand(engine: Engine) -> None:
    seed(engine)
    app = build_app(engine, source_settings())
    scoped = create_api_key(engine, role="admin", brand="Acme", label="acme admin").key
    with KeylessClient(app) as client:
        asked = client.get("/sources")
        assert asked.status_code == 401
        assert asked.headers["www-authenticate"] == 'Basic realm="wom", charset="UTF-8"'
        refused = client.get("/sources", headers=_basic(scoped))
        assert refused.status_code == 403
        assert refused.headers["content-security-policy"] == CSP
        assert "limited to brand &#39;Acme&#39;" in refused.text and "<details" not in refused.text
        # the dashboard links the sources page only for a key that may open it
        assert 'href="/sources"' not in client.get("/", headers=_basic(scoped)).text
        assert 'href="/sources"' in client.get("/", headers=_basic(app.state.test_key)).text


def test_sources_page_without_runs_or_sources_says_what_to_run(engine: Engine) -> None:
    with TestClient(build_app(engine)) as client:
        html = client.get("/sources").text
    cards = _cards(html)
    assert len(cards) == 10 and all("Not set up" in text for text in cards.values())
    assert "No job has run yet" in html and "<code>wom collect</code>" in html
    assert "Not run yet" in html


@pytest.mark.parametrize(("language", "about"), [("en", "about"), ("nl", "ongeveer")])
def test_sources_page_says_about_for_the_large_tables_it_estimates(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, language: str, about: str
) -> None:
    # the page estimates tables of _EXACT_BELOW rows or more instead of counting them: here every table
    # with two rows or more (the seed's mentions), while a one-row table stays a plain count
    source_world(engine)
    monkeypatch.setattr(status, "_EXACT_BELOW", 2)
    if engine.dialect.name == "postgresql":  # the statistics autovacuum would gather
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    with engine.connect() as conn:
        mentions = conn.execute(sa.select(sa.func.count()).select_from(table_of(Mention))).scalar_one()
    make_user(engine, "anna", role="viewer", language=language)  # the only user: one row, counted
    app = build_app(engine, source_settings())
    with browser(app) as client:
        sign_in(client, "anna")
        html = client.get("/sources").text
    stored = dict(re.findall(r"<dt>([^<]+)</dt><dd class=\"number\">([^<]+)</dd>", html))
    assert stored["Mentions" if language == "en" else "Vermeldingen"] == f"{about} {mentions}"
    assert stored["Users" if language == "en" else "Gebruikers"] == "1"
