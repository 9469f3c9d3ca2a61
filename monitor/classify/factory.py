"""Builds the configured classifier."""

from __future__ import annotations

from monitor.classify.base import Classifier
from monitor.config import ClassifierSettings
from monitor.errors import ClassifierError

__all__ = ["build_classifier"]


def build_classifier(settings: ClassifierSettings) -> Classifier:
    """The classifier for `[classifier] backend`. Raises ClassifierError when it cannot be built.

    Construction reads small files only; the model itself loads (and is built, the first time) on the
    first `classify`.
    """
    if settings.backend == "e5":
        from pathlib import Path

        from monitor.classify.e5_onnx import E5Classifier
        from monitor.classify.model_build import load_adapter

        adapter = load_adapter(Path(settings.adapter).expanduser() if settings.adapter else None)
        return E5Classifier(
            adapter=adapter,
            precision=settings.precision,
            batch_size=settings.batch_size,
            threads=settings.threads,
            expected_languages=settings.expected_languages,
        )
    if settings.backend == "transformers":
        from monitor.classify.hf_backend import TransformersClassifier

        return TransformersClassifier(
            settings.model,
            batch_size=settings.batch_size,
            threads=settings.threads,
            label_map=dict(settings.label_map) or None,
            expected_languages=settings.expected_languages,
        )
    raise ClassifierError(
        f'unknown classifier backend {settings.backend!r}; set [classifier] backend = "e5" or "transformers"'
    )
