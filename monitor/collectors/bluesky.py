"""Bluesky posts from `app.bsky.feed.searchPosts` through atproto's Client, logged in with an app password.

One stream per query (the brand's `query`, else one per keyword), sorted latest first, since a watermark:
the newest `sortAt` seen (the earlier of createdAt and indexedAt, which is what `since` filters on) minus
a margin for indexing lag. A walk over `cursor` pages keeps the old watermark in the cursor until its last
page is stored, so a run that dies (or stops at `max_pages`) resumes at the next page; pages overlap as
new posts push results down, so uris are deduplicated within a walk and by the store across walks.

Search results carry no follower counts; `app.bsky.actor.getProfiles` (25 actors a call) adds them.
The session lives on the collector (createSession is rate-limited: 30 per 5 minutes), refreshes itself,
and is created again once when the server calls it expired. Every request goes to the configured base
URL: atproto would switch to the PDS named in the session's DID document, which is never checked.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from atproto import Client, models
from atproto_client.exceptions import (
    BadRequestError,
    LoginRequiredError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    RequestException,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError

from monitor.collectors.base import BrandQuery, CollectorError, Page, RateLimitedError, TransientError
from monitor.collectors.options import BlueskyBrand
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.payload import json_safe
from monitor.collectors.pinned import bounded_transport
from monitor.collectors.sources import SourceContext, SourceSpec, brand_terms
from monitor.config import BrandBase
from monitor.records import MAX_TEXT_CHARS, AuthorRecord, MentionRecord, clean_text

__all__ = ["SPEC", "BlueskyCollector", "map_post", "pinned_client"]

DEFAULT_BASE_URL = "https://bsky.social/xrpc"
HANDLE_VARIABLE = "WOM_BLUESKY_HANDLE"
PASSWORD_VARIABLE = "WOM_BLUESKY_APP_PASSWORD"  # noqa: S105 (the variable's name, not its value)
PAGE_LIMIT = 100  # the endpoint's maximum
MAX_PAGES = 10  # per stream and run; a longer walk goes on next run from its saved page cursor
PROFILES_PER_CALL = 25  # getProfiles' maximum
FIRST_RUN_LOOKBACK = timedelta(days=3)
SINCE_MARGIN = timedelta(minutes=15)  # posts are indexed late; `since` reaches back this far
RATE_LIMIT_WINDOW = timedelta(minutes=5)  # RateLimit-Policy 3000;w=300, when RateLimit-Reset is unusable
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_SESSION_EXPIRED_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing"})
_POST_URI_RE = re.compile(
    r"at://(did:[a-z]+:[A-Za-z0-9._:%-]+)/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]{1,512})"
)
_LANG_RE = re.compile(r"[a-z]{2,3}")
_LONG_FRACTION_RE = re.compile(r"(\.\d{6})\d+")
_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # what json.loads leaves of an unpaired escape


def _time(value: Any) -> datetime | None:
    """An AT Protocol datetime (RFC 3339, any fraction length) in UTC; None when unusable."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = _LONG_FRACTION_RE.sub(r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    except ValueError:
        return None
    if parsed.tzinfo is None or not 1990 <= parsed.year <= 2200:
        return None
    return parsed.astimezone(UTC)


def _sort_at(post: Mapping[str, Any]) -> datetime | None:
    """searchPosts' `sortAt`: the earlier of the client's createdAt and the AppView's indexedAt."""
    record = post.get("record")
    created = _time(record.get("createdAt")) if isinstance(record, Mapping) else None
    indexed = _time(post.get("indexedAt"))
    times = [time for time in (created, indexed) if time is not None]
    return min(times) if times else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**62:
        return None
    return value


def _text(value: Any, limit: int = 300) -> str:
    return clean_text(value)[0][:limit] if isinstance(value, str) else ""


def _strong_ref_uri(value: Any) -> str | None:
    uri = value.get("uri") if isinstance(value, Mapping) else None
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return None
    return _text(uri) or None


