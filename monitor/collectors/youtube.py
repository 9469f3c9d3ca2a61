"""YouTube comments from the Data API v3 (`commentThreads.list`, 1 quota unit a page), with httpx.

Streams per brand:
- `channel:<id>` (brand's `channel_ids`): every thread on the brand's channel
  (`allThreadsRelatedToChannelId`); the records carry the brand.
- `video:<id>` (`video_ids`): every thread on one video. The operator listed the video to have all of
  its comments, so these carry the brand too (a complaint under a review rarely names the product).
- `watch:<id>` (`watch_channel_ids`): the channel's newest uploads (`playlistItems.list` on its uploads
  playlist, 1 unit) and, per recent video and brand term, the threads YouTube finds with `searchTerms`;
  left to the matcher (no brand).

Each listing (`order=time`) is walked page by page until the oldest top-level comment of a page is at or
below the listing's watermark. The old watermark stays in the cursor until the walk ends (`walk` holds
the page token and the newest time seen), so a run killed mid-walk resumes at the next page. Replies
come from the `replies` part and, when a new thread has more than it holds, from `comments.list`.
Authors' subscriber counts come from `channels.list` (50 ids a call, cached for a day).
A video whose comments are disabled or that is gone is noted in the cursor (`skip_videos`) and not
asked about again for `SKIP_VIDEO_FOR`; the run goes on.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.collectors.base import BrandQuery, CollectorError, Page, TransientError
from monitor.collectors.options import YouTubeBrand
from monitor.collectors.sources import SourceContext, SourceSpec, brand_terms
from monitor.collectors.youtube_api import (
    API_KEY_VARIABLE,
    DEFAULT_BASE_URL,
    BadRequestError,
    QuotaMeter,
    VideoUnavailableError,
    YouTubeApi,
)
from monitor.collectors.youtube_map import MappedThread, count, map_comment, map_thread, parse_time
from monitor.config import BrandBase
from monitor.records import MentionRecord

__all__ = ["SPEC", "YouTubeCollector", "map_comment"]

FIRST_RUN_LOOKBACK = timedelta(days=30)
RECENT_UPLOADS = 10  # newest uploads of a watched channel that are searched
RECENT_DAYS = timedelta(days=30)
SKIP_VIDEO_FOR = timedelta(days=7)
REACH_TTL = timedelta(days=1)
MAX_REPLY_PAGES = 2  # comments.list pages per thread whose `replies` part is cut at 5
_PAGE_SIZE = 100


@dataclass
class _StreamState:
    """A stream's cursor: watermark per listing, the walk in progress, videos to leave alone for a while."""

    watermarks: dict[str, str]
    walk: dict[str, Any] | None
    skip_videos: dict[str, dict[str, str]]

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any]) -> _StreamState:
        watermarks = cursor.get("watermarks")
        walk = cursor.get("walk")
        skips = cursor.get("skip_videos")
        return cls(
            {k: v for k, v in watermarks.items() if isinstance(v, str)}
            if isinstance(watermarks, dict)
            else {},
            dict(walk) if isinstance(walk, dict) and isinstance(walk.get("listing"), str) else None,
            {k: dict(v) for k, v in skips.items() if isinstance(v, dict)} if isinstance(skips, dict) else {},
        )

    def watermark(self, listing: str, default: datetime) -> datetime:
        try:
            return parse_time(self.watermarks.get(listing))
        except (ValueError, OverflowError):
            return default

    def skipping(self, video_id: str, now: datetime) -> bool:
        until = self.skip_videos.get(video_id, {}).get("until")
        try:
            return until is not None and parse_time(until) > now
        except ValueError:
            return False

    def cursor(self, quota: Mapping[str, Any]) -> dict[str, Any]:
        cursor: dict[str, Any] = {"watermarks": dict(self.watermarks), "quota": dict(quota)}
        if self.walk is not None:
            cursor["walk"] = dict(self.walk)
        if self.skip_videos:
            cursor["skip_videos"] = copy.deepcopy(self.skip_videos)
        return cursor


@dataclass(frozen=True)
class _Listing:
    key: str  # names the listing inside the stream's cursor
    params: dict[str, str]
    what: str  # for error messages
    video_id: str | None = None


