"""Reddit posts and comments through praw with a read-only app token (WOM_REDDIT_CLIENT_ID / _SECRET).

Two kinds of stream per brand: a search of all of Reddit for posts (`/r/all/search`, newest first; the
Data API has no comment search), and the newest comments of the brand's chosen subreddits
(`/r/a+b/comments`), of which only those naming a brand keyword or hashtag are kept.

Both walk a newest-first listing with `after` until they reach the watermark (minus an overlap, since
search lags behind new posts; duplicates are skipped by fullname). A walk keeps the old watermark in the
cursor until its last page is stored, so a run that dies mid-walk resumes where it stopped without a
gap. Reddit stops every listing at about 1,000 items; what lies beyond that is not reachable.

Pages are fetched with `Reddit.request` on the URL and parameters praw's own `search()`/`comments()`
build, and mapped from the raw JSON: one malformed item is skipped instead of failing praw's objectifier
for the whole page, `raw` keeps the item as sent, and praw's lazy attributes never fetch anything.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import praw
import requests

from monitor.collectors.base import BrandQuery, CollectorError, Page, TransientError
from monitor.collectors.options import RedditBrand, RedditSource
from monitor.collectors.reddit_praw import (
    CLIENT_ID_VARIABLE,
    CLIENT_SECRET_VARIABLE,
    http_session,
    read_only_reddit,
    translated_errors,
)
from monitor.collectors.sources import SourceContext, SourceSpec, brand_terms
from monitor.config import BrandBase
from monitor.matching import BrandMatcher, BrandRules
from monitor.records import MAX_TEXT_CHARS, AuthorRecord, MentionRecord, clean_text, json_safe

__all__ = ["SPEC", "RedditCollector", "map_item", "search_query", "time_filter"]

DEFAULT_OAUTH_URL = "https://oauth.reddit.com"
DEFAULT_REDDIT_URL = "https://www.reddit.com"
PAGE_SIZE = 100
MAX_PAGES = 10  # Reddit's listings end at about 1,000 items
FIRST_RUN_LOOKBACK = timedelta(days=6)  # with the overlap, still inside search's t=week
SEARCH_OVERLAP = timedelta(minutes=15)  # search indexes a new post minutes after its created_utc
COMMENTS_OVERLAP = timedelta(minutes=1)
MAX_CLOCK_SKEW = timedelta(days=1)  # an item dated further ahead would freeze the watermark
DELETED = "[deleted]"
_MAX_KEY_CHARS = 300
_SUBREDDITS_PER_STREAM = 10
_FULLNAME_RE = re.compile(r"t[1-6]_[0-9a-z]{1,16}")
_EARLIEST = datetime(2005, 6, 1, tzinfo=UTC)  # Reddit's launch
_MAX_COUNT = 2**62
# (name, seconds it covers) for search's `t`; "month" is taken as 28 days to stay inside it
_TIME_FILTERS = (
    ("hour", 3600),
    ("day", 86400),
    ("week", 7 * 86400),
    ("month", 28 * 86400),
    ("year", 365 * 86400),
)

_log = logging.getLogger(__name__)


# --- mapping -------------------------------------------------------------------------------------


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > _MAX_COUNT:
        return None
    return value


def _created(value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"created_utc {value!r:.40} is not epoch seconds")
    try:
        created = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise ValueError(f"created_utc {value!r:.40} is out of range") from e
    if created < _EARLIEST:
        raise ValueError(f"created_utc {value!r:.40} is before Reddit existed")
    return created


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} is a {type(value).__name__}, not a string")
    return value or None


def _fullname(kind: str, data: Mapping[str, Any]) -> str:
    name = data.get("name")
    if not isinstance(name, str):
        item_id = data.get("id")
        name = f"{kind}_{item_id}" if isinstance(item_id, str) else None
    if name is None or not _FULLNAME_RE.fullmatch(name) or not name.startswith(f"{kind}_"):
        raise ValueError(f"no usable fullname ({data.get('name')!r:.40}, id {data.get('id')!r:.40})")
    return name


def _author(data: Mapping[str, Any]) -> AuthorRecord:
    handle = _optional_str(data, "author")
    if handle is None or handle == DELETED:
        return AuthorRecord(handle=DELETED)
    author_id = data.get("author_fullname")
    if (
        not isinstance(author_id, str)
        or not _FULLNAME_RE.fullmatch(author_id)
        or not author_id.startswith("t2_")
    ):
        author_id = None
    return AuthorRecord(handle=clean_text(handle)[0], platform_id=author_id, reach_kind="karma")


def _url(kind: str, fullname: str, data: Mapping[str, Any]) -> str:
    permalink = data.get("permalink")
    if isinstance(permalink, str) and permalink.startswith("/") and not permalink.startswith("//"):
        return "https://www.reddit.com" + permalink
    # 2016-era comment listings carry no permalink
    item_id = fullname.split("_", 1)[1]
    link = data.get("link_id")
    if kind == "t1" and isinstance(link, str) and link.startswith("t3_"):
        return f"https://www.reddit.com/comments/{link[3:]}/_/{item_id}/"
    return f"https://www.reddit.com/comments/{item_id}/"


def map_item(kind: str, data: Mapping[str, Any]) -> MentionRecord:
    """One listing child, a submission (t3) or a comment (t1), as a mention.

    Raises CollectorError naming the field when the item cannot be used.
    """
    try:
        if kind not in ("t1", "t3"):
            raise ValueError(f"kind {kind!r:.20} is neither a post (t3) nor a comment (t1)")
        fullname = _fullname(kind, data)
        created = _created(data.get("created_utc"))
        author = _author(data)
        if kind == "t3":
            title = _optional_str(data, "title") or ""
            parts = (title.strip(), (_optional_str(data, "selftext") or "").strip())
            text = "\n\n".join(part for part in parts if part)
        else:
            text = (_optional_str(data, "body") or "").strip()
        parent = _optional_str(data, "parent_id") if kind == "t1" else None
        link = _optional_str(data, "link_id") if kind == "t1" else fullname
    except ValueError as e:
        raise CollectorError(f"Reddit item {data.get('name')!r:.40} skipped: {e}") from e
    if not text:
        raise CollectorError(f"Reddit item {fullname} skipped: it has no text")
    text, sanitized = clean_text(text[:MAX_TEXT_CHARS])
    engagement = {"score": _count(data.get("score"))}
    if kind == "t3":
        engagement["replies"] = _count(data.get("num_comments"))
    return MentionRecord(
        source="reddit",
        external_id=fullname,
        text=text,
        created_at=created,
        author=author,
        url=_url(kind, fullname, data),
        engagement={key: value for key, value in engagement.items() if value is not None},
        in_reply_to=parent,
        thread_id=link,
        raw=json_safe(dict(data)),
        text_sanitized=sanitized,
    )


# --- queries ---------------------------------------------------------------------------------------


def search_query(terms: Sequence[str]) -> str:
    """Reddit search syntax for any of `terms`: `"acme shop" OR acme`."""
    parts = []
    for term in terms:
        term = term.replace('"', " ").strip()
        if term:
            parts.append(f'"{term}"' if any(ch.isspace() for ch in term) else term)
    return " OR ".join(parts)


def time_filter(span: timedelta) -> str:
    """The narrowest search `t` that still covers everything newer than `span` ago."""
    seconds = span.total_seconds() + 300  # the request reaches Reddit a little later than `now`
    for name, covers in _TIME_FILTERS:
        if seconds <= covers:
            return name
    return "all"


def _stream_key(prefix: str, text: str) -> str:
    key = prefix + text
    if len(key) <= _MAX_KEY_CHARS:
        return key
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{key[: _MAX_KEY_CHARS - 17]}#{digest}"


# --- the collector ---------------------------------------------------------------------------------


def _epoch(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


class RedditCollector:
    source = "reddit"

    def __init__(
        self,
        reddit: praw.Reddit,
        *,
        now: Callable[[], datetime] | None = None,
        max_pages: int = MAX_PAGES,
        secrets: tuple[str, ...] = (),
        session: requests.Session | None = None,
    ) -> None:
        self.reddit = reddit
        self._session = session
        self.max_pages = max_pages
        self._now = now or (lambda: datetime.now(UTC))
        self._secrets = secrets

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        options = query.options
        if options.get("stream") == "comments":
            subreddits = str(options["subreddits"])
            rules = BrandRules(
                query.brand_id,
                query.brand,
                tuple(options.get("keywords") or ()),
                tuple(options.get("hashtags") or ()),
                (),
                (),
            )
            matcher = BrandMatcher([rules])

            def comments(floor: int, after: str | None) -> tuple[list[Any], str | None]:
                return self._comments_page(subreddits, after)

            yield from self._walk(
                comments, cursor, COMMENTS_OVERLAP, keep=lambda record: bool(matcher.match(record.text))
            )
        else:
            text = str(options.get("query") or query.query_key)

            def search(floor: int, after: str | None) -> tuple[list[Any], str | None]:
                seconds = self._now().timestamp() - floor  # a cursor far in the future makes this negative
                span = timedelta(seconds=max(-1e9, min(seconds, 1e9)))
                return self._search_page(text, time_filter(span), after)

            yield from self._walk(search, cursor, SEARCH_OVERLAP, keep=lambda record: True)

    def close(self) -> None:
        """Closes the HTTP connections of the session this collector was built with."""
        if self._session is not None:
            self._session.close()

    # fetching

    def _errors(self, what: str) -> Any:
        return translated_errors(what, now=self._now, secrets=self._secrets)

    def _search_page(self, text: str, t: str, after: str | None) -> tuple[list[Any], str | None]:
        params: dict[str, str | int] = {"after": after} if after else {}
        what = f"the r/all search {text!r:.80}"
        with self._errors(what):
            listing = self.reddit.subreddit("all").search(
                text, sort="new", syntax="lucene", time_filter=t, limit=PAGE_SIZE, params=params
            )
        return self._listing(listing, what)

    def _comments_page(self, subreddits: str, after: str | None) -> tuple[list[Any], str | None]:
        params: dict[str, str | int] = {"after": after} if after else {}
        what = f"r/{subreddits} comments"
        with self._errors(what):
            listing = self.reddit.subreddit(subreddits).comments(limit=PAGE_SIZE, params=params)
        return self._listing(listing, what)

    def _listing(self, generator: Any, what: str) -> tuple[list[Any], str | None]:
        """One request for the page `generator` describes; its children and `after`, as raw JSON."""
        with self._errors(what):
            body = self.reddit.request(method="GET", path=generator.url, params=generator.params)
        data = body.get("data") if isinstance(body, dict) and body.get("kind") == "Listing" else None
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            raise TransientError(f"Reddit sent something other than a listing for {what}")
        after = data.get("after") if isinstance(data, dict) else None
        return children, after if isinstance(after, str) and _FULLNAME_RE.fullmatch(after) else None

    def author_karma(self, fullnames: list[str]) -> dict[str, int]:
        """link + comment karma per author fullname; {} when the lookup fails (the page is kept)."""
        if not fullnames:
            return {}
        karma: dict[str, int] = {}
        try:
            with self._errors("the authors' karma"):
                for partial in self.reddit.redditors.partial_redditors(fullnames):
                    fields = vars(partial)
                    link, comment = _count(fields.get("link_karma")), _count(fields.get("comment_karma"))
                    if isinstance(fields.get("fullname"), str) and link is not None and comment is not None:
                        karma[fields["fullname"]] = link + comment
        except CollectorError as e:
            _log.warning("Reddit karma lookup failed, storing the page without reach: %s", e)
            return {}
        return karma

    # the walk

    def _map_children(self, children: list[Any]) -> tuple[list[MentionRecord], list[str], list[int]]:
        records: list[MentionRecord] = []
        skipped: list[str] = []
        latest = self._now() + MAX_CLOCK_SKEW
        for child in children:
            if not isinstance(child, dict) or not isinstance(child.get("data"), dict):
                skipped.append(f"Reddit listing child is not an object with 'data': {type(child).__name__}")
                continue
            try:
                record = map_item(str(child.get("kind")), child["data"])
            except CollectorError as e:
                skipped.append(str(e))
                continue
            if record.created_at > latest:
                skipped.append(f"Reddit item {record.external_id} skipped: created_utc is in the future")
                continue
            records.append(record)
        return records, skipped, [int(record.created_at.timestamp()) for record in records]

    def _walk(
        self,
        fetch: Callable[[int, str | None], tuple[list[Any], str | None]],
        cursor: Mapping[str, Any],
        overlap: timedelta,
        *,
        keep: Callable[[MentionRecord], bool],
    ) -> Iterator[Page]:
        watermark = _epoch(cursor.get("watermark"))
        if watermark is None:
            watermark = int((self._now() - FIRST_RUN_LOOKBACK).timestamp())
        newest = max(watermark, _epoch(cursor.get("next_watermark")) or watermark)
        floor = watermark - int(overlap.total_seconds())
        after = cursor.get("after") if isinstance(cursor.get("after"), str) else None
        resuming = after is not None
        for _ in range(self.max_pages):
            children, next_after = fetch(floor, after)
            if resuming and not children:
                # the item the walk stopped at was deleted or fell out of the listing: start again from the
                # newest (what was stored already comes back as duplicates)
                after, resuming = None, False
                continue
            resuming = False
            records, skipped, times = self._map_children(children)
            newest = max([newest, *times])
            kept = [r for r in records if r.created_at.timestamp() > floor and keep(r)]
            kept = self._with_karma(kept)
            if (
                not children
                or next_after is None
                or next_after == after
                or min(times, default=floor + 1) <= floor
            ):
                yield Page(kept, {"watermark": newest}, tuple(skipped))
                return
            after = next_after
            yield Page(
                kept, {"watermark": watermark, "next_watermark": newest, "after": after}, tuple(skipped)
            )
        yield Page([], {"watermark": newest})  # the listing ceiling: older items are out of reach

    def _with_karma(self, records: list[MentionRecord]) -> list[MentionRecord]:
        fullnames = sorted({r.author.platform_id for r in records if r.author.platform_id})
        karma = self.author_karma(fullnames)
        return [
            replace(r, author=replace(r.author, reach=karma[r.author.platform_id]))
            if r.author.platform_id in karma
            else r
            for r in records
        ]


def _build(ctx: SourceContext) -> RedditCollector:
    client_id = ctx.secret(CLIENT_ID_VARIABLE)
    client_secret = ctx.secret(CLIENT_SECRET_VARIABLE)
    settings = ctx.settings if isinstance(ctx.settings, RedditSource) else RedditSource()
    oauth_url = ctx.base_url(DEFAULT_OAUTH_URL)
    token_url = ctx.policy.check(settings.token_url or DEFAULT_REDDIT_URL).rstrip("/")
    session = http_session(ctx.policy)
    reddit = read_only_reddit(
        client_id=client_id,
        client_secret=client_secret,
        user_agent=settings.user_agent,
        # praw joins paths onto it: without the slash a base URL's own path would be dropped
        oauth_url=oauth_url + "/",
        token_url=token_url,
        now=ctx.now,
        session=session,
    )
    return RedditCollector(reddit, now=ctx.now, secrets=(client_id, client_secret), session=session)


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


def _queries(brand_id: int, brand: BrandBase, options: RedditBrand) -> list[BrandQuery]:
    queries: list[BrandQuery] = []
    if options.search:
        text = options.query.strip() or search_query(brand_terms(brand))
        if text:
            queries.append(
                BrandQuery(
                    brand_id,
                    brand.name,
                    _stream_key("search:", text),
                    (text,),
                    {"stream": "search", "query": text},
                )
            )
    keywords, hashtags = tuple(brand.keywords), tuple(brand.hashtags)
    subreddits = _unique(options.subreddits)
    if keywords or hashtags:
        for start in range(0, len(subreddits), _SUBREDDITS_PER_STREAM):
            names = "+".join(subreddits[start : start + _SUBREDDITS_PER_STREAM])
            options_for_stream = {
                "stream": "comments",
                "subreddits": names,
                "keywords": keywords,
                "hashtags": hashtags,
            }
            queries.append(
                BrandQuery(
                    brand_id, brand.name, f"comments:r/{names}", keywords + hashtags, options_for_stream
                )
            )
    return queries


SPEC = SourceSpec(
    name="reddit",
    label="Reddit",
    credentials=(CLIENT_ID_VARIABLE, CLIENT_SECRET_VARIABLE),
    build=_build,
    queries=_queries,
)
