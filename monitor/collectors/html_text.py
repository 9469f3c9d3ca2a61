"""HTML that a platform sends (Mastodon statuses, Hacker News comments, feed summaries) as plain text.

inscriptis lays the text out as a browser would: paragraphs as blank lines, <br> and list items on
lines of their own, <pre> kept, entities decoded, scripts and styles dropped. The hand-written
HTMLParser subclasses it replaces lost the breaks between list items ("fascinating:They spent").
"""

from __future__ import annotations

from collections.abc import Collection

import lxml.etree
import lxml.html
from inscriptis import Inscriptis
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from monitor.collectors.base import CollectorError
from monitor.records import clean_text

__all__ = ["html_to_text"]

# "strict": no space is added around inline elements, so Mastodon's link spans
# (<span>https://</span><span>x.example/</span>) stay one URL
_CONFIG = ParserConfig(css=CSS_PROFILES["strict"])


def html_to_text(markup: str, *, hidden_classes: Collection[str] = ()) -> str:
    """`markup` as text; elements with a class in `hidden_classes` are left out with what they hold.

    Control characters and lone surrogates are dropped first (`clean_text`): lxml would turn a NUL
    into U+FFFD and cut the text at a lone surrogate. Lines lose trailing spaces, the text its outer
    blank lines. Raises CollectorError for markup lxml cannot read.
    """
    cleaned = clean_text(markup)[0]
    if not cleaned.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    except (lxml.etree.LxmlError, ValueError) as e:
        raise CollectorError(f"HTML text that lxml cannot read ({e})") from e
    if hidden_classes:
        hidden = set(hidden_classes)
        for element in list(root.iter()):
            classes = (element.get("class") or "").split() if isinstance(element.tag, str) else []
            if hidden.intersection(classes):
                element.drop_tree()
    text = Inscriptis(root, _CONFIG).get_text()
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")
