"""Rendering a dashboard page: one Jinja environment per language (gettext installed, autoescape on for
every template name), the context every page shares (visitor, language switch, navigation, form token)
and the security headers of every page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from dashboards.auth import Visitor
from dashboards.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, local_time, time_ago, translations
from dashboards.words import COUNTED, WORDS

__all__ = [
    "SECURITY_HEADERS",
    "TEMPLATES",
    "NavItem",
    "Renderer",
    "safe_url",
    "site_of",
    "template_environment",
]

TEMPLATES = Path(__file__).parent / "templates"
# no inline script or style; no <base>, forms only to the dashboard itself, no plugins, and no framing
# by another site (clickjacking): frame-ancestors, and X-Frame-Options for browsers without it
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # no address of the dashboard leaves it; same-origin (not no-referrer) so that the browser still
    # sends the Origin of a form, which the form check compares (Origin: null under no-referrer)
    "Referrer-Policy": "same-origin",
}


# whitespace, control characters (U+0000 to U+0020) and DEL: one regex search, not a Python loop per
# character (a ranking page checks 250 URLs)
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f]")


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL without whitespace or control characters, else None.

    Browsers strip such characters before reading the scheme ("java\\tscript:"), so refuse them outright.
    """
    if not url or _UNSAFE_CHARACTER.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def site_of(url: str) -> str:
    """The host a (safe) URL points at, without `www.`: what a link to it is called."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def template_environment(language: str = DEFAULT_LANGUAGE) -> Environment:
    """The dashboard's Jinja environment in `language`; autoescape is on for every template name."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    catalogue = translations(language)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]

    def word(value: str) -> str:
        return catalogue.gettext(WORDS[value]) if value in WORDS else value.replace("_", " ")

    def counted(table: str) -> str:
        return catalogue.gettext(COUNTED[table])

    env.globals["language_code"] = language
    env.filters["word"] = word
    env.filters["counted"] = counted
    env.filters["safe_url"] = safe_url
    env.filters["site_of"] = site_of
    env.filters["local_time"] = local_time
    env.filters["ago"] = lambda value, now: time_ago(value, now, language)
    return env


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    href: str
    label: str


class Renderer:
    """Renders the dashboard's templates in the visitor's language, with the shared context."""

    def __init__(self) -> None:
        self._environments = {language: template_environment(language) for language in LANGUAGES}

    def environment(self, language: str) -> Environment:
        return self._environments.get(language, self._environments[DEFAULT_LANGUAGE])

    def _nav(self, env: Environment, visitor: Visitor | None) -> list[NavItem]:
        if visitor is None:
            return []
        gettext = translations(env.globals["language_code"]).gettext
        items = [
            NavItem("overview", "/", gettext("Overview")),
            NavItem("inbox", "/inbox", gettext("Inbox")),
            NavItem("mentions", "/mentions", gettext("Mentions")),
            NavItem("ambassadors", "/ambassadors", gettext("Ambassadors")),
            NavItem("detractors", "/detractors", gettext("Detractors")),
            NavItem("alerts", "/alerts", gettext("Alerts")),
        ]
        if not visitor.principal.scoped:
            items.append(NavItem("sources", "/sources", gettext("Sources")))
        if visitor.user is not None:
            items.append(NavItem("settings", "/settings", gettext("Settings")))
        return items

    def page(
        self,
        request: Request,
        template: str,
        *,
        visitor: Visitor | None,
        status: int = 200,
        language: str | None = None,
        current: str = "",
        **context: Any,
    ) -> HTMLResponse:
        """`template` rendered for `visitor` (None on the sign-in page) with `context`."""
        language = language or (visitor.language if visitor else DEFAULT_LANGUAGE)
        env = self.environment(language)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        shared: dict[str, Any] = {
            "visitor": visitor,
            "status": status,
            "language": language,
            "languages": LANGUAGE_NAMES,
            "nav": self._nav(env, visitor),
            "current": current,
            "here": here,
            "csrf": visitor.csrf_token if visitor else "",
        }
        html = env.get_template(template).render(shared | context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
