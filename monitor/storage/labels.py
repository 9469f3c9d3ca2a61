"""People's corrections of a mention's sentiment or intent (`MentionLabel`), and the one rule that makes
them win over the model wherever a classification is read.

Every reader (API, dashboard, author scores, alerts, stats) takes its sentiment and intent from
`effective_classification` (or, to filter, `effective_is`), never from `Classification` alone:

    sentiment          = the label's, else the model's
    confidence, score  = 1.0 and +1 / 0 / -1 when the label sets the sentiment, else the model's
    intent             = the label's; else, when only the sentiment is corrected, the model's intent
                         follows it the way the classifier derives it (complaint > question > praise >
                         other): a question stays a question, a complaint stays a complaint unless the
                         correction says positive, and praise/other become praise exactly when positive
    intent_confidence  = 1.0 where the label decided the intent, else the model's

The label corrects a classification: on a mention the pipeline has not classified yet it is stored and
shown (the API's `label`) but counts nowhere until the classification arrives, usually within a minute,
so filters, stats, scores and alerts always agree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.models import AuthorIdentity, Classification, Mention, MentionLabel, SegmentChange
from monitor.storage.tables import table_of

_MENTIONS_T = table_of(Mention)
_IDENTITY_T = table_of(AuthorIdentity)
_CHANGES_T = table_of(SegmentChange)

__all__ = [
    "LABEL_INTENTS",
    "LABEL_SENTIMENTS",
    "EffectiveClassification",
    "LabelRow",
    "delete_label",
    "effective_classification",
    "effective_is",
    "hand_back_to_alert_stage",
    "labelled_mentions",
    "read_label",
    "upsert_label",
]

LABEL_SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
LABEL_INTENTS: tuple[str, ...] = ("complaint", "question", "praise", "other")
_LABEL = table_of(MentionLabel)
_CLASSIFICATION = table_of(Classification)
_MENTION = table_of(Mention)


@dataclass(frozen=True, slots=True)
class EffectiveClassification:
    """SQL expressions over a classification row and a label row (either may be NULL in an outer join)."""

    sentiment: sa.ColumnElement[Any]
    confidence: sa.ColumnElement[Any]
    score: sa.ColumnElement[Any]
    intent: sa.ColumnElement[Any]
    intent_confidence: sa.ColumnElement[Any]


@dataclass(frozen=True, slots=True)
class LabelRow:
    mention_id: int
    sentiment: str | None
    intent: str | None
    labeled_by: str
    labeled_at: datetime


@functools.cache  # SQL expressions are immutable; building them costs more than a query's round trip
def effective_classification(
    classification: Any = _CLASSIFICATION, label: Any = _LABEL
) -> EffectiveClassification:
    """The label-wins values (see the module docstring) over `classification` and `label`, two tables or
    aliases with the columns of `Classification` and `MentionLabel`, either NULL in an outer join; all NULL
    where there is no classification."""
    c, l = classification.c, label.c  # noqa: E741
    model_intent = c.intent
    derived_intent = sa.case(
        (model_intent == "question", "question"),
        (sa.and_(model_intent == "complaint", l.sentiment != "positive"), "complaint"),
        (l.sentiment == "positive", "praise"),
        else_="other",
    )
    intent = sa.case(
        (l.intent.is_not(None), l.intent),
        (sa.or_(l.sentiment.is_(None), model_intent.is_(None)), model_intent),
        else_=derived_intent,
    )
    unclassified = c.mention_id.is_(None)

    def classified(expression: Any) -> Any:
        return sa.case((unclassified, sa.null()), else_=expression)

    return EffectiveClassification(
        sentiment=classified(sa.func.coalesce(l.sentiment, c.sentiment)),
        confidence=classified(sa.case((l.sentiment.is_not(None), sa.literal(1.0)), else_=c.confidence)),
        score=classified(
            sa.case(
                (l.sentiment == "positive", sa.literal(1.0)),
                (l.sentiment == "negative", sa.literal(-1.0)),
                (l.sentiment == "neutral", sa.literal(0.0)),
                else_=c.score,
            )
        ),
        intent=classified(intent),
        intent_confidence=classified(
            sa.case(
                (l.intent.is_not(None), sa.literal(1.0)),
                (sa.and_(l.sentiment.is_not(None), derived_intent != model_intent), sa.literal(1.0)),
                else_=c.intent_confidence,
            )
        ),
    )


def effective_is(classification: Any, label: Any, *, field: str, value: str) -> sa.ColumnElement[bool]:
    """`getattr(effective_classification(classification, label), field) == value` for a classification
    row, written as plain column tests (the same rule, in disjunctive form; tests check that the two
    agree on every combination) so planners can use the columns' statistics and indexes."""
    c, l = classification.c, label.c  # noqa: E741
    if field == "sentiment":
        return sa.or_(l.sentiment == value, sa.and_(l.sentiment.is_(None), c.sentiment == value))
    if field != "intent":
        raise ValueError(f"field must be sentiment or intent, got {field!r}")
    derived = {
        "question": c.intent == "question",
        "complaint": sa.and_(c.intent == "complaint", l.sentiment != "positive"),
        "praise": sa.and_(l.sentiment == "positive", c.intent != "question"),
        "other": sa.and_(l.sentiment != "positive", c.intent.not_in(("question", "complaint"))),
    }.get(value, sa.false())
    return sa.or_(
        l.intent == value,
        sa.and_(l.intent.is_(None), l.sentiment.is_(None), c.intent == value),
        sa.and_(l.intent.is_(None), l.sentiment.is_not(None), derived),
    )


