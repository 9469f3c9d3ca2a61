"""The dashboard in Dutch and English: gettext catalogues read at start-up, the language of a request,
and dates in a person's time zone.

A translator edits one file per language, `dashboards/locale/<lang>/LC_MESSAGES/messages.po`; it is
compiled in memory when the app starts (babel's pofile and mofile), so installing wom needs no build step.
The message ids are the English texts, so English needs no translations and a missing Dutch one shows
the English text. `pybabel extract -F dashboards/babel.cfg -o /tmp/messages.pot dashboards` lists them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "choose_language",
    "local_time",
    "time_ago",
    "translations",
    "zone_named",
]

LOCALE = Path(__file__).parent / "locale"
LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "en"
# each language named in itself, as the switch shows it
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of `language` (one of LANGUAGES)."""
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def _accepted(accept_language: str) -> Iterable[tuple[float, str]]:
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        # earlier entries win among equal qualities
        yield quality - position * 1e-6, tag.strip().lower().partition("-")[0]


def choose_language(*, preference: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the signed-in person's preference, else the one they switched to (cookie),
    else the browser's first supported one (Accept-Language), else DEFAULT_LANGUAGE."""
    for chosen in (preference, cookie):
        if chosen in LANGUAGES:
            return str(chosen)
    ranked = sorted(_accepted(accept_language or ""), reverse=True)
    for quality, language in ranked:
        if quality > 0 and language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def zone_named(name: str | None) -> ZoneInfo:
    """The time zone `name`; UTC when it is None or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    """`value` as YYYY-MM-DD HH:MM in `zone` (the same in both languages); empty for None."""
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def time_ago(value: datetime | None, now: datetime, language: str) -> str:
    """How long before (or after) `now` `value` is, in words of `language`: "12 minutes ago",
    "over 5 minuten"; empty for None."""
    if value is None:
        return ""
    return format_timedelta(value - now, add_direction=True, locale=language)
