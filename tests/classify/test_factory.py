"""build_classifier from the settings model."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from monitor.classify.e5_onnx import MODEL_NAME, E5Classifier
from monitor.classify.factory import build_classifier
from monitor.classify.language import DEFAULT_EXPECTED_LANGUAGES, SUPPORTED_LANGUAGES
from monitor.classify.model_build import load_adapter
from monitor.config import ClassifierSettings, LanguageCode, settings_from_mapping
from monitor.errors import ClassifierError, ConfigError


def test_default_settings_build_the_e5_model() -> None:
    classifier = build_classifier(ClassifierSettings())
    assert isinstance(classifier, E5Classifier)
    assert (classifier.name, classifier.version) == (MODEL_NAME, load_adapter().version)
    assert (classifier.batch_size, classifier.threads, classifier.precision) == (16, 2, "int8")
    assert classifier.expected_languages == DEFAULT_EXPECTED_LANGUAGES == ("nl", "en")


def test_settings_are_passed_on() -> None:
    settings = settings_from_mapping(
        {"classifier": {"batch_size": 8, "threads": 1, "precision": "fp32", "expected_languages": ["de"]}}
    )
    classifier = build_classifier(settings.classifier)
    assert isinstance(classifier, E5Classifier)
    assert (classifier.batch_size, classifier.threads) == (8, 1)
    assert classifier.expected_languages == ("de",)
    assert classifier.version.endswith("+fp32")


def test_expected_languages_are_checked() -> None:
    assert typing.get_args(LanguageCode) == SUPPORTED_LANGUAGES
    assert (
        settings_from_mapping({"classifier": {"expected_languages": []}}).classifier.expected_languages == []
    )
    with pytest.raises(ConfigError, match="expected_languages"):
        settings_from_mapping({"classifier": {"expected_languages": ["nl", "klingon"]}})


def test_adapter_folder_from_settings(tmp_path: Path) -> None:
    settings = settings_from_mapping({"classifier": {"adapter": str(tmp_path)}})
    with pytest.raises(ClassifierError, match="adapter not found"):
        build_classifier(settings.classifier)


def test_transformers_backend_needs_a_model() -> None:
    with pytest.raises(ConfigError, match=r"classifier\.model"):
        settings_from_mapping({"classifier": {"backend": "transformers"}})