def map_post(post: Mapping[str, Any], *, followers: Mapping[str, int]) -> MentionRecord:
    """One searchPosts `postView` as a mention; `followers` maps author DIDs to their follower counts.

    Raises CollectorError for a post without an at:// post uri, author, time or text.
    """
    uri = post.get("uri")
    match = _POST_URI_RE.fullmatch(uri) if isinstance(uri, str) and len(uri) <= 300 else None
    if not isinstance(uri, str) or match is None:
        raise CollectorError(f"Bluesky post without an at:// post uri ({str(uri)[:80]!r})")
    author = value if isinstance(value := post.get("author"), Mapping) else {}
    did, handle = author.get("did"), author.get("handle")
    if not isinstance(did, str) or not did.startswith("did:") or not isinstance(handle, str) or not handle:
        raise CollectorError(f"Bluesky post {uri} without an author did and handle")
    record = post.get("record")
    if not isinstance(record, Mapping) or not isinstance(record.get("text"), str):
        raise CollectorError(f"Bluesky post {uri} without a record text")
    created = _time(record.get("createdAt")) or _time(post.get("indexedAt"))
    if created is None:
        raise CollectorError(f"Bluesky post {uri} without a usable createdAt or indexedAt")
    text, sanitized = clean_text(record["text"][:MAX_TEXT_CHARS].strip())
    if not text:
        raise CollectorError(f"Bluesky post {uri} has no text")
    langs = record.get("langs")
    primary = (
        langs[0].strip().lower().split("-")[0]
        if isinstance(langs, list) and langs and isinstance(langs[0], str)
        else ""
    )
    reply = value if isinstance(value := record.get("reply"), Mapping) else {}
    reach = followers.get(did)
    profile_name = handle if handle != "handle.invalid" else did
    return MentionRecord(
        source="bluesky",
        external_id=uri,
        text=text,
        created_at=created,
        author=AuthorRecord(
            handle=_text(handle),
            platform_id=_text(did),
            name=_text(author.get("displayName")),
            reach=reach,
            reach_kind="followers" if reach is not None else "none",
        ),
        url=f"https://bsky.app/profile/{_text(profile_name)}/post/{match.group(2)}",
        lang=primary if _LANG_RE.fullmatch(primary) else None,
        engagement={
            key: count
            for key, field in (
                ("likes", "likeCount"),
                ("shares", "repostCount"),
                ("replies", "replyCount"),
                ("quotes", "quoteCount"),
            )
            if (count := _count(post.get(field))) is not None
        },
        in_reply_to=_strong_ref_uri(reply.get("parent")),
        thread_id=_strong_ref_uri(reply.get("root")) or uri,
        raw=json_safe(post),
        text_sanitized=sanitized,
    )


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


