"""Offline language detection (lingua) for the languages wom classifies, with the platform's hint."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from lingua import ConfidenceValue, Language, LanguageDetector, LanguageDetectorBuilder

__all__ = [
    "DEFAULT_EXPECTED_LANGUAGES",
    "SUPPORTED_LANGUAGES",
    "UNDETERMINED",
    "detect_language",
    "detect_languages",
    "normalize_hint",
]

UNDETERMINED = "und"
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "nl", "de", "fr", "es", "it", "pt", "ar")
# The languages an installation mostly hears (`[classifier] expected_languages`); wom's users are Dutch
# and English businesses. Without a platform hint, lingua's confidence in any other language is weighed
# by _UNEXPECTED_WEIGHT before deciding: a short English post ("Nope. Still nada.", "yes I am") is then
# not read as Spanish on a few letter n-grams. The weight was chosen on the train splits of
# ../shared/data (2,000 items a set): 0.5 took the English complaint tweets from 97.3 to 98.1 % and
# TweetEval from 99.75 to 99.95, the Dutch sets up by 0.1-0.3, and cost German and Portuguese tweets
# 2.1 points, Italian 0.9, Spanish and French 0.5. An empty list weighs every language alike.
DEFAULT_EXPECTED_LANGUAGES: tuple[str, ...] = ("nl", "en")
_UNEXPECTED_WEIGHT = 0.5

_LINGUA = {
    "en": Language.ENGLISH,
    "nl": Language.DUTCH,
    "de": Language.GERMAN,
    "fr": Language.FRENCH,
    "es": Language.SPANISH,
    "it": Language.ITALIAN,
    "pt": Language.PORTUGUESE,
    "ar": Language.ARABIC,
}
_CODE = {language: code for code, language in _LINGUA.items()}

# Thresholds on lingua's relative confidence (values over the 8 languages sum to 1; uniform is 0.125).
# A supported hint is kept while it is plausible: on posts of a few words lingua splits its mass
# ("Super snelle levering, top!" nl 0.51, en 0.19; "Bedankt" de 0.57, nl 0.42) and the platform's tag is
# the better prior there. The text contradicts the hint when lingua gives it almost nothing (< 0.05) or
# puts another language far ahead ("Where is my order? I paid a week ago": en 0.65, nl 0.14).
_HINT_MIN_CONFIDENCE = 0.05
_HINT_MAX_LEAD = 0.5
# Without a usable hint, a top language below this is a guess among many ("is": fr 0.19, pt 0.17, en 0.16).
_DETECT_MIN_CONFIDENCE = 0.2
# An unsupported hint (e.g. "ja") wins unless the text clearly reads as one of the supported languages.
_FOREIGN_HINT_MAX_CONFIDENCE = 0.5
# Texts with fewer letters than this are too short to judge against a hint ("ok", "Top!").
_SHORT_TEXT_LETTERS = 6

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_HINT_SHAPE = re.compile(r"[a-z]{2}")

_detector: LanguageDetector | None = None
_detector_lock = threading.Lock()


def _get_detector() -> LanguageDetector:
    """Builds the detector once, on first use (its language models load lazily, per language)."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = LanguageDetectorBuilder.from_languages(*_LINGUA.values()).build()
    return _detector


def normalize_hint(hint: str | None) -> str | None:
    """A platform language tag as ISO 639-1 ("nl-NL" -> "nl", "EN" -> "en"), or None when unusable."""
    if not hint:
        return None
    primary = re.split(r"[-_]", hint.strip().lower(), maxsplit=1)[0]
    return primary if _HINT_SHAPE.fullmatch(primary) else None


def _clean_for_detection(text: str) -> str:
    without_links = _HANDLE.sub(" ", _URL.sub(" ", text))
    return " ".join(without_links.replace("#", " ").split())


def _weighed(values: Sequence[ConfidenceValue], expected: Sequence[str]) -> dict[str, float]:
    """lingua's confidence per language code, the unexpected languages weighed down, summing to 1 again."""
    confidence = {_CODE[value.language]: value.value for value in values}
    if not expected:
        return confidence
    weighed = {
        code: value * (1.0 if code in expected else _UNEXPECTED_WEIGHT) for code, value in confidence.items()
    }
    total = sum(weighed.values())
    return {code: value / total for code, value in weighed.items()} if total > 0 else weighed


def _decide(
    cleaned: str, hint: str | None, values: Sequence[ConfidenceValue], expected: Sequence[str] = ()
) -> str:
    # a usable platform hint is judged against lingua's own figures; the prior is for texts without one
    confidence = _weighed(values, () if hint else expected)
    letters = sum(char.isalpha() for char in cleaned)
    top_code, top_value = max(confidence.items(), key=lambda item: item[1], default=(UNDETERMINED, 0.0))
    if letters == 0 or top_value <= 0.0:
        # Emoji-only, digits-only, or a script none of the supported languages uses.
        return hint or UNDETERMINED
    if hint in _LINGUA:
        hint_value = confidence.get(hint, 0.0)
        if letters < _SHORT_TEXT_LETTERS or (
            hint_value >= _HINT_MIN_CONFIDENCE and top_value - hint_value < _HINT_MAX_LEAD
        ):
            return hint
    elif hint is not None and top_value < _FOREIGN_HINT_MAX_CONFIDENCE:
        return hint
    return top_code if top_value >= _DETECT_MIN_CONFIDENCE else UNDETERMINED


def detect_language(
    text: str, hint: str | None = None, expected: Sequence[str] = DEFAULT_EXPECTED_LANGUAGES
) -> str:
    """ISO 639-1 code of `text` among SUPPORTED_LANGUAGES, the plausible platform `hint`, or "und".

    Without a hint, languages outside `expected` need more evidence (see DEFAULT_EXPECTED_LANGUAGES)."""
    cleaned = _clean_for_detection(text)
    values = _get_detector().compute_language_confidence_values(cleaned) if cleaned else []
    return _decide(cleaned, normalize_hint(hint), values, expected)


def detect_languages(
    texts: Sequence[str],
    hints: Sequence[str | None] | None = None,
    expected: Sequence[str] = DEFAULT_EXPECTED_LANGUAGES,
) -> list[str]:
    """`detect_language` for a batch (lingua runs the batch in parallel). `hints` aligns with `texts`."""
    if hints is not None and len(hints) != len(texts):
        raise ValueError(f"got {len(hints)} language hints for {len(texts)} texts; pass one per text or None")
    cleaned = [_clean_for_detection(text) for text in texts]
    values = _get_detector().compute_language_confidence_values_in_parallel(cleaned) if cleaned else []
    hint_list = hints if hints is not None else [None] * len(texts)
    return [
        _decide(text, normalize_hint(hint), text_values if text else [], expected)
        for text, hint, text_values in zip(cleaned, hint_list, values, strict=True)
    ]
