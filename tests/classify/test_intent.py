"""Intent: the question rule and the precedence of complaint > question > praise > other."""

from __future__ import annotations

import pytest

from monitor.classify.intent import decide_intent, is_question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where is my order?", True),
        ("Waar blijft mijn pakket?", True),
        ("Check https://example.com/page?id=3", False),
        ("Hoe laat gaat de winkel open", True),
        ("Waarom krijg ik geen antwoord", True),
        ("How do I return this", True),
        ("how long does shipping take", True),
        ("Can you help me with my order", True),
        ("@bol kunnen jullie mij helpen", True),
        ("Is er iemand die dit herkent", True),
        ("Is dit normaal", True),
        ("Krijg ik mijn geld terug", True),
        ("Top service. Wanneer komt de nieuwe collectie", True),
        ("What a mess!", False),
        ("What a mess", False),
        ("Wat een topservice", False),
        ("Wat fijn dat het zo snel ging", False),
        ("When I opened the box it was broken", False),
        ("Will never order again", False),
        ("Doe dit niet", False),
        ("Doe je best", False),
        ("Can you believe this!", False),
        ("love this shop", False),
        ("", False),
        ("Why", False),
    ],
)
def test_question_rule(text: str, expected: bool) -> None:
    assert is_question(text) is expected


def test_complaint_head_wins_over_everything() -> None:
    assert decide_intent("Where is my order?", "negative", 0.8, 0.1, 0.9, 0.5) == ("complaint", 0.9)


def test_complaint_head_does_not_fire_when_the_sentiment_is_confidently_positive() -> None:
    praise = "Hey, heb je thuisbezorgd al eens geprobeerd? Zeker een aanrader!"
    # Not a complaint: the question rule decides, with 1 - P(complaint) as its doubt.
    intent, confidence = decide_intent(praise, "positive", 0.05, 0.9, 0.95, 0.5)
    assert intent == "question" and confidence == pytest.approx(0.05)
    assert decide_intent("Lovely people, can't ask for more", "positive", 0.1, 0.5, 0.6, 0.5) == (
        "praise",
        0.5,
    )
    # Below 0.5 the complaint head still wins, also over a positive top class and a question.
    assert decide_intent("Great service guys. Zero replies.", "positive", 0.3, 0.45, 0.6, 0.5) == (
        "complaint",
        0.6,
    )
    assert decide_intent("Where is my parcel?", "neutral", 0.2, 0.49, 0.6, 0.5) == ("complaint", 0.6)


def test_negative_review_is_a_complaint_with_its_negative_probability() -> None:
    assert decide_intent("Ging na een week kapot.", "negative", 0.7, 0.1, 0.2, 0.5, "review") == (
        "complaint",
        0.7,
    )
    assert decide_intent("Ging na een week kapot.", "negative", 0.7, 0.1, 0.2, 0.5, "post")[0] == "other"


def test_reviews_are_never_questions() -> None:
    assert decide_intent("Wat wil je nog meer?", "positive", 0.1, 0.8, 0.0, 0.5, "review") == ("praise", 0.8)
    assert decide_intent("Wat wil je nog meer?", "positive", 0.1, 0.8, 0.0, 0.5, "post") == ("question", 1.0)


def test_praise_and_other() -> None:
    assert decide_intent("Top!", "positive", 0.05, 0.9, 0.1, 0.5) == ("praise", 0.9)
    intent, confidence = decide_intent("De winkel is open", "neutral", 0.1, 0.2, 0.3, 0.5)
    assert intent == "other" and confidence == pytest.approx(0.7)
    assert decide_intent("", "neutral", 0.0, 0.0, 0.9, 0.5)[0] == "other"
