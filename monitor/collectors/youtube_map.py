"""YouTube comment resources as mention records (COLLECTORS.md §10)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.collectors.base import CollectorError
from monitor.records import AuthorRecord, MentionRecord, clean_text, json_safe

__all__ = ["MappedThread", "count", "map_comment", "map_thread", "parse_time"]


def parse_time(value: Any) -> datetime:
    """An RFC 3339 time as UTC. Raises ValueError for anything else."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r:.40} is not a time")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r:.40} has no time zone")
    return parsed.astimezone(UTC)


def count(value: Any) -> int | None:
    """YouTube counts arrive as numbers or digit strings; anything else (or absurd) is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 19:
        value = int(value.strip())
    return value if isinstance(value, int) and 0 <= value <= 2**62 else None


def map_comment(
    comment: Mapping[str, Any],
    *,
    video_id: str | None,
    thread_id: str,
    parent_id: str | None = None,
    replies: int | None = None,
    brand: str | None = None,
    raw: Mapping[str, Any] | None = None,
) -> MentionRecord:
    """One `youtube#comment` resource as a mention. Raises CollectorError naming what is missing."""
    snippet = comment.get("snippet")
    comment_id = comment.get("id")
    if not isinstance(comment_id, str) or not comment_id or not isinstance(snippet, Mapping):
        raise CollectorError(f"YouTube comment without an id or snippet ({str(comment_id)[:60]})")
    try:
        created = parse_time(snippet.get("publishedAt"))
    except (ValueError, OverflowError) as e:
        raise CollectorError(f"YouTube comment {comment_id[:60]} has no usable publishedAt ({e})") from e
    text = snippet.get("textOriginal")
    if not isinstance(text, str):
        text = snippet.get("textDisplay")
    if not isinstance(text, str):
        raise CollectorError(f"YouTube comment {comment_id[:60]} has no text")
    channel = snippet.get("authorChannelId")
    author_id = channel.get("value") if isinstance(channel, Mapping) else None
    author_id = clean_text(author_id)[0] if isinstance(author_id, str) and author_id else None
    name = snippet.get("authorDisplayName")
    name = clean_text(name)[0].strip() if isinstance(name, str) else ""
    handle = name.lstrip("@") or author_id
    if not handle:
        raise CollectorError(f"YouTube comment {comment_id[:60]} has no author")
    parent = snippet.get("parentId")
    parent_id = parent if isinstance(parent, str) and parent else parent_id
    text, sanitized = clean_text(text)
    engagement = {"likes": count(snippet.get("likeCount")), "replies": replies}
    return MentionRecord(
        source="youtube",
        external_id=clean_text(comment_id)[0],
        text=text,
        created_at=created,
        author=AuthorRecord(handle=handle[:300], platform_id=author_id, name=name[:300], reach_kind="none"),
        url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}" if video_id else None,
        engagement={key: value for key, value in engagement.items() if value is not None},
        in_reply_to=parent_id,
        thread_id=video_id or thread_id,
        brand=brand,
        raw=json_safe(dict(raw if raw is not None else comment)),
        text_sanitized=sanitized,
    )


@dataclass
class MappedThread:
    """One mapped thread: its records newer than the watermark and what could not be mapped."""

    video_id: str | None = None
    top_published: datetime | None = None
    records: list[MentionRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    more_replies: str | None = None  # thread id whose replies need comments.list


def map_thread(
    item: Any, watermark: datetime, brand: str | None, *, video_id: str | None = None
) -> MappedThread:
    """A `youtube#commentThread`: its top-level comment and included replies newer than `watermark`.

    `video_id` is the listing's video, for threads whose snippet does not name one."""
    result = MappedThread()
    snippet = item.get("snippet") if isinstance(item, Mapping) else None
    top = snippet.get("topLevelComment") if isinstance(snippet, Mapping) else None
    if not isinstance(snippet, Mapping) or not isinstance(top, Mapping):
        result.skipped.append("YouTube comment thread without a topLevelComment")
        return result
    thread_id = next((v for v in (item.get("id"), top.get("id")) if isinstance(v, str) and v), "")
    if isinstance(snippet.get("videoId"), str) and snippet["videoId"]:
        video_id = snippet["videoId"]
    result.video_id = video_id
    total = count(snippet.get("totalReplyCount"))
    raw = {key: value for key, value in item.items() if key != "replies"}
    try:
        record = map_comment(top, video_id=video_id, thread_id=thread_id, replies=total, brand=brand, raw=raw)
    except CollectorError as e:
        result.skipped.append(str(e))
    else:
        result.top_published = record.created_at
        if record.created_at > watermark:
            result.records.append(record)
    reply_block = item.get("replies")
    replies = reply_block.get("comments") if isinstance(reply_block, Mapping) else None
    replies = replies if isinstance(replies, list) else []
    for reply in replies:
        try:
            mapped = map_comment(
                reply if isinstance(reply, Mapping) else {},
                video_id=video_id,
                thread_id=thread_id,
                parent_id=thread_id,
                brand=brand,
            )
        except CollectorError as e:
            result.skipped.append(str(e))
            continue
        if mapped.created_at > watermark:
            result.records.append(mapped)
    is_new = result.top_published is not None and result.top_published > watermark
    if is_new and thread_id and total is not None and total > len(replies):
        result.more_replies = thread_id
    return result
