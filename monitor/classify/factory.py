"""Builds the configured classifier."""

from __future__ import annotations

from monitor.classify.base import Classifier
from monitor.config import ClassifierSettings
from monitor.errors import ClassifierError

__all__ = ["build_classifier"]


def build_classifier(settings: ClassifierSettings) -> Classifier:
    """The classifier for `[classifier] backend`. Raises ClassifierError when it cannot be built.

    Construction reads the head weights (small); the encoder itself loads on the first `classify`.
    """
    if settings.backend == "e5-heads":
        from monitor.classify.e5_heads import E5HeadsClassifier

        return E5HeadsClassifier(batch_size=settings.batch_size, threads=settings.threads)
    raise ClassifierError(
        f'unknown classifier backend {settings.backend!r}; set [classifier] backend = "e5-heads"'
    )
