"""The alerts page says the why of the newer kinds in words, in the reader's language, escaped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from monitor.alerts.source_health import SourceFacts, source_down
from monitor.config import AlertSettings
from monitor.storage.models import Alert
from tests.api.conftest import NOW, build_app, seed
from tests.dashboards.signin_helpers import browser, make_user, sign_in

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "Why:</strong> reddit has had no successful run for 9 h"),
        ("nl", "Waarom:</strong> reddit heeft al 9 u"),
    ],
)
def test_the_why_in_words_in_the_readers_language(engine: Engine, language: str, words: str) -> None:
    seeded = seed(engine)
    facts = SourceFacts(
        source="reddit",
        brand_id=seeded.brands["Acme"],
        brands=("Acme",),
        consecutive_failures=3,
        last_success_at=NOW - timedelta(hours=9),
        last_error=HOSTILE,
    )
    draft = source_down(facts, settings=AlertSettings(), now=NOW)
    assert draft is not None
    with Session(engine) as session:
        session.add(
            Alert(
                brand_id=draft.brand_id,
                kind=draft.kind,
                dedupe_key=draft.dedupe_key,
                severity=draft.severity,
                title=draft.title,
                detail=draft.detail,
                status="open",
                event_at=draft.event_at,
                created_at=NOW,
            )
        )
        session.commit()
    make_user(engine, "reader", role="viewer", language=language)
    with browser(build_app(engine)) as client:
        assert sign_in(client, "reader").status_code == 303
        page = client.get("/alerts")
    assert page.status_code == 200
    assert words in page.text
    assert HOSTILE not in page.text
    assert "&lt;img src=x onerror=" in page.text
