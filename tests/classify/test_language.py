"""Language detection with lingua restricted to the supported languages, plus the platform hint."""

from __future__ import annotations

import threading

import pytest
from lingua import Language, LanguageDetectorBuilder

from monitor.classify import language
from monitor.classify.language import (
    DEFAULT_EXPECTED_LANGUAGES,
    SUPPORTED_LANGUAGES,
    detect_language,
    detect_languages,
    normalize_hint,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Waar blijft mijn pakket?", "nl"),
        ("Super snelle levering, top!", "nl"),
        ("Hoe laat gaat de winkel open?", "nl"),
        ("Where is my order?", "en"),
        ("love this shop", "en"),
        ("Thanks for the quick reply", "en"),
        ("Danke schön, alles super", "de"),
        ("Merci beaucoup pour la livraison rapide", "fr"),
        ("مرحبا بالعالم", "ar"),
    ],
)
def test_short_posts_without_hint(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        # Too short to judge: the platform's tag decides.
        ("Top!", "nl", "nl"),
        ("Top!", "en", "en"),
        ("ok", "de", "de"),
        # Plausible hint kept where lingua alone prefers German ("Bedankt": de 0.57, nl 0.42).
        ("Bedankt", "nl", "nl"),
        # Region subtags and case are normalised.
        ("Waar blijft mijn pakket?", "nl-NL", "nl"),
        ("Where is my order?", "EN_gb", "en"),
        # A supported hint the text clearly contradicts is overruled.
        ("I love this shop so much, the delivery was really fast", "nl", "en"),
        ("Mijn bestelling is nog steeds niet binnen", "en", "nl"),
        # ... or puts another language far ahead (en 0.65 against nl 0.14).
        ("Where is my order? I paid a week ago", "nl", "en"),
        # A split decision keeps the hint (nl 0.51, en 0.19).
        ("Super snelle levering, top!", "en", "en"),
        # An unsupported language: its hint stands when the text does not read as a supported one.
        ("こんにちは世界", "ja", "ja"),
        ("love this shop, the delivery was really fast", "ja", "en"),
        # Nothing to detect from.
        ("😀😀", "nl", "nl"),
        ("😀😀", None, "und"),
        ("", None, "und"),
        ("こんにちは世界", None, "und"),
        ("12345 !!!", None, "und"),
        # Handles and links are not language.
        ("@bol waar is mijn pakket https://t.co/abc?x=1", None, "nl"),
    ],
)
def test_hints(text: str, hint: str | None, expected: str) -> None:
    assert detect_language(text, hint) == expected


def test_a_guess_among_many_is_undetermined() -> None:
    # "is": fr 0.19, pt 0.17, en 0.16 when every language counts alike; with Dutch and English expected,
    # English leads (0.25) and the word is indeed English (or Dutch)
    assert detect_language("is", expected=()) == "und"
    assert detect_language("is") == "en"


@pytest.mark.parametrize(
    ("hint", "expected"),
    [("nl", "nl"), ("NL", "nl"), ("nl-BE", "nl"), ("pt_BR", "pt"), (" en ", "en"), ("", None), (None, None)],
)
def test_normalize_hint(hint: str | None, expected: str | None) -> None:
    assert normalize_hint(hint) == expected


def test_unusable_hints_are_ignored() -> None:
    assert normalize_hint("und") is None
    assert normalize_hint("english") is None
    assert normalize_hint("n1") is None
    assert detect_language("Where is my order?", "und") == "en"


def test_batch_matches_single_calls() -> None:
    texts = ["Waar blijft mijn pakket?", "love this shop", "Top!", "😀", "Danke schön, alles super"]
    hints = [None, "nl", "nl", None, "de"]
    assert detect_languages(texts, hints) == [
        detect_language(t, h) for t, h in zip(texts, hints, strict=True)
    ]
    assert detect_languages(texts) == ["nl", "en", "nl", "und", "de"]
    assert detect_languages([]) == []


def test_batch_rejects_misaligned_hints() -> None:
    with pytest.raises(ValueError, match="got 1 language hints for 2 texts"):
        detect_languages(["a", "b"], ["en"])


@pytest.mark.parametrize(
    ("text", "alike", "weighed"),
    [
        ("Nope. Still nada.", "es", "en"),  # short English read as Spanish when every language counts alike
        ("yes I am", "es", "en"),
        ("Bedankt", "de", "nl"),
        ("Danke schön für alles, sehr gut", "de", "de"),  # clear evidence still wins
        ("Muito obrigado pela ajuda", "pt", "pt"),
    ],
)
def test_expected_languages_need_less_evidence(text: str, alike: str, weighed: str) -> None:
    assert detect_language(text, expected=()) == alike
    assert detect_language(text) == weighed  # the default: Dutch and English expected
    assert detect_languages([text], expected=()) == [alike]
    assert detect_language(text, expected=("es", "de", "pt")) == alike


def test_a_hint_is_judged_without_the_prior() -> None:
    assert detect_language("Danke schön", hint="de") == "de"
    assert detect_language("Nope. Still nada.", hint="es") == "es"


def test_supported_languages() -> None:
    assert set(DEFAULT_EXPECTED_LANGUAGES) <= set(SUPPORTED_LANGUAGES)
    assert SUPPORTED_LANGUAGES == ("en", "nl", "de", "fr", "es", "it", "pt", "ar")


def test_detector_is_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "_detector", None)
    built: list[object] = []
    real_build = LanguageDetectorBuilder.from_languages

    def counting_build(*languages: Language) -> LanguageDetectorBuilder:
        built.append(languages)
        return real_build(*languages)

    monkeypatch.setattr(LanguageDetectorBuilder, "from_languages", counting_build)
    results: list[str] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        results.append(detect_language("Waar blijft mijn pakket?"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["nl"] * 4
    assert len(built) == 1
