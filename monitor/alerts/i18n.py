"""The messages' languages: gettext catalogues `monitor/locale/<lang>/LC_MESSAGES/wom.po`, compiled in
memory on first use (babel's pofile and mofile), so installing wom needs no build step. The message ids
are the English texts, so a missing translation shows the English one."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["LANGUAGES", "translations"]

LOCALE = Path(__file__).resolve().parents[1] / "locale"
LANGUAGES = ("nl", "en")


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of `language` (nl or en; anything else reads as en)."""
    language = language if language in LANGUAGES else "en"
    with (LOCALE / language / "LC_MESSAGES" / "wom.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)
