"""The one label-wins rule, in SQL, on SQLite and PostgreSQL; storing, replacing and removing labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.labels import (
    LABEL_INTENTS,
    LABEL_SENTIMENTS,
    delete_label,
    effective_classification,
    effective_is,
    labelled_mentions,
    read_label,
    upsert_label,
)
from monitor.storage.models import Classification, Mention, MentionLabel
from monitor.storage.tables import table_of

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_MENTION = table_of(Mention)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_SCORE = {"positive": 0.8, "neutral": 0.0, "negative": -0.8}


def _mention(
    conn: sa.Connection, *, model: tuple[str, str] | None, text: str = "Acme", **columns: Any
) -> int:
    mention_id = conn.execute(
        sa.insert(_MENTION)
        .values(
            source="x",
            external_id=f"m{conn.execute(sa.select(sa.func.count()).select_from(_MENTION)).scalar_one()}",
            text=text,
            created_at=NOW,
            **columns,
        )
        .returning(_MENTION.c.id)
    ).scalar_one()
    if model is not None:
        sentiment, intent = model
        conn.execute(
            sa.insert(_CLASSIFICATION).values(
                mention_id=mention_id,
                model_name="e5-heads",
                model_version="1",
                sentiment=sentiment,
                confidence=0.9,
                score=_SCORE[sentiment],
                lang="nl",
                intent=intent,
                intent_confidence=0.7,
            )
        )
    return int(mention_id)


def _effective(conn: sa.Connection, mention_id: int) -> tuple[Any, ...]:
    effective = effective_classification()
    row = conn.execute(
        sa.select(
            effective.sentiment,
            effective.confidence,
            effective.score,
            effective.intent,
            effective.intent_confidence,
        )
        .select_from(
            _MENTION.outerjoin(_CLASSIFICATION, _CLASSIFICATION.c.mention_id == _MENTION.c.id).outerjoin(
                _LABEL, _LABEL.c.mention_id == _MENTION.c.id
            )
        )
        .where(_MENTION.c.id == mention_id)
    ).one()
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


# model (sentiment, intent), label (sentiment, intent) -> sentiment, confidence, score, intent, intent confidence
CASES = [
    (("positive", "praise"), None, ("positive", 0.9, 0.8, "praise", 0.7)),
    (("positive", "praise"), ("negative", None), ("negative", 1.0, -1.0, "other", 1.0)),
    (("neutral", "other"), ("negative", None), ("negative", 1.0, -1.0, "other", 0.7)),
    (("neutral", "other"), ("positive", None), ("positive", 1.0, 1.0, "praise", 1.0)),
    (("negative", "complaint"), ("neutral", None), ("neutral", 1.0, 0.0, "complaint", 0.7)),
    (("negative", "complaint"), ("positive", None), ("positive", 1.0, 1.0, "praise", 1.0)),
    (("neutral", "question"), ("positive", None), ("positive", 1.0, 1.0, "question", 0.7)),
    (("positive", "praise"), (None, "complaint"), ("positive", 0.9, 0.8, "complaint", 1.0)),
    (("positive", "praise"), ("negative", "question"), ("negative", 1.0, -1.0, "question", 1.0)),
    (None, ("negative", None), (None, None, None, None, None)),  # counts once the model has spoken
    (None, (None, "complaint"), (None, None, None, None, None)),
    (None, None, (None, None, None, None, None)),
]


@pytest.mark.parametrize(("model", "label", "expected"), CASES)
def test_label_wins_by_one_rule(
    engine: Engine,
    model: tuple[str, str] | None,
    label: tuple[str | None, str | None] | None,
    expected: tuple[Any, ...],
) -> None:
    with engine.begin() as conn:
        mention_id = _mention(conn, model=model)
        if label is not None:
            upsert_label(
                conn, mention_id=mention_id, sentiment=label[0], intent=label[1], labeled_by="tests", now=NOW
            )
        assert _effective(conn, mention_id) == expected


def test_the_filter_form_agrees_with_the_rule_on_every_combination(engine: Engine) -> None:
    sentiments, intents = (*LABEL_SENTIMENTS, None), (*LABEL_INTENTS, None)
    with engine.begin() as conn:
        for model_sentiment in LABEL_SENTIMENTS:
            for model_intent in LABEL_INTENTS:
                for label_sentiment in sentiments:
                    for label_intent in intents:
                        mention_id = _mention(conn, model=(model_sentiment, model_intent))
                        if label_sentiment is not None or label_intent is not None:
                            upsert_label(
                                conn,
                                mention_id=mention_id,
                                sentiment=label_sentiment,
                                intent=label_intent,
                                labeled_by="tests",
                                now=NOW,
                            )
        joined = _CLASSIFICATION.outerjoin(_LABEL, _LABEL.c.mention_id == _CLASSIFICATION.c.mention_id)
        effective = effective_classification()
        for field, values in (("sentiment", LABEL_SENTIMENTS), ("intent", LABEL_INTENTS)):
            for value in values:
                by_rule = set(
                    conn.execute(
                        sa.select(_CLASSIFICATION.c.mention_id)
                        .select_from(joined)
                        .where(getattr(effective, field) == value)
                    ).scalars()
                )
                by_filter = set(
                    conn.execute(
                        sa.select(_CLASSIFICATION.c.mention_id)
                        .select_from(joined)
                        .where(effective_is(_CLASSIFICATION, _LABEL, field=field, value=value))
                    ).scalars()
                )
                assert by_filter == by_rule and by_rule, (field, value)
        assert conn.execute(sa.select(sa.func.count()).select_from(_MENTION)).scalar_one() == 3 * 4 * 4 * 5


def test_a_label_is_replaced_whole_and_removed(engine: Engine) -> None:
    with engine.begin() as conn:
        mention_id = _mention(conn, model=("positive", "praise"))
        upsert_label(
            conn, mention_id=mention_id, sentiment="negative", intent="complaint", labeled_by="a", now=NOW
        )
        later = NOW + timedelta(minutes=5)
        upsert_label(
            conn, mention_id=mention_id, sentiment=None, intent="question", labeled_by="b", now=later
        )
        label = read_label(conn, mention_id=mention_id)
        assert label is not None
        assert (label.sentiment, label.intent, label.labeled_by, label.labeled_at) == (
            None,
            "question",
            "b",
            later,
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(_LABEL)).scalar_one() == 1
        assert _effective(conn, mention_id) == ("positive", 0.9, 0.8, "question", 1.0)
        assert delete_label(conn, mention_id=mention_id) is True
        assert delete_label(conn, mention_id=mention_id) is False
        assert read_label(conn, mention_id=mention_id) is None
        assert _effective(conn, mention_id) == ("positive", 0.9, 0.8, "praise", 0.7)


@pytest.mark.parametrize(
    ("sentiment", "intent", "words"),
    [
        (None, None, "needs a sentiment, an intent or both"),
        ("angry", None, "sentiment 'angry' is not one of negative, neutral, positive"),
        (None, "rant", "intent 'rant' is not one of complaint, question, praise, other"),
    ],
)
def test_bad_labels_are_refused(
    engine: Engine, sentiment: str | None, intent: str | None, words: str
) -> None:
    with engine.begin() as conn:
        mention_id = _mention(conn, model=None)
        with pytest.raises(ValueError, match=words):
            upsert_label(
                conn, mention_id=mention_id, sentiment=sentiment, intent=intent, labeled_by="", now=NOW
            )


def test_labelled_mentions_carry_text_language_and_rating(engine: Engine) -> None:
    with engine.begin() as conn:
        review = _mention(conn, model=("positive", "praise"), text="Te laat, 2 sterren", rating=2.0)
        post = _mention(conn, model=None, text="Acme <b>ok</b>", lang="en")
        _mention(conn, model=("neutral", "other"), text="never labelled")
        upsert_label(conn, mention_id=post, sentiment="neutral", intent=None, labeled_by="a", now=NOW)
        upsert_label(
            conn, mention_id=review, sentiment="negative", intent="complaint", labeled_by="a", now=NOW
        )
        rows = [
            (r.mention_id, r.sentiment, r.intent, r.text, r.lang, r.rating) for r in labelled_mentions(conn)
        ]
    assert rows == [
        (review, "negative", "complaint", "Te laat, 2 sterren", "nl", 2.0),  # the classifier's language
        (post, "neutral", None, "Acme <b>ok</b>", "en", None),  # none classified: the platform's
    ]
