"""The dashboard's catalogues: every text the templates and dashboards/*.py mark is in both .po files, has
a Dutch translation with the same placeholders, and the language of a request is chosen as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dashboards.i18n import LOCALE, choose_language, translations

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
_METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
_OPTIONS = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}


def _marked() -> set[str]:
    found = extract_from_dir(
        DASHBOARDS,
        method_map=_METHODS,
        options_map=_OPTIONS,
        keywords={"_": None, "gettext": None, "N_": None},
    )
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def _catalogue(language: str) -> dict[str, str]:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_marked_text_is_in_the_catalogue(language: str) -> None:
    marked = _marked()
    assert len(marked) > 100
    catalogue = _catalogue(language)
    assert sorted(marked - set(catalogue)) == [], "run pybabel extract and add these (see dashboards/app.py)"
    assert sorted(set(catalogue) - marked) == [], "no longer used: remove them"


def test_every_dutch_text_is_translated_with_its_placeholders() -> None:
    for message, dutch in _catalogue("nl").items():
        assert dutch, message
        assert sorted(re.findall(r"%\(\w+\)s", message)) == sorted(re.findall(r"%\(\w+\)s", dutch)), message


def test_compiled_catalogues_translate() -> None:
    assert translations("nl").gettext("Sign in") == "Aanmelden"
    assert translations("en").gettext("Sign in") == "Sign in"


@pytest.mark.parametrize(
    ("preference", "cookie", "accept", "chosen"),
    [
        ("nl", "en", "en", "nl"),  # the signed-in person's preference first
        (None, "nl", "en", "nl"),  # then the switch
        (None, None, "de-DE,de;q=0.9,nl;q=0.8,en;q=0.7", "nl"),  # then the browser's first we have
        (None, None, "en-GB,en;q=0.9,nl;q=0.8", "en"),
        (None, None, "nl;q=0,en;q=0.5", "en"),  # q=0 means "not this one"
        (None, "xx", "fr", "en"),  # nothing we have: English
        (None, None, None, "en"),
    ],
)
def test_choose_language(preference: str | None, cookie: str | None, accept: str | None, chosen: str) -> None:
    assert choose_language(preference=preference, cookie=cookie, accept_language=accept) == chosen
