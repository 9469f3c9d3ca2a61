"""Google Play reviews of the brand's own apps, from the Play Store's `batchexecute` reviews RPC, no key needed.

google-play-scraper's `reviews()` hides every fault (it returns [] on any exception), sleeps on throttling
and posts through urllib to a hard-coded host, so this module uses only its request format, response
pattern and review-field positions, and posts through httpx itself: faults surface as typed errors, the
configured base URL and the outbound policy apply, and nothing sleeps. Review times are read as epoch
seconds from the review array (the library's `at` is a naive local time).

One stream per app and locale. The RPC's continuation token does not survive between runs, so every run
starts from the newest review and reads at most `reviews_per_run`, stopping at the watermark: the newest
review time seen, with the ids seen at that very time. Pages before the last keep the old cursor, so a run
killed mid-walk starts again from the newest review (duplicates, never gaps).
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from google_play_scraper import Sort
from google_play_scraper.constants.element import ElementSpecs
from google_play_scraper.constants.regex import Regex
from google_play_scraper.constants.request import PLAY_STORE_BASE_URL, Formats
from google_play_scraper.features.reviews import MAX_COUNT_EACH_FETCH
from google_play_scraper.utils import nested_lookup

from monitor.collectors.base import BrandQuery, CollectorError, Page, RateLimitedError, TransientError
from monitor.collectors.http import SafeHttp
from monitor.collectors.options import GooglePlayBrand, GooglePlaySource
from monitor.collectors.payload import json_safe, retry_at
from monitor.collectors.sources import SourceContext, SourceSpec
from monitor.collectors.watermarks import TimeWatermark
from monitor.config import BrandBase
from monitor.records import AuthorRecord, MentionRecord, clean_text

# importing google_play_scraper ran `ssl._create_default_https_context = ssl._create_unverified_context`,
# which turns off certificate checks for every urllib user in this process (feedparser included)
if ssl._create_default_https_context is ssl._create_unverified_context:
    ssl._create_default_https_context = ssl.create_default_context

__all__ = ["SPEC", "GooglePlayCollector", "map_review", "parse_batch"]

DEFAULT_BASE_URL = PLAY_STORE_BASE_URL
RATE_LIMIT_PAUSE = timedelta(minutes=15)  # Play sends no reset time; the library itself waits 5-15 s
THROTTLED_MARKER = "com.google.play.gateway.proto.PlayGatewayError"
ANONYMOUS_HANDLE = "A Google user"  # what Play shows for a review without a name
_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-=.]{1,2000}")
_AT = ElementSpecs.Review["at"].data_map  # [5, 0]: epoch seconds; the slot after it holds nanoseconds
_EARLIEST = datetime(2008, 1, 1, tzinfo=UTC)  # Android Market opened in 2008
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class PlayHttp(SafeHttp):
    """SafeHttp plus the form POST the reviews RPC needs; a redirect is returned, never followed."""

    def post_form(self, url: str, body: bytes) -> httpx.Response:
        return self.post(
            url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        )


def parse_batch(text: str) -> tuple[list[Any], str | None]:
    """The review arrays and the continuation token of one `batchexecute` answer.

    Raises TransientError when the answer is not the XSSI-prefixed envelope with a reviews payload.
    """
    found = Regex.REVIEWS.findall(text)
    if not found:
        raise TransientError("Google Play answered without the )]}' prefix of a batchexecute response")
    try:
        envelope = json.loads(found[0])
        payload_text = envelope[0][2]
        payload = json.loads(payload_text)
    except (json.JSONDecodeError, IndexError, KeyError, TypeError) as e:
        raise TransientError(
            f"Google Play sent a batchexecute envelope that cannot be read ({e!r:.120})"
        ) from e
    if not isinstance(payload, list):
        raise TransientError(f"Google Play's reviews payload is a {type(payload).__name__}, not a list")
    if not payload or not payload[0]:
        return [], None
    if not isinstance(payload[0], list):
        raise TransientError(f"Google Play's review list is a {type(payload[0]).__name__}")
    token = None
    if len(payload) >= 2 and isinstance(payload[-2], list) and payload[-2]:
        candidate = payload[-2][-1]  # where google-play-scraper reads it
        if isinstance(candidate, str) and _TOKEN_RE.fullmatch(candidate):
            token = candidate
    return payload[0], token


def _lookup(review: list[Any], path: list[int]) -> Any:
    """`nested_lookup`, but None where a shorter or differently shaped array has no such position."""
    try:
        return nested_lookup(review, path)
    except (IndexError, KeyError, TypeError):  # found by the I-10 fuzz: a one-element review array
        return None


def _field(review: list[Any], name: str) -> Any:
    return _lookup(review, ElementSpecs.Review[name].data_map)


def _review_time(review: list[Any]) -> datetime:
    seconds = _lookup(review, _AT)
    nanos = _lookup(review, [*_AT[:-1], _AT[-1] + 1])
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValueError(f"review time {seconds!r:.40} is not epoch seconds")
    if isinstance(nanos, bool) or not isinstance(nanos, int) or not 0 <= nanos < 10**9:
        nanos = 0
    try:
        created = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)
    except (OverflowError, OSError, ValueError) as e:
        raise ValueError(f"review time {seconds!r:.40} is out of range") from e
    if not _EARLIEST <= created < _LATEST:
        raise ValueError(f"review time {created.isoformat()} is outside 2008..2200")
    return created


def map_review(
    review: Any, *, app_id: str, lang: str, country: str, brand: str | None = None
) -> MentionRecord:
    """One review array (google-play-scraper's positions) as a review of `app_id` read in `lang`.

    Raises CollectorError naming what is wrong for a review without a usable id, score, time or text.
    """
    if not isinstance(review, list):
        raise CollectorError(f"Google Play review is a {type(review).__name__}, not an array")
    review_id = _field(review, "reviewId")
    if not isinstance(review_id, str) or not review_id.strip() or len(review_id) > 300:
        raise CollectorError(f"Google Play review without a usable reviewId ({review_id!r:.40})")
    where = f"Google Play review {review_id} of {app_id}"
    score = _field(review, "score")
    if isinstance(score, bool) or score not in (1, 2, 3, 4, 5):
        raise CollectorError(f"{where}: score {score!r:.20} is not a star rating from 1 to 5")
    try:
        created = _review_time(review)
    except ValueError as e:
        raise CollectorError(f"{where}: {e}") from e
    content = _field(review, "content")
    text, sanitized = clean_text(content.strip() if isinstance(content, str) else "")
    if not text.strip():
        raise CollectorError(f"{where} has no text")
    name = _field(review, "userName")
    handle = clean_text(name)[0].strip()[:300] if isinstance(name, str) else ""
    thumbs = _field(review, "thumbsUpCount")
    helpful = isinstance(thumbs, int) and not isinstance(thumbs, bool) and 0 <= thumbs < 2**62
    return MentionRecord(
        source="googleplay",
        external_id=review_id,
        text=text,
        created_at=created,
        author=AuthorRecord(handle=handle or ANONYMOUS_HANDLE, reach_kind="none"),
        url="https://play.google.com/store/apps/details?" + urlencode({"id": app_id, "reviewId": review_id}),
        lang=lang,
        rating=score,
        engagement={"helpful": thumbs} if helpful else {},
        brand=brand,
        raw={"app_id": app_id, "lang": lang, "country": country, "review": json_safe(review)},
        text_sanitized=sanitized,
    )


def _read_reviews(
    reviews: list[Any], *, app_id: str, lang: str, country: str, brand: str, stored: TimeWatermark
) -> tuple[list[MentionRecord], tuple[str, ...], bool]:
    """(records newer than the watermark, skip reasons, whether the watermark was reached)."""
    records: list[MentionRecord] = []
    skipped: list[str] = []
    for review in reviews:
        try:
            record = map_review(review, app_id=app_id, lang=lang, country=country, brand=brand)
        except CollectorError as e:
            skipped.append(str(e))
            continue
        if stored.covers(record):
            return records, tuple(skipped), True  # newest first: everything after this is older
        records.append(record)
    return records, tuple(skipped), False


class GooglePlayCollector:
    source = "googleplay"

    def __init__(
        self, http: PlayHttp, *, base_url: str = DEFAULT_BASE_URL, reviews_per_run: int = 200, now: Any = None
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.reviews_per_run = reviews_per_run
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Closes the HTTP client's connections; safe to call again."""
        self.http.close()

    def _post(self, app_id: str, lang: str, country: str, count: int, token: str | None) -> str:
        # the library's URL with the configured base in place of its hard-coded host
        url = self.base_url + Formats.Reviews.build(lang=lang, country=country).removeprefix(
            PLAY_STORE_BASE_URL
        )
        body = Formats.Reviews.build_body(app_id, Sort.NEWEST.value, count, "null", "null", token)
        where = f"reviews of {app_id} ({lang}-{country})"
        try:
            response = self.http.post_form(url, body)
        except httpx.HTTPError as e:
            raise TransientError(f"Google Play request for {where} failed ({type(e).__name__}: {e})") from e
        status = response.status_code
        if response.is_redirect:
            location = response.headers.get("location", "")
            if "/sorry/" in location:
                raise RateLimitedError(
                    f"Google Play sent {where} to its 'unusual traffic' page; pausing this source",
                    self._now() + RATE_LIMIT_PAUSE,
                )
            raise CollectorError(
                f"Google Play redirected {where} to {urlsplit(location).hostname or location!r}; wom does not "
                "follow redirects of this request: check base_url in [collectors.googleplay]"
            )
        if status == 429:
            raise RateLimitedError(
                f"Google Play answered 429 for {where}; pausing this source",
                retry_at(response.headers, self._now(), RATE_LIMIT_PAUSE),
            )
        if status >= 500:
            raise TransientError(f"Google Play answered HTTP {status} for {where}")
        if status >= 400:
            raise CollectorError(
                f"Google Play answered HTTP {status} for {where}; check app_ids and locales in "
                "[brands.collect.googleplay] and base_url in [collectors.googleplay]"
            )
        text = response.content.decode("utf-8", errors="replace")
        if THROTTLED_MARKER in text:
            raise RateLimitedError(
                f"Google Play is throttling requests (PlayGatewayError) for {where}; pausing this source",
                self._now() + RATE_LIMIT_PAUSE,
            )
        return text

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        app_id, lang, country = (str(query.options[key]) for key in ("app_id", "lang", "country"))
        stored = TimeWatermark.load(cursor)
        walk = stored
        fetched = 0
        token: str | None = None
        while True:
            count = min(self.reviews_per_run - fetched, MAX_COUNT_EACH_FETCH)
            text = self._post(app_id, lang, country, count, token)
            try:
                reviews, token = parse_batch(text)
            except TransientError as e:
                raise TransientError(f"{e} (reviews of {app_id}, {lang}-{country})") from e
            fetched += len(reviews)
            records, skipped, reached = _read_reviews(
                reviews, app_id=app_id, lang=lang, country=country, brand=query.brand, stored=stored
            )
            walk = walk.advanced(records)
            if reached or token is None or not reviews or fetched >= self.reviews_per_run:
                yield Page(records, walk.dump(), skipped)
                return
            yield Page(records, dict(cursor), skipped)


def _build(ctx: SourceContext) -> GooglePlayCollector:
    settings = ctx.settings
    per_run = settings.reviews_per_run if isinstance(settings, GooglePlaySource) else 200
    base_url = ctx.base_url(DEFAULT_BASE_URL)
    return GooglePlayCollector(
        PlayHttp(ctx.policy, transport=ctx.transport),
        base_url=base_url,
        reviews_per_run=per_run,
        now=ctx.now,
    )


def _queries(brand_id: int, brand: BrandBase, options: GooglePlayBrand) -> list[BrandQuery]:
    queries = []
    for app_id in options.app_ids:
        for locale in options.locales:
            lang, country = locale.split("-", 1)
            queries.append(
                BrandQuery(
                    brand_id,
                    brand.name,
                    f"{app_id}:{locale}",
                    options={"app_id": app_id, "lang": lang, "country": country},
                )
            )
    return queries


SPEC = SourceSpec(name="googleplay", label="Google Play", credentials=(), build=_build, queries=_queries)
