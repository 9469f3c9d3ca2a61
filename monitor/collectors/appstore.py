"""Apple App Store reviews of the brand's own apps, from the customer-reviews RSS feed (JSON), no key needed.

One stream per app id and storefront country. Apple serves the 500 most recent reviews of a storefront as
10 pages of 50, newest first; review ids grow over time, so the highest id seen is the watermark and a walk
stops at the first page that reaches it. The walk keeps the old watermark in the cursor until its last page
is stored, so a run killed mid-walk resumes at the next page and never skips older reviews (newer ones
arriving meanwhile push entries down a page: they come back as duplicates, not gaps).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from monitor.collectors.base import BrandQuery, CollectorError, Page, RateLimitedError, TransientError
from monitor.collectors.http import SafeHttp
from monitor.collectors.options import AppStoreBrand
from monitor.collectors.payload import json_safe, retry_at
from monitor.collectors.sources import SourceContext, SourceSpec
from monitor.config import BrandBase
from monitor.records import AuthorRecord, MentionRecord, RecordError, clean_text, parse_datetime

__all__ = ["SPEC", "AppStoreCollector", "map_entry"]

DEFAULT_BASE_URL = "https://itunes.apple.com"
MAX_PAGES = 10  # the feed has no page 11: 500 reviews per storefront
RATE_LIMIT_PAUSE = timedelta(minutes=30)  # the feed sends no rate-limit headers
_REVIEW_ID_RE = re.compile(r"[0-9]{1,20}")
_AUTHOR_ID_RE = re.compile(r"([0-9]{1,20})/?$")


def _label(entry: Mapping[str, Any], *path: str) -> str | None:
    """`entry[path...]["label"]`: None when absent, ValueError when it is there but not a string."""
    value: Any = entry
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    if value is None:
        return None
    label = value.get("label") if isinstance(value, Mapping) else value
    if label is None:
        return None
    if not isinstance(label, str):
        raise ValueError(f"'{'.'.join(path)}' is a {type(label).__name__}, not a label string")
    return label


def _review_id(entry: Mapping[str, Any]) -> int:
    label = _label(entry, "id")
    if label is None or not _REVIEW_ID_RE.fullmatch(label.strip()):
        raise ValueError(f"'id' {label!r:.40} is not a numeric review id")
    return int(label)


def _is_app_metadata(entry: Mapping[str, Any]) -> bool:
    """Page 1 used to open with the app itself: no rating, no review content."""
    return "im:rating" not in entry and ("im:name" in entry or "content" not in entry)


def _count(entry: Mapping[str, Any], key: str) -> int | None:
    label = _label(entry, key)
    if label is None or not label.strip().isdigit():
        return None
    value = int(label.strip()[:19])
    return value if value < 2**62 else None


def map_entry(
    entry: Mapping[str, Any], *, app_id: str, country: str, brand: str | None = None
) -> MentionRecord:
    """One feed entry as a review of app `app_id` in storefront `country`.

    Raises CollectorError naming what is wrong for an entry without a usable id, rating, time or text.
    """
    try:
        review_id = _review_id(entry)
        rating_label = _label(entry, "im:rating")
        if rating_label is None or rating_label.strip() not in ("1", "2", "3", "4", "5"):
            raise ValueError(f"'im:rating' {rating_label!r:.20} is not a star rating from 1 to 5")
        created = parse_datetime(_label(entry, "updated"), "updated")
        title = _label(entry, "title") or ""
        content = _label(entry, "content") or ""
        name = (_label(entry, "author", "name") or "").strip()
        uri = _label(entry, "author", "uri") or ""
    except (ValueError, RecordError) as e:
        raise CollectorError(f"App Store review in {country} for app {app_id} skipped: {e}") from e
    text, sanitized = clean_text("\n".join(part for part in (title.strip(), content.strip()) if part))
    if not text.strip():
        raise CollectorError(f"App Store review {country}:{review_id} has neither title nor content")
    author_match = _AUTHOR_ID_RE.search(uri.strip())
    author_id = author_match.group(1) if author_match else None
    handle = clean_text(name)[0].strip() or (f"id{author_id}" if author_id else "")
    if not handle:
        raise CollectorError(f"App Store review {country}:{review_id} has no author name or id")
    helpful = _count(entry, "im:voteSum")
    return MentionRecord(
        source="appstore",
        external_id=f"{country}:{review_id}",
        text=text,
        created_at=created,
        author=AuthorRecord(handle=handle[:300], platform_id=author_id, reach_kind="none"),
        url=f"https://apps.apple.com/{country}/app/id{app_id}?see-all=reviews",
        lang=None,
        rating=int(rating_label.strip()),
        engagement={"helpful": helpful} if helpful is not None else {},
        brand=brand,
        raw=json_safe(dict(entry)),
        text_sanitized=sanitized,
    )


def _read_entries(
    entries: list[Any], *, app_id: str, country: str, brand: str, watermark: int
) -> tuple[list[MentionRecord], tuple[str, ...], bool, bool]:
    """(records newer than the watermark, skip reasons, whether the page had reviews, whether it reached the watermark)."""
    records: list[MentionRecord] = []
    skipped: list[str] = []
    had_reviews = reached = False
    for entry in entries:
        if not isinstance(entry, dict):
            skipped.append(f"App Store entry is not an object: {type(entry).__name__}")
            continue
        if _is_app_metadata(entry):
            continue
        had_reviews = True
        try:
            review_id = _review_id(entry)
        except ValueError as e:
            skipped.append(f"App Store review in {country} for app {app_id} skipped: {e}")
            continue
        if review_id <= watermark:
            reached = True
            continue
        try:
            records.append(map_entry(entry, app_id=app_id, country=country, brand=brand))
        except CollectorError as e:
            skipped.append(str(e))
    return records, tuple(skipped), had_reviews, reached


class AppStoreCollector:
    source = "appstore"

    def __init__(self, http: SafeHttp, *, base_url: str = DEFAULT_BASE_URL, now: Any = None) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Closes the HTTP client's connections; safe to call again."""
        self.http.close()

    def _entries(self, app_id: str, country: str, page: int) -> list[Any]:
        url = f"{self.base_url}/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
        where = f"app {app_id} in storefront {country}, page {page}"
        try:
            response = self.http.get(url)
        except httpx.HTTPError as e:
            raise TransientError(f"App Store feed for {where} failed ({type(e).__name__}: {e})") from e
        if response.status_code in (403, 429):
            raise RateLimitedError(
                f"App Store answered {response.status_code} for {where}; pausing this source",
                retry_at(response.headers, self._now(), RATE_LIMIT_PAUSE),
            )
        if response.status_code >= 500:
            raise TransientError(f"App Store answered HTTP {response.status_code} for {where}")
        if response.status_code >= 400:
            raise CollectorError(
                f"App Store answered HTTP {response.status_code} for {where}; check app_ids and countries "
                "in [brands.collect.appstore] and base_url in [collectors.appstore]"
            )
        if not response.content.strip():
            raise TransientError(f"App Store sent an empty body for {where}")
        try:
            body = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TransientError(f"App Store sent something that is not JSON for {where} ({e})") from e
        feed = body.get("feed") if isinstance(body, dict) else None
        if not isinstance(feed, dict):
            raise TransientError(f"App Store sent JSON without a 'feed' object for {where}")
        entries = feed.get("entry")
        if entries is None:
            return []
        if isinstance(entries, dict):  # a page with a single review
            return [entries]
        if not isinstance(entries, list):
            raise TransientError(f"App Store 'feed.entry' is a {type(entries).__name__} for {where}")
        return entries

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        app_id = str(query.options["app_id"])
        country = str(query.options["country"])
        watermark = int(cursor.get("watermark") or 0)
        newest = int(cursor.get("next_watermark") or watermark)
        page = int(cursor.get("page") or 1)
        while True:
            entries = self._entries(app_id, country, page)
            records, skipped, had_reviews, reached = _read_entries(
                entries, app_id=app_id, country=country, brand=query.brand, watermark=watermark
            )
            newest = max([newest, *(int(r.external_id.split(":", 1)[1]) for r in records)])
            if reached or not had_reviews or page >= MAX_PAGES:
                yield Page(records, {"watermark": newest}, skipped)
                return
            page += 1
            yield Page(records, {"watermark": watermark, "next_watermark": newest, "page": page}, skipped)


def _build(ctx: SourceContext) -> AppStoreCollector:
    base_url = ctx.base_url(DEFAULT_BASE_URL)
    return AppStoreCollector(ctx.http(), base_url=base_url, now=ctx.now)


def _queries(brand_id: int, brand: BrandBase, options: AppStoreBrand) -> list[BrandQuery]:
    return [
        BrandQuery(
            brand_id, brand.name, f"{app_id}:{country}", options={"app_id": app_id, "country": country}
        )
        for app_id in options.app_ids
        for country in options.countries
    ]


SPEC = SourceSpec(name="appstore", label="Apple App Store", credentials=(), build=_build, queries=_queries)