class _SurrogateSafeTransport(httpx.BaseTransport):
    """jiter, atproto's JSON parser, refuses lone UTF-16 surrogate escapes (`\\ud800`), valid JSON that
    Python's json reads; such an answer is re-encoded with them replaced, so one odd post cannot fail
    its page (and hold the stream's cursor) for good."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if "json" not in response.headers.get("content-type", "") or response.is_redirect:
            return response
        try:
            body = response.read()
        finally:
            response.close()
        if _SURROGATE_ESCAPE_RE.search(body):
            with contextlib.suppress(ValueError, RecursionError):  # not JSON at all: atproto's parser says so
                body = json.dumps(_without_lone_surrogates(json.loads(body))).encode()
        headers = [
            (key, value)
            for key, value in response.headers.multi_items()
            if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=body, extensions=response.extensions
        )

    def close(self) -> None:
        self._inner.close()


def _redirect_check(policy: OutboundPolicy) -> Callable[[httpx.Response], None]:
    """An httpx response hook: atproto follows redirects, so each target is checked before it is requested."""

    def check(response: httpx.Response) -> None:
        if response.has_redirect_location:
            policy.check(str(response.request.url.join(response.headers["location"])))

    return check


def pinned_client(
    base_url: str, policy: OutboundPolicy, *, transport: httpx.BaseTransport | None = None
) -> Client:
    """atproto's Client on `base_url` with bounded timeouts and checked redirects, kept on that base URL
    when a login or refresh names another PDS. Connections go only to checked addresses, each request
    within a total deadline and a size cap (`pinned.py`). `transport` replaces the network transport
    (tests replay through it)."""
    request = Request(
        timeout=TIMEOUT,
        transport=_SurrogateSafeTransport(bounded_transport(policy, transport)),
        event_hooks={"response": [_redirect_check(policy)]},
    )
    client = Client(base_url, request=request)
    client.on_session_change(lambda event, session: client.update_base_url(base_url))
    return client


def _xrpc_error(error: RequestErrorBase) -> str:
    response = error.response
    if response is None:
        return type(error).__name__
    content = response.content
    if isinstance(content, XrpcError):
        detail = f"{content.error}: {content.message}" if content.message else content.error
        return f"HTTP {response.status_code} {_text(detail, 200)}"
    return f"HTTP {response.status_code}"


def _session_expired(error: Exception) -> bool:
    if isinstance(error, LoginRequiredError):
        return True
    if not isinstance(error, UnauthorizedError | BadRequestError) or error.response is None:
        return False
    content = error.response.content
    code = content.error if isinstance(content, XrpcError) else None
    return error.response.status_code == 401 or code in _SESSION_EXPIRED_ERRORS


class BlueskyCollector:
    source = "bluesky"

    def __init__(
        self,
        client: Client,
        *,
        handle: str,
        app_password: str,
        page_limit: int = PAGE_LIMIT,
        max_pages: int = MAX_PAGES,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self._handle = handle
        self._app_password = app_password
        self._logged_in = False
        self.page_limit = page_limit
        self.max_pages = max_pages
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Closes the atproto client's HTTP connections; safe to call again."""
        self.client.request.close()

    def _masked(self, text: str) -> str:
        return text.replace(self._app_password, "***") if self._app_password else text

    def _fault(self, error: Exception) -> CollectorError:
        """An atproto or httpx exception as the collector error that names the reason and the fix."""
        if isinstance(error, CollectorError):
            return error
        if isinstance(error, BlockedURLError):
            return CollectorError(str(error))
        if (
            isinstance(error, RequestException)
            and error.response is not None
            and error.response.status_code == 429
        ):
            now = self._now()
            reset = error.reset_at if isinstance(error, RateLimitExceededError) else None
            retry_at = (
                reset
                if reset is not None and now < reset <= now + timedelta(days=1)
                else now + RATE_LIMIT_WINDOW
            )
            return RateLimitedError(
                "Bluesky answered 429 (rate limit: 3000 requests per 5 minutes)", retry_at
            )
        if isinstance(error, NetworkError):
            return TransientError(f"Bluesky could not be reached ({_xrpc_error(error)})")
        if isinstance(error, UnauthorizedError):
            return CollectorError(
                f"Bluesky refused the request ({self._masked(_xrpc_error(error))}): check {HANDLE_VARIABLE} and "
                f"{PASSWORD_VARIABLE}, and that [collectors.bluesky] base_url serves search to logged-in accounts"
            )
        if isinstance(error, BadRequestError):
            return CollectorError(
                f"Bluesky refused the query ({self._masked(_xrpc_error(error))}); check [brands.collect.bluesky] query"
            )
        if isinstance(error, RequestException):
            status = error.response.status_code if error.response is not None else 0
            if status >= 500:
                return TransientError(f"Bluesky answered {_xrpc_error(error)}")
            return CollectorError(
                f"Bluesky answered {_xrpc_error(error)}; check [collectors.bluesky] base_url"
            )
        if isinstance(error, ModelError | ValueError):  # atproto's JSON parser raises ValueError
            return TransientError(
                f"Bluesky sent something that is not the JSON it should be ({type(error).__name__})"
            )
        if isinstance(error, httpx.TooManyRedirects):
            return CollectorError("Bluesky redirected too often; check [collectors.bluesky] base_url")
        if isinstance(error, httpx.HTTPError):
            return TransientError(f"Bluesky could not be reached ({type(error).__name__})")
        if isinstance(error, AtProtocolError):
            return CollectorError(f"Bluesky client error ({type(error).__name__})")
        raise error

    def _login(self) -> None:
        try:
            self.client.login(self._handle, self._app_password, fetch_bsky_profile=False)
        except (UnauthorizedError, BadRequestError) as e:
            raise CollectorError(
                f"Bluesky refused the login ({self._masked(_xrpc_error(e))}): set {HANDLE_VARIABLE} to the "
                f"account's handle (such as acme.bsky.social) and {PASSWORD_VARIABLE} to an app password "
                "(Settings > Privacy and security > App passwords)"
            ) from e
        except Exception as e:
            raise self._fault(e) from e
        self._logged_in = True

    def _query(self, nsid: str, params: Any) -> dict[str, Any]:
        """One XRPC query as its JSON object; logs in first, and once more when the session has expired."""
        for attempt in (1, 2):
            if not self._logged_in:
                self._login()
            try:
                response = self.client.invoke_query(nsid, params=params, output_encoding="application/json")
            except Exception as e:
                if attempt == 1 and _session_expired(e):
                    self._logged_in = False
                    continue
                raise self._fault(e) from e
            if not isinstance(response.content, dict):
                raise TransientError(f"Bluesky sent {nsid} without a JSON object")
            return response.content
        raise CollectorError("unreachable")  # the loop returns or raises

    def _search(
        self, term: str, lang: str | None, since: datetime, page_cursor: str | None
    ) -> dict[str, Any]:
        params = models.AppBskyFeedSearchPosts.Params(
            q=term,
            sort="latest",
            limit=self.page_limit,
            since=since.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            lang=lang,
            cursor=page_cursor,
        )
        body = self._query("app.bsky.feed.searchPosts", params)
        if not isinstance(body.get("posts"), list):
            raise TransientError("Bluesky sent searchPosts JSON without a 'posts' list")
        return body

    def _followers(self, dids: list[str]) -> dict[str, int]:
        """Follower counts by DID; authors missing from the answer (deleted, suspended) get none."""
        counts: dict[str, int] = {}
        for start in range(0, len(dids), PROFILES_PER_CALL):
            params = models.AppBskyActorGetProfiles.Params(actors=dids[start : start + PROFILES_PER_CALL])
            profiles = self._query("app.bsky.actor.getProfiles", params).get("profiles")
            for profile in profiles if isinstance(profiles, list) else []:
                if isinstance(profile, Mapping) and isinstance(profile.get("did"), str):
                    count = _count(profile.get("followersCount"))
                    if count is not None:
                        counts[profile["did"]] = count
        return counts

    def _map_page(
        self, posts: list[Any], seen: set[str]
    ) -> tuple[list[MentionRecord], tuple[str, ...], datetime | None]:
        """Maps one page, leaving out uris this walk has seen; returns records, skip reasons, newest sortAt."""
        fresh: list[Mapping[str, Any]] = []
        skipped: list[str] = []
        for post in posts:
            if not isinstance(post, Mapping):
                skipped.append(f"Bluesky post is not an object: {type(post).__name__}")
                continue
            uri = post.get("uri")
            if isinstance(uri, str) and uri in seen:
                continue
            if isinstance(uri, str):
                seen.add(uri)
            fresh.append(post)
        dids = {
            post["author"]["did"]
            for post in fresh
            if isinstance(post.get("author"), Mapping) and isinstance(post["author"].get("did"), str)
        }
        followers = self._followers(sorted(did for did in dids if did.startswith("did:") and len(did) <= 300))
        records: list[MentionRecord] = []
        for post in fresh:
            try:
                records.append(map_post(post, followers=followers))
            except CollectorError as e:
                skipped.append(str(e))
        times = [time for time in map(_sort_at, fresh) if time is not None]
        return records, tuple(skipped), max(times) if times else None

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        term = str(query.options["q"])
        lang = str(query.options.get("lang") or "") or None
        watermark = _time(cursor.get("watermark")) or self._now() - FIRST_RUN_LOOKBACK
        newest = max(watermark, _time(cursor.get("next_watermark")) or watermark)
        page_cursor = cursor.get("page_cursor") if isinstance(cursor.get("page_cursor"), str) else None
        seen: set[str] = set()
        for _ in range(self.max_pages):
            body = self._search(term, lang, watermark - SINCE_MARGIN, page_cursor)
            records, skipped, page_newest = self._map_page(body["posts"], seen)
            if page_newest is not None:  # a server clock ahead of ours must not push the watermark past now
                newest = max(newest, min(page_newest, self._now()))
            next_cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if not body["posts"] or not next_cursor or next_cursor == page_cursor:
                yield Page(records, {"watermark": newest.isoformat()}, skipped)
                return
            page_cursor = next_cursor
            yield Page(
                records,
                {
                    "watermark": watermark.isoformat(),
                    "next_watermark": newest.isoformat(),
                    "page_cursor": page_cursor,
                },
                skipped,
            )


