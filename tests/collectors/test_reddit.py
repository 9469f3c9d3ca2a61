"""Reddit collector: praw against a local stand-in for Reddit, and praw's recorded cassettes replayed with vcrpy."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import sqlalchemy as sa
import vcr
from sqlalchemy.engine import Engine

from monitor.collectors import base as collectors_base
from monitor.collectors.base import (
    BrandQuery,
    CollectorError,
    MissingCredentialError,
    RateLimitedError,
    TransientError,
    collect,
)
from monitor.collectors.cursors import CursorKey, load_cursor
from monitor.collectors.options import RedditBrand, RedditSource
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.reddit import SPEC, RedditCollector, map_item, search_query, time_filter
from monitor.collectors.sources import SourceContext
from monitor.config import BrandSettings
from monitor.storage.models import AuthorIdentity, Mention
from monitor.storage.tables import table_of
from tests.collectors.brands import brand_query
from tests.conftest import shared_path

FIXTURE = Path(__file__).parent / "fixtures" / "reddit" / "listings_synthetic.json"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CLIENT_ID = "synthetic-client-id"
CLIENT_SECRET = "synthetic-client-secret-value"
ENVIRON = {"WOM_REDDIT_CLIENT_ID": CLIENT_ID, "WOM_REDDIT_CLIENT_SECRET": CLIENT_SECRET}
BRAND = BrandSettings(name="Koffiekoning", keywords=["Koffiekoning"], hashtags=["#koffiekoning"])
_MENTION = table_of(Mention)
_IDENTITY = table_of(AuthorIdentity)
PUBLIC_RESOLVER = lambda host, port: ["151.101.1.140"]  # noqa: E731 - Reddit's CDN, no DNS in tests


@pytest.fixture(autouse=True)
def no_sleeping(monkeypatch: pytest.MonkeyPatch) -> None:
    """prawcore sleeps before retries and to pace requests; a collector must never do either."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"the collector slept {seconds:.1f} s")

    monkeypatch.setattr("time.sleep", refuse)


# --- a local stand-in for oauth.reddit.com and www.reddit.com ----------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


