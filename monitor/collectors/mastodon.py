"""Mastodon statuses from hashtag timelines on each configured instance, and optionally full-text search.

Hashtag timelines are public on most instances and are the dependable signal. Each (instance, hashtag)
is a stream walked forward with `min_id=<newest id seen>`: every page is the statuses immediately newer
than the cursor, so saving the page's newest id with the page makes a killed run resume without loss.
A first run starts at the newest page (no backlog).

Full-text search (`[brands.collect.mastodon] search = true`) needs WOM_MASTODON_ACCESS_TOKEN, a token of
one instance, and only finds posts whose authors opted in to search (Mastodon 4.2+): empty results are
normal. The token is sent with search requests only, so hashtags on other instances keep working.
Every instance is its own API with its own rate limit (300 requests / 5 min).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from monitor.collectors import html_text
from monitor.collectors.base import (
    BrandQuery,
    CollectorError,
    MissingCredentialError,
    Page,
    RateLimitedError,
    TransientError,
)
from monitor.collectors.options import MastodonBrand
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.pinned_requests import PinnedSession
from monitor.collectors.sources import SourceContext, SourceSpec, brand_terms
from monitor.config import BrandBase
from monitor.records import MAX_TEXT_CHARS, AuthorRecord, MentionRecord, clean_text

__all__ = ["SPEC", "MastodonCollector", "map_status"]

TOKEN_VARIABLE = "WOM_MASTODON_ACCESS_TOKEN"  # noqa: S105 (the variable's name, not its value)
PAGE_LIMIT = 40  # the API's maximum for timelines and search
MAX_PAGES = 10  # per stream and run; the cursor is saved per page, so the next run goes on from there
REQUEST_TIMEOUT_SECONDS = 20.0
RATE_LIMIT_WINDOW = timedelta(minutes=5)  # Mastodon's window, used when X-RateLimit-Reset is unusable
USER_AGENT = "wom/0.1 (self-hosted word-of-mouth monitor)"
_LANG_RE = re.compile(r"[a-z]{2,3}")

_T = TypeVar("_T")


def html_to_text(markup: str) -> str:
    """Status HTML as text. Links keep their full URL (Mastodon hides parts of it in "invisible" spans,
    which are still text); the "RE: <link>" paragraph Mastodon adds for clients without quote support
    is left out."""
    return html_text.html_to_text(markup, hidden_classes=("quote-inline",))


def _jsonable(value: Any) -> Any:
    """Mastodon.py's parsed objects (datetimes, id and dict subclasses) back to plain JSON values."""
    if isinstance(value, Mapping):
        return {clean_text(str(key))[0]: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value) if -(2**63) <= value < 2**63 else str(value)  # JSON stores hold 64-bit integers
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return clean_text(str(value))[0]


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**62:
        return None
    return int(value)


