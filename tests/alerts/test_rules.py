from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.alerts.rules import (
    AlertDraft,
    MentionFacts,
    ambassador_at_risk,
    complaint_to_answer,
    influential_negative,
    plain_text,
)
from monitor.config import AlertSettings, ScoringSettings
from monitor.scoring.profile import ScoredMention, SegmentChangeEvent, WordOfMouthDiscount, build_profile

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
SETTINGS = AlertSettings()  # reach 5000, window 6 h, baseline 14 d, min 5, factor 3, max age 14 d
HOSTILE = "<script>alert(1)</script>\r\nBcc: victim@example.com " + "x" * 500


def facts(mention_id: int = 41, **changes: Any) -> MentionFacts:
    base = MentionFacts(
        mention_id=mention_id,
        brand_id=3,
        author_id=8,
        source="x",
        author_handle="@jan",
        text="@acme my order never arrived, can someone help?",
        created_at=NOW - timedelta(hours=2),
        sentiment="negative",
        confidence=0.9,
        intent="complaint",
        reach=120,
        engagement_total=4,
        url="https://x.com/jan/status/1",
    )
    return replace(base, **changes)


def test_complaint_to_answer_fires_with_a_stable_key() -> None:
    draft = complaint_to_answer(facts(), settings=SETTINGS, now=NOW)
    assert draft == AlertDraft(
        kind="complaint_to_answer",
        dedupe_key="complaint:41",
        severity="warning",
        title="Complaint to answer from @jan on x",
        detail={
            "excerpt": "@acme my order never arrived, can someone help?",
            "source": "x",
            "author_handle": "@jan",
            "created_at": "2026-03-10T12:30:00+00:00",
            "sentiment": "negative",
            "confidence": 0.9,
            "intent": "complaint",
            "reach": 120,
            "engagement": 4,
            "url": "https://x.com/jan/status/1",
        },
        event_at=NOW - timedelta(hours=2),
        brand_id=3,
        mention_id=41,
        author_id=8,
    )
    assert complaint_to_answer(facts(), settings=SETTINGS, now=NOW + timedelta(days=1)) == draft


def test_question_is_info_and_influential_complaint_is_critical() -> None:
    question = complaint_to_answer(facts(intent="question", sentiment="neutral"), settings=SETTINGS, now=NOW)
    assert question is not None
    assert (question.severity, question.title) == ("info", "Question to answer from @jan on x")
    loud = complaint_to_answer(facts(reach=5000), settings=SETTINGS, now=NOW)
    assert loud is not None
    assert loud.severity == "critical"


@pytest.mark.parametrize(
    "changes",
    [{"intent": "praise"}, {"intent": "other"}, {"is_own_account": True}, {"answered": True}],
)
def test_complaint_to_answer_skips(changes: dict[str, Any]) -> None:
    assert complaint_to_answer(facts(**changes), settings=SETTINGS, now=NOW) is None


def test_backfill_older_than_max_age_fires_nothing() -> None:
    year = [facts(i, created_at=NOW - timedelta(days=i), reach=50_000) for i in range(365)]
    complaints = [complaint_to_answer(f, settings=SETTINGS, now=NOW) for f in year]
    negatives = [influential_negative(f, settings=SETTINGS, now=NOW) for f in year]
    assert [d.mention_id for d in complaints if d] == list(range(15))  # 0..14 days old
    assert [d.mention_id for d in negatives if d] == list(range(15))
    old = SegmentChangeEvent(NOW - timedelta(days=15), "ambassador", "detractor", 7)
    assert (
        ambassador_at_risk(
            old,
            author_id=8,
            brand_id=3,
            author_handle="jan",
            caused_by_negative=True,
            settings=SETTINGS,
            now=NOW,
        )
        is None
    )


def test_title_is_plain_and_text_only_in_a_truncated_excerpt() -> None:
    draft = complaint_to_answer(
        facts(text=HOSTILE, author_handle="@jan\r\nBcc: x@y.z"), settings=SETTINGS, now=NOW
    )
    assert draft is not None
    assert draft.title == "Complaint to answer from @jan Bcc: x@y.z on x"
    assert "script" not in draft.title
    excerpt = draft.detail["excerpt"]
    assert len(excerpt) == 280
    assert excerpt.startswith("<script>alert(1)</script> Bcc: victim@example.com xxx")
    assert excerpt.endswith("x…")
    assert "\r" not in excerpt and "\n" not in excerpt


