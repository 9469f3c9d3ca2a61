"""The dashboard's status page: collector health and job runs for people, hostile text escaped, every-brand keys only."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.config import Settings, settings_from_mapping
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import JobRun
from monitor.storage.source_state import record_outcome
from tests.api.conftest import NOW, KeylessClient, TestClient, build_app, seed

CSP = (
    "default-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
HOSTILE_ERROR = '<script>alert("run")</script> feed answered <img src=x onerror=alert(4)>'


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"anyone:{key}".encode()).decode()}


def _settings() -> Settings:
    return settings_from_mapping(
        {"brands": [{"name": "Acme", "keywords": ["acme"], "collect": {"hackernews": {}, "x": {}}}]},
        environ={},
    )


def test_status_page_shows_sources_jobs_and_rows_with_hostile_text_escaped(engine: Engine) -> None:
    seed(engine)
    record_outcome(
        engine,
        "hackernews",
        now=NOW,
        succeeded=False,
        new=0,
        retry_at=NOW + timedelta(minutes=15),
        reason="429",
    )
    with Session(engine) as session:
        session.add(
            JobRun(kind="import", name="reviews.jsonl", status="failed", started_at=NOW, error=HOSTILE_ERROR)
        )
        session.commit()
    app = build_app(engine, _settings())
    with KeylessClient(app) as client:
        response = client.get("/status", headers=_basic(app.state.test_key))
    assert response.status_code == 200, response.text
    assert response.headers["content-security-policy"] == CSP
    html = response.text
    rows = {
        cells[0]: cells[1:]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.DOTALL)
        )
        if cells
    }
    assert rows["hackernews"][0] == "backing off until 2026-11-20 12:15"
    assert "WOM_X_BEARER_TOKEN" in rows["x"][-1] and rows["x"][0] == "disabled"
    assert rows["collector reddit"][:2] == ["Acme", "failed"]
    assert rows["collector reddit"][-1] == "reddit answered 429; retrying after 60 s"
    assert rows["import reviews.jsonl"][-1] == (
        "&lt;script&gt;alert(&#34;run&#34;)&lt;/script&gt; feed answered &lt;img src=x onerror=alert(4)&gt;"
    )
    # stored rows by what they are, not by table name
    counts = dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", html))
    assert counts["Mentions"] == "18" and counts["Job runs"] == "4"
    assert "jobrun" not in html and "mentionlabel" not in html
    assert not re.search(r"<script|<img", html, re.IGNORECASE)
    assert "schema is behind" not in html


def test_status_page_needs_a_key_for_every_brand(engine: Engine) -> None:
    seed(engine)
    app = build_app(engine, _settings())
    scoped = create_api_key(engine, role="admin", brand="Acme", label="acme admin").key
    with KeylessClient(app) as client:
        asked = client.get("/status")
        assert asked.status_code == 401
        assert asked.headers["www-authenticate"] == 'Basic realm="wom", charset="UTF-8"'
        refused = client.get("/status", headers=_basic(scoped))
        assert refused.status_code == 403
        assert refused.headers["content-security-policy"] == CSP
        assert "limited to brand &#39;Acme&#39;" in refused.text and "<table" not in refused.text
        # the dashboard links the status page only for a key that may open it
        assert 'href="/status"' not in client.get("/", headers=_basic(scoped)).text
        assert 'href="/status"' in client.get("/", headers=_basic(app.state.test_key)).text


def test_status_page_without_runs_or_sources_says_what_to_run(engine: Engine) -> None:
    with TestClient(build_app(engine)) as client:
        html = client.get("/status").text
    assert "No collector sources are configured." in html
    assert "No job has run yet" in html and "<code>wom collect</code>" in html
