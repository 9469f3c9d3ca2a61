"""X (Twitter) posts through tweepy: recent search, and the mentions timeline of the brand's own account.

Streams per brand: one recent search per query (the brand's own `query`, else its keywords as quoted
phrases and its hashtags, plus its `@handles` when no mentions stream covers them, joined with OR,
without retweets, split into several queries when one would pass X's 512 characters), and with
`own_mentions` one `/2/users/:id/mentions` timeline per X handle. The timeline is X's own definition of a
mention of the account (replies to it included), has a rate-limit window of its own, and its records
are the brand's by construction; the handle's user id is looked up once and kept in the cursor. Keeping
the handles out of the search then means each post is read, and billed, once.

Incremental by `since_id` (exclusive): the newest id of the first page of the last completed walk. A walk
follows `next_token` for at most `max_pages` pages per run and keeps the old `since_id`, the walk's newest
id and the token in the cursor until it ends, so a run that dies or stops mid-walk resumes at the next
page without gaps or repeats. Recent search refuses a `since_id` older than its 7 days; such a cursor
starts a fresh 7-day walk instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from monitor.collectors.base import BrandQuery, CollectorError, Page, RateLimitedError
from monitor.collectors.options import XBrand, XSource
from monitor.collectors.sources import SourceContext, SourceSpec
from monitor.collectors.x_client import (
    DEFAULT_BASE_URL,
    TOKEN_VARIABLE,
    BadRequestError,
    XClient,
    call_x,
    rate_limit_remaining,
    rate_limit_reset,
    response_body,
)
from monitor.collectors.x_map import HANDLE_RE, id_or_none, map_response, snowflake_time
from monitor.config import BrandBase

__all__ = ["SPEC", "XCollector", "build_queries"]

MAX_QUERY_CHARS = 512  # recent search's query limit on self-serve plans
RECENT_SEARCH_DAYS = 7
_MAX_QUERY_KEY = 300
_TWEET_FIELDS = [
    "author_id",
    "created_at",
    "lang",
    "public_metrics",
    "conversation_id",
    "referenced_tweets",
    "in_reply_to_user_id",
    "note_tweet",
]
_USER_FIELDS = ["username", "name", "public_metrics"]

Fetch = Callable[[str | None, str | None, Mapping[str, Any]], requests.Response]


def _max_id(*ids: str | None) -> str | None:
    known = [int(value) for value in ids if value is not None]
    return str(max(known)) if known else None


def _page_newest(body: Mapping[str, Any]) -> str | None:
    """The newest post id of a page: `meta.newest_id`, else the largest id in `data`."""
    newest = id_or_none((body.get("meta") or {}).get("newest_id"))
    data = value if isinstance(value := body.get("data"), list) else []
    return newest or _max_id(*(id_or_none(post.get("id")) for post in data if isinstance(post, Mapping)))


def _cursor(extra: Mapping[str, Any], **values: str | None) -> dict[str, Any]:
    merged = {**extra, **values}
    if "next_token" not in values:
        merged.pop("start_time", None)  # only a first walk still in progress needs it
    return {key: value for key, value in merged.items() if value is not None}


class XCollector:
    source = "x"

    def __init__(
        self, client: XClient, *, max_pages: int = 5, now: Callable[[], datetime] | None = None
    ) -> None:
        self.client = client
        self.max_pages = max_pages
        self._now = now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Closes the X client's session; safe to call again."""
        self.client.session.close()

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        if query.options.get("stream") == "mentions":
            yield from self._mentions(query, cursor)
        else:
            yield from self._search(query, cursor)

    def _search(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        text = query.terms[0] if query.terms else query.query_key
        since_id = id_or_none(cursor.get("since_id"))
        oldest_allowed = self._now() - timedelta(days=RECENT_SEARCH_DAYS, minutes=-5)
        if since_id is not None and snowflake_time(since_id) < oldest_allowed:
            cursor = {}  # X answers 400 to a since_id past the 7 days: walk the whole window again

        def fetch(since: str | None, token: str | None, extra: Mapping[str, Any]) -> requests.Response:
            return call_x(
                self.client,
                f"recent search {text!r}",
                lambda: self.client.search_recent_tweets(
                    text,
                    max_results=100,
                    since_id=since,
                    next_token=token,
                    expansions=["author_id"],
                    tweet_fields=_TWEET_FIELDS,
                    user_fields=_USER_FIELDS,
                ),
                self._now(),
            )

        yield from self._walk(fetch, cursor, {}, brand=None, skip_retweets=False)

    def _mentions(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        handle = str(query.options.get("handle") or "")
        if not HANDLE_RE.fullmatch(handle):
            raise CollectorError(
                f'{handle!r} is not an X handle; fix [brands.handles] x of brand {query.brand} (e.g. "acme")'
            )
        user_id = id_or_none(cursor.get("user_id")) or self._user_id(handle, query.brand)
        extra: dict[str, Any] = {"user_id": user_id}
        if id_or_none(cursor.get("since_id")) is None:
            # a first walk covers what recent search covers, not the timeline's 800 newest posts
            start = cursor.get("start_time")
            if not isinstance(start, str):
                start = (self._now() - timedelta(days=RECENT_SEARCH_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
            extra["start_time"] = start

        def fetch(since: str | None, token: str | None, extra: Mapping[str, Any]) -> requests.Response:
            return call_x(
                self.client,
                f"mentions of @{handle}",
                lambda: self.client.get_users_mentions(
                    user_id,
                    max_results=100,
                    since_id=since,
                    pagination_token=token,
                    start_time=extra.get("start_time"),
                    expansions=["author_id"],
                    tweet_fields=_TWEET_FIELDS,
                    user_fields=_USER_FIELDS,
                ),
                self._now(),
            )

        # retweets only repeat a post that mentions the account; the search streams leave them out too
        yield from self._walk(fetch, cursor, extra, brand=query.brand, skip_retweets=True)

    def _user_id(self, handle: str, brand: str) -> str:
        what = f"user lookup of @{handle}"
        response = call_x(
            self.client,
            what,
            lambda: self.client.get_users(usernames=[handle], user_fields=["username"]),
            self._now(),
        )
        body = response_body(response, what)
        users = value if isinstance(value := body.get("data"), list) else []
        for user in users:
            if isinstance(user, Mapping) and str(user.get("username", "")).casefold() == handle.casefold():
                user_id = id_or_none(user.get("id"))
                if user_id is not None:
                    return user_id
        errors = value if isinstance(value := body.get("errors"), list) else []
        detail = next(
            (str(e["detail"])[:200] for e in errors if isinstance(e, Mapping) and e.get("detail")), ""
        )
        raise CollectorError(
            f"X has no account @{handle}{f' ({detail})' if detail else ''}; "
            f"fix [brands.handles] x of brand {brand}"
        )

    def _walk(
        self,
        fetch: Fetch,
        cursor: Mapping[str, Any],
        extra: dict[str, Any],
        *,
        brand: str | None,
        skip_retweets: bool,
    ) -> Iterator[Page]:
        since_id = id_or_none(cursor.get("since_id"))
        next_since = id_or_none(cursor.get("next_since_id"))
        token = cursor.get("next_token") if isinstance(cursor.get("next_token"), str) else None
        resumed = token is not None
        fetched = 0
        while fetched < self.max_pages:
            try:
                response = fetch(since_id, token, extra)
            except BadRequestError:
                if not resumed:
                    raise
                # a page token saved by an earlier run that X no longer takes: walk again from since_id
                token, resumed = None, False
                continue
            resumed, fetched = False, fetched + 1
            body = response_body(response, "a page of posts")
            records, skipped = map_response(body, brand=brand, skip_retweets=skip_retweets)
            next_since = _max_id(next_since, since_id, _page_newest(body))
            following = (body.get("meta") or {}).get("next_token")
            # an empty page that still offers a token, or the same token again, would loop
            if not isinstance(following, str) or not following or following == token or not body.get("data"):
                yield Page(records, _cursor(extra, since_id=next_since), skipped)
                return
            token = following
            yield Page(
                records,
                _cursor(extra, since_id=since_id, next_since_id=next_since, next_token=token),
                skipped,
            )
            if rate_limit_remaining(response) == 0:
                retry_at = rate_limit_reset(response.headers, self._now())
                raise RateLimitedError(
                    "X rate-limit window used up mid-walk (x-rate-limit-remaining 0); the walk resumes after "
                    f"{retry_at:%Y-%m-%d %H:%M:%S} UTC",
                    retry_at,
                )
        # max_pages reached: the saved token continues this walk on the next run


# --- streams and wiring ------------------------------------------------------------------------


def build_queries(terms: list[str]) -> list[str]:
    """Search terms joined with OR, without retweets, packed into as few queries of ≤512 characters as fit."""

    def query_of(group: list[str]) -> str:
        # AND binds tighter than OR in X's syntax: the OR group needs its parentheses
        return f"({' OR '.join(group)}) -is:retweet" if len(group) > 1 else f"{group[0]} -is:retweet"

    queries: list[str] = []
    group: list[str] = []
    for term in terms:
        if group and len(query_of([*group, term])) > MAX_QUERY_CHARS:
            queries.append(query_of(group))
            group = []
        group.append(term)
    return [*queries, query_of(group)] if group else queries


def _handles(brand: BrandBase) -> list[str]:
    handles = (handle.strip().lstrip("@") for handle in brand.handles.get("x", []))
    return list(dict.fromkeys(handle for handle in handles if handle))


def _search_terms(brand: BrandBase, *, with_handles: bool) -> list[str]:
    terms = [
        '"' + " ".join(keyword.replace('"', " ").split()) + '"'
        for keyword in brand.keywords
        if keyword.strip()
    ]
    terms += [tag if tag.startswith("#") else f"#{tag}" for tag in brand.hashtags if tag.strip("# ")]
    if with_handles:
        terms += [f"@{handle}" for handle in _handles(brand)]
    unique: dict[str, str] = {}
    for term in terms:
        unique.setdefault(term.casefold(), term)
    return list(unique.values())


def _query_key(query: str) -> str:
    if len(query) <= _MAX_QUERY_KEY:
        return query
    digest = hashlib.sha256(query.encode()).hexdigest()[:16]
    return f"{query[: _MAX_QUERY_KEY - 18]}…#{digest}"


def _queries(brand_id: int, brand: BrandBase, options: XBrand) -> list[BrandQuery]:
    handles = _handles(brand) if options.own_mentions else []
    if options.query.strip():
        searches = [options.query.strip()]
    else:
        searches = build_queries(_search_terms(brand, with_handles=not handles))
    streams = [
        BrandQuery(brand_id, brand.name, _query_key(text), (text,), {"stream": "search"}) for text in searches
    ]
    streams += [
        BrandQuery(
            brand_id, brand.name, f"mentions:@{handle.lower()}", (), {"stream": "mentions", "handle": handle}
        )
        for handle in handles
    ]
    return streams


def _build(ctx: SourceContext) -> XCollector:
    token = ctx.secret(TOKEN_VARIABLE)
    settings = ctx.settings if isinstance(ctx.settings, XSource) else XSource()
    return XCollector(
        XClient(token, base_url=ctx.base_url(DEFAULT_BASE_URL), policy=ctx.policy),
        max_pages=settings.max_pages,
        now=ctx.now,
    )


SPEC = SourceSpec(
    name="x", label="X (Twitter)", credentials=(TOKEN_VARIABLE,), build=_build, queries=_queries
)
