"""The classifier interface used by the pipeline, the CLI and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "COMPLAINT_LABELS",
    "SENTIMENT_LABELS",
    "TEXT_KINDS",
    "Classification",
    "Classifier",
    "Intent",
    "Sentiment",
    "TextKind",
    "check_batch",
]

Sentiment = Literal["negative", "neutral", "positive"]
Intent = Literal["complaint", "question", "praise", "other"]
# What kind of text a mention is: a review (app store, Trustpilot, own-site review) or a social post.
# Reviews and posts carry sentiment differently (a 3-star review is lukewarm, a neutral tweet is news),
# so the default model has one sentiment head per kind; backends without that distinction ignore it.
TextKind = Literal["post", "review"]
TEXT_KINDS: tuple[TextKind, TextKind] = ("post", "review")
# the order of the default model's sentiment and complaint heads (and of the labels in a dataset)
SENTIMENT_LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
COMPLAINT_LABELS: tuple[str, str] = ("not_complaint", "complaint")


@dataclass(frozen=True, slots=True)
class Classification:
    sentiment: Sentiment
    confidence: float  # probability of `sentiment`, 0..1
    score: float  # P(positive) - P(negative), -1..1
    lang: str  # ISO 639-1, or "und" when unknown
    intent: Intent
    intent_confidence: float


class Classifier(Protocol):
    """Classifies a batch of texts.

    `hint_langs` carries platform-provided languages (or None) per text; `hint_kinds` says per text whether
    it is a review or a post (None: a post).
    """

    name: str

    @property
    def version(self) -> str:
        """Identifies the model and its weights (stored with every classification)."""
        ...

    def classify(
        self,
        texts: Sequence[str],
        *,
        hint_langs: Sequence[str | None] | None = None,
        hint_kinds: Sequence[TextKind | None] | None = None,
    ) -> list[Classification]:
        """One Classification per text, in order. Raises ClassifierError when the model cannot run."""
        ...


def check_batch(
    texts: Sequence[str],
    hint_langs: Sequence[str | None] | None,
    hint_kinds: Sequence[TextKind | None] | None,
) -> None:
    """Raises TypeError for a bare string and ValueError for hints that do not align with `texts`."""
    if isinstance(texts, str):
        raise TypeError("classify takes a sequence of texts; wrap a single text in a list")
    for hints, what in ((hint_langs, "hint_langs"), (hint_kinds, "hint_kinds")):
        if hints is not None and len(hints) != len(texts):
            raise ValueError(f"got {len(hints)} {what} for {len(texts)} texts; pass one per text or None")
