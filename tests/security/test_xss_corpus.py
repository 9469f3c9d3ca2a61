"""The corpus itself: enough payloads in every context, and each one live in Chromium in its raw sink.

Without this a zero from the battery could mean dud payloads or a blind probe; here the same probe sees
every payload execute (or draw a non-http link) when a page holds it unescaped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.security.chromium import XssProbe
from tests.security.xss_corpus import CONTEXTS, PAYLOADS, SINKS, Payload, raw_document

if TYPE_CHECKING:
    from playwright.sync_api import Browser

_WAITS = 20  # settle rounds before a raw payload counts as a dud (events such as onbegin may lag a frame)


@pytest.fixture(scope="module")
def probe(browser: Browser) -> Iterator[XssProbe]:
    context = browser.new_context()
    yield XssProbe(context.new_page())
    context.close()


def test_corpus_covers_every_context_with_distinct_payloads() -> None:
    assert len(PAYLOADS) >= 60
    per_context = Counter(p.context for p in PAYLOADS)
    assert set(per_context) == set(CONTEXTS) and min(per_context.values()) >= 5, per_context
    assert {p.sink for p in PAYLOADS} <= set(SINKS)
    assert len({p.name for p in PAYLOADS}) == len(PAYLOADS)
    # distinct brand names: wom finds a brand by its case-folded name
    assert len({p.text.casefold() for p in PAYLOADS}) == len(PAYLOADS)
    # each fits the narrowest column it is stored in (brand.name, 200) and none holds NUL (PostgreSQL text)
    assert all(0 < len(p.text) <= 200 and "\x00" not in p.text for p in PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
def test_payload_is_live_in_its_raw_sink(probe: XssProbe, payload: Payload) -> None:
    findings = probe.set_content(raw_document(payload))
    if payload.runs_on_click:
        assert findings.non_http_urls, f"{payload.name}: a raw link holding it is not a non-http href"
        return
    for _ in range(_WAITS):
        if findings.executions:
            break
        findings = probe.inspect_again()
    assert findings.executions, f"{payload.name} did not execute in its raw sink {payload.sink!r}: {findings}"