def _check(sentiment: str | None, intent: str | None) -> None:
    if sentiment is None and intent is None:
        raise ValueError("a label needs a sentiment, an intent or both")
    if sentiment is not None and sentiment not in LABEL_SENTIMENTS:
        raise ValueError(f"sentiment {sentiment!r} is not one of {', '.join(LABEL_SENTIMENTS)}")
    if intent is not None and intent not in LABEL_INTENTS:
        raise ValueError(f"intent {intent!r} is not one of {', '.join(LABEL_INTENTS)}")


def upsert_label(
    conn: Connection,
    *,
    mention_id: int,
    sentiment: str | None,
    intent: str | None,
    labeled_by: str,
    now: datetime,
) -> None:
    """Make this the mention's one current label (a field left None means the model decides it).

    Raises ValueError for no field or an unknown value."""
    _check(sentiment, intent)
    values = {"sentiment": sentiment, "intent": intent, "labeled_by": labeled_by[:200], "labeled_at": now}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(_LABEL).values(mention_id=mention_id, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=["mention_id"], set_=values))


def delete_label(conn: Connection, *, mention_id: int) -> bool:
    """Remove the mention's label; True when there was one."""
    return bool(conn.execute(sa.delete(_LABEL).where(_LABEL.c.mention_id == mention_id)).rowcount)


def read_label(conn: Connection, *, mention_id: int) -> LabelRow | None:
    row = conn.execute(sa.select(_LABEL).where(_LABEL.c.mention_id == mention_id)).mappings().first()
    return None if row is None else LabelRow(**row)


def labelled_mentions(conn: Connection) -> list[sa.Row[Any]]:
    """Every label with its mention's text, language (the newest classification's, else the platform's,
    as the API's `lang` filter reads it) and rating, oldest label first: the corrections for retraining."""
    newest_lang = (
        sa.select(_CLASSIFICATION.c.lang)
        .where(_CLASSIFICATION.c.mention_id == _MENTION.c.id)
        .order_by(_CLASSIFICATION.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return list(
        conn.execute(
            sa.select(
                _LABEL.c.mention_id,
                _LABEL.c.sentiment,
                _LABEL.c.intent,
                _LABEL.c.labeled_at,
                _MENTION.c.text,
                sa.func.coalesce(newest_lang, _MENTION.c.lang).label("lang"),
                _MENTION.c.rating,
            )
            .join(_MENTION, _MENTION.c.id == _LABEL.c.mention_id)
            .order_by(_LABEL.c.labeled_at, _LABEL.c.mention_id)
        )
    )


def hand_back_to_alert_stage(conn: Connection, *, mention_id: int) -> int:
    """Clear `alerted_at` and any claim of the mention and of the mentions that cause its author's segment
    changes from its time on. Returns how many mentions the alert stage will evaluate again."""
    created_at = conn.execute(
        sa.select(_MENTIONS_T.c.created_at).where(_MENTIONS_T.c.id == mention_id)
    ).scalar()
    if created_at is None:
        return 0
    author = (
        sa.select(_IDENTITY_T.c.author_id)
        .join(_MENTIONS_T, _MENTIONS_T.c.author_identity_id == _IDENTITY_T.c.id)
        .where(_MENTIONS_T.c.id == mention_id)
        .scalar_subquery()
    )
    changed_by = sa.select(_CHANGES_T.c.mention_id).where(
        _CHANGES_T.c.author_id == author,
        _CHANGES_T.c.changed_at >= created_at,
        _CHANGES_T.c.mention_id.is_not(None),
    )
    # a worker holding one of them may have read the old label: without its claim it cannot stamp the
    # row, so the row is done again (every stage is idempotent)
    result = conn.execute(
        sa.update(_MENTIONS_T)
        .where(sa.or_(_MENTIONS_T.c.id == mention_id, _MENTIONS_T.c.id.in_(changed_by)))
        .values(alerted_at=None, claimed_by=None, claim_expires_at=None)
    )
    return int(result.rowcount)
