"""The sources wom knows, each loaded from its own module only when it is used."""

from __future__ import annotations

import importlib

from monitor.collectors.base import CollectorError
from monitor.collectors.options import SOURCE_NAMES
from monitor.collectors.sources import SourceSpec

__all__ = ["SOURCE_NAMES", "load_spec"]

_PACKAGES = {
    "x": "tweepy",
    "reddit": "praw",
    "mastodon": "Mastodon.py",
    "bluesky": "atproto",
    "googleplay": "google-play-scraper",
    "rss": "feedparser",
}


def load_spec(name: str) -> SourceSpec:
    """The source's spec. Raises CollectorError for an unknown source or a client library that fails to load."""
    if name not in SOURCE_NAMES:
        raise CollectorError(f"unknown source {name!r}; use one of {', '.join(SOURCE_NAMES)}")
    try:
        module = importlib.import_module(f"monitor.collectors.{name}")
    except ImportError as e:
        package = _PACKAGES.get(name, "wom")
        raise CollectorError(
            f"source {name} cannot load its client library ({e}); reinstall it with `pip install -e .` "
            f"(it needs {package})"
        ) from e
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, SourceSpec):
        raise CollectorError(f"monitor.collectors.{name} does not define a SourceSpec named SPEC")
    return spec
