"""new_ambassador and detractor_emerging (monitor.alerts.segment_alerts), and the why of every new kind in
words: translated into Dutch and English, escaped in the HTML e-mail, one line in the plain text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.alerts.email import render_alert_email
from monitor.alerts.i18n import translations
from monitor.alerts.overdue import OverdueItem, first_response_drafts
from monitor.alerts.rating_drop import Rating, rating_drop
from monitor.alerts.reasons import REASONS, reason, reason_text
from monitor.alerts.rules import AlertDraft
from monitor.alerts.segment_alerts import detractor_emerging, new_ambassador
from monitor.alerts.source_health import SourceFacts, source_down, source_silent, usual_gap_hours
from monitor.config import AlertSettings
from monitor.scoring.profile import SegmentChangeEvent
from monitor.storage.models import Alert

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SETTINGS = AlertSettings(influential_min_reach=5000)
HOSTILE = '<script>alert(1)</script>"&\r\nBcc: x@evil.example'


def change(to: str, frm: str = "occasional", *, days: float = 1) -> SegmentChangeEvent:
    return SegmentChangeEvent(
        changed_at=NOW - timedelta(days=days), from_segment=frm, to_segment=to, mention_id=90
    )


def ambassador(event: SegmentChangeEvent, **changes: Any) -> AlertDraft | None:
    values: dict[str, Any] = {
        "author_id": 7,
        "brand_id": 2,
        "author_handle": "@joy",
        "mentions": 9,
        "positive": 8,
        "reach": 1200,
        "evidence": [81, 85, 90],
        "settings": SETTINGS,
        "now": NOW,
    }
    return new_ambassador(event, **(values | changes))


def detractor(event: SegmentChangeEvent, **changes: Any) -> AlertDraft | None:
    values: dict[str, Any] = {
        "author_id": 8,
        "brand_id": 2,
        "author_handle": "@grumpy",
        "reach": 300,
        "recent_negative_ids": [90, 88, 80],
        "settings": SETTINGS,
        "now": NOW,
    }
    return detractor_emerging(event, **(values | changes))


def test_new_ambassador_fires_once_per_entry_as_info() -> None:
    draft = ambassador(change("ambassador", "fan"))
    assert draft is not None
    assert (draft.kind, draft.severity) == ("new_ambassador", "info")
    assert draft.dedupe_key == f"new_ambassador:7:2:{(NOW - timedelta(days=1)).isoformat()}"
    assert draft.detail["mention_ids"] == [81, 85, 90]
    assert ambassador(change("ambassador", "fan")) == draft  # the same cause, the same key
    assert ambassador(change("fan", "occasional")) is None
    assert ambassador(change("ambassador", "ambassador")) is None
    assert ambassador(change("ambassador", "fan", days=30)) is None  # older than max_age_days


@pytest.mark.parametrize(
    ("reach", "severity"), [(300, "info"), (5000, "warning"), (49_999, "warning"), (50_000, "critical")]
)
def test_detractor_emerging_severity_by_reach(reach: int, severity: str) -> None:
    draft = detractor(change("detractor", "critic"), reach=reach)
    assert draft is not None
    assert (draft.kind, draft.severity) == ("detractor_emerging", severity)
    assert draft.detail["mention_ids"] == [90, 88, 80]


def test_detractor_emerging_needs_recent_negatives_and_leaves_fans_to_at_risk() -> None:
    assert detractor(change("detractor", "critic"), recent_negative_ids=[]) is None
    strict = AlertSettings(detractor_min_negative=4)
    assert detractor(change("detractor", "critic"), settings=strict) is None
    # a fan or ambassador turning detractor is ambassador_at_risk's alert, not a second one
    assert detractor(change("detractor", "fan")) is None
    assert detractor(change("detractor", "ambassador")) is None
    assert detractor(change("critic", "neutral")) is None


def _drafts() -> list[AlertDraft]:
    item = OverdueItem(
        1, 2, NOW - timedelta(hours=3), NOW - timedelta(hours=27), 90, "complaint", HOSTILE, 24
    )
    down = SourceFacts(
        source="reddit",
        brand_id=2,
        brands=("Acme",),
        consecutive_failures=4,
        last_success_at=NOW - timedelta(hours=9),
        last_error=HOSTILE,
    )
    day0 = NOW - timedelta(days=14)
    silent = SourceFacts(
        source=HOSTILE,
        brand_id=2,
        brands=("Acme",),
        deliveries=[day0 + timedelta(days=d, hours=h) for d in range(10) for h in range(8, 24)],
    )
    ratings = [Rating(i, "appstore", NOW - timedelta(days=30, hours=i), 5) for i in range(20)]
    ratings += [Rating(100 + i, "appstore", NOW - timedelta(hours=i + 1), 2) for i in range(12)]
    drafts = [
        source_silent(silent, settings=SETTINGS, now=NOW),
        rating_drop(ratings, brand_id=2, settings=SETTINGS, now=NOW),
        ambassador(change("ambassador", "fan"), author_handle=HOSTILE),
        detractor(change("detractor", "critic"), author_handle=HOSTILE),
        *first_response_drafts([item], now=NOW),
        source_down(down, settings=SETTINGS, now=NOW),
    ]
    return [d for d in drafts if d is not None]


def _render(draft: AlertDraft, language: str) -> tuple[str, str]:
    row = Alert(
        id=5,
        brand_id=draft.brand_id,
        kind=draft.kind,
        dedupe_key=draft.dedupe_key,
        severity=draft.severity,
        title=draft.title,
        detail=draft.detail,
        event_at=draft.event_at,
    )
    message = render_alert_email(
        row,
        recipient="ann@acme.example",
        sender="wom <wom@acme.example>",
        brand_name="Acme",
        dashboard_url="https://wom.acme.example",
        now=NOW,
        zone="Europe/Amsterdam",
        language=language,
    )
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    assert html is not None and text is not None
    assert [name.lower() for name in message].count("bcc") == 0
    return str(html.get_content()), str(text.get_content())


def test_every_new_kind_is_rendered() -> None:
    assert sorted(d.kind for d in _drafts()) == sorted(
        [
            "source_silent",
            "review_rating_drop",
            "new_ambassador",
            "detractor_emerging",
            "first_response_missed",
            "source_down",
        ]
    )


@pytest.mark.parametrize("draft", _drafts(), ids=lambda d: d.kind)
def test_the_why_is_in_words_in_both_languages_and_escaped(draft: AlertDraft) -> None:
    english = reason_text(draft.detail, language="en")
    dutch = reason_text(draft.detail, language="nl")
    assert english and dutch and english != dutch
    for language, why in (("en", english), ("nl", dutch)):
        html, text = _render(draft, language)
        assert "<script>" not in html
        assert f"{'Waarom' if language == 'nl' else 'Why'}:" in text
        assert why in text
        assert "\r" not in why and "\n" not in why
        if "script" in why:
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "%(" not in english and "%(" not in dutch


def test_every_reason_has_a_dutch_translation_with_the_same_placeholders() -> None:
    import re

    dutch = translations("nl")
    for text in REASONS:
        translated = dutch.gettext(text)
        assert translated != text
        assert sorted(re.findall(r"%\((\w+)\)s", translated)) == sorted(re.findall(r"%\((\w+)\)s", text))


def test_a_stored_reason_cannot_bring_its_own_format() -> None:
    assert reason_text({"reason": {"text": "%(x)s %(x)s", "args": {"x": "y"}}}) is None
    assert reason_text({"reason": "free text"}) is None
    assert reason_text(None) is None
    with pytest.raises(ValueError):
        reason("not a reason")


def test_usual_gap_is_the_median_daily_longest_gap() -> None:
    day0 = datetime(2026, 11, 2, tzinfo=UTC)
    nights = [day0 + timedelta(days=d, hours=h) for d in range(10) for h in range(8, 24)]
    assert usual_gap_hours(nights, min_deliveries=10) == 9.0
    # one outage of three days in the history does not move it
    outage = [at for at in nights if not day0 + timedelta(days=4) <= at < day0 + timedelta(days=7)]
    assert usual_gap_hours(outage, min_deliveries=10) == 9.0
    assert usual_gap_hours(nights[:5], min_deliveries=10) is None