DISCONNECT = Reply(status=0)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class FakeReddit:
    """Token, search, subreddit comments and karma lookups over the synthetic listings, `page_size` a page."""

    def __init__(self, base_url: str) -> None:
        fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
        self.base_url = base_url
        self.submissions: list[dict[str, Any]] = fixture["submissions"]
        self.comments: list[dict[str, Any]] = fixture["comments"]
        self.redditors: dict[str, Any] = fixture["redditors"]
        self.page_size = 2
        self.seen: list[Seen] = []
        self.ratelimit = {
            "x-ratelimit-remaining": "590.0",
            "x-ratelimit-used": "10",
            "x-ratelimit-reset": "300",
        }
        self.override: Callable[[Seen], Reply | None] = lambda seen: None

    def paths(self, prefix: str = "/") -> list[str]:
        return [s.path for s in self.seen if s.path.startswith(prefix)]

    def listings(self) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith(("/search/", "/comments/"))]

    def handle(self, seen: Seen) -> Reply:
        self.seen.append(seen)
        reply = self.override(seen)
        if reply is not None:
            return reply
        if seen.path == "/api/v1/access_token":
            return Reply(
                body={
                    "access_token": "synthetic-token",
                    "token_type": "bearer",
                    "expires_in": 3600,
                    "scope": "*",
                }
            )
        if seen.path == "/r/all/search/":
            return self._listing(self.submissions, seen.query)
        if seen.path.startswith("/r/") and seen.path.endswith("/comments/"):
            return self._listing(self.comments, seen.query)
        if seen.path == "/api/user_data_by_account_ids":
            ids = seen.query["ids"].split(",")
            return Reply(
                body={i: self.redditors[i] for i in ids if i in self.redditors}, headers=self.ratelimit
            )
        return Reply(404, {"message": "Not Found", "error": 404})

    def _listing(self, items: list[dict[str, Any]], query: dict[str, str]) -> Reply:
        names = [item["data"].get("name") if isinstance(item, dict) else None for item in items]
        after = query.get("after")
        start = 0 if not after else names.index(after) + 1 if after in names else len(items)  # gone: empty
        page = items[start : start + self.page_size]
        more = start + self.page_size < len(items)
        after = page[-1]["data"]["name"] if page and more else None
        body = {
            "kind": "Listing",
            "data": {"after": after, "dist": len(page), "children": page, "before": None},
        }
        return Reply(body=body, headers=self.ratelimit)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        seen = Seen(self.command, url.path, dict(parse_qsl(url.query)), dict(self.headers.items()), body)
        reply = self.server.app.handle(seen)
        if reply is DISCONNECT:
            self.close_connection = True
            return
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = {"content-type": "application/json; charset=UTF-8", **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def reddit_app() -> Iterator[FakeReddit]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    app = FakeReddit(f"http://127.0.0.1:{server.server_address[1]}")
    server.app = app  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    server.server_close()
    thread.join()


def _context(app: FakeReddit, environ: dict[str, str] | None = None, **settings: Any) -> SourceContext:
    allowed = app.base_url.removeprefix("http://")
    return SourceContext(
        name="reddit",
        settings=RedditSource(base_url=app.base_url, token_url=app.base_url, **settings),
        policy=OutboundPolicy.from_hosts([allowed]),
        environ=ENVIRON if environ is None else environ,
        now=lambda: NOW,
    )


@pytest.fixture
def build(reddit_app: FakeReddit) -> Iterator[Callable[..., RedditCollector]]:
    built: list[RedditCollector] = []

    def make(**options: Any) -> RedditCollector:
        collector = SPEC.build(_context(reddit_app))
        assert isinstance(collector, RedditCollector)
        for name, value in options.items():
            setattr(collector, name, value)
        built.append(collector)
        return collector

    yield make
    for collector in built:
        collector.close()


def _streams(engine: Engine, brand: BrandSettings = BRAND, **options: Any) -> list[BrandQuery]:
    brand_id = brand_query(engine, brand.name).brand_id
    return SPEC.queries(brand_id, brand, RedditBrand(**options))


def _stored(engine: Engine) -> dict[str, dict[str, Any]]:
    """Stored mentions by external id, every column typed as the model reads it."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_MENTION)).mappings()
        return {row["external_id"]: dict(row) for row in rows}


# --- mapping ---------------------------------------------------------------------------------------


def test_mapping_of_posts_and_comments() -> None:
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    post, deleted, nul_post, title_only, _ = (map_item(c["kind"], c["data"]) for c in fixture["submissions"])
    assert (post.source, post.external_id, post.url) == (
        "reddit",
        "t3_1ko0005",
        "https://www.reddit.com/r/Coffee/comments/1ko0005/koffiekoning_grinder_broke_aft/",
    )
    assert (
        post.text == "Koffiekoning grinder broke after a week\n\nAnyone else? Support takes days to answer."
    )
    assert post.created_at == datetime(2026, 11, 21, 11, 0, tzinfo=UTC)
    assert post.engagement == {"score": 42, "replies": 7}
    assert (post.author.handle, post.author.platform_id, post.author.reach_kind) == (
        "brewnerd",
        "t2_8xk2m1",
        "karma",
    )
    assert (post.in_reply_to, post.thread_id, post.brand, post.lang) == (None, "t3_1ko0005", None, None)
    assert post.raw is not None and post.raw["upvote_ratio"] == 0.93
    assert (deleted.author.handle, deleted.author.platform_id, deleted.author.reach) == (
        "[deleted]",
        None,
        None,
    )
    assert (
        nul_post.text == "Great beans\n\nFresh beans from Koffiekoning every week" and nul_post.text_sanitized
    )
    assert nul_post.raw is not None and "\x00" not in nul_post.raw["selftext"]
    assert title_only.text == "Koffiekoning vs Bocca"

    comment = map_item("t1", fixture["comments"][2]["data"])
    assert (comment.external_id, comment.text, comment.engagement) == (
        "t1_kc0003",
        "#koffiekoning beans are the best",
        {"score": -3},
    )
    assert (comment.in_reply_to, comment.thread_id) == ("t3_1ko0003", "t3_1ko0003")
    assert comment.url == "https://www.reddit.com/r/Coffee/comments/1ko0003/thread/kc0003/"
    no_permalink = {k: v for k, v in fixture["comments"][0]["data"].items() if k != "permalink"}
    assert map_item("t1", no_permalink).url == "https://www.reddit.com/comments/1ko0005/_/kc0005/"
    assert map_item("t1", {**no_permalink, "author": None}).author.handle == "[deleted]"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"created_utc": "yesterday"}, "created_utc"),
        ({"created_utc": 1e20}, "out of range"),
        ({"created_utc": None}, "created_utc"),
        ({"name": 42, "id": None}, "fullname"),
        ({"name": "t1_kc0005"}, "fullname"),  # a comment's name on a post
        ({"title": ["not", "text"]}, "title"),
        ({"author": {"name": "x"}}, "author"),
        ({"title": "", "selftext": "  "}, "no text"),
    ],
)
def test_an_unusable_post_names_the_field(change: dict[str, Any], reason: str) -> None:
    data = {**json.loads(FIXTURE.read_text(encoding="utf-8"))["submissions"][0]["data"], **change}
    with pytest.raises(CollectorError, match=reason):
        map_item("t3", data)


def test_odd_values_are_dropped_not_stored() -> None:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))["submissions"][0]["data"]
    odd = {
        **data,
        "score": 10**30,
        "num_comments": True,
        "author_fullname": "not-a-fullname",
        "permalink": "//evil.example/x",
        "title": "A\ud800B" + "x" * 60_000,
        "extra": [float("nan"), 2**70],
    }
    record = map_item("t3", odd)
    assert record.engagement == {}
    assert record.author.platform_id is None
    assert record.url == "https://www.reddit.com/comments/1ko0005/"
    assert record.text.startswith("A\ufffdB") and len(record.text) <= 50_000 and record.text_sanitized
    assert (
        record.raw is not None
        and record.raw["extra"] == [None, str(2**70)]
        and record.raw["score"] == str(10**30)
    )


# --- queries ---------------------------------------------------------------------------------------


def test_streams_of_a_brand() -> None:
    brand = BrandSettings(name="Acme", keywords=["acme shop", 'acme "pro"', "acme"], hashtags=["#acme"])
    search, *comments = SPEC.queries(
        7, brand, RedditBrand(subreddits=[f"sub{i:02}" for i in range(12)] + ["SUB00"])
    )
    assert search.query_key == 'search:"acme shop" OR "acme  pro" OR acme'
    assert search.options == {"stream": "search", "query": '"acme shop" OR "acme  pro" OR acme'}
    assert [q.query_key for q in comments] == [
        "comments:r/" + "+".join(f"sub{i:02}" for i in range(10)),
        "comments:r/sub10+sub11",
    ]
    assert comments[0].options["keywords"] == ("acme shop", 'acme "pro"', "acme")
    assert comments[0].options["hashtags"] == ("#acme",)
    assert {q.brand for q in [search, *comments]} == {"Acme"}

    own = SPEC.queries(7, brand, RedditBrand(search=True, query="acme NOT anvil"))
    assert [q.query_key for q in own] == ["search:acme NOT anvil"]
    assert SPEC.queries(7, brand, RedditBrand(search=False)) == []
    handles_only = BrandSettings(name="Acme", handles={"x": ["acme"]})
    assert SPEC.queries(7, handles_only, RedditBrand(subreddits=["acme"])) == []
    long = SPEC.queries(7, brand, RedditBrand(query="acme " * 100))
    assert len(long[0].query_key) == 300 and long[0].options["query"] == ("acme " * 100).strip()


def test_search_query_and_time_filter() -> None:
    assert search_query(["Koffiekoning", "koffie koning"]) == 'Koffiekoning OR "koffie koning"'
    assert [time_filter(timedelta(minutes=m)) for m in (-5, 40, 56, 600)] == ["hour", "hour", "day", "day"]
    assert [time_filter(timedelta(days=d)) for d in (6, 7, 27, 300, 400)] == [
        "week",
        "month",
        "month",
        "year",
        "all",
    ]


# --- runs against the local stand-in --------------------------------------------------------------


def test_search_walks_pages_stores_karma_and_sends_what_reddit_expects(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    first = collect(engine, build(), search)
    assert (first.pages, first.read, first.new, first.failed) == (3, 5, 5, 0)
    assert load_cursor(engine, CursorKey("reddit", search.brand_id, search.query_key)) == {
        "watermark": 1795258800
    }

    token = reddit_app.seen[0]
    assert (token.method, token.path) == ("POST", "/api/v1/access_token")
    assert dict(parse_qsl(token.body.decode())) == {"grant_type": "client_credentials"}
    assert (
        token.headers["Authorization"]
        == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    )
    listing = reddit_app.listings()[0]
    assert listing.query == {
        "q": "Koffiekoning",
        "restrict_sr": "False",
        "sort": "new",
        "syntax": "lucene",
        "t": "week",
        "limit": "100",
        "raw_json": "1",
    }
    assert listing.headers["Authorization"] == "bearer synthetic-token"
    assert listing.headers["User-Agent"].startswith(RedditSource().user_agent)
    assert [s.query.get("after") for s in reddit_app.listings()] == [None, "t3_1ko0004", "t3_1ko0002"]
    assert [s.query["ids"] for s in reddit_app.seen if s.path == "/api/user_data_by_account_ids"] == [
        "t2_8xk2m1",
        "t2_3m9q7z,t2_5k2j8",
        "t2_8xk2m1",
    ]

    stored = _stored(engine)
    assert set(stored) == {f"t3_1ko000{i}" for i in range(1, 6)}
    assert (stored["t3_1ko0005"]["reach"], stored["t3_1ko0005"]["reach_kind"]) == (4600, "karma")
    assert stored["t3_1ko0003"]["reach"] == 245
    assert (stored["t3_1ko0004"]["author_handle"], stored["t3_1ko0004"]["reach"]) == ("[deleted]", None)


def test_second_run_adds_nothing_and_a_future_cursor_returns_nothing(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    collector = build()
    collect(engine, collector, search)
    reddit_app.seen.clear()
    second = collect(engine, collector, search)
    assert (second.new, second.pages) == (0, 1)
    assert [s.query["t"] for s in reddit_app.listings()] == ["day"]  # 1 h since the newest + 15 min overlap
    key = CursorKey("reddit", search.brand_id, search.query_key)
    assert load_cursor(engine, key) == {"watermark": 1795258800}

    for watermark in (32503680000, 2**63 - 1):  # the year 3000, the largest since_id
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE collectorcursor SET cursor = :c"), {"c": json.dumps({"watermark": watermark})}
            )
        future = collect(engine, collector, search)
        assert (future.read, future.new, future.failed) == (0, 0, 0)
        assert load_cursor(engine, key) == {"watermark": watermark}
    assert [s.query["t"] for s in reddit_app.listings()][-2:] == ["hour", "hour"]


def test_comments_are_kept_only_when_they_name_the_brand(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    _, comments = _streams(engine, subreddits=["Coffee", "r/espresso", "coffee"])
    assert comments.query_key == "comments:r/Coffee+espresso"
    result = collect(engine, build(), comments)
    assert (result.pages, result.read, result.new) == (3, 3, 3)
    assert set(_stored(engine)) == {"t1_kc0005", "t1_kc0003", "t1_kc0001"}
    assert reddit_app.paths("/r/") == ["/r/Coffee+espresso/comments/"] * 3
    # the newest comment is kept here, but the cursor also moves past comments that were not kept
    assert load_cursor(engine, CursorKey("reddit", comments.brand_id, comments.query_key)) == {
        "watermark": 1795261800
    }
    reddit_app.comments[0]["data"]["body"] = "nothing to see"
    reddit_app.comments.insert(
        0,
        {
            "kind": "t1",
            "data": {
                **reddit_app.comments[1]["data"],
                "name": "t1_kc0006",
                "id": "kc0006",
                "created_utc": 1795262000.0,
                "body": "no brand",
            },
        },
    )
    again = collect(engine, build(), comments)
    assert again.new == 0
    assert load_cursor(engine, CursorKey("reddit", comments.brand_id, comments.query_key)) == {
        "watermark": 1795262000
    }


def test_a_run_killed_between_fetch_and_commit_resumes_without_loss_or_duplicates(
    engine: Engine,
    reddit_app: FakeReddit,
    build: Callable[..., RedditCollector],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    real_store = collectors_base.store_page
    calls = {"n": 0}

    def dies_on_second_page(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed between fetch and commit")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(collectors_base, "store_page", dies_on_second_page)
    with pytest.raises(KeyboardInterrupt):
        collect(engine, build(), search)
    key = CursorKey("reddit", search.brand_id, search.query_key)
    first_floor = int((NOW - timedelta(days=6)).timestamp())
    assert set(_stored(engine)) == {"t3_1ko0005", "t3_1ko0004"}
    assert load_cursor(engine, key) == {
        "watermark": first_floor,
        "next_watermark": 1795258800,
        "after": "t3_1ko0004",
    }

    monkeypatch.setattr(collectors_base, "store_page", real_store)
    reddit_app.seen.clear()
    resumed = collect(engine, build(), search)
    assert [s.query.get("after") for s in reddit_app.listings()] == ["t3_1ko0004", "t3_1ko0002"]
    assert (resumed.new, resumed.duplicate) == (3, 0)
    assert set(_stored(engine)) == {f"t3_1ko000{i}" for i in range(1, 6)}
    assert load_cursor(engine, key) == {"watermark": 1795258800}


def test_a_resume_whose_anchor_was_deleted_starts_again_from_the_newest(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    key = CursorKey("reddit", search.brand_id, search.query_key)
    first_floor = int((NOW - timedelta(days=6)).timestamp())
    collectors_base.store_page(
        engine, [], key, {"watermark": first_floor, "next_watermark": 1795258800, "after": "t3_gone"}
    )
    result = collect(engine, build(), search)
    assert [s.query.get("after") for s in reddit_app.listings()] == [
        "t3_gone",
        None,
        "t3_1ko0004",
        "t3_1ko0002",
    ]
    assert result.new == 5 and load_cursor(engine, key) == {"watermark": 1795258800}


def test_the_listing_ceiling_ends_the_walk(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    result = collect(engine, build(max_pages=2), search)
    assert (result.pages, result.new) == (3, 4)
    assert load_cursor(engine, CursorKey("reddit", search.brand_id, search.query_key)) == {
        "watermark": 1795258800
    }


def test_a_spent_rate_limit_window_stops_the_run_without_sleeping(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    reddit_app.ratelimit = {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-used": "600",
        "x-ratelimit-reset": "120",
    }
    with pytest.raises(RateLimitedError) as caught:
        collect(engine, build(), search)
    assert caught.value.retry_at == NOW + timedelta(seconds=120)
    assert "x-ratelimit-used 600" in str(caught.value)
    # page 1 is stored (without reach: the karma lookup was not sent); page 2 was never asked for
    assert len(reddit_app.listings()) == 1 and reddit_app.paths("/api/user_data") == []
    assert set(_stored(engine)) == {"t3_1ko0005", "t3_1ko0004"}
    assert _stored(engine)["t3_1ko0005"]["reach"] is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            Reply(429, b"<html>Too Many Requests</html>", {"retry-after": "4", "content-type": "text/html"}),
            timedelta(seconds=4),
        ),
        (Reply(429, {"message": "Too Many Requests", "error": 429}), timedelta(seconds=600)),
        (Reply(429, b"", {"retry-after": "Sat, 21 Nov 2026 12:30:00 GMT"}), timedelta(minutes=30)),
        (
            Reply(
                429, b"", {"x-ratelimit-reset": "75", "x-ratelimit-remaining": "0", "x-ratelimit-used": "600"}
            ),
            timedelta(seconds=75),
        ),
    ],
)
def test_429_backs_off_until_reddit_says(
    engine: Engine,
    reddit_app: FakeReddit,
    build: Callable[..., RedditCollector],
    reply: Reply,
    expected: timedelta,
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    reddit_app.override = lambda seen: reply if seen.path == "/r/all/search/" else None
    with pytest.raises(RateLimitedError, match="429") as caught:
        collect(engine, build(), search)
    assert caught.value.retry_at == NOW + expected
    assert len(reddit_app.listings()) == 1  # no retry of a 429


def test_429_on_the_token_endpoint(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    reddit_app.override = lambda seen: (
        Reply(429, {"message": "Too Many Requests", "error": 429}) if "token" in seen.path else None
    )
    with pytest.raises(RateLimitedError) as caught:
        collect(engine, build(), search)
    assert caught.value.retry_at == NOW + timedelta(seconds=600)


@pytest.mark.parametrize(
    ("where", "reply", "error", "message"),
    [
        ("/r/all/search/", Reply(503, b"upstream down"), TransientError, "HTTP 503"),
        ("/r/all/search/", Reply(500, {"message": "oops"}), TransientError, "HTTP 500"),
        ("/r/all/search/", DISCONNECT, TransientError, "ConnectionError"),
        (
            "/r/all/search/",
            Reply(200, b"<html><body>Our CDN is down</body></html>", {"content-type": "text/html"}),
            TransientError,
            "not JSON",
        ),
        (
            "/r/all/search/",
            Reply(200, b'{"kind": "Listing", "data": {"after": null, "chil'),
            TransientError,
            "not JSON",
        ),
        (
            "/r/all/search/",
            Reply(200, {"kind": "Listing", "data": {"children": {"a": 1}}}),
            TransientError,
            "other than a listing",
        ),
        ("/r/all/search/", Reply(200, []), TransientError, "other than a listing"),
        ("/r/all/search/", Reply(200, "a string"), TransientError, "other than a listing"),
        ("/r/all/search/", Reply(403, {"message": "Forbidden", "error": 403}), CollectorError, "approval"),
        (
            "/r/all/search/",
            Reply(
                401,
                {"message": "Unauthorized"},
                {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
            ),
            CollectorError,
            "WOM_REDDIT_CLIENT_SECRET",
        ),
        ("/r/all/search/", Reply(400, {"message": "Bad Request", "error": 400}), CollectorError, "query"),
        (
            "token",
            Reply(401, {"message": "Unauthorized", "error": 401}),
            CollectorError,
            "WOM_REDDIT_CLIENT_ID and WOM_REDDIT_CLIENT_SECRET",
        ),
        (
            "token",
            Reply(200, {"error": "invalid_grant"}),
            CollectorError,
            "invalid_grant.*WOM_REDDIT_CLIENT_ID",
        ),
        ("token", Reply(200, b"<html>login</html>"), TransientError, "malformed"),
        ("token", Reply(200, {"token_type": "bearer"}), TransientError, "malformed"),
        ("token", Reply(502, b"bad gateway"), TransientError, "HTTP 502"),
    ],
)
def test_faults_become_collector_errors_that_name_the_fix(
    engine: Engine,
    reddit_app: FakeReddit,
    build: Callable[..., RedditCollector],
    where: str,
    reply: Reply,
    error: type[Exception],
    message: str,
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    reddit_app.override = lambda seen: reply if where in seen.path else None
    with pytest.raises(error, match=message) as caught:
        collect(engine, build(), search)
    assert error is not CollectorError or not isinstance(caught.value, TransientError)
    assert CLIENT_SECRET not in str(caught.value) and CLIENT_ID not in str(caught.value)
    assert load_cursor(engine, CursorKey("reddit", search.brand_id, search.query_key)) == {}
    assert _stored(engine) == {}


def test_a_5xx_is_retried_once_at_once(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    replies = iter([Reply(503, b"down")])
    reddit_app.override = lambda seen: next(replies, None) if seen.path == "/r/all/search/" else None
    assert collect(engine, build(), search).new == 5
    assert [s.query.get("after") for s in reddit_app.listings()] == [None, None, "t3_1ko0004", "t3_1ko0002"]


def test_timeouts_are_transient(
    engine: Engine, build: Callable[..., RedditCollector], monkeypatch: pytest.MonkeyPatch
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    collector = build()

    def times_out(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        assert 0 < kwargs["timeout"] <= 30
        raise requests.ReadTimeout(f"read timed out ({url})")

    monkeypatch.setattr(requests.Session, "request", times_out)
    with pytest.raises(TransientError, match="ReadTimeout"):
        collect(engine, collector, search)


def test_unknown_and_private_subreddits(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    _, comments = _streams(engine, subreddits=["nosuchsub"])
    reddit_app.override = lambda seen: (
        Reply(302, b"", {"location": f"{reddit_app.base_url}/subreddits/search.json?q=nosuchsub"})
        if "nosuchsub" in seen.path
        else None
    )
    with pytest.raises(CollectorError, match=r"no r/nosuchsub comments.*subreddits") as caught:
        collect(engine, build(), comments)
    assert not isinstance(caught.value, TransientError)
    assert reddit_app.paths("/subreddits/") == []  # the redirect was not followed

    reddit_app.override = lambda seen: (
        Reply(404, {"message": "Not Found", "error": 404}) if "nosuchsub" in seen.path else None
    )
    with pytest.raises(CollectorError, match="no r/nosuchsub comments"):
        collect(engine, build(), comments)
    reddit_app.override = lambda seen: (
        Reply(403, {"reason": "private", "message": "Forbidden", "error": 403})
        if "nosuchsub" in seen.path
        else None
    )
    with pytest.raises(CollectorError, match="r/nosuchsub comments: a subreddit may be private"):
        collect(engine, build(), comments)


def test_a_redirecting_token_endpoint_is_not_followed(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    reddit_app.override = lambda seen: (
        Reply(307, b"", {"location": "http://169.254.169.254/latest/meta-data/"})
        if "token" in seen.path
        else None
    )
    with pytest.raises(CollectorError, match="redirects are not followed"):
        collect(engine, build(), search)
    assert reddit_app.paths("/latest/") == []


def test_bad_items_are_skipped_and_the_rest_kept(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    good = reddit_app.submissions[0]
    reddit_app.page_size = 10
    reddit_app.submissions = [
        good,
        "not an object",
        {"kind": "t3", "data": {**good["data"], "name": "t3_bad1", "created_utc": "soon"}},
        {"kind": "t3", "data": {**good["data"], "name": "t3_bad2", "created_utc": 4102444800.0}},  # 2100
        {"kind": "t5", "data": {"display_name": "Coffee"}},
        {
            "kind": "t3",
            "data": {**good["data"], "name": "t3_extra", "id": "extra", "unknown_field": {"nested": [1]}},
        },
    ]
    result = collect(engine, build(), search)
    assert (result.new, result.failed) == (2, 4)
    assert set(_stored(engine)) == {"t3_1ko0005", "t3_extra"}
    reasons = " | ".join(result.skipped)
    for expected in ("not an object", "t3_bad1", "t3_bad2 skipped: created_utc is in the future", "'t5'"):
        assert expected in reasons


def test_a_failed_karma_lookup_keeps_the_page(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    reddit_app.override = lambda seen: Reply(500, b"<html>oops</html>") if "user_data" in seen.path else None
    assert collect(engine, build(), search).new == 5
    assert {row["reach"] for row in _stored(engine).values()} == {None}


def test_garbage_rate_limit_headers_are_ignored(
    engine: Engine, reddit_app: FakeReddit, build: Callable[..., RedditCollector]
) -> None:
    search, _ = _streams(engine, subreddits=["Coffee"])
    reddit_app.ratelimit = {
        "x-ratelimit-remaining": "lots",
        "x-ratelimit-used": "",
        "x-ratelimit-reset": "soon",
    }
    assert collect(engine, build(), search).new == 5


# --- building: credentials and URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "variable"),
    [({}, "WOM_REDDIT_CLIENT_ID"), ({"WOM_REDDIT_CLIENT_ID": "abc"}, "WOM_REDDIT_CLIENT_SECRET")],
)
def test_a_missing_credential_names_the_variable(
    reddit_app: FakeReddit, environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(MissingCredentialError, match=variable) as caught:
        SPEC.build(_context(reddit_app, environ=environ))
    assert caught.value.variable == variable
    assert SPEC.credentials == ("WOM_REDDIT_CLIENT_ID", "WOM_REDDIT_CLIENT_SECRET")


def _literal_or_public(host: str, port: int) -> list[str]:
    return [host] if host[0].isdigit() or ":" in host else PUBLIC_RESOLVER(host, port)


@pytest.mark.parametrize("setting", ["base_url", "token_url"])
def test_private_urls_are_refused_unless_allowed(setting: str) -> None:
    for url in ("http://10.0.0.1", "http://[::ffff:127.0.0.1]:8080", "http://169.254.169.254"):
        settings = {setting: url}
        context = SourceContext(
            name="reddit",
            settings=RedditSource(**settings),
            policy=OutboundPolicy.from_hosts([], resolver=_literal_or_public),
            environ=ENVIRON,
        )
        with pytest.raises(BlockedURLError, match="allow_private_hosts"):
            SPEC.build(context)


# --- conformance: praw's recorded responses replayed through praw -------------------------------------

PLACEHOLDERS = {
    "<ACCESS_TOKEN>": "recorded-access-token",
    "<BASIC_AUTH>": "recorded-basic-auth",
    "<USER_AGENT>": "recorded-user-agent",
    "<USERNAME>": "praw_test_user",
    "<TEST_SUBREDDIT>": "brandmon_test",
}
REPLAY = vcr.VCR(
    serializer="json", record_mode="none", match_on=["method", "scheme", "host", "port", "path", "query"]
)


def _interactions(name: str) -> list[dict[str, Any]]:
    text = shared_path("fixtures", "reddit", name).read_text(encoding="utf-8")
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return json.loads(text)["interactions"]


def _cassette(tmp_path: Path, interactions: list[dict[str, Any]], uris: dict[int, str]) -> str:
    """The recorded interactions, GETs re-aimed at the URL the collector sends (`uris` by index)."""
    for index, uri in uris.items():
        interactions[index]["request"]["uri"] = uri
    path = tmp_path / "cassette.json"
    path.write_text(json.dumps({"interactions": interactions, "version": 1}), encoding="utf-8")
    return str(path)


def _recorded_collector(now: datetime) -> RedditCollector:
    context = SourceContext(
        name="reddit",
        settings=RedditSource(),
        policy=OutboundPolicy.from_hosts([], resolver=PUBLIC_RESOLVER),
        environ=ENVIRON,
        now=lambda: now,
    )
    collector = SPEC.build(context)
    assert isinstance(collector, RedditCollector)
    return collector


SEARCH = "https://oauth.reddit.com/r/all/search/?q=praw+oauth+search&restrict_sr=False&sort=new&syntax=lucene&t={t}&limit=100&raw_json=1"


def test_recorded_r_all_search(engine: Engine, tmp_path: Path) -> None:
    """TestSubreddit.test_search: 6 posts from 2013-2016 (no author_fullname then, so no karma lookup)."""
    cassette = _cassette(
        tmp_path, _interactions("TestSubreddit.test_search.json"), {1: SEARCH.format(t="all")}
    )
    brand = BrandSettings(name="praw", keywords=["praw"])
    (search,) = _streams(engine, brand, query="praw oauth search")
    key = CursorKey("reddit", search.brand_id, search.query_key)
    collectors_base.store_page(engine, [], key, {"watermark": 1384770000})
    collector = _recorded_collector(datetime(2016, 7, 12, 17, 11, 28, tzinfo=UTC))
    with REPLAY.use_cassette(cassette) as played:
        result = collect(engine, collector, search)
    collector.close()
    assert played.play_count == 2 and played.all_played
    assert (result.pages, result.read, result.new, result.failed) == (1, 6, 6, 0)
    assert load_cursor(engine, key) == {"watermark": 1458221634}
    stored = _stored(engine)
    expected = {
        "t3_3gpbiu": ("dClauzel", {"score": 0, "replies": 21}),
        "t3_3x4kt2": ("GrinningMouth38", {"score": 2, "replies": 5}),
        "t3_3b4erh": ("Ouiski", {"score": 2, "replies": 13}),
        "t3_1qvzkd": ("DAsSNipez", {"score": 2, "replies": 3}),
        "t3_3qc02b": ("Doomhammer458", {"score": 2, "replies": 2}),
        "t3_4at068": ("nmtake", {"score": 15, "replies": 0}),
    }
    assert {k: (v["author_handle"], v["engagement"]) for k, v in stored.items()} == expected
    assert (
        stored["t3_1qvzkd"]["url"]
        == "https://www.reddit.com/r/redditdev/comments/1qvzkd/praw_opening_a_user_page/?ref=search_posts"
    )
    post = stored["t3_3x4kt2"]
    assert post["text"].startswith(
        "[PRAW] Is there an easy way of getting a list of the subreddits I am subscribed to, without using OAuth?\n\n"
    )
    assert len(post["text"]) == 104 + 2 + 228
    assert post["created_at"] == datetime(2015, 12, 16, 21, 3, 6, tzinfo=UTC)
    assert (post["thread_id"], post["in_reply_to"], post["lang"]) == ("t3_3x4kt2", None, None)
    assert post["raw"]["subreddit"] == "redditdev" and post["raw"]["num_comments"] == 5


def test_recorded_subreddit_comments_two_pages(engine: Engine, tmp_path: Path) -> None:
    """TestSubredditListings.test_comments: 100 r/AskReddit comments; the next page is the recorded empty listing."""
    interactions = _interactions("TestSubredditListings.test_comments.json")
    empty = _interactions("TestListingGenerator.test_no_items.json")[1]
    cassette = _cassette(
        tmp_path,
        [*interactions, empty],
        {
            1: "https://oauth.reddit.com/r/askreddit/comments/?limit=100&raw_json=1",
            2: "https://oauth.reddit.com/r/askreddit/comments/?limit=100&after=t1_d4y8a9e&raw_json=1",
        },
    )
    brand = BrandSettings(name="Facebook", keywords=["Facebook", "movies"])
    comments = _streams(engine, brand, search=False, subreddits=["askreddit"])[0]
    collector = _recorded_collector(datetime(2016, 7, 4, 0, 4, 50, tzinfo=UTC))
    with REPLAY.use_cassette(cassette) as played:
        result = collect(engine, collector, comments)
    collector.close()
    assert played.play_count == 3 and played.all_played
    assert (result.pages, result.read, result.new, result.failed) == (2, 4, 4, 0)
    key = CursorKey("reddit", comments.brand_id, comments.query_key)
    assert load_cursor(engine, key) == {"watermark": 1467590690}
    stored = _stored(engine)
    assert {k: v["author_handle"] for k, v in stored.items()} == {
        "t1_d4y8ayt": "Barrasolen",
        "t1_d4y8aka": "LapisFazule",
        "t1_d4y8af3": "batmanflasharrow",
        "t1_d4y8ae8": "DRM_Removal_Bot",
    }
    assert stored["t1_d4y8aka"]["url"] == "https://www.reddit.com/comments/4r21sp/_/d4y8aka/"
    assert {v["engagement"]["score"] for v in stored.values()} == {1}
    bot = stored["t1_d4y8ae8"]
    assert (bot["text"], bot["in_reply_to"], bot["thread_id"]) == (
        '"No thanks. I already have Facebook."',
        "t1_d4xx75d",
        "t3_4r1tos",
    )
    assert bot["created_at"] == datetime.fromtimestamp(1467590641, UTC)


def test_recorded_2023_comments_with_rate_limit_headers_and_a_real_429_on_karma(
    engine: Engine, tmp_path: Path
) -> None:
    """The 2023 stream recording (x-ratelimit headers, author_fullname, permalink); the karma lookup gets
    prawcore's recorded 429, which costs the page its reach but not its comments."""
    interactions = _interactions(
        "TestSubredditStreams.test_comments__with_continue_after_id.placeholders_filled.json"
    )
    too_many = _interactions("TestSession.test_request__too__many_requests__with_retry_headers.json")[1]
    cassette = _cassette(
        tmp_path,
        [interactions[0], interactions[1], too_many],
        {2: "https://oauth.reddit.com/api/user_data_by_account_ids?ids=t2_v07goqfq&raw_json=1"},
    )
    brand = BrandSettings(name="VettedBot", keywords=["VettedBot"])
    comments = _streams(engine, brand, search=False, subreddits=["brandmon_test"])[0]
    key = CursorKey("reddit", comments.brand_id, comments.query_key)
    collectors_base.store_page(engine, [], key, {"watermark": 1696716000})
    collector = _recorded_collector(datetime(2023, 10, 8, 19, 41, 15, tzinfo=UTC))
    with REPLAY.use_cassette(cassette) as played:
        result = collect(engine, collector, comments)
    collector.close()
    assert played.play_count == 3 and played.all_played
    assert (result.pages, result.read, result.new) == (1, 2, 2)
    assert load_cursor(engine, key) == {"watermark": 1696754768}
    stored = _stored(engine)
    assert set(stored) == {"t1_k3ynwqb", "t1_k3ynm7c"}
    assert (
        stored["t1_k3ynm7c"]["url"]
        == "https://www.reddit.com/r/brandmon_test/comments/172thsp/bot_brandmon_test/k3ynm7c/"
    )
    assert {(v["author_handle"], v["reach"], v["reach_kind"]) for v in stored.values()} == {
        ("Innsmouth_Swim_Team", None, "karma")
    }
    with engine.connect() as conn:
        identities = conn.execute(sa.select(_IDENTITY.c.identity_key, _IDENTITY.c.handle)).all()
    assert [tuple(row) for row in identities] == [("t2_v07goqfq", "Innsmouth_Swim_Team")]


def test_recorded_partial_redditors_karma(tmp_path: Path) -> None:
    """TestRedditors.test_partial_redditors and TestRedditor.test_fullname_init: link + comment karma by fullname."""
    pair = _interactions("TestRedditors.test_partial_redditors.json")
    single = _interactions("TestRedditor.test_fullname_init.json")[1]
    cassette = _cassette(tmp_path, [*pair, single], {})
    collector = _recorded_collector(datetime(2020, 1, 22, 7, 3, 23, tzinfo=UTC))
    with REPLAY.use_cassette(cassette) as played:
        assert collector.author_karma(["t2_1w72", "t2_4x25quk"]) == {
            "t2_1w72": 115239 + 692419,
            "t2_4x25quk": 55 + 729,
        }
        assert collector.author_karma(["t2_6c1xj"]) == {"t2_6c1xj": 0}
    collector.close()
    assert played.play_count == 3


def test_recorded_429_with_retry_after(engine: Engine, tmp_path: Path) -> None:
    """prawcore's recorded 429 (HTML body, retry-after: 4) answering the search."""
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    interactions = _interactions("TestSession.test_request__too__many_requests__with_retry_headers.json")
    cassette = _cassette(tmp_path, interactions, {1: SEARCH.format(t="week")})
    (search,) = _streams(engine, BrandSettings(name="praw", keywords=["praw"]), query="praw oauth search")
    collector = _recorded_collector(now)
    with REPLAY.use_cassette(cassette) as played, pytest.raises(RateLimitedError, match="429") as caught:
        collect(engine, collector, search)
    collector.close()
    assert played.play_count == 2
    assert caught.value.retry_at == now + timedelta(seconds=4)
    assert load_cursor(engine, CursorKey("reddit", search.brand_id, search.query_key)) == {}


def test_recorded_429_on_the_token_endpoint(engine: Engine, tmp_path: Path) -> None:
    """prawcore's recorded token-endpoint 429 (JSON body, no retry headers): back off one rate-limit window."""
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    cassette = _cassette(
        tmp_path,
        _interactions("TestSession.test_request__too__many_requests__without_retry_headers.json"),
        {},
    )
    (search,) = _streams(engine, BrandSettings(name="praw", keywords=["praw"]), query="praw oauth search")
    collector = _recorded_collector(now)
    with REPLAY.use_cassette(cassette), pytest.raises(RateLimitedError) as caught:
        collect(engine, collector, search)
    collector.close()
    assert caught.value.retry_at == now + timedelta(seconds=600)


def test_recorded_empty_listing(engine: Engine, tmp_path: Path) -> None:
    """TestListingGenerator.test_no_items: an empty listing ends the walk and keeps the watermark."""
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    cassette = _cassette(
        tmp_path, _interactions("TestListingGenerator.test_no_items.json"), {1: SEARCH.format(t="week")}
    )
    (search,) = _streams(engine, BrandSettings(name="praw", keywords=["praw"]), query="praw oauth search")
    collector = _recorded_collector(now)
    with REPLAY.use_cassette(cassette) as played:
        result = collect(engine, collector, search)
    collector.close()
    assert played.play_count == 2 and (result.pages, result.read) == (1, 0)
    first_floor = int((now - timedelta(days=6)).timestamp())
    assert load_cursor(engine, CursorKey("reddit", search.brand_id, search.query_key)) == {
        "watermark": first_floor
    }
