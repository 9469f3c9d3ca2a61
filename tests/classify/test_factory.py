"""build_classifier from the settings model."""

from __future__ import annotations

from monitor.classify.e5_heads import E5HeadsClassifier
from monitor.classify.factory import build_classifier
from monitor.config import ClassifierSettings, settings_from_mapping


def test_default_settings_build_e5_heads() -> None:
    classifier = build_classifier(ClassifierSettings())
    assert isinstance(classifier, E5HeadsClassifier)
    assert (classifier.name, classifier.version) == ("e5-heads", "2026.11.1")
    assert (classifier.batch_size, classifier.threads) == (32, 2)


def test_settings_are_passed_on() -> None:
    settings = settings_from_mapping({"classifier": {"batch_size": 8, "threads": 1}})
    classifier = build_classifier(settings.classifier)
    assert isinstance(classifier, E5HeadsClassifier)
    assert (classifier.batch_size, classifier.threads) == (8, 1)
    assert classifier.classify(["love this shop"])[0].sentiment == "positive"
