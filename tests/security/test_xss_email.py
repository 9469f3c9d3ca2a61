"""S-4 for the alert e-mail: the HTML part of every stored hostile alert, opened in Chromium.

The e-mail carries no Content-Security-Policy (mail clients differ), so escaping is the only wall here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.alerts.email import SUBJECT_CHARS, render_alert_email
from monitor.alerts.rules import plain_text
from monitor.storage.models import Alert, Brand
from tests.api.conftest import NOW
from tests.security.chromium import Findings, XssProbe
from tests.security.xss_corpus import PAYLOADS
from tests.security.xss_world import seed_hostile_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# where each payload is in the alert and its e-mail
EMAIL_FIELDS = (
    "brand name",
    "title",
    "kind",
    "severity",
    "detail.excerpt",
    "detail.url",
    "a detail key and value",
)


@pytest.fixture(scope="module")
def probe(browser: Browser) -> Iterator[XssProbe]:
    context = browser.new_context()
    yield XssProbe(context.new_page())
    context.close()


def _html_part(alert: Alert, brand: Brand) -> str:
    message = render_alert_email(
        alert,
        recipient="ops@acme.example",
        sender="wom <wom@acme.example>",
        brand_name=brand.name,
        dashboard_url="https://wom.acme.example/",
        now=NOW,
    )
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def test_no_payload_runs_in_the_alert_email(probe: XssProbe, engine: Engine) -> None:
    world = seed_hostile_world(engine)
    totals: Counter[str] = Counter()
    hits: dict[str, Findings] = {}
    not_drawn: list[str] = []
    with Session(engine) as session:
        for payload, alert_id in zip(PAYLOADS, world.alerts, strict=True):
            alert = session.get(Alert, alert_id)
            assert alert is not None
            brand = session.get(Brand, alert.brand_id)
            assert brand is not None
            findings = probe.set_content(_html_part(alert, brand))
            totals.update(findings.counts())
            if any(findings.counts().values()):
                hits[payload.name] = findings
            # drawn as text: the title (one line, as in the subject) and the excerpt; and the only link
            # is the one into wom (the payload URL is never drawn)
            title = probe.page.eval_on_selector("h1", "e => e.textContent")
            hrefs = probe.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            if (
                title != plain_text(payload.text, limit=SUBJECT_CHARS)
                or probe.page.locator("blockquote").count() != 1
                or hrefs != [f"https://wom.acme.example/alerts/{alert_id}"]
            ):
                not_drawn.append(payload.name)
    print(
        f"\nS-4 e-mail: {len(PAYLOADS)} payloads x {len(EMAIL_FIELDS)} alert fields, "
        f"{len(PAYLOADS)} e-mails opened: {dict(totals)}"
    )
    assert hits == {}, hits
    assert not_drawn == []
