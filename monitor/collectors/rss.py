"""RSS and Atom feeds (Google Alerts, news searches, blogs, YouTube channel feeds), parsed by feedparser.

wom fetches each feed itself (SafeHttp: bounded time, every redirect hop checked) and hands feedparser
the bytes, so feedparser never opens a connection. One stream per feed URL.

Incremental: a conditional GET (`If-None-Match` / `If-Modified-Since` from the cursor; 304 is nothing
new), then entries are new when their key (entry id, else link, else a hash of the text) is not among the
keys the cursor remembers from earlier windows. A feed is a window of its newest entries, so the keys of
the whole latest window are kept (digests, at most `MAX_SEEN`): entries without a date are never lost or
doubled, and an aggregator that inserts an entry dated a little before the newest one seen is still read.
The per-feed watermark (newest published/updated seen) only stops entries older than
`watermark - REORDER_SLACK` from coming back once their keys have left the cursor. The validators
(etag, last-modified) are kept only from a well-formed response: after a truncated body the next run
fetches the whole feed again instead of being told "304, nothing new".

`[collectors.rss] base_url`, when set, is a mirror or replay server: every feed is fetched from that
origin with the feed's own path and query (`https://alerts.example/feeds/1?x=y` is fetched as
`{base_url}/feeds/1?x=y`). The stream, its cursor and the records still name the feed's real URL.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx

from monitor.collectors.base import BrandQuery, CollectorError, Page, RateLimitedError, TransientError
from monitor.collectors.html_text import html_to_text
from monitor.collectors.http import SafeHttp
from monitor.collectors.limits import MAX_RESPONSE_BYTES, ResponseTooLargeError
from monitor.collectors.options import RssBrand
from monitor.collectors.outbound import BlockedURLError
from monitor.collectors.payload import retry_at as rate_limit_end
from monitor.collectors.sources import SourceContext, SourceSpec, brand_terms
from monitor.config import BrandBase
from monitor.records import AuthorRecord, MentionRecord, clean_text, json_safe

__all__ = ["SPEC", "RssCollector", "feed_query_key", "map_entry", "parse_feed", "strip_html", "unwrap_link"]

MAX_SEEN = 500  # entry keys remembered per feed; Google Alerts windows hold ~20, news feeds ~100
REORDER_SLACK = timedelta(days=2)
FUTURE_TOLERANCE = timedelta(
    days=1
)  # a date further ahead is a feed's mistake: it must not freeze the watermark
MAX_FEED_BYTES = MAX_RESPONSE_BYTES  # decoded; SafeHttp stops reading past it (ResponseTooLargeError)
RATE_LIMIT_PAUSE = timedelta(minutes=30)  # 429 without Retry-After
_QUERY_KEY_CHARS = 300
_LANG_RE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_START_RE = re.compile(rb"\A\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)


def strip_html(markup: str) -> str:
    """Feed HTML to plain text: tags dropped, entities decoded, spaces (incl. &nbsp;) collapsed per line."""
    lines = (" ".join(line.split()) for line in html_to_text(markup).replace("\xa0", " ").splitlines())
    return "\n".join(line for line in lines if line)


def parse_feed(content: bytes, *, feed_url: str, content_type: str = "application/xml") -> Any:
    """feedparser's reading of a feed body. Raises TransientError where feedparser itself fails: a NUL
    in the declared encoding made it raise ValueError (found by the I-10 fuzz)."""
    try:
        return feedparser.parse(
            content, response_headers={"content-location": feed_url, "content-type": content_type}
        )
    except (ValueError, LookupError) as e:
        raise TransientError(f"feed {feed_url} is not a readable RSS/Atom feed ({e!s:.200})") from e


def _detail_text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        return ""
    detail = entry.get(f"{key}_detail")
    kind = detail.get("type", "") if isinstance(detail, Mapping) else "text/html"
    if kind in _HTML_TYPES:
        return strip_html(value)
    return " ".join(value.split())


def unwrap_link(link: str) -> str:
    """The article behind a Google redirect (`https://www.google.com/url?...&url=<real>`), else `link`."""
    try:
        parts = urlsplit(link)
    except ValueError:  # "http://[x" (found by the I-10 fuzz): no redirect to unwrap; map_entry drops it
        return link
    host = (parts.hostname or "").lower()
    if parts.path == "/url" and (host == "google.com" or re.fullmatch(r"(www\.)?google\.[a-z.]{2,7}", host)):
        params = parse_qs(parts.query)
        for name in ("url", "q"):
            target = (params.get(name) or [""])[0]
            if target.lower().startswith(("http://", "https://")):
                return target
    return link


def _splits(url: str) -> bool:
    try:
        urlsplit(url)
    except ValueError:
        return False
    return True


def _domain(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _entry_time(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except (ValueError, OverflowError):
                continue
    return None


def _plain_values(value: Any) -> Any:
    """feedparser's values as JSON types: struct_time as ISO text, anything unknown as its text."""
    if isinstance(value, time.struct_time):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", value)
    if isinstance(value, Mapping):
        return {str(k): _plain_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_values(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]


def entry_key(entry: Mapping[str, Any]) -> str | None:
    """The entry's stable identity: its id, else its (unwrapped) link, else a hash of its title and summary."""
    entry_id, link = entry.get("id"), entry.get("link")
    key = ""
    if isinstance(entry_id, str) and entry_id.strip():
        key = entry_id.strip()
    elif isinstance(link, str) and link.strip():
        key = unwrap_link(link.strip())
    if key:
        return (
            key if len(key) <= 300 else "sha256:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
        )
    text = "\n".join(str(entry.get(k) or "") for k in ("title", "summary")).strip()
    if not text:
        return None
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def map_entry(
    entry: Mapping[str, Any], *, feed_url: str, lang: str | None, fetched_at: datetime
) -> MentionRecord:
    """One feedparser entry as a mention. Raises CollectorError for an entry with no id, link or text.

    An entry without a date gets `fetched_at`: the first time wom saw it.
    """
    key = entry_key(entry)
    if key is None:
        raise CollectorError(f"feed {feed_url} has an entry without id, link, title or summary")
    link = entry.get("link")
    url = unwrap_link(link.strip()) if isinstance(link, str) and link.strip() else None
    if url is not None and not (url.lower().startswith(("http://", "https://")) and _splits(url)):
        url = None
    title, summary = _detail_text(entry, "title"), _detail_text(entry, "summary")
    text, sanitized = clean_text("\n".join(part for part in (title, summary) if part))
    # html_to_text drops control characters before lxml sees them: the flag comes from the entry itself
    sanitized = sanitized or any(
        isinstance(v, str) and clean_text(v)[1] for v in (entry.get("title"), entry.get("summary"))
    )
    author = entry.get("author")
    handle = author.strip() if isinstance(author, str) and author.strip() else _domain(url or feed_url)
    handle = clean_text(handle)[0][:300] or _domain(feed_url)
    return MentionRecord(
        source="rss",
        external_id=clean_text(key)[0],
        text=text,
        created_at=_entry_time(entry) or fetched_at,
        author=AuthorRecord(handle=handle, name=handle, reach_kind="none"),
        url=url,
        lang=lang,
        raw=json_safe(_plain_values(entry)),
        text_sanitized=sanitized,
    )


def _feed_lang(feed: Mapping[str, Any]) -> str | None:
    value = feed.get("language")
    if not isinstance(value, str):
        return None
    lang = value.strip().lower().replace("_", "-")
    if not _LANG_RE.fullmatch(lang):
        return None
    return lang if len(lang) <= 8 else lang.split("-")[0]  # the mention column holds 8 characters


def feed_query_key(url: str) -> str:
    """The stream name of a feed: its URL, or a digest of it when the URL is too long for a cursor key."""
    return url if len(url) <= _QUERY_KEY_CHARS else "feed:sha256:" + hashlib.sha256(url.encode()).hexdigest()


class RssCollector:
    source = "rss"

    def __init__(self, http: SafeHttp, *, base_url: str | None = None, now: Any = None) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/") if base_url else None
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Closes the HTTP client's connections; safe to call again."""
        self.http.close()

    def _request_url(self, feed_url: str) -> str:
        if self.base_url is None:
            return feed_url
        parts = urlsplit(feed_url)
        return self.base_url + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _fetch(self, feed_url: str, cursor: Mapping[str, Any]) -> httpx.Response | None:
        """The feed's response, or None for 304 Not Modified. Raises the collector errors."""
        headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"}
        if isinstance(cursor.get("etag"), str):
            headers["If-None-Match"] = cursor["etag"]
        if isinstance(cursor.get("last_modified"), str):
            headers["If-Modified-Since"] = cursor["last_modified"]
        try:
            response = self.http.get(self._request_url(feed_url), headers=headers)
        except BlockedURLError as e:
            raise CollectorError(f"feed {feed_url}: {e}") from e
        except ResponseTooLargeError as e:  # no feed is this large; fetching it again would not help
            raise CollectorError(f"feed {feed_url}: {e}; check that the URL is a feed's") from e
        except httpx.HTTPError as e:
            raise TransientError(f"feed {feed_url} could not be fetched ({type(e).__name__}: {e})") from e
        status = response.status_code
        if status == 304:
            return None
        if status in (429, 503) and (status == 429 or "retry-after" in response.headers):
            retry_at = rate_limit_end(response.headers, self._now(), RATE_LIMIT_PAUSE)
            raise RateLimitedError(f"feed {feed_url} answered HTTP {status}; asking again later", retry_at)
        if status >= 500:
            raise TransientError(f"feed {feed_url} answered HTTP {status}")
        if status in (404, 410):
            raise CollectorError(
                f"feed {feed_url} answered HTTP {status}: the feed is gone; remove it from "
                f"[brands.collect.rss] feeds or replace it with its new URL"
            )
        if status in (401, 403):
            raise CollectorError(
                f"feed {feed_url} answered HTTP {status}: it refuses access; check the feed URL (private "
                f"Google Alerts feeds must be set to 'deliver to RSS feed')"
            )
        if not 200 <= status < 300:
            raise CollectorError(f"feed {feed_url} answered HTTP {status}; check the feed URL")
        return response

    def _parse(self, feed_url: str, response: httpx.Response) -> Any:
        content_type = response.headers.get("content-type", "application/xml")
        parsed = parse_feed(response.content, feed_url=feed_url, content_type=content_type)
        if parsed.entries or (parsed.get("version") and not parsed.get("bozo")):
            return parsed  # entries feedparser could read, or a well-formed feed that is empty right now
        if _HTML_START_RE.match(response.content[:4096]) or (
            not parsed.get("version") and "html" in content_type.lower()
        ):
            raise TransientError(
                f"feed {feed_url} sent an HTML page where a feed was expected; check that the URL is the "
                f"feed's, not its web page"
            )
        problem = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise TransientError(f"feed {feed_url} is not a readable RSS/Atom feed ({problem!s:.200})")

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        feed_url = str(query.options.get("feed_url") or query.query_key)
        response = self._fetch(feed_url, cursor)
        if response is None:
            return
        parsed = self._parse(feed_url, response)
        now = self._now()
        watermark = _parse_watermark(cursor.get("watermark"))
        seen = {item for item in cursor.get("seen") or [] if isinstance(item, str)}
        lang = _feed_lang(parsed.get("feed") or {})
        records: list[MentionRecord] = []
        skipped: list[str] = []
        window: dict[str, None] = {}  # digests in feed order
        newest = watermark
        for entry in parsed.entries:
            try:
                record = map_entry(entry, feed_url=feed_url, lang=lang, fetched_at=now)
            except CollectorError as e:
                skipped.append(str(e))
                continue
            digest = _digest(record.external_id)
            repeated = digest in seen or digest in window
            window[digest] = None
            dated = _entry_time(entry)
            if dated is not None and dated <= now + FUTURE_TOLERANCE:
                newest = dated if newest is None else max(newest, dated)
            if repeated:
                continue
            if dated is not None and watermark is not None and dated <= watermark - REORDER_SLACK:
                continue
            records.append(record)
        yield Page(records, _next_cursor(cursor, parsed, response, list(window), newest), tuple(skipped))


def _next_cursor(
    cursor: Mapping[str, Any],
    parsed: Any,
    response: httpx.Response,
    window: list[str],
    newest: datetime | None,
) -> dict[str, Any]:
    """The latest window's keys first, then older remembered ones; validators only from a clean parse."""
    earlier = [item for item in cursor.get("seen") or [] if isinstance(item, str)]
    next_cursor: dict[str, Any] = {"seen": list(dict.fromkeys([*window, *earlier]))[:MAX_SEEN]}
    if newest is not None:
        next_cursor["watermark"] = newest.isoformat()
    if not parsed.get("bozo"):
        for header, key in (("etag", "etag"), ("last-modified", "last_modified")):
            value = response.headers.get(header)
            if value and len(value) <= 300:
                next_cursor[key] = value
    return next_cursor


def _parse_watermark(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _build(ctx: SourceContext) -> RssCollector:
    # feed URLs are absolute; a configured base_url is a mirror origin (checked here, each feed on fetch)
    base_url = ctx.base_url("") if ctx.settings.base_url else None
    return RssCollector(ctx.http(max_bytes=MAX_FEED_BYTES), base_url=base_url, now=ctx.now)


def _queries(brand_id: int, brand: BrandBase, options: RssBrand) -> list[BrandQuery]:
    terms = tuple(brand_terms(brand))
    return [
        BrandQuery(
            brand_id,
            brand.name,
            feed_query_key(url),
            terms,
            {"feed_url": url},
            rate_limit_scope=(urlsplit(url).hostname or url).casefold(),
        )
        for url in dict.fromkeys(options.feeds)
    ]


SPEC = SourceSpec(name="rss", label="RSS / Atom feeds", credentials=(), build=_build, queries=_queries)
