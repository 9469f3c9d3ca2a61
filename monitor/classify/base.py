"""The classifier interface used by the pipeline, the CLI and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["Classification", "Classifier", "Intent", "Sentiment"]

Sentiment = Literal["negative", "neutral", "positive"]
Intent = Literal["complaint", "question", "praise", "other"]


@dataclass(frozen=True, slots=True)
class Classification:
    sentiment: Sentiment
    confidence: float  # probability of `sentiment`, 0..1
    score: float  # P(positive) - P(negative), -1..1
    lang: str  # ISO 639-1, or "und" when unknown
    intent: Intent
    intent_confidence: float


class Classifier(Protocol):
    """Classifies a batch of texts. `hint_langs` carries platform-provided languages (or None) per text."""

    name: str
    version: str

    def classify(
        self, texts: Sequence[str], *, hint_langs: Sequence[str | None] | None = None
    ) -> list[Classification]:
        """One Classification per text, in order. Raises ClassifierError when the model cannot run."""
        ...
