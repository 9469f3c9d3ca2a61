"""normalize_for_model: the exact text the encoder sees, in training and at inference."""

from __future__ import annotations

import pytest

from monitor.classify.preprocess import MAX_MODEL_CHARS, normalize_for_model


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Literal escapes as the 2013-2016 SemEval tweets carry them, and a trailing space as TweetEval has.
        (r"I can\u2019t wait\u002c really ", "I can’t wait, really"),
        # A surrogate pair written out becomes one emoji.
        (r"love it \ud83d\ude00", "love it 😀"),
        (r"\U0001F600 stays", r"\U0001F600 stays"),
        ("Fish &amp; chips &gt; pizza &lt;3 &#39;x&#x27; &quot;y&quot;", "Fish & chips > pizza <3 'x' \"y\""),
        # Escapes first, entities second: an escaped ampersand still forms an entity.
        (r"\u0026amp; more", "& more"),
        ("  many\t\tspaces\nand\r\nlines\u00a0and\u2009thin  ", "many spaces and lines and thin"),
        ("NUL\x00inside", "NUL inside"),
        ("", ""),
        ("   \n\t ", ""),
        ("😀😀", "😀😀"),
    ],
)
def test_normalize_for_model(raw: str, expected: str) -> None:
    assert normalize_for_model(raw) == expected


def test_unpaired_surrogates_are_dropped_so_the_text_encodes_as_utf8() -> None:
    for raw in (r"lone \ud83d here", "lone \ud83d here", r"tail \ude00"):
        result = normalize_for_model(raw)
        assert result.encode("utf-8").decode("utf-8") == result
    assert normalize_for_model(r"lone \ud83d here") == "lone here"
    assert normalize_for_model(r"tail \ude00") == "tail"


def test_cut_to_1000_chars_without_trailing_space() -> None:
    assert MAX_MODEL_CHARS == 1000
    assert normalize_for_model("x" * 1500) == "x" * 1000
    # The cut lands right after a space: the result must not end with it.
    assert normalize_for_model("y" * 999 + " zzz") == "y" * 999
    assert normalize_for_model(" " * 50 + "a" * 1200) == "a" * 1000


def test_entities_are_decoded_once_per_call() -> None:
    # Training and inference both call it exactly once, so one level of decoding is the contract.
    raw = r"  Don\u2019t &amp;amp; stop \ud83d\ude00  "
    once = normalize_for_model(raw)
    assert once == "Don’t &amp; stop 😀"
    assert normalize_for_model(once) == "Don’t & stop 😀"
