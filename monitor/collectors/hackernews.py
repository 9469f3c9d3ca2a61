"""Hacker News stories and comments from the Algolia HN Search API (`search_by_date`), no key needed.

Incremental by `created_at_i`: a walk over the pages of one run keeps the old watermark in the cursor
until its last page is stored, so a run that dies mid-walk resumes at the next page and never skips the
older pages (newer hits arriving meanwhile push items down; they come back as duplicates, not gaps).
Algolia stops at 1,000 hits per query; `max_pages` x `hits_per_page` stays under it. Reach is the
author's karma from `/users/{name}` (one call per new author, cached; a failed lookup leaves it out).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from monitor.collectors.base import BrandQuery, CollectorError, Page, RateLimitedError, TransientError
from monitor.collectors.html_text import html_to_text
from monitor.collectors.http import SafeHttp
from monitor.collectors.options import HackerNewsBrand
from monitor.collectors.outbound import BlockedURLError
from monitor.collectors.sources import SourceContext, SourceSpec, brand_terms
from monitor.config import BrandBase
from monitor.records import AuthorRecord, MentionRecord, clean_text, json_safe, text_problem

__all__ = ["SPEC", "HackerNewsCollector", "map_hit"]

DEFAULT_BASE_URL = "https://hn.algolia.com/api/v1"
FIRST_RUN_LOOKBACK = timedelta(days=7)
RATE_LIMIT_PAUSE = timedelta(minutes=15)  # Algolia sends no reset header
MAX_KARMA_LOOKUPS_PER_PAGE = 30  # new authors looked up per page; the rest get no reach this time
MAX_CACHED_AUTHORS = 50_000


def _plain(markup: Any) -> str:
    if not isinstance(markup, str) or not markup:  # a number where text belongs: the I-10 fuzz
        return ""
    return html_to_text(markup)


def map_hit(hit: Mapping[str, Any]) -> MentionRecord:
    """One Algolia hit as a mention. Raises CollectorError for a hit without id, author or time."""
    try:
        object_id = str(hit["objectID"])
        created = datetime.fromtimestamp(int(hit["created_at_i"]), tz=UTC)
        author = str(hit["author"])
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as e:  # OSError: a time past year 9999
        raise CollectorError(
            f"Hacker News hit without a usable objectID, created_at_i or author ({e!r})"
        ) from e
    tags = hit.get("_tags")
    tags = tags if isinstance(tags, list) else []  # a number or a string (substrings) is no tag list
    is_story = "story" in tags and not hit.get("comment_text")
    if is_story:
        text = "\n\n".join(part for part in (_plain(hit.get("title")), _plain(hit.get("story_text"))) if part)
    else:
        text = _plain(hit.get("comment_text"))
    text, sanitized = clean_text(text)
    if text_problem(text) is not None:
        raise CollectorError(f"Hacker News hit {object_id} has no text")
    # html_to_text drops control characters before lxml sees them: the flag comes from the hit itself
    fields = ("title", "story_text") if is_story else ("comment_text",)
    sanitized = sanitized or any(isinstance(hit.get(f), str) and clean_text(hit[f])[1] for f in fields)
    engagement = {
        key: int(hit[field])
        for key, field in (("score", "points"), ("replies", "num_comments"))
        if isinstance(hit.get(field), int)
    }
    parent = hit.get("parent_id")
    story = hit.get("story_id")
    return MentionRecord(
        source="hackernews",
        external_id=object_id,
        text=text,
        created_at=created,
        author=AuthorRecord(handle=author, platform_id=author, reach_kind="none"),
        url=f"https://news.ycombinator.com/item?id={object_id}",
        engagement=engagement,
        in_reply_to=str(parent) if parent is not None and not is_story else None,
        thread_id=str(story) if story is not None else object_id,
        raw=json_safe(dict(hit)),
        text_sanitized=sanitized,
    )


def _map_hits(hits: list[Any]) -> tuple[list[MentionRecord], tuple[str, ...]]:
    records: list[MentionRecord] = []
    skipped: list[str] = []
    for hit in hits:
        if not isinstance(hit, dict):
            skipped.append(f"Hacker News hit is not an object: {type(hit).__name__}")
            continue
        try:
            records.append(map_hit(hit))
        except CollectorError as e:
            skipped.append(str(e))
    return records, tuple(skipped)


class HackerNewsCollector:
    source = "hackernews"

    def __init__(
        self,
        http: SafeHttp,
        *,
        base_url: str = DEFAULT_BASE_URL,
        hits_per_page: int = 100,
        max_pages: int = 9,
        now: Any = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.hits_per_page = hits_per_page
        self.max_pages = max_pages
        self._now = now or (lambda: datetime.now(UTC))
        self._karma: dict[str, int | None] = {}  # per process: karma moves slowly

    def close(self) -> None:
        """Closes the HTTP client's connections; safe to call again."""
        self.http.close()

    def _author_karma(self, username: str) -> int | None:
        """The author's karma from `/users/{name}`, None when the lookup fails (the page is kept without it)."""
        if username not in self._karma:
            karma = None
            try:
                response = self.http.get(f"{self.base_url}/users/{quote(username, safe='')}")
                body = response.json() if response.status_code == 200 else None
                value = body.get("karma") if isinstance(body, dict) else None
                if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62:
                    karma = value
            except (httpx.HTTPError, BlockedURLError, ValueError):
                karma = None
            if len(self._karma) >= MAX_CACHED_AUTHORS:
                self._karma.clear()
            self._karma[username] = karma
        return self._karma[username]

    def _with_reach(self, records: list[MentionRecord]) -> list[MentionRecord]:
        lookups = 0
        enriched = []
        for record in records:
            handle = record.author.handle
            if handle not in self._karma and lookups >= MAX_KARMA_LOOKUPS_PER_PAGE:
                enriched.append(record)
                continue
            lookups += handle not in self._karma
            karma = self._author_karma(handle)
            author = (
                replace(record.author, reach=karma, reach_kind="karma")
                if karma is not None
                else record.author
            )
            enriched.append(replace(record, author=author))
        return enriched

    def _search(self, term: str, since: int, page: int) -> dict[str, Any]:
        params = {
            "query": term,
            "tags": "(story,comment)",
            "numericFilters": f"created_at_i>={since}",
            "hitsPerPage": self.hits_per_page,
            "page": page,
        }
        try:
            response = self.http.get(f"{self.base_url}/search_by_date", params=params)
        except httpx.HTTPError as e:
            raise TransientError(f"Hacker News search failed ({type(e).__name__}: {e})") from e
        if response.status_code in (403, 429):
            raise RateLimitedError(
                f"Hacker News answered {response.status_code}; pausing this source",
                self._now() + RATE_LIMIT_PAUSE,
            )
        if response.status_code >= 500:
            raise TransientError(f"Hacker News answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise CollectorError(
                f"Hacker News answered HTTP {response.status_code}; check [collectors.hackernews] base_url"
            )
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TransientError(f"Hacker News sent something that is not JSON ({e})") from e
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise TransientError("Hacker News sent JSON without a 'hits' list")
        return body

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        term = query.query_key
        watermark = int(cursor.get("watermark") or (self._now() - FIRST_RUN_LOOKBACK).timestamp())
        newest = int(cursor.get("next_watermark") or watermark)
        page = int(cursor.get("page") or 0)
        while page < self.max_pages:
            body = self._search(term, watermark, page)
            records, skipped = _map_hits(body["hits"])
            records = self._with_reach(records)
            newest = max([newest, *(int(r.created_at.timestamp()) for r in records)])
            last = page + 1 >= int(body.get("nbPages") or 0) or not records
            if last:
                yield Page(records, {"watermark": newest}, skipped)
                return
            page += 1
            yield Page(records, {"watermark": watermark, "next_watermark": newest, "page": page}, skipped)
        # the 1,000-hit ceiling: what is older than this walk is left for a narrower window
        yield Page([], {"watermark": newest})


def _build(ctx: SourceContext) -> HackerNewsCollector:
    base_url = ctx.base_url(DEFAULT_BASE_URL)
    return HackerNewsCollector(ctx.http(), base_url=base_url, now=ctx.now)


def _queries(brand_id: int, brand: BrandBase, options: HackerNewsBrand) -> list[BrandQuery]:
    terms = options.queries or brand_terms(brand)
    return [BrandQuery(brand_id, brand.name, term, (term,)) for term in terms]


SPEC = SourceSpec(name="hackernews", label="Hacker News", credentials=(), build=_build, queries=_queries)
