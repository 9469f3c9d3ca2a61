"""Hacker News collector on synthetic Algolia responses (no recording exists; shape from COLLECTORS.md §8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.collectors.base import CollectorError, RateLimitedError, TransientError, collect
from monitor.collectors.cursors import CursorKey, load_cursor
from monitor.collectors.hackernews import HackerNewsCollector, map_hit
from monitor.collectors.http import SafeHttp
from monitor.collectors.outbound import OutboundPolicy
from tests.collectors.brands import brand_query

FIXTURE = Path(__file__).parent / "fixtures" / "hackernews" / "search_by_date_synthetic.json"
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _body() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


USER = Path(__file__).parent / "fixtures" / "hackernews" / "user_synthetic.json"


def _with_users(
    handler: Callable[[httpx.Request], httpx.Response],
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if "/users/" in request.url.path:
            return httpx.Response(200, content=USER.read_bytes())
        return handler(request)

    return answer


def _collector(
    handler: Callable[[httpx.Request], httpx.Response], *, users: bool = True, **options: Any
) -> HackerNewsCollector:
    policy = OutboundPolicy.from_hosts([], resolver=lambda host, port: ["199.232.1.1"])
    http = SafeHttp(policy, transport=httpx.MockTransport(_with_users(handler) if users else handler))
    return HackerNewsCollector(http, now=lambda: NOW, **options)


def _paged(
    pages: list[list[dict[str, Any]]], seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        since = int(request.url.params["numericFilters"].split(">=")[1])
        page = int(request.url.params["page"])
        kept = [[hit for hit in hits if hit["created_at_i"] >= since] for hits in pages]
        kept = [hits for hits in kept if hits]
        body = {"hits": kept[page] if page < len(kept) else [], "nbPages": len(kept), "page": page}
        return httpx.Response(200, json=body)

    return handler


def test_mapping_of_a_story_and_comments() -> None:
    comment, nul_comment, story = (map_hit(hit) for hit in _body()["hits"])
    assert story.text == "Show HN: Koffiekoning, a Dutch coffee roaster\n\nWe roast <3 in Utrecht."
    assert story.engagement == {"score": 57, "replies": 2}
    assert (story.thread_id, story.in_reply_to) == ("42000001", None)
    assert story.url == "https://news.ycombinator.com/item?id=42000001"
    assert comment.text == (
        # a <p> is a blank line, as for Mastodon and feeds (it was one line break before issue 14)
        'Ordered from Koffiekoning twice & the grinder arrived broken both times.\n\nSupport said "wait"; link sigh'
    )
    assert (comment.in_reply_to, comment.thread_id, comment.engagement) == ("42000002", "42000001", {})
    assert comment.created_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    assert (comment.author.handle, comment.source, comment.external_id) == (
        "koffiefan",
        "hackernews",
        "42000003",
    )
    assert "\x00" not in nul_comment.text and nul_comment.text_sanitized
    assert comment.raw is not None and comment.raw["objectID"] == "42000003"


def test_incremental_runs_and_a_future_cursor(engine: Engine) -> None:
    hits = _body()["hits"]
    seen: list[httpx.Request] = []
    collector = _collector(_paged([hits[:2], hits[2:]], seen))
    query = brand_query(engine, "Koffiekoning")
    first = collect(engine, collector, query)
    assert (first.pages, first.new) == (2, 3)
    assert load_cursor(engine, CursorKey("hackernews", query.brand_id, "koffiekoning")) == {
        "watermark": 1795169100
    }
    assert seen[0].url.params["query"] == "koffiekoning"
    assert seen[0].url.params["numericFilters"] == f"created_at_i>={int(NOW.timestamp()) - 7 * 86400}"
    second = collect(engine, collector, query)
    assert second.new == 0 and seen[-1].url.params["numericFilters"] == "created_at_i>=1795169100"

    future = _collector(_paged([hits], []))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE collectorcursor SET cursor = :c"), {"c": json.dumps({"watermark": 1900000000})}
        )
    assert collect(engine, future, query).new == 0


def test_a_failure_mid_walk_resumes_at_the_next_page(engine: Engine) -> None:
    hits = _body()["hits"]
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 2:
            return httpx.Response(503, text="upstream down")
        return _paged([hits[:1], hits[1:2], hits[2:]], [])(request)

    query = brand_query(engine, "Koffiekoning")
    with pytest.raises(CollectorError, match="HTTP 503"):
        collect(engine, _collector(flaky), query)
    key = CursorKey("hackernews", query.brand_id, "koffiekoning")
    assert load_cursor(engine, key)["page"] == 1
    resumed = collect(engine, _collector(flaky), query)
    assert resumed.new == 2 and load_cursor(engine, key) == {"watermark": 1795169100}


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (httpx.Response(429), RateLimitedError, "429"),
        (httpx.Response(500), TransientError, "HTTP 500"),
        (httpx.Response(404), CollectorError, "base_url"),
        (httpx.Response(200, text="<html>maintenance</html>"), TransientError, "not JSON"),
        (httpx.Response(200, json={"message": "bad"}), TransientError, "'hits'"),
    ],
)
def test_bad_responses_name_the_problem(
    engine: Engine, response: httpx.Response, error: type, message: str
) -> None:
    query = brand_query(engine, "Koffiekoning")
    with pytest.raises(error, match=message):
        collect(engine, _collector(lambda request: response), query)


def test_timeouts_become_collector_errors(engine: Engine) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransientError, match="ReadTimeout"):
        collect(engine, _collector(slow), brand_query(engine, "Koffiekoning"))


def test_an_unusable_hit_is_counted_as_failed_and_the_rest_is_kept(engine: Engine) -> None:
    hits = [*_body()["hits"], {"objectID": "1"}, "not an object"]
    result = collect(
        engine,
        _collector(lambda request: httpx.Response(200, json={"hits": hits, "nbPages": 1})),
        brand_query(engine, "Koffiekoning"),
    )
    assert (result.new, result.failed) == (3, 2)
    assert "usable objectID" in result.skipped[0] and "not an object" in result.skipped[1]


def test_author_karma_is_the_reach_looked_up_once_per_author(engine: Engine) -> None:
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        if "/users/" in request.url.path:
            return httpx.Response(200, content=USER.read_bytes())
        return httpx.Response(200, json={"hits": _body()["hits"], "nbPages": 1})

    collector = _collector(handler, users=False)
    collect(engine, collector, brand_query(engine, "Koffiekoning"))
    with engine.connect() as conn:
        reach = dict(conn.execute(sa.text("SELECT author_handle, reach FROM mention")).all())
    assert set(reach.values()) == {4321}  # the synthetic user answers for every name
    authors = {hit["author"] for hit in _body()["hits"]}
    assert sorted(path for path in requests if "/users/" in path) == sorted(
        f"/api/v1/users/{a}" for a in authors
    )
    collect(engine, collector, brand_query(engine, "Bonenbaas"))
    assert sum("/users/" in path for path in requests) == len(authors)


def test_a_failed_karma_lookup_keeps_the_page_without_reach(engine: Engine) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "/users/" in request.url.path:
            return httpx.Response(502, text="<html>bad gateway</html>")
        return httpx.Response(200, json={"hits": _body()["hits"], "nbPages": 1})

    result = collect(engine, _collector(handler, users=False), brand_query(engine, "Koffiekoning"))
    assert (result.new, result.failed) == (3, 0)
    with engine.connect() as conn:
        kinds = set(conn.execute(sa.text("SELECT reach_kind FROM mention")).scalars())
    assert kinds == {"none"}


def test_a_title_that_is_not_text_is_left_out_not_a_crash() -> None:
    """Found by the I-10 fuzz: a number where the title belongs reached HTMLParser.feed (TypeError)."""
    hit = {
        "objectID": "1",
        "created_at_i": 1_700_000_000,
        "author": "pg",
        "_tags": ["story"],
        "title": 42,
        "story_text": "<p>Acme beans</p>",
    }
    assert map_hit(hit).text == "Acme beans"


@pytest.mark.parametrize("tags", [7, "story", None], ids=["number", "string", "null"])
def test_tags_that_are_not_a_list_read_as_no_tags_not_a_crash(tags: object) -> None:
    """Found by the CI fuzz smoke: `"story" in 7` raised TypeError out of map_hit. A hit with a comment is
    read as that comment, whatever its tags."""
    hit = {
        "objectID": "1",
        "created_at_i": 1_700_000_000,
        "author": "pg",
        "_tags": tags,
        "title": "Acme title",
        "comment_text": "<p>Acme beans</p>",
    }
    assert map_hit(hit).text == "Acme beans"


@pytest.mark.parametrize("seconds", [10**12, -(10**12), 2**63], ids=["year-31690", "before-year-1", "int64"])
def test_a_time_past_the_calendar_is_an_unusable_hit_not_a_crash(seconds: int) -> None:
    """Found by the CI fuzz smoke: created_at_i past year 9999 raised OSError (errno 75) out of map_hit."""
    hit = {
        "objectID": "1",
        "created_at_i": seconds,
        "author": "pg",
        "_tags": ["comment"],
        "comment_text": "Acme",
    }
    with pytest.raises(CollectorError, match="created_at_i"):
        map_hit(hit)


@pytest.mark.parametrize(
    "fields",
    [
        {"_tags": ["comment"], "comment_text": ""},
        {"_tags": ["comment"], "comment_text": "<p>\u200b</p><p> &nbsp;</p>"},
        {"_tags": ["story"], "title": "", "story_text": None},
    ],
    ids=["empty", "only-invisible", "story-without-title"],
)
def test_a_hit_without_text_is_skipped_as_the_importer_refuses_it(
    engine: Engine, fields: dict[str, Any]
) -> None:
    """The importer refuses empty text; a collected hit without text was stored with text ''."""
    textless = {"objectID": "42000099", "created_at_i": 1_763_719_200, "author": "quiet", **fields}
    with pytest.raises(CollectorError, match="Hacker News hit 42000099 has no text"):
        map_hit(textless)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hits": [*_body()["hits"], textless], "nbPages": 1})

    result = collect(engine, _collector(handler), brand_query(engine, "Koffiekoning"))
    assert (result.new, result.failed) == (3, 1)
    assert result.skipped == ["Hacker News hit 42000099 has no text"]
    with engine.connect() as conn:
        texts = list(conn.execute(sa.text("SELECT text FROM mention")).scalars())
    assert len(texts) == 3 and all(text.strip() for text in texts)
