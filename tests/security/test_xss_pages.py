"""S-4: every dashboard page, served by uvicorn over a stored world of XSS payloads, opened in Chromium.

The browser context bypasses the Content-Security-Policy, so a zero here is escaping alone: the CSP is a
second wall, not the one this battery measures. A payload is counted as executed when it opens a dialog
or sets `window.__xss`; the page is also searched for event-handler attributes, non-http(s) URLs and
code elements (script, iframe, object...), none of which wom's templates have, so each would come from data.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from dashboards.app import dashboard_router
from dashboards.ranking_pages import csv_cell
from monitor.errors import UserError
from monitor.inbox.stage import update_inbox
from monitor.service.users import add_user
from monitor.storage.api_keys import create_api_key
from monitor.storage.models import Mention
from monitor.storage.tables import table_of
from tests.api.conftest import NOW, build_app
from tests.dashboards.signin_helpers import PASSWORD, make_user
from tests.security.chromium import Findings, XssProbe
from tests.security.xss_corpus import PAYLOADS
from tests.security.xss_world import PAGE_FIELDS, hostile_settings, seed_hostile_world, serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# the dashboard's pages and how the battery opens each; a page missing here fails the route check
PAGES = {
    "/": "each payload's brand page (?brand=<payload>), and the 404 page reflecting ?brand=<payload> (gone)",
    "/sources": "every job run and the collector back-off reason",
    "/status": "the old address of /sources: a redirect there (308), opened once",
    "/signin": "the sign-in form (no stored data; opened once, and the battery signs in through it)",
    "/inbox": "each payload's brand's inbox (?brand=<payload>): the item's thread, handle, original link",
    "/alerts": "each payload's brand's alerts: title, kind, severity, detail and the mention behind it",
    "/mentions": "each payload's brand's mentions (?brand=<payload>): text, URL, handle, label",
    "/ambassadors": "each payload's brand's ranked authors: name, handle, segment, evidence and its URL",
    "/detractors": "the same for detractors",
    "/ambassadors/export.csv": "a download, not a page: each brand's CSV read back, no cell a formula",
    "/detractors/export.csv": "the same for detractors",
    "/authors/{author_id}": "each payload's author, opened from its mention: accounts, names, timeline",
    "/authors/{author_id}/export.json": "a JSON download, not a page: read back as JSON",
    "/settings": "the battery's own preferences and password forms (opened after the users are added)",
    "/settings/keys": "a key per payload, each labelled with it, in the battery's keys and in every key",
    "/settings/users": "a user per payload whose display name is the payload (control characters refused)",
}


@dataclass(frozen=True, slots=True)
class Served:
    base: str
    routes: set[str]


@contextmanager
def _serve(engine: Engine) -> Iterator[Served]:
    seed_hostile_world(engine)
    with engine.begin() as conn:  # each payload's complaint opens an inbox item, as the stage does
        mention_ids = list(conn.execute(sa.select(table_of(Mention).c.id)).scalars())
        update_inbox(conn, mention_ids=mention_ids, settings=hostile_settings(), now=NOW)
    make_user(engine, "xss-battery", role="admin")  # an admin sees every form a page can have
    app = build_app(engine, hostile_settings())
    pages = dashboard_router(hostile_settings(), engine).routes
    routes = {r.path for r in pages if isinstance(r, APIRoute) and "GET" in r.methods}
    with serve_in_thread(app) as base:
        yield Served(base=base, routes=routes)


def _probe(browser: Browser, served: Served, tally: _Tally | None = None) -> XssProbe:
    """A browser page signed in through the sign-in form (which is counted into `tally` too)."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    probe = XssProbe(context.new_page())
    findings = probe.goto(f"{served.base}/signin")
    if tally is not None:
        tally.add("signin", findings)
    probe.page.fill("#name", "xss-battery")
    probe.page.fill("#password", PASSWORD)
    probe.page.click("form[action='/signin'] button")
    probe.page.wait_for_load_state("load")
    assert probe.page.url == f"{served.base}/", probe.page.url
    return probe


def _texts(probe: XssProbe, selector: str) -> list[str]:
    return list(probe.page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)"))