def _build(ctx: SourceContext) -> BlueskyCollector:
    handle = ctx.secret(HANDLE_VARIABLE)
    app_password = ctx.secret(PASSWORD_VARIABLE)
    client = pinned_client(ctx.base_url(DEFAULT_BASE_URL), ctx.policy, transport=ctx.transport)
    return BlueskyCollector(client, handle=handle.lstrip("@"), app_password=app_password, now=ctx.now)


def _search_term(term: str) -> str:
    term = term.strip()
    return f'"{term}"' if " " in term and not term.startswith('"') else term  # a brand name is a phrase


def _queries(brand_id: int, brand: BrandBase, options: BlueskyBrand) -> list[BrandQuery]:
    terms = (
        [options.query.strip()] if options.query.strip() else [_search_term(t) for t in brand_terms(brand)]
    )
    lang = options.lang.strip().lower()
    queries: list[BrandQuery] = []
    for term in dict.fromkeys(term for term in terms if term):
        key = f"{term} lang:{lang}" if lang else term
        queries.append(BrandQuery(brand_id, brand.name, key, (term,), {"q": term, "lang": lang}))
    return queries


SPEC = SourceSpec(
    name="bluesky",
    label="Bluesky",
    credentials=(HANDLE_VARIABLE, PASSWORD_VARIABLE),
    build=_build,
    queries=_queries,
)