class YouTubeCollector:
    source = "youtube"

    def __init__(
        self, api: YouTubeApi, *, now: Callable[[], datetime] | None = None, max_pages: int = 10
    ) -> None:
        self.api = api
        self.max_pages = max_pages
        self._now = now or (lambda: datetime.now(UTC))
        self._reach: dict[str, tuple[int | None, datetime]] = {}

    def close(self) -> None:
        """Closes the API client's connections; safe to call again."""
        self.api.http.close()

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        self.api.quota.absorb(cursor.get("quota"))
        state = _StreamState.from_cursor(cursor)
        kind, _, target = query.query_key.partition(":")
        if kind == "channel":
            listings = [_Listing("threads", {"allThreadsRelatedToChannelId": target}, f"channel {target}")]
            yield from self._listings(listings, state, query.brand)
        elif kind == "video":
            listings = [_Listing("threads", {"videoId": target}, f"video {target}", target)]
            yield from self._listings(listings, state, query.brand)
        elif kind == "watch":
            yield from self._watch(target, query.terms, state)
        else:
            raise CollectorError(
                f"unknown YouTube stream {query.query_key!r}; expected channel:, video: or watch:"
            )

    def _watch(self, channel_id: str, terms: tuple[str, ...], state: _StreamState) -> Iterator[Page]:
        videos = self._recent_uploads(channel_id)
        listings = [
            _Listing(f"{video}/{term}", {"videoId": video, "searchTerms": term}, f"video {video}", video)
            for video in videos
            for term in terms
        ]
        yield from self._listings(listings, state, None)
        keep = {listing.key for listing in listings}
        state.watermarks = {key: value for key, value in state.watermarks.items() if key in keep}
        state.skip_videos = {key: value for key, value in state.skip_videos.items() if key in videos}
        yield Page([], state.cursor(self.api.quota.snapshot()))

    def _recent_uploads(self, channel_id: str) -> list[str]:
        if not channel_id.startswith("UC") or len(channel_id) < 10:
            raise CollectorError(
                f"{channel_id!r} is not a YouTube channel id (UC…); fix [brands.collect.youtube] watch_channel_ids"
            )
        body = self.api.get(
            "playlistItems",
            {
                "part": "contentDetails",
                "playlistId": "UU" + channel_id[2:],
                "maxResults": str(RECENT_UPLOADS),
            },
            what=f"uploads of channel {channel_id}",
        )
        items = body.get("items")
        if not isinstance(items, list):
            raise TransientError(f"YouTube playlistItems for channel {channel_id} sent no 'items' list")
        since = self._now() - RECENT_DAYS
        videos: list[str] = []
        for item in items:
            details = item.get("contentDetails") if isinstance(item, Mapping) else None
            video = details.get("videoId") if isinstance(details, Mapping) else None
            if not isinstance(details, Mapping) or not isinstance(video, str) or not video:
                continue
            try:
                if parse_time(details.get("videoPublishedAt")) < since:
                    continue
            except (ValueError, OverflowError):
                pass  # no upload time: keep it, the comment watermark bounds the work
            videos.append(video)
        return list(dict.fromkeys(videos))

    def _listings(self, listings: list[_Listing], state: _StreamState, brand: str | None) -> Iterator[Page]:
        # the listing a killed run was walking goes first, so its saved page token is used before any other
        # listing's walk replaces it
        resuming = state.walk["listing"] if state.walk else None
        ordered = sorted(listings, key=lambda listing: listing.key != resuming)
        now = self._now()
        for listing in ordered:
            skip_key = listing.video_id or listing.key
            if state.skipping(skip_key, now):
                continue
            try:
                yield from self._walk(listing, state, brand)
            except VideoUnavailableError as e:
                state.skip_videos[skip_key] = {
                    "reason": e.reason,
                    "until": (now + SKIP_VIDEO_FOR).isoformat(),
                }
                if state.walk is not None and state.walk.get("listing") == listing.key:
                    state.walk = None
                yield Page([], state.cursor(self.api.quota.snapshot()))

    def _walk(self, listing: _Listing, state: _StreamState, brand: str | None) -> Iterator[Page]:
        watermark = state.watermark(listing.key, self._now() - FIRST_RUN_LOOKBACK)
        walk = state.walk if state.walk and state.walk.get("listing") == listing.key else None
        token = walk.get("page_token") if walk else None
        newest = watermark
        if walk:
            with contextlib.suppress(ValueError, OverflowError):
                newest = max(newest, parse_time(walk.get("newest")))
        for page_number in range(self.max_pages):
            try:
                body = self._threads(listing, token)
            except BadRequestError:
                if token is None:
                    raise
                token = None  # YouTube refused a saved page token: walk this listing again from the top
                body = self._threads(listing, token)
            items = body.get("items")
            if not isinstance(items, list):
                raise TransientError(f"YouTube commentThreads for {listing.what} sent no 'items' list")
            threads = [map_thread(item, watermark, brand, video_id=listing.video_id) for item in items]
            records = [record for thread in threads for record in thread.records]
            records = self._with_reach(self._with_more_replies(records, threads, watermark, brand))
            skipped = [reason for thread in threads for reason in thread.skipped]
            tops = [thread.top_published for thread in threads if thread.top_published is not None]
            newest = max([newest, *tops])
            next_token = body.get("nextPageToken")
            done = (
                not items
                or not isinstance(next_token, str)
                or not next_token
                or next_token == token
                or (bool(tops) and min(tops) <= watermark)
                or page_number + 1 >= self.max_pages
            )
            if done:
                state.watermarks[listing.key] = newest.isoformat()
                state.walk = None
            else:
                state.walk = {"listing": listing.key, "page_token": next_token, "newest": newest.isoformat()}
            yield Page(records, state.cursor(self.api.quota.snapshot()), tuple(skipped))
            if done:
                return
            token = next_token

    def _threads(self, listing: _Listing, token: str | None) -> dict[str, Any]:
        params = {
            "part": "snippet,replies",
            "order": "time",
            "maxResults": str(_PAGE_SIZE),
            "textFormat": "plainText",
            **listing.params,
        }
        if token:
            params["pageToken"] = token
        return self.api.get("commentThreads", params, what=listing.what)

    def _with_more_replies(
        self,
        records: list[MentionRecord],
        threads: list[MappedThread],
        watermark: datetime,
        brand: str | None,
    ) -> list[MentionRecord]:
        by_id = {record.external_id: record for record in records}
        for thread in threads:
            if thread.more_replies is None:
                continue
            token: str | None = None
            for _ in range(MAX_REPLY_PAGES):
                params = {
                    "part": "snippet",
                    "parentId": thread.more_replies,
                    "maxResults": str(_PAGE_SIZE),
                    "textFormat": "plainText",
                }
                if token:
                    params["pageToken"] = token
                body = self.api.get("comments", params, what=f"replies to {thread.more_replies}")
                items = body.get("items")
                if not isinstance(items, list):
                    raise TransientError(f"YouTube comments for {thread.more_replies} sent no 'items' list")
                for item in items:
                    try:
                        reply = map_comment(
                            item if isinstance(item, Mapping) else {},
                            video_id=thread.video_id,
                            thread_id=thread.more_replies,
                            parent_id=thread.more_replies,
                            brand=brand,
                        )
                    except CollectorError as e:
                        thread.skipped.append(str(e))
                        continue
                    if reply.created_at > watermark:
                        by_id.setdefault(reply.external_id, reply)
                next_token = body.get("nextPageToken")
                if not isinstance(next_token, str) or not next_token or next_token == token:
                    break
                token = next_token
        return list(by_id.values())

    def _with_reach(self, records: list[MentionRecord]) -> list[MentionRecord]:
        """Records with their authors' subscriber counts (channels.list, 50 ids a call, cached a day)."""
        now = self._now()
        wanted = {r.author.platform_id for r in records if r.author.platform_id}
        ordered = sorted(key for key in wanted if key not in self._reach or self._reach[key][1] < now)
        for start in range(0, len(ordered), 50):
            batch = ordered[start : start + 50]
            body = self.api.get(
                "channels",
                {"part": "statistics", "id": ",".join(batch), "maxResults": "50"},
                what=f"{len(batch)} comment authors",
            )
            found: dict[str, int | None] = {}
            items = body.get("items")
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                    continue
                stats = item.get("statistics")
                stats = stats if isinstance(stats, Mapping) else {}
                hidden = stats.get("hiddenSubscriberCount") is True
                found[item["id"]] = None if hidden else count(stats.get("subscriberCount"))
            for channel_id in batch:
                self._reach[channel_id] = (found.get(channel_id), now + REACH_TTL)
        if len(self._reach) > 50_000:
            self._reach.clear()
        return [self._reached(record) for record in records]

    def _reached(self, record: MentionRecord) -> MentionRecord:
        cached = self._reach.get(record.author.platform_id or "")
        if cached is None or cached[0] is None:
            return record
        return replace(record, author=replace(record.author, reach=cached[0], reach_kind="subscribers"))


