"""Trustpilot reviews of the brand's own business units, from the official Business Units API.

Needs `WOM_TRUSTPILOT_API_KEY`, the key of a Trustpilot Business account with the (paid) API module; there
is no free API and wom does not scrape trustpilot.com. One stream per business unit, read newest first
(`orderBy=createdat.desc`, 100 per page) down to the watermark: the newest `createdAt` stored plus the ids
stored at that time. A walk keeps the old watermark in the cursor until its last page is stored, so a run
killed mid-walk resumes at the next page (reviews arriving meanwhile push older ones down a page: they come
back as duplicates, never as gaps). A first run reads at most `MAX_PAGES_PER_RUN` pages and continues the
walk on the next run, so one large business unit cannot spend the yearly call allowance at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from monitor.collectors.base import BrandQuery, CollectorError, Page, RateLimitedError, TransientError
from monitor.collectors.http import SafeHttp
from monitor.collectors.options import TrustpilotBrand
from monitor.collectors.payload import json_safe, retry_at
from monitor.collectors.sources import SourceContext, SourceSpec
from monitor.collectors.watermarks import TimeWatermark
from monitor.config import BrandBase
from monitor.records import AuthorRecord, MentionRecord, RecordError, clean_text, parse_datetime

__all__ = ["API_KEY_VARIABLE", "SPEC", "TrustpilotCollector", "map_review"]

DEFAULT_BASE_URL = "https://api.trustpilot.com/v1"
API_KEY_VARIABLE = "WOM_TRUSTPILOT_API_KEY"
PER_PAGE = 100  # the API's maximum
MAX_PAGES_PER_RUN = 20
RATE_LIMIT_PAUSE = timedelta(minutes=15)  # used when a 429 carries no Retry-After


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"'{field}' is a {type(value).__name__}, not a string")
    return value.strip()


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        return None
    return value


def _language(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if 2 <= len(code) <= 3 and code.isascii() and code.isalpha() else None


def _unencodable(value: str) -> bool:
    # a lone surrogate (JSON "\ud800") cannot go into the review's URL: found by the I-10 fuzz
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def map_review(review: Mapping[str, Any], *, brand: str | None = None) -> MentionRecord:
    """One review of the reviews endpoint. Raises CollectorError naming what is wrong when unusable."""
    review_id = review.get("id")
    if (
        not isinstance(review_id, str)
        or not review_id.strip()
        or len(review_id) > 300
        or _unencodable(review_id)
    ):
        raise CollectorError(f"Trustpilot review without a usable id ({review_id!r:.40})")
    where = f"Trustpilot review {review_id}"
    stars = review.get("stars")
    if isinstance(stars, bool) or stars not in (1, 2, 3, 4, 5):
        raise CollectorError(f"{where}: stars {stars!r:.20} is not a star rating from 1 to 5")
    consumer = review.get("consumer")
    if not isinstance(consumer, Mapping):
        raise CollectorError(f"{where} has no consumer object")
    try:
        created = parse_datetime(review.get("createdAt"), "createdAt")
        title = _text(review.get("title"), "title")
        body = _text(review.get("text"), "text")
        handle = clean_text(_text(consumer.get("displayName"), "consumer.displayName"))[0].strip()
        consumer_id = _text(consumer.get("id"), "consumer.id")
    except (ValueError, RecordError) as e:
        raise CollectorError(f"{where}: {e}") from e
    text, sanitized = clean_text("\n".join(part for part in (title, body) if part))
    if not text.strip():
        raise CollectorError(f"{where} has neither title nor text")
    if not handle and not consumer_id:
        raise CollectorError(f"{where} has no consumer displayName or id")
    reviews_written = _count(consumer.get("numberOfReviews"))
    return MentionRecord(
        source="trustpilot",
        external_id=review_id.strip(),
        text=text,
        created_at=created,
        # the consumer's review count is the only audience figure Trustpilot gives: a weak proxy
        author=AuthorRecord(
            handle=(handle or consumer_id)[:300],
            platform_id=consumer_id[:300] or None,
            reach=reviews_written,
            reach_kind="karma" if reviews_written is not None else "none",
        ),
        url=f"https://www.trustpilot.com/reviews/{quote(review_id.strip(), safe='')}",
        lang=_language(review.get("language")),
        rating=stars,
        brand=brand,
        raw=json_safe(dict(review)),
        text_sanitized=sanitized,
    )


def _read_reviews(
    reviews: list[Any], *, brand: str, stored: TimeWatermark
) -> tuple[list[MentionRecord], tuple[str, ...], bool]:
    """(records newer than the watermark, skip reasons, whether the watermark was reached)."""
    records: list[MentionRecord] = []
    skipped: list[str] = []
    for review in reviews:
        if not isinstance(review, dict):
            skipped.append(f"Trustpilot review is not an object: {type(review).__name__}")
            continue
        try:
            record = map_review(review, brand=brand)
        except CollectorError as e:
            skipped.append(str(e))
            continue
        if stored.covers(record):
            return records, tuple(skipped), True  # newest first: everything after this is older
        records.append(record)
    return records, tuple(skipped), False


class TrustpilotCollector:
    source = "trustpilot"

    def __init__(
        self,
        http: SafeHttp,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        per_page: int = PER_PAGE,
        max_pages: int = MAX_PAGES_PER_RUN,
        now: Any = None,
    ) -> None:
        self.http = http
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.per_page = per_page
        self.max_pages = max_pages
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Closes the HTTP client's connections; safe to call again."""
        self.http.close()

    def __repr__(self) -> str:  # never show the key
        return f"TrustpilotCollector(base_url={self.base_url!r})"

    def _reviews(self, business_unit: str, page: int) -> list[Any]:
        url = f"{self.base_url}/business-units/{quote(business_unit, safe='')}/reviews"
        params = {"orderBy": "createdat.desc", "perPage": self.per_page, "page": page}
        where = f"business unit {business_unit}, page {page}"
        try:
            response = self.http.get(url, params=params, headers={"apikey": self._api_key})
        except httpx.HTTPError as e:
            raise TransientError(f"Trustpilot request for {where} failed ({type(e).__name__}: {e})") from e
        status = response.status_code
        if status == 429:
            raise RateLimitedError(
                f"Trustpilot answered 429 for {where}; pausing this source",
                retry_at(response.headers, self._now(), RATE_LIMIT_PAUSE),
            )
        if status in (401, 403):
            raise CollectorError(
                f"Trustpilot refused the API key (HTTP {status}) for {where}: check {API_KEY_VARIABLE}; the "
                "reviews API needs a Trustpilot Business account with the paid API module"
            )
        if status == 404:
            raise CollectorError(
                f"Trustpilot knows no {where.split(',')[0]} (HTTP 404): check business_unit_ids in "
                "[brands.collect.trustpilot] (find yours with GET /v1/business-units/find?name=<domain>) "
                "and base_url in [collectors.trustpilot]"
            )
        if status >= 500:
            raise TransientError(f"Trustpilot answered HTTP {status} for {where}")
        if status >= 400:
            raise CollectorError(f"Trustpilot answered HTTP {status} for {where}")
        try:
            body = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TransientError(f"Trustpilot sent something that is not JSON for {where} ({e})") from e
        reviews = body.get("reviews") if isinstance(body, dict) else None
        if not isinstance(reviews, list):
            raise TransientError(f"Trustpilot sent JSON without a 'reviews' list for {where}")
        return reviews

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        business_unit = str(query.options["business_unit_id"])
        stored = TimeWatermark.load(cursor)
        walk = TimeWatermark.load(cursor.get("next")) if "page" in cursor else stored
        page = int(cursor.get("page") or 1)
        for _ in range(self.max_pages):
            reviews = self._reviews(business_unit, page)
            records, skipped, reached = _read_reviews(reviews, brand=query.brand, stored=stored)
            walk = walk.advanced(records)
            if reached or len(reviews) < self.per_page:
                yield Page(records, walk.dump(), skipped)
                return
            page += 1
            yield Page(records, {**stored.dump(), "page": page, "next": walk.dump()}, skipped)


def _build(ctx: SourceContext) -> TrustpilotCollector:
    api_key = ctx.secret(API_KEY_VARIABLE)
    base_url = ctx.base_url(DEFAULT_BASE_URL)
    return TrustpilotCollector(ctx.http(), api_key=api_key, base_url=base_url, now=ctx.now)


def _queries(brand_id: int, brand: BrandBase, options: TrustpilotBrand) -> list[BrandQuery]:
    return [
        BrandQuery(brand_id, brand.name, unit, options={"business_unit_id": unit})
        for unit in options.business_unit_ids
    ]


SPEC = SourceSpec(
    name="trustpilot",
    label="Trustpilot",
    credentials=(API_KEY_VARIABLE,),
    build=_build,
    queries=_queries,
)