class _Tally:
    """Counts over many page loads, and the pages where anything was found."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.hits: dict[str, Findings] = {}
        self.loads = 0

    def add(self, where: str, findings: Findings) -> None:
        self.loads += 1
        self.totals.update(findings.counts())
        if any(findings.counts().values()):
            self.hits[where] = findings


def _hostile_users(engine: Engine) -> dict[str, str]:
    """A user per payload whose display name is the payload, and a key of the battery's labelled with each;
    returns the users' headings as the settings page draws them (display name, then login name), by name.
    Display names with control characters are refused by the user service, so not every payload makes one."""
    headings: dict[str, str] = {}
    with engine.begin() as conn:
        for number, payload in enumerate(PAYLOADS):
            name = f"xss-{number:03d}"
            try:
                add_user(conn, name=name, email=f"{name}@example.org", display_name=payload.text, now=NOW)
            except UserError:
                continue
            headings[name] = f"{payload.text.strip()} {name}"  # the two differ: no payload is a login name
    for payload in PAYLOADS:
        create_api_key(engine, role="viewer", label=payload.text, user="xss-battery", now=NOW)
    assert len(headings) > len(PAYLOADS) // 2, "most payloads make a display name"
    headings["xss-battery"] = "xss-battery"  # its display name is its name, shown once
    return headings


def test_no_payload_runs_on_any_dashboard_page(browser: Browser, engine: Engine, tmp_path: Path) -> None:
    tally = _Tally()
    not_drawn: list[str] = []
    formulas: list[str] = []  # CSV cells a spreadsheet would run
    with _serve(engine) as served:
        assert served.routes == set(PAGES), (
            f"add the new dashboard page to PAGES and open it here: {served.routes}"
        )
        probe = _probe(browser, served, tally)
        for payload in PAYLOADS:
            tally.add(payload.name, probe.goto(f"{served.base}/?{urlencode({'brand': payload.text})}"))
            # the payload was drawn, as text, in every place of the page (a dud render would also count 0)
            drawn = [
                probe.page.title() == " ".join(f"wom · {payload.text}".split()),  # the title collapses spaces
                _texts(probe, "section.mentions article.mention p.text") == [payload.text] * 2,
                # the payload's mention is a complaint, so it is the period's top complaint too
                _texts(probe, "section.complaints article.mention p.text") == [payload.text],
                _texts(probe, "section.alerts h3") == [payload.text],
                _texts(probe, "article.author span.handle") == [payload.text] * 2,
                probe.page.eval_on_selector("#brand", "s => s.value") == payload.text,
            ]
            if not all(drawn):
                not_drawn.append(payload.name)
            brand_query = urlencode({"brand": payload.text})
            tally.add(f"inbox {payload.name}", probe.goto(f"{served.base}/inbox?{brand_query}"))
            if _texts(probe, "article.item ol.thread p.text") != [payload.text]:
                not_drawn.append(f"inbox: {payload.name}")
            tally.add(f"alerts {payload.name}", probe.goto(f"{served.base}/alerts?{brand_query}"))
            if _texts(probe, "section.live article.alert h3") != [payload.text]:
                not_drawn.append(f"alerts: {payload.name}")
            query = urlencode({"brand": payload.text})
            tally.add(f"mentions {payload.name}", probe.goto(f"{served.base}/mentions?{query}"))
            if _texts(probe, "article.mention p.text") != [payload.text]:
                not_drawn.append(f"mentions: {payload.name}")
            for ranking in ("ambassadors", "detractors"):
                tally.add(f"{ranking} {payload.name}", probe.goto(f"{served.base}/{ranking}?{query}"))
                if _texts(probe, "ol.ranklist span.handle") != [payload.text]:
                    not_drawn.append(f"{ranking}: {payload.name}")
                exported = probe.page.request.get(f"{served.base}/{ranking}/export.csv?{query}")
                rows = list(csv.reader(io.StringIO(exported.text())))
                if [row[3] for row in rows[1:]] != [csv_cell(payload.text)]:
                    not_drawn.append(f"{ranking}.csv: {payload.name}")
                formulas.extend(cell for row in rows for cell in row if cell.startswith(("=", "+", "-", "@")))
            probe.goto(f"{served.base}/mentions?{query}")
            profile = probe.page.get_attribute("article.mention a[href^='/authors/']", "href")
            tally.add(f"author {payload.name}", probe.goto(f"{served.base}{profile}"))
            if _texts(probe, "section.identities td[data-label] + td") != [payload.text, payload.text, "100"]:
                not_drawn.append(f"author: {payload.name}")
            exported = probe.page.request.get(f"{served.base}{profile}/export.json")
            if payload.text not in exported.json()["identities"][0].values():
                not_drawn.append(f"author export: {payload.name}")
        tally.add("status", probe.goto(f"{served.base}/sources"))
        tally.add("status redirect", probe.goto(f"{served.base}/status"))
        assert probe.page.url == f"{served.base}/sources"
        messages = _texts(probe, "td.message")
        not_drawn += [f"status: {p.name}" for p in PAYLOADS if p.text not in messages]
        users = _hostile_users(engine)
        tally.add("settings", probe.goto(f"{served.base}/settings"))
        tally.add("settings/users", probe.goto(f"{served.base}/settings/users"))
        if _texts(probe, "article.user h3") != [users[name] for name in sorted(users)]:
            not_drawn.append("settings/users")
        tally.add("settings/keys", probe.goto(f"{served.base}/settings/keys"))
        if _texts(probe, "section[aria-labelledby=my-keys-title] td[data-label=Label]") != [
            p.text for p in PAYLOADS
        ]:
            not_drawn.append("settings/keys")
        for width in (390, 1280):
            probe.page.set_viewport_size({"width": width, "height": 900})
            probe.goto(f"{served.base}/?{urlencode({'brand': PAYLOADS[0].text})}")
            probe.page.screenshot(path=tmp_path / f"brand-page-{width}.png", full_page=True)
    print(
        f"\nS-4 pages: {len(PAYLOADS)} payloads x {len(PAGE_FIELDS)} stored fields, {tally.loads} page loads "
        f"(each payload's overview, mentions, ambassadors and detractors, /sources and /signin): {dict(tally.totals)}"
    )
    assert tally.hits == {}, tally.hits
    assert not_drawn == []
    assert formulas == []


def test_no_payload_runs_when_reflected_in_the_404_page(browser: Browser, sqlite_engine: Engine) -> None:
    """`?brand=` of an unknown brand comes back in the error, with the names of every visible brand."""
    tally = _Tally()
    with _serve(sqlite_engine) as served:
        probe = _probe(browser, served)
        for payload in PAYLOADS:
            gone = payload.text + " (gone)"
            tally.add(
                payload.name, probe.goto(f"{served.base}/?{urlencode({'brand': gone})}", expect_status=404)
            )
            assert repr(gone) in _texts(probe, "section.error p")[0], payload.name
    print(
        f"\nS-4 404 page: {len(PAYLOADS)} payloads reflected, {tally.loads} page loads: {dict(tally.totals)}"
    )
    assert tally.hits == {}, tally.hits