def _build(ctx: SourceContext) -> YouTubeCollector:
    api_key = ctx.secret(API_KEY_VARIABLE)
    settings = ctx.settings
    daily_quota = int(getattr(settings, "daily_quota", 10_000))
    base_url = ctx.base_url(DEFAULT_BASE_URL)
    api = YouTubeApi(
        ctx.http(),
        api_key=api_key,
        base_url=base_url,
        quota=QuotaMeter(daily_quota, ctx.now),
        now=ctx.now,
    )
    return YouTubeCollector(api, now=ctx.now)


def _queries(brand_id: int, brand: BrandBase, options: YouTubeBrand) -> list[BrandQuery]:
    terms = tuple(brand_terms(brand))
    queries = [
        BrandQuery(brand_id, brand.name, f"channel:{c}", terms) for c in dict.fromkeys(options.channel_ids)
    ]
    queries += [
        BrandQuery(brand_id, brand.name, f"video:{v}", terms) for v in dict.fromkeys(options.video_ids)
    ]
    if terms:  # searching a watched channel's videos needs words to search for
        queries += [
            BrandQuery(brand_id, brand.name, f"watch:{c}", terms)
            for c in dict.fromkeys(options.watch_channel_ids)
        ]
    return queries


SPEC = SourceSpec(
    name="youtube", label="YouTube comments", credentials=(API_KEY_VARIABLE,), build=_build, queries=_queries
)
