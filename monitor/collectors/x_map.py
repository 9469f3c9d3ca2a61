"""X API v2 posts as mention records: one post with its author from `includes.users`, or a whole response.

Mapped from the raw JSON rather than tweepy's objects, so that ids stay strings and one malformed post
is skipped with a reason instead of failing its page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from monitor.collectors.base import TransientError
from monitor.collectors.payload import json_safe
from monitor.records import (
    MAX_TEXT_CHARS,
    AuthorRecord,
    MentionRecord,
    RecordError,
    clean_text,
    parse_datetime,
)

__all__ = ["HANDLE_RE", "id_or_none", "is_retweet", "map_response", "map_tweet", "snowflake_time"]

HANDLE_RE = re.compile(r"[A-Za-z0-9_]{1,50}")
_ID_RE = re.compile(r"[0-9]{1,20}")
_SNOWFLAKE_EPOCH_MS = 1288834974657
# X's codes for text with no language: undetermined, media/hashtag/mention/cashtag only, too short
_NO_LANGUAGE = {"und", "qme", "qht", "qam", "qct", "qst", "zxx"}
_ENGAGEMENT = (
    ("likes", "like_count"),
    ("shares", "retweet_count"),
    ("replies", "reply_count"),
    ("quotes", "quote_count"),
    ("views", "impression_count"),
)


def snowflake_time(post_id: str) -> datetime:
    """When X created the post with this id (ids since November 2010 carry their millisecond time)."""
    return datetime.fromtimestamp(((int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def id_or_none(value: Any) -> str | None:
    """`value` when it is a post or user id (a string of digits), else None."""
    return value if isinstance(value, str) and _ID_RE.fullmatch(value) else None


def _required_id(value: Any, name: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if id_or_none(value) is None:
        raise RecordError(f"'{name}' must be a numeric id string, got {value!r:.40}")
    return str(value)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**62:
        return None
    return value


def _text(tweet: Mapping[str, Any], post_id: str) -> str:
    note = tweet.get("note_tweet")  # posts over 280 characters: `text` holds only the first 280
    text = note.get("text") if isinstance(note, Mapping) else None
    if not isinstance(text, str) or not text.strip():
        text = tweet.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RecordError(f"X post {post_id} has no text")
    if len(text) > MAX_TEXT_CHARS:
        raise RecordError(
            f"X post {post_id} has {len(text)} characters of text; the limit is {MAX_TEXT_CHARS}"
        )
    return text


def _lang(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().lower().split("-")[0]
    if code in _NO_LANGUAGE or not re.fullmatch(r"[a-z]{2,3}", code):
        return None
    return code


def _author(author_id: str, user: Mapping[str, Any] | None) -> AuthorRecord | None:
    """The post's author from `includes.users`, or None when X left the user out."""
    username = user.get("username") if user else None
    if user is None or not isinstance(username, str) or not HANDLE_RE.fullmatch(username):
        return None
    metrics = user.get("public_metrics")
    reach = _count(metrics.get("followers_count")) if isinstance(metrics, Mapping) else None
    name = user.get("name")
    return AuthorRecord(
        handle=username,
        platform_id=author_id,
        name=clean_text(name)[0][:300] if isinstance(name, str) else "",
        reach=reach,
        reach_kind="followers" if reach is not None else "none",
    )


def _replied_to(tweet: Mapping[str, Any]) -> str | None:
    references = tweet.get("referenced_tweets")
    for ref in references if isinstance(references, list) else []:
        if isinstance(ref, Mapping) and ref.get("type") == "replied_to":
            return id_or_none(ref.get("id"))
    return None


def is_retweet(tweet: Mapping[str, Any]) -> bool:
    references = tweet.get("referenced_tweets")
    return isinstance(references, list) and any(
        isinstance(ref, Mapping) and ref.get("type") == "retweeted" for ref in references
    )


def map_tweet(
    tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], *, brand: str | None = None
) -> MentionRecord:
    """One v2 post (with `users`: `includes.users` by id) as a mention. Raises RecordError for an unusable post.

    `created_at` falls back to the time in the id when X leaves it out or sends it malformed. An author
    missing from `users` (suspended, protected, a partial error) keeps the post under the author's id.
    `raw` is the post with its author under `includes.users`, so that it maps again the same way.
    """
    post_id = _required_id(tweet.get("id"), "id")
    author_id = _required_id(tweet.get("author_id"), "author_id")
    text, sanitized = clean_text(_text(tweet, post_id))
    try:
        created = parse_datetime(tweet["created_at"]) if isinstance(tweet.get("created_at"), str) else None
    except RecordError:
        created = None
    user = users.get(author_id)
    author = _author(author_id, user)
    url = (
        f"https://x.com/{author.handle}/status/{post_id}"
        if author
        else f"https://x.com/i/web/status/{post_id}"
    )
    metrics = tweet.get("public_metrics")
    metrics = metrics if isinstance(metrics, Mapping) else {}
    raw = dict(tweet)
    if user is not None:
        raw["includes"] = {"users": [dict(user)]}
    return MentionRecord(
        source="x",
        external_id=post_id,
        text=text,
        created_at=created or snowflake_time(post_id),
        author=author or AuthorRecord(handle=author_id, platform_id=author_id, reach_kind="none"),
        url=url,
        lang=_lang(tweet.get("lang")),
        engagement={key: n for key, field in _ENGAGEMENT if (n := _count(metrics.get(field))) is not None},
        in_reply_to=_replied_to(tweet),
        thread_id=id_or_none(tweet.get("conversation_id")) or post_id,
        brand=brand,
        raw=json_safe(raw),
        text_sanitized=sanitized,
    )


def map_response(
    body: Mapping[str, Any], *, brand: str | None = None, skip_retweets: bool = False
) -> tuple[list[MentionRecord], tuple[str, ...]]:
    """A v2 response body's posts as mentions, and why any post could not be mapped.

    Raises TransientError when the body is not shaped like a v2 response (`data` a list, `includes` an
    object with a `users` list). Partial `errors[]` are X's notes on what it left out, not failures.
    """
    data = body.get("data")
    includes = body.get("includes")
    data = [] if data is None else data
    includes = {} if includes is None else includes
    if not isinstance(data, list) or not isinstance(includes, Mapping):
        raise TransientError("X sent a response whose 'data' is not a list or 'includes' not an object")
    user_list = includes.get("users") or []
    if not isinstance(user_list, list):
        raise TransientError("X sent a response whose 'includes.users' is not a list")
    users = {u["id"]: u for u in user_list if isinstance(u, Mapping) and isinstance(u.get("id"), str)}
    records: list[MentionRecord] = []
    skipped: list[str] = []
    for tweet in data:
        if not isinstance(tweet, Mapping):
            skipped.append(f"X post is not an object: {type(tweet).__name__}")
        elif not (skip_retweets and is_retweet(tweet)):
            try:
                records.append(map_tweet(tweet, users, brand=brand))
            except RecordError as e:
                skipped.append(f"X post skipped: {e}")
    return records, tuple(skipped)