def test_plain_text_drops_controls_and_bidi_overrides() -> None:
    assert plain_text("a\u202eb\x00c\r\n\td\u2028e", limit=50) == "a b c d e"
    assert plain_text("abcdef", limit=4) == "abc…"
    assert plain_text("", limit=4) == ""


def test_influential_negative_by_reach_or_engagement() -> None:
    by_reach = influential_negative(facts(reach=5000, engagement_total=0), settings=SETTINGS, now=NOW)
    assert by_reach is not None
    assert (by_reach.kind, by_reach.dedupe_key, by_reach.severity) == (
        "influential_negative",
        "negative:41",
        "warning",
    )
    assert by_reach.title == "Negative mention from @jan on x (5,000 reach, 0 engagements)"
    by_engagement = influential_negative(facts(reach=None, engagement_total=500), settings=SETTINGS, now=NOW)
    assert by_engagement is not None
    critical = influential_negative(facts(reach=50_000), settings=SETTINGS, now=NOW)
    assert critical is not None
    assert critical.severity == "critical"
    assert influential_negative(facts(reach=4999, engagement_total=499), settings=SETTINGS, now=NOW) is None
    assert influential_negative(facts(reach=9000, sentiment="positive"), settings=SETTINGS, now=NOW) is None
    assert influential_negative(facts(reach=9000, is_own_account=True), settings=SETTINGS, now=NOW) is None


def at_risk(change: SegmentChangeEvent, *, negative: bool = True) -> AlertDraft | None:
    return ambassador_at_risk(
        change,
        author_id=8,
        brand_id=3,
        author_handle="@jan",
        caused_by_negative=negative,
        settings=SETTINGS,
        now=NOW,
    )


def test_ambassador_at_risk() -> None:
    changed_at = NOW - timedelta(days=1)
    severe = at_risk(SegmentChangeEvent(changed_at, "ambassador", "detractor", 77))
    assert severe == AlertDraft(
        kind="ambassador_at_risk",
        dedupe_key="at_risk:8:3:2026-03-09T14:30:00+00:00",
        severity="critical",
        title="Ambassador @jan is now detractor",
        detail={
            "from_segment": "ambassador",
            "to_segment": "detractor",
            "changed_at": "2026-03-09T14:30:00+00:00",
            "author_handle": "@jan",
            "caused_by_negative": True,
        },
        event_at=changed_at,
        brand_id=3,
        mention_id=77,
        author_id=8,
    )
    fan = at_risk(SegmentChangeEvent(changed_at, "fan", "critic", 78))
    assert fan is not None
    assert (fan.severity, fan.title) == ("warning", "Fan @jan is now critic")
    assert at_risk(SegmentChangeEvent(changed_at, "fan", "neutral", 79)) is not None
    assert at_risk(SegmentChangeEvent(changed_at, "fan", "neutral", 79), negative=False) is None
    assert at_risk(SegmentChangeEvent(changed_at, "ambassador", "fan", 80)) is None
    assert at_risk(SegmentChangeEvent(changed_at, "occasional", "critic", 81)) is None


def scored(mention_id: int, day: int, sentiment: str, intent: str) -> ScoredMention:
    at = NOW - timedelta(days=50 - day)
    return ScoredMention(
        mention_id, at, "x", f"acme {intent} {mention_id}", sentiment, 1.0, 0.0, intent, 99, 0, None
    )


def test_turning_ambassador_profile_raises_one_at_risk_alert() -> None:
    praise = [scored(i, 10 * i, "positive", "praise") for i in range(4)]
    complaints = [scored(i, 40 + i, "negative", "complaint") for i in range(4, 9)]
    mentions = praise + complaints
    profile = build_profile(mentions, settings=ScoringSettings(), discount=WordOfMouthDiscount())
    by_id = {m.mention_id: m for m in mentions}
    drafts = [
        at_risk(change, negative=by_id[change.mention_id].sentiment == "negative")
        for change in profile.segment_changes
    ]
    # the second complaint turns the recent balance: one alert then, none when critic becomes detractor
    assert [(d.title, d.mention_id) for d in drafts if d] == [("Ambassador @jan is now critic", 5)]
