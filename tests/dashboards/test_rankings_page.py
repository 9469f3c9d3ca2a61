"""The ambassadors and detractors pages and their CSV export: ranks, score terms, evidence, hostile text as
text, and cells a spreadsheet would run as formulas defused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from dashboards.ranking_pages import CSV_COLUMNS, csv_cell
from monitor.storage.models import AuthorIdentity
from monitor.storage.tables import table_of
from tests.api.conftest import KeylessClient, Seeded, build_app, seed
from tests.dashboards.signin_helpers import browser, make_user, sign_in


@pytest.fixture
def seeded_ids(engine: Engine) -> Seeded:
    return seed(engine)


@pytest.fixture
def app(engine: Engine, seeded_ids: Seeded) -> FastAPI:
    make_user(engine, "vera", role="viewer")
    return build_app(engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[KeylessClient]:
    with browser(app) as test_client:
        yield test_client


def _ranked_names(html: str) -> list[str]:
    return [name.strip() for name in re.findall(r'<span class="rank">\d+\.</span> ([^<]*)', html)]


def _csv(client: KeylessClient, url: str, **params: str) -> list[dict[str, str]]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    return [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]


def test_ambassadors_are_ranked_with_their_evidence(client: KeylessClient) -> None:
    sign_in(client, "vera")
    response = client.get("/ambassadors")
    assert response.status_code == 200
    html = response.text
    assert "<title>wom · Ambassadors · Acme</title>" in html
    # dan (raw 10) is forgotten; alice's 4.0 is 90 days old and decays below carol and bob
    assert _ranked_names(html) == ["Bob B.", "Carol", "Alice A."]
    assert "How the score is made" in html and "<dt>sentiment</dt>" in html
    assert "Acme support fixed my router in minutes" in html  # carol's evidence
    assert 'href="https://social.example/@carol/1"' in html
    assert "2 positive, 1 neutral, 3 negative" in html  # bob's counts


def test_detractors_with_a_segment_filter(client: KeylessClient) -> None:
    sign_in(client, "vera")
    html = client.get("/detractors", params={"brand": "Acme"}).text
    assert _ranked_names(html) == ["Bob B.", "Erin", "Alice A."]  # raw 5.0, 1.0 and 0.5 (90 days old)
    only = client.get("/detractors", params={"brand": "Acme", "segment": "detractor"}).text
    assert _ranked_names(only) == ["Erin"]
    assert "javascript:" not in only and "&lt;script&gt;alert(1)&lt;/script&gt; Acme hacked?" in only


def test_an_unknown_brand_is_a_404(client: KeylessClient) -> None:
    sign_in(client, "vera")
    assert client.get("/ambassadors", params={"brand": "Nope"}).status_code == 404
    assert client.get("/ambassadors/export.csv", params={"brand": "Nope"}).status_code == 404


def test_csv_export_reads_back(client: KeylessClient, seeded_ids: Seeded) -> None:
    sign_in(client, "vera")
    rows = _csv(client, "/ambassadors/export.csv", brand="Acme")
    assert [(r["rank"], r["author_id"], r["name"], r["handle"]) for r in rows] == [
        ("1", str(seeded_ids.authors["bob"]), "Bob B.", "'@bob"),
        ("2", str(seeded_ids.authors["carol"]), "Carol", "'@carol@social.example"),
        ("3", str(seeded_ids.authors["alice"]), "Alice A.", "'@alice_x"),
    ]
    assert rows[1]["evidence_urls"] == "https://social.example/@carol/1"
    assert rows[0]["sources"] == "x" and rows[0]["segment"] == "critic"
    detractors = _csv(client, "/detractors/export.csv", brand="Acme", segment="detractor")
    assert [r["name"] for r in detractors] == ["Erin"]
    assert detractors[0]["evidence_urls"] == ""  # erin's javascript: URL is left out, as on the page
    assert detractors[0]["handle"] == "u/erin"


def test_formula_cells_are_defused(client: KeylessClient, engine: Engine, seeded_ids: Seeded) -> None:
    identity = table_of(AuthorIdentity).c
    with engine.begin() as conn:
        conn.execute(
            sa.update(table_of(AuthorIdentity))
            .where(identity.author_id == seeded_ids.authors["carol"])
            .values(name='=HYPERLINK("https://evil.example","x")', handle="+1-555")
        )
    sign_in(client, "vera")
    carol = next(
        r
        for r in _csv(client, "/ambassadors/export.csv")
        if r["author_id"] == str(seeded_ids.authors["carol"])
    )
    assert carol["name"] == '\'=HYPERLINK("https://evil.example","x")'
    assert carol["handle"] == "'+1-555"
    assert [csv_cell(v) for v in ("-2", "@x", "\tx", "ok", 5, "a=b")] == [
        "'-2",
        "'@x",
        "'\tx",
        "ok",
        5,
        "a=b",
    ]


def test_a_browser_without_a_session_is_sent_to_sign_in(app: FastAPI) -> None:
    with browser(app) as anonymous:
        for url in ("/ambassadors", "/detractors/export.csv"):
            response = anonymous.get(url)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/signin?next=")
