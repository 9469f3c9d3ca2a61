"""The common mention record every source maps onto, and its validation from untrusted dicts."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.errors import RecordError

__all__ = [
    "ENGAGEMENT_KEYS",
    "MAX_DEPTH",
    "MAX_TEXT_CHARS",
    "REACH_KINDS",
    "AuthorRecord",
    "MentionRecord",
    "RecordError",
    "clean_text",
    "json_safe",
    "mention_key",
    "parse_mention",
    "text_problem",
]

MAX_TEXT_CHARS = 50_000
MAX_ID_CHARS = 300
# levels of nested objects and arrays in one item, the item itself being level 1: `raw` is written with
# orjson, which refuses more than 255 (issue 13: one 256-deep line stopped a whole import), and json_safe
# recurses; the import format itself needs 3
MAX_DEPTH = 32
_CONTAINERS = (dict, list)
ENGAGEMENT_KEYS = ("likes", "shares", "replies", "quotes", "score", "views", "helpful")
REACH_KINDS = ("followers", "karma", "subscribers", "none")
_SOURCE_RE = re.compile(r"[a-z][a-z0-9_.-]{0,39}")
_LANG_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# a character a reader would see: not whitespace, not a C0 or C1 control, not a zero-width or direction mark
_VISIBLE_RE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
# what a JSON text needs to carry a control character or a surrogate once decoded
JSON_NEEDS_CLEANING_RE = re.compile(r"\\u00[01][0-9a-fA-F]|\\u007[fF]|\\[bf]|\\u[dD][89a-fA-F]|\x7f")


@dataclass(frozen=True, slots=True)
class AuthorRecord:
    handle: str
    platform_id: str | None = None
    name: str = ""
    reach: int | None = None
    reach_kind: str = "none"

    @property
    def identity_key(self) -> str:
        return self.platform_id if self.platform_id else "@" + self.handle.casefold()


@dataclass(frozen=True, slots=True)
class MentionRecord:
    source: str
    external_id: str
    text: str
    created_at: datetime
    author: AuthorRecord
    url: str | None = None
    lang: str | None = None
    rating: float | None = None
    engagement: dict[str, int] = field(default_factory=dict)
    in_reply_to: str | None = None
    thread_id: str | None = None
    brand: str | None = None
    raw: dict[str, Any] | None = None
    # the brand of the brand-scoped API key that sent it: it may be linked only to that brand and its
    # competitors (set by the API, never read from the item)
    scope_brand_id: int | None = None
    text_sanitized: bool = False


def text_problem(text: str) -> str | None:
    """Why `text` cannot be a mention's text, or None: the one rule imports and collectors share.

    A text needs a character a reader would see, not only whitespace, controls or zero-width marks.
    """
    if _VISIBLE_RE.search(text) is None:
        return "'text' is empty after removing control characters and whitespace"
    return None


def clean_text(value: str) -> tuple[str, bool]:
    """Drop NUL and other C0 controls and lone surrogates, which PostgreSQL refuses and SQLite keeps.

    Returns the text and whether anything was removed, so both backends store the same string.
    """
    cleaned = _SURROGATE_RE.sub("\ufffd", _CONTROL_RE.sub("", value))
    return cleaned, cleaned != value


def _cleaned(value: str) -> str:
    return clean_text(value)[0]


def _as_is(value: str) -> str:
    return value


def _required_str(
    data: Mapping[str, Any],
    key: str,
    *,
    max_chars: int = MAX_ID_CHARS,
    clean: Callable[[str], str] = _cleaned,
) -> str:
    value = data.get(key)
    if value is None or value == "":
        raise RecordError(f"'{key}' is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(f"'{key}' must be a string, got {type(value).__name__}")
    text = clean(str(value)).strip()
    if not text:
        raise RecordError(f"'{key}' is empty")
    if len(text) > max_chars:
        raise RecordError(f"'{key}' is longer than {max_chars} characters")
    return text


def _optional_str(
    data: Mapping[str, Any], key: str, *, max_chars: int = 2000, clean: Callable[[str], str] = _cleaned
) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError(f"'{key}' must be a string or null, got {type(value).__name__}")
    text = clean(str(value)).strip()
    if len(text) > max_chars:
        raise RecordError(f"'{key}' is longer than {max_chars} characters")
    return text or None


def _optional_int(value: Any, key: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"'{key}' must be a whole number, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise RecordError(f"'{key}' must be a whole number, got {value!r:.40}")
    if value < 0 or value > 2**62:
        raise RecordError(f"'{key}' must be between 0 and 2^62, got {value}")
    return value


def parse_datetime(value: Any, key: str = "created_at") -> datetime:
    if value is None or value == "":
        raise RecordError(f"'{key}' is missing")
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as e:
            raise RecordError(f"'{key}' epoch seconds {value!r} are out of range") from e
    if not isinstance(value, str):
        raise RecordError(f"'{key}' must be an ISO 8601 time such as 2026-11-01T10:00:00Z")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError as e:
        raise RecordError(
            f"'{key}' {value!r:.60} is not an ISO 8601 time such as 2026-11-01T10:00:00Z"
        ) from e
    if parsed.tzinfo is None:
        raise RecordError(f"'{key}' {value!r:.60} has no time zone; add Z or an offset such as +01:00")
    if not 1990 <= parsed.year <= 2200:
        raise RecordError(f"'{key}' {value!r:.60} is outside 1990..2200")
    return parsed.astimezone(UTC)


def _author(data: Mapping[str, Any], clean: Callable[[str], str]) -> AuthorRecord:
    author = data.get("author")
    if not isinstance(author, Mapping):
        raise RecordError("'author' must be an object with at least a 'handle'")
    handle = _required_str(author, "handle", clean=clean).lstrip("@")
    if not handle:
        raise RecordError("'author.handle' is empty")
    reach = _optional_int(author.get("followers", author.get("reach")), "author.followers")
    reach_kind = author.get("reach_kind") or ("followers" if reach is not None else "none")
    if reach_kind not in REACH_KINDS:
        raise RecordError(f"'author.reach_kind' must be one of {', '.join(REACH_KINDS)}")
    return AuthorRecord(
        handle=handle,
        platform_id=_optional_str(author, "id", max_chars=MAX_ID_CHARS, clean=clean),
        name=_optional_str(author, "name", max_chars=300, clean=clean) or "",
        reach=reach,
        reach_kind=reach_kind,
    )


def _engagement(value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordError("'engagement' must be an object such as {\"likes\": 3}")
    counts: dict[str, int] = {}
    for key, count in value.items():
        if key not in ENGAGEMENT_KEYS:
            raise RecordError(f"'engagement.{key:.40}' is unknown; use {', '.join(ENGAGEMENT_KEYS)}")
        parsed = _optional_int(count, f"engagement.{key}")
        if parsed is not None:
            counts[key] = parsed
    return counts


def _rating(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError("'rating' must be a number from 1 to 5")
    try:
        rating = float(value)
    except (TypeError, ValueError) as e:
        raise RecordError(f"'rating' must be a number from 1 to 5, got {value!r:.40}") from e
    if not 1 <= rating <= 5:
        raise RecordError(f"'rating' must be a number from 1 to 5, got {value!r:.40}")
    return rating


def _url(value: Any) -> str | None:
    url = _optional_str({"url": value}, "url")
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise RecordError("'url' must start with http:// or https://")
    return url


def _check_depth(data: Mapping[str, Any]) -> None:
    """Raises RecordError naming the first field nested deeper than MAX_DEPTH levels (without recursing).

    Decoded JSON holds only dicts and lists; other mappings are cut by json_safe instead."""
    for key, value in data.items():
        if not isinstance(value, _CONTAINERS):
            continue
        stack: list[tuple[Any, int]] = [(value, 2)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                name = _cleaned(str(key))[:40]
                raise RecordError(
                    f"'{name}' is nested deeper than {MAX_DEPTH} levels; flatten it or leave it out"
                )
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, _CONTAINERS):
                    stack.append((child, depth + 1))


def mention_key(data: Any) -> tuple[str, str] | None:
    """The `(source, external_id)` that `parse_mention` would give `data`, or None when it would reject them."""
    if not isinstance(data, Mapping):
        return None
    try:
        source = _required_str(data, "source", max_chars=40).lower()
        return source, _required_str(data, "external_id")
    except RecordError:
        return None


def parse_mention(data: Any, *, raw_is_clean: bool = False) -> MentionRecord:
    """Validate one item of the import format. Raises RecordError naming the field.

    `raw_is_clean` says the caller checked that no string in `data` holds control characters or
    surrogates, which skips a second walk over the item (the importer checks the line text once).
    """
    if not isinstance(data, Mapping):
        raise RecordError(f"each line must be a JSON object, got {type(data).__name__}")
    _check_depth(data)
    clean = _as_is if raw_is_clean else _cleaned
    source = _required_str(data, "source", max_chars=40, clean=clean).lower()
    if not _SOURCE_RE.fullmatch(source):
        raise RecordError(f"'source' {source!r} must be lower-case letters, digits, '_', '-' or '.'")
    text_value = data.get("text")
    if text_value is None:
        raise RecordError("'text' is missing")
    if not isinstance(text_value, str):
        raise RecordError(f"'text' must be a string, got {type(text_value).__name__}")
    if (problem := text_problem(text_value)) is not None:
        raise RecordError(problem)
    if len(text_value) > MAX_TEXT_CHARS:
        raise RecordError(f"'text' has {len(text_value)} characters; the limit is {MAX_TEXT_CHARS}")
    text, sanitized = (text_value, False) if raw_is_clean else clean_text(text_value)
    lang = _optional_str(data, "lang", max_chars=12, clean=clean)
    if lang is not None:
        lang = lang.lower()
        if not _LANG_RE.fullmatch(lang):
            raise RecordError(f"'lang' {lang!r} must be an ISO 639-1 code such as nl or en")
        lang = lang.split("-")[0]
    brand = _optional_str(data, "brand", max_chars=200, clean=clean)
    return MentionRecord(
        source=source,
        external_id=_required_str(data, "external_id", clean=clean),
        text=text.strip(),
        created_at=parse_datetime(data.get("created_at")),
        author=_author(data, clean),
        url=_url(data.get("url")),
        lang=lang,
        rating=_rating(data.get("rating")),
        engagement=_engagement(data.get("engagement")),
        in_reply_to=_optional_str(data, "in_reply_to", max_chars=MAX_ID_CHARS, clean=clean),
        thread_id=_optional_str(data, "thread_id", max_chars=MAX_ID_CHARS, clean=clean),
        brand=brand,
        raw=dict(data) if raw_is_clean else json_safe(dict(data)),
        text_sanitized=sanitized,
    )


_TOO_DEEP = f"(nested deeper than {MAX_DEPTH} levels: left out)"


def json_safe(value: Any, *, _depth: int = 1) -> Any:
    """`value` with control characters and lone surrogates removed from strings, oversized numbers as text,
    and objects or arrays nested deeper than MAX_DEPTH levels replaced by a note saying so.

    `raw` is written with orjson, which refuses integers past 64 bits, lone surrogates and nesting past 255
    levels; a platform payload may carry any of them, and one such item must not fail its whole page."""
    if isinstance(value, str):
        return clean_text(value)[0]
    if isinstance(value, Mapping | list | tuple) and _depth > MAX_DEPTH:
        return _TOO_DEEP
    if isinstance(value, Mapping):
        return {clean_text(str(key))[0]: json_safe(item, _depth=_depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, _depth=_depth + 1) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