def _created_at(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as e:
            raise CollectorError(f"Mastodon status with an unreadable created_at {value!r:.60}") from e
    if not isinstance(value, datetime):
        raise CollectorError(f"Mastodon status without a created_at time (got {type(value).__name__})")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not 1990 <= value.year <= 2200:
        raise CollectorError(f"Mastodon status created_at {value.isoformat()} is outside 1990..2200")
    return value.astimezone(UTC)


def _lang(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    primary = value.strip().lower().split("-")[0]
    return primary if _LANG_RE.fullmatch(primary) else None


def _http_url(value: Any) -> str | None:
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")) and len(value) <= 2000:
        return clean_text(value)[0]
    return None


def _status_id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if text and len(text) <= 64 else None


def _id_order(status_id: str) -> tuple[int, str]:
    # Mastodon ids are numeric strings of growing length; other servers use fixed-length sortable ids
    return (len(status_id), status_id)


def map_status(status: Mapping[str, Any], *, instance_domain: str) -> MentionRecord:
    """One status (a boost is unwrapped to the boosted status) as a mention.

    `instance_domain` completes the handles of the instance's local accounts. Raises CollectorError for
    a status without uri, account, time or text.
    """
    reblog = status.get("reblog")
    if isinstance(reblog, Mapping):
        status = reblog
    uri = status.get("uri")
    if not isinstance(uri, str) or not uri.strip() or len(uri) > 300:
        raise CollectorError("Mastodon status without a usable uri")
    account = status.get("account")
    acct = account.get("acct") if isinstance(account, Mapping) else None
    if not isinstance(account, Mapping) or not isinstance(acct, str) or not acct.strip("@ "):
        raise CollectorError(f"Mastodon status {uri} without an account handle")
    created = _created_at(status.get("created_at"))
    content = status.get("content")
    spoiler = status.get("spoiler_text")
    parts = [
        spoiler.strip() if isinstance(spoiler, str) else "",
        html_to_text(content) if isinstance(content, str) else "",
    ]
    text, sanitized = clean_text("\n\n".join(part for part in parts if part)[:MAX_TEXT_CHARS])
    # html_to_text drops control characters before lxml sees them: the flag comes from the status itself
    sanitized = sanitized or (isinstance(content, str) and clean_text(content)[1])
    if not text.strip():
        raise CollectorError(f"Mastodon status {uri} has no text")
    handle = acct.strip("@ ")
    if "@" not in handle:
        handle = f"{handle}@{instance_domain}"
    followers = _count(account.get("followers_count"))
    engagement = {
        key: count
        for key, field in (
            ("likes", "favourites_count"),
            ("shares", "reblogs_count"),
            ("replies", "replies_count"),
            ("quotes", "quotes_count"),
        )
        if (count := _count(status.get(field))) is not None
    }
    display_name = account.get("display_name")
    return MentionRecord(
        source="mastodon",
        external_id=clean_text(uri.strip())[0],
        text=text,
        created_at=created,
        author=AuthorRecord(
            handle=clean_text(handle)[0][:300],
            platform_id=_http_url(account.get("url")),
            name=clean_text(display_name)[0][:300] if isinstance(display_name, str) else "",
            reach=followers,
            reach_kind="followers" if followers is not None else "none",
        ),
        url=_http_url(status.get("url")) or _http_url(uri),
        lang=_lang(status.get("language")),
        engagement=engagement,
        in_reply_to=_status_id(status.get("in_reply_to_id")),
        raw=_jsonable(status),
        text_sanitized=sanitized,
    )


def _map_page(items: Any, instance_domain: str) -> tuple[list[MentionRecord], tuple[str, ...], str | None]:
    """Maps a page of statuses; returns records, reasons for skipped items and the newest status id."""
    if not isinstance(items, list):
        raise TransientError(f"Mastodon sent {type(items).__name__} where a list of statuses belongs")
    records: list[MentionRecord] = []
    skipped: list[str] = []
    newest: str | None = None
    for item in items:
        if not isinstance(item, Mapping):
            skipped.append(f"Mastodon status is not an object: {type(item).__name__}")
            continue
        status_id = _status_id(item.get("id"))
        if status_id is not None and (newest is None or _id_order(status_id) > _id_order(newest)):
            newest = status_id
        try:
            records.append(map_status(item, instance_domain=instance_domain))
        except CollectorError as e:
            skipped.append(str(e))
    if items and newest is None:
        raise TransientError("Mastodon sent a page of statuses without usable ids")
    return records, tuple(skipped), newest


class _InstanceSession(PinnedSession):
    """Refuses redirects (an instance is configured by its final address, so a redirect could only point
    somewhere unchecked) and keeps the last response, whose headers and error text Mastodon.py drops.
    Connections go only to checked addresses, within a deadline and a size cap (`pinned_requests.py`)."""

    def __init__(self, policy: OutboundPolicy) -> None:
        super().__init__(policy)
        self.max_redirects = 0
        self.last_response: requests.Response | None = None
        self.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_response = response

    def last_header(self, name: str) -> str:
        return self.last_response.headers.get(name, "") if self.last_response is not None else ""

    def last_error_text(self) -> str:
        try:
            error = self.last_response.json().get("error") if self.last_response is not None else None
        except (ValueError, AttributeError):
            return "no detail"
        return clean_text(error)[0][:200] if isinstance(error, str) and error else "no detail"


class MastodonCollector:
    source = "mastodon"

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        access_token: str | None = None,
        page_limit: int = PAGE_LIMIT,
        max_pages: int = MAX_PAGES,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.policy = policy
        self._access_token = access_token
        self.page_limit = page_limit
        self.max_pages = max_pages
        self._now = now or (lambda: datetime.now(UTC))
        self._clients: dict[tuple[str, bool], tuple[Mastodon, _InstanceSession]] = {}

    def _client(self, instance: str, *, authenticated: bool) -> tuple[Mastodon, _InstanceSession]:
        key = (instance, authenticated)
        if key not in self._clients:
            try:
                self.policy.check(instance)
            except BlockedURLError as e:
                raise CollectorError(str(e)) from e
            session = _InstanceSession(self.policy)
            api = Mastodon(
                api_base_url=instance,
                access_token=self._access_token if authenticated else None,
                ratelimit_method="throw",
                version_check_mode="none",
                request_timeout=REQUEST_TIMEOUT_SECONDS,
                session=session,
                user_agent=USER_AGENT,
            )
            self._clients[key] = (api, session)
        return self._clients[key]

    def close(self) -> None:
        """Closes every instance's session; a later request opens a new one."""
        clients, self._clients = self._clients, {}
        for _, session in clients.values():
            session.close()

    def _retry_at(self, reset_header: str) -> datetime:
        now = self._now()
        try:
            reset = datetime.fromisoformat(reset_header.strip().replace("Z", "+00:00"))
        except ValueError:
            return now + RATE_LIMIT_WINDOW
        if reset.tzinfo is None or not now < reset <= now + timedelta(days=1):
            return now + RATE_LIMIT_WINDOW
        return reset.astimezone(UTC)

    def _call(
        self, instance: str, request: Callable[..., _T], *, authenticated: bool = False, **arguments: Any
    ) -> _T:
        """Runs one Mastodon.py method on the instance's client; its faults as collector errors that name the fix."""
        api, session = self._client(instance, authenticated=authenticated)
        try:
            return request(api, **arguments)
        except MastodonRatelimitError as e:
            raise RateLimitedError(
                f"Mastodon instance {instance} answered 429 (300 requests per 5 minutes)",
                self._retry_at(session.last_header("X-RateLimit-Reset")),
            ) from e
        except MastodonNetworkError as e:
            if isinstance(e.__context__, requests.TooManyRedirects):
                location = session.last_header("Location") or "elsewhere"
                raise CollectorError(
                    f"Mastodon instance {instance} redirects to {location:.200}; wom does not follow "
                    "redirects: put the instance's own address in [brands.collect.mastodon] instances"
                ) from e
            raise TransientError(f"Mastodon instance {instance} could not be reached ({e})") from e
        except MastodonServerError as e:
            raise TransientError(f"Mastodon instance {instance} answered HTTP {_status(e)}") from e
        except MastodonNotFoundError as e:
            raise CollectorError(
                f"Mastodon instance {instance} answered 404: it is not a Mastodon instance, or it has "
                "public hashtag timelines switched off; check [brands.collect.mastodon] instances"
            ) from e
        except MastodonUnauthorizedError as e:
            raise CollectorError(_auth_hint(instance, 401, authenticated=authenticated)) from e
        except MastodonAPIError as e:
            status = _status(e)
            if status is None:  # a 2xx body that is not the JSON it should be
                raise TransientError(f"Mastodon instance {instance} sent something that is not JSON") from e
            if status == 403:
                raise CollectorError(_auth_hint(instance, 403, authenticated=authenticated)) from e
            raise CollectorError(
                f"Mastodon instance {instance} answered HTTP {status} ({session.last_error_text()})"
            ) from e
        except MastodonError as e:
            raise CollectorError(f"Mastodon instance {instance}: {type(e).__name__}: {e}") from e

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        instance = str(query.options["instance"])
        if "hashtag" in query.options:
            return self._hashtag_pages(instance, str(query.options["hashtag"]), cursor)
        if not self._access_token:
            raise MissingCredentialError("mastodon search", TOKEN_VARIABLE)
        return self._search_pages(instance, str(query.options["search"]), cursor)

    def _hashtag_pages(self, instance: str, tag: str, cursor: Mapping[str, Any]) -> Iterator[Page]:
        domain = urlsplit(instance).netloc
        min_id = _status_id(cursor.get("min_id"))
        for _ in range(self.max_pages):
            statuses = self._call(
                instance,
                Mastodon.timeline_hashtag,
                hashtag=quote(tag, safe=""),
                min_id=min_id,
                limit=self.page_limit,
            )
            records, skipped, newest = _map_page(statuses, domain)
            if newest is None or (min_id is not None and _id_order(newest) <= _id_order(min_id)):
                return  # nothing newer (an instance that ignores min_id must not loop)
            min_id = newest
            yield Page(records, {"min_id": min_id}, skipped)
            if len(statuses) < self.page_limit:
                return

    def _search_pages(self, instance: str, term: str, cursor: Mapping[str, Any]) -> Iterator[Page]:
        """Search results newer than the cursor, newest first, walked by offset; the old `min_id` stays in
        the cursor until the walk ends, so a walk cut short resumes at its next offset."""
        domain = urlsplit(instance).netloc
        min_id = _status_id(cursor.get("min_id"))
        newest = _status_id(cursor.get("next_min_id")) or min_id
        offset = _count(cursor.get("offset")) or 0
        for _ in range(self.max_pages):
            result = self._call(
                instance,
                Mastodon.search_v2,
                authenticated=True,
                q=term,
                result_type="statuses",
                resolve=False,
                exclude_unreviewed=False,
                min_id=min_id,
                offset=offset or None,
                limit=self.page_limit,
            )
            statuses = result.get("statuses") if isinstance(result, Mapping) else None
            records, skipped, page_newest = _map_page(statuses, domain)
            assert isinstance(statuses, list)  # _map_page refused anything else
            if page_newest is not None and (newest is None or _id_order(page_newest) > _id_order(newest)):
                newest = page_newest
            # a first run takes the newest page only: walking back through everything indexed is no mention feed
            if min_id is None or len(records) + len(skipped) < self.page_limit:
                yield Page(records, {"min_id": newest} if newest else {}, skipped)
                return
            offset += len(statuses)
            yield Page(records, {"min_id": min_id, "next_min_id": newest, "offset": offset}, skipped)


def _status(error: MastodonAPIError) -> int | None:
    # Mastodon.py raises HTTP errors as (message, status, reason, error text)
    return error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None


def _auth_hint(instance: str, status: int, *, authenticated: bool) -> str:
    if authenticated:
        return (
            f"Mastodon instance {instance} refused the access token (HTTP {status}); set "
            f"{TOKEN_VARIABLE} to a token of this instance (Preferences > Development, scope read:search), "
            "or set search = false for brands on other instances"
        )
    return (
        f"Mastodon instance {instance} answered HTTP {status} to an anonymous hashtag request: it serves "
        "hashtag timelines to logged-in users only; list another instance in [brands.collect.mastodon]"
    )


def _build(ctx: SourceContext) -> MastodonCollector:
    # instances are per brand ([brands.collect.mastodon] instances), each checked against the policy
    token = ctx.environ.get(TOKEN_VARIABLE, "").strip() or None
    return MastodonCollector(ctx.policy, access_token=token, now=ctx.now)


def _unique(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value not in seen:
            seen[value] = None
    return list(seen)


def _queries(brand_id: int, brand: BrandBase, options: MastodonBrand) -> list[BrandQuery]:
    tags = _unique([tag.lstrip("#").strip().casefold() for tag in options.hashtags or brand.hashtags])
    terms = _unique([term.strip() for term in brand_terms(brand)]) if options.search else []
    streams = [(f"#{tag}", tag, "hashtag") for tag in tags] + [(f"search:{t}", t, "search") for t in terms]
    return [
        BrandQuery(
            brand_id,
            brand.name,
            f"{instance} {label}",
            (value,),
            {"instance": instance, kind: value},
            rate_limit_scope=instance,
        )
        for instance in options.instances
        for label, value, kind in streams
    ]


SPEC = SourceSpec(name="mastodon", label="Mastodon", credentials=(), build=_build, queries=_queries)
