"""X collector: recorded responses replayed through tweepy (vcrpy cassettes, twarc and docs-sample bodies),
a fake X for walks, and synthetic 429s (no real 429 was ever recorded)."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
import sqlalchemy as sa
import vcr
import yaml
from sqlalchemy.engine import Engine

import monitor.collectors.base as collector_base
from monitor.collectors.base import (
    BrandQuery,
    CollectorError,
    MissingCredentialError,
    RateLimitedError,
    TransientError,
    collect,
)
from monitor.collectors.cursors import CursorKey, load_cursor, save_cursor
from monitor.collectors.options import XBrand, XSource
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.sources import SourceContext
from monitor.collectors.x import SPEC, XCollector, build_queries
from monitor.collectors.x_client import XClient
from monitor.collectors.x_map import map_response, map_tweet, snowflake_time
from monitor.config import BrandSettings
from monitor.records import parse_datetime
from tests.collectors.brands import brand_query
from tests.conftest import shared_path

TOKEN = "AAAAtest-bearer-token-0123456789"
NOW = datetime(2021, 9, 22, 17, 0, tzinfo=UTC)  # just after brexit.jsonl was captured
SEARCH_URL = "https://api.twitter.com/2/tweets/search/recent"
OLDEST = "1440713966649417731"  # the oldest post of brexit.jsonl
FIXTURES = Path(__file__).parent / "fixtures" / "x"


def _twarc_body(name: str) -> dict[str, Any]:
    """A twarc jsonl line is the API body plus `__twarc`, which SOURCE.md says to strip."""
    body = json.loads(shared_path("fixtures", "twitter", name).read_text(encoding="utf-8").splitlines()[0])
    body.pop("__twarc")
    return body


def _synthetic(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _collector(max_pages: int = 5, now: datetime = NOW) -> XCollector:
    return XCollector(XClient(TOKEN), max_pages=max_pages, now=lambda: now)


def _search(engine: Engine, text: str = "#brexit", name: str = "Brexit") -> BrandQuery:
    return dataclasses.replace(
        brand_query(engine, name), query_key=text, terms=(text,), options={"stream": "search"}
    )


def _mentions(engine: Engine, handle: str, name: str = "Twitter") -> BrandQuery:
    return dataclasses.replace(
        brand_query(engine, name),
        query_key=f"mentions:@{handle.lower()}",
        options={"stream": "mentions", "handle": handle},
    )


def _query_params(request: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query))


class FakeX:
    """Recent search and mentions over a set of posts: since_id, a next_token pinned to the last id, X's meta."""

    def __init__(self, body: dict[str, Any], *, page_size: int = 30, remaining: int = 400) -> None:
        self.posts = sorted(body["data"], key=lambda post: int(post["id"]), reverse=True)
        self.users = {user["id"]: user for user in body["includes"]["users"]}
        self.page_size = page_size
        self.remaining = remaining
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        params = _query_params(request)
        self.requests.append(params)
        since = int(params.get("since_id", "0"))
        token = params.get("next_token") or params.get("pagination_token") or ""
        before = int(token.removeprefix("before:")) if token else 2**64
        newer = [post for post in self.posts if since < int(post["id"]) < before]
        page = newer[: self.page_size]
        meta: dict[str, Any] = {"result_count": len(page)}
        body: dict[str, Any] = {"meta": meta}
        if page:
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
            authors = dict.fromkeys(post["author_id"] for post in page)
            body |= {"data": page, "includes": {"users": [self.users[a] for a in authors if a in self.users]}}
        if len(newer) > len(page):
            meta["next_token"] = f"before:{page[-1]['id']}"
        headers = {"x-rate-limit-remaining": str(self.remaining), "x-rate-limit-reset": "1632330900"}
        return 200, headers, json.dumps(body)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _serve(mock: responses.RequestsMock, handler: Callable[[Any], tuple[int, dict[str, str], str]]) -> None:
    mock.add_callback(responses.GET, SEARCH_URL, callback=handler)


def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Callable[[Any], Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return lambda request: (status, headers or {}, text)


# --- conformance: recorded responses through tweepy --------------------------------------------


def test_brexit_page_through_tweepy_maps_every_post(engine: Engine, mocked: responses.RequestsMock) -> None:
    body = _twarc_body("brexit.jsonl")
    _serve(mocked, _reply(200, body, {"x-rate-limit-remaining": "449", "x-rate-limit-reset": "1632330900"}))
    query = _search(engine)
    result = collect(engine, _collector(max_pages=1), query)

    assert (result.pages, result.new, result.failed) == (1, 100, 0)
    sent = mocked.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert _query_params(sent) == {
        "query": "#brexit",
        "max_results": "100",
        "expansions": "author_id",
        "tweet.fields": "author_id,created_at,lang,public_metrics,conversation_id,referenced_tweets,"
        "in_reply_to_user_id,note_tweet",
        "user.fields": "username,name,public_metrics",
    }
    # one page of a walk that goes on: the old since_id (none) stays until the walk ends
    assert load_cursor(engine, CursorKey("x", query.brand_id, "#brexit")) == {
        "next_since_id": "1440716895355764743",
        "next_token": "b26v89c19zqg8o3fpds60ssjif02fq74br3502of8hmrh",
    }
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT external_id, author_handle, reach, reach_kind, lang, url, thread_id, in_reply_to, "
                "brand_hint, text FROM mention WHERE external_id = '1440716895355764743'"
            )
        ).one()
        langs = dict(
            conn.execute(sa.text("SELECT coalesce(lang, '-'), count(*) FROM mention GROUP BY 1")).all()
        )
        replies = conn.execute(sa.text("SELECT count(*) FROM mention WHERE in_reply_to IS NOT NULL")).scalar()
    assert row[:9] == (
        "1440716895355764743",
        "WarmongerHodges",
        34920,
        "followers",
        "en",
        "https://x.com/WarmongerHodges/status/1440716895355764743",
        "1440716895355764743",
        None,
        None,  # a keyword search: the pipeline's matcher decides the brand
    )
    assert row[9].startswith("The same Labour MPs that were happy to cite party members")
    assert langs == {"en": 92, "de": 4, "es": 1, "-": 3}  # X's "und" is no language
    assert replies == 10


def test_brexit_fields_match_the_recording_post_by_post() -> None:
    body = _twarc_body("brexit.jsonl")
    records, skipped = map_response(body)
    users = {user["id"]: user for user in body["includes"]["users"]}
    assert (len(records), skipped) == (100, ())
    for post, record in zip(body["data"], records, strict=True):
        user = users[post["author_id"]]
        metrics = post["public_metrics"]
        replied = [ref["id"] for ref in post.get("referenced_tweets", []) if ref["type"] == "replied_to"]
        assert record.external_id == post["id"] and record.author.platform_id == post["author_id"]
        assert record.author.handle == user["username"]
        assert record.author.reach == user["public_metrics"]["followers_count"]
        assert record.created_at == parse_datetime(post["created_at"])
        assert record.engagement == {
            "likes": metrics["like_count"],
            "shares": metrics["retweet_count"],
            "replies": metrics["reply_count"],
            "quotes": metrics["quote_count"],
        }
        assert record.in_reply_to == (replied[0] if replied else None)
        assert record.thread_id == post["conversation_id"]
        assert record.text == post["text"]
        # the id's own time agrees with created_at to the second (the fallback when X leaves it out)
        assert snowflake_time(post["id"]).replace(microsecond=0) == record.created_at
    retweet = next(r for r in records if r.external_id == "1440716744314679308")
    assert (retweet.author.handle, retweet.engagement["shares"]) == ("sheeza_blade", 53)
    assert retweet.text.startswith("RT @BartmannTim: Today I attempted to purchase pasta")
    assert retweet.raw is not None and retweet.raw["includes"]["users"][0]["username"] == "sheeza_blade"
    assert map_tweet(retweet.raw, {u["id"]: u for u in retweet.raw["includes"]["users"]}) == retweet


def test_other_recorded_bodies_map_with_exact_values() -> None:
    (search_all,), _ = map_response(_twarc_body("two_tweets.jsonl"))
    assert (search_all.external_id, search_all.author.handle, search_all.author.reach) == (
        "1394735776701816833",
        "LachiVeronica",
        0,
    )
    assert search_all.created_at == datetime(2021, 5, 18, 19, 24, 56, tzinfo=UTC)
    assert search_all.engagement == {"likes": 0, "shares": 1, "replies": 0, "quotes": 0}

    (lookup,), _ = map_response(_twarc_body("mentions_tweet.jsonl"))
    assert (lookup.external_id, lookup.author.handle, lookup.author.reach, lookup.lang) == (
        "1589681856941002753",
        "BaldManGamer",
        569,
        "en",
    )

    docs = json.loads(
        shared_path("fixtures", "twitter", "search_tweets_query.json").read_text(encoding="utf-8")
    )
    records, skipped = map_response(docs)
    assert skipped == ()
    assert [(r.external_id, r.author.handle, r.in_reply_to, r.lang) for r in records] == [
        ("1276035977375477760", "happycamper", "1275653067283759104", "en"),
        ("1275882613572583424", "snowman", "1273733248749690880", "en"),
        ("1275763727908798470", "jellybeanjones", "1275653067283759104", None),
        ("1275653067283759104", "snowman", "1274086728471461889", "en"),
    ]
    # the docs sample asks for no public_metrics: no reach, no engagement, rather than zeros
    assert all(
        r.author.reach is None and r.author.reach_kind == "none" and r.engagement == {} for r in records
    )

    # the docs' mentions sample asks for no author_id: every post is unusable and says why
    timeline = json.loads(
        shared_path("fixtures", "twitter", "timeline_mentions.json").read_text(encoding="utf-8")
    )
    records, skipped = map_response(timeline)
    assert records == [] and len(skipped) == 5 and "'author_id'" in skipped[0]


def _subset_of_recorded_query(ours: Any, recorded: Any) -> None:
    """Every parameter the cassette's request had, ours has too (ours adds fields and expansions)."""
    missing = set(recorded.query) - set(ours.query)
    assert not missing, f"request lacks {missing}"


def _replayer(**options: Any) -> vcr.VCR:
    replayer = vcr.VCR(record_mode="none", match_on=["method", "scheme", "host", "port", "path"], **options)
    replayer.register_matcher("recorded_query", _subset_of_recorded_query)
    return replayer


def test_recorded_search_cassette_replays_through_tweepy(engine: Engine) -> None:
    cassette = shared_path("fixtures", "twitter", "test_client_search_recent_tweets.decoded.yaml")
    replayer = _replayer()
    query = _search(engine, "Tweepy", "Tweepy")
    with replayer.use_cassette(
        str(cassette), match_on=["method", "scheme", "host", "port", "path", "recorded_query"]
    ) as played:
        result = collect(engine, _collector(max_pages=1, now=datetime(2022, 10, 7, 23, tzinfo=UTC)), query)
        assert played.play_count == 1
    # tweepy's own cassette asks for default fields only, so no post has the author_id wom needs
    assert (result.new, result.failed) == (0, 10)
    assert result.skipped[0] == "X post skipped: 'author_id' must be a numeric id string, got None"
    assert result.cursor == {
        "next_since_id": "1578516068309794817",
        "next_token": "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul",
    }


def test_recorded_user_lookup_and_mentions_cassettes_replay_through_tweepy(
    engine: Engine, tmp_path: Path
) -> None:
    users = yaml.safe_load(
        shared_path("fixtures", "twitter", "test_client_get_users.decoded.yaml").read_text()
    )
    mentions = yaml.safe_load(
        shared_path("fixtures", "twitter", "test_client_get_users_mentions.decoded.yaml").read_text()
    )
    both = tmp_path / "users_then_mentions.yaml"
    both.write_text(
        yaml.safe_dump({"interactions": users["interactions"] + mentions["interactions"], "version": 1})
    )
    seen: list[str] = []

    def note(request: Any) -> Any:
        seen.append(request.uri)
        return request

    query = _mentions(engine, "Twitter")
    with _replayer(before_record_request=note).use_cassette(str(both)) as played:
        result = collect(engine, _collector(max_pages=1, now=datetime(2022, 10, 7, 23, tzinfo=UTC)), query)
        assert played.play_count == 2
    ours = list(
        dict.fromkeys(uri for uri in seen if "user.fields" in uri)
    )  # vcrpy hooks a request per match try
    assert urlsplit(ours[0]).path == "/2/users/by"
    assert dict(parse_qsl(urlsplit(ours[0]).query)) == {"usernames": "Twitter", "user.fields": "username"}
    assert urlsplit(ours[1]).path == "/2/users/783214/mentions"  # the id the recorded lookup gave @Twitter
    assert dict(parse_qsl(urlsplit(ours[1]).query))["start_time"] == "2022-09-30T23:00:00Z"
    assert (result.new, result.failed) == (0, 10)
    assert result.cursor == {
        "user_id": "783214",
        "start_time": "2022-09-30T23:00:00Z",
        "next_since_id": "1578516295611748353",
        "next_token": "7140dibdnow9c7btw423i3sy3u5zupmkcpofxcsmxj48j",
    }


# --- walks and cursors -------------------------------------------------------------------------


def test_incremental_runs_read_each_post_once(engine: Engine, mocked: responses.RequestsMock) -> None:
    body = _twarc_body("brexit.jsonl")
    fake = FakeX(body)
    newest_thirty = fake.posts[:30]
    fake.posts = fake.posts[30:]
    _serve(mocked, fake)
    query = _search(engine)
    key = CursorKey("x", query.brand_id, "#brexit")

    first = collect(engine, _collector(), query)
    assert (first.pages, first.new, first.duplicate) == (3, 70, 0)
    assert load_cursor(engine, key) == {"since_id": fake.posts[0]["id"]}
    assert (
        "since_id" not in fake.requests[0]
        and fake.requests[1]["next_token"] == f"before:{fake.posts[29]['id']}"
    )

    assert collect(engine, _collector(), query).new == 0
    assert fake.requests[-1]["since_id"] == fake.posts[0]["id"]

    fake.posts = newest_thirty + fake.posts
    third = collect(engine, _collector(), query)
    assert (third.new, third.duplicate) == (30, 0)
    assert load_cursor(engine, key) == {"since_id": "1440716895355764743"}

    with engine.begin() as conn:  # a cursor from the future returns nothing and stays where it is
        conn.execute(
            sa.text("UPDATE collectorcursor SET cursor = :c"), {"c": json.dumps({"since_id": "9" * 19})}
        )
    assert collect(engine, _collector(), query).new == 0
    assert load_cursor(engine, key) == {"since_id": "9" * 19}


def test_max_pages_leaves_the_walk_for_the_next_run(engine: Engine, mocked: responses.RequestsMock) -> None:
    fake = FakeX(_twarc_body("brexit.jsonl"), page_size=20)
    _serve(mocked, fake)
    query = _search(engine)
    first = collect(engine, _collector(max_pages=2), query)
    assert first.new == 40
    assert first.cursor == {
        "next_since_id": "1440716895355764743",
        "next_token": f"before:{fake.posts[39]['id']}",
    }
    second = collect(engine, _collector(max_pages=2), query)
    third = collect(engine, _collector(max_pages=2), query)
    assert (second.new, third.new, third.duplicate) == (40, 20, 0)
    assert third.cursor == {"since_id": "1440716895355764743"}


def test_a_kill_between_fetch_and_commit_loses_and_repeats_nothing(
    engine: Engine, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeX(_twarc_body("brexit.jsonl"), page_size=40)
    _serve(mocked, fake)
    query = _search(engine)
    real_store = collector_base.store_page
    stores = {"n": 0}

    def dies_on_second_page(*args: Any, **kwargs: Any) -> Any:
        stores["n"] += 1
        if stores["n"] == 2:
            raise KeyboardInterrupt("killed after fetching page 2, before its commit")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(collector_base, "store_page", dies_on_second_page)
    with pytest.raises(KeyboardInterrupt):
        collect(engine, _collector(), query)
    key = CursorKey("x", query.brand_id, "#brexit")
    assert load_cursor(engine, key) == {
        "next_since_id": "1440716895355764743",
        "next_token": f"before:{fake.posts[39]['id']}",
    }
    monkeypatch.setattr(collector_base, "store_page", real_store)
    resumed = collect(engine, _collector(), query)
    assert (resumed.new, resumed.duplicate) == (60, 0)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(DISTINCT external_id), count(*) FROM mention")).one() == (
            100,
            100,
        )
    assert load_cursor(engine, key) == {"since_id": "1440716895355764743"}


def test_a_since_id_past_every_post_returns_nothing_and_keeps_the_cursor(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    # RELIABILITY I-5: a cursor beyond all data (since_id 2**63 - 1) reads nothing and never moves back
    fake = FakeX(_twarc_body("brexit.jsonl"))
    _serve(mocked, fake)
    query = _search(engine)
    key = CursorKey("x", query.brand_id, "#brexit")
    future = {"since_id": str(2**63 - 1)}
    with engine.begin() as conn:
        save_cursor(conn, key, future)
    result = collect(engine, _collector(), query)
    assert (result.new, result.duplicate) == (0, 0)
    assert fake.requests[0]["since_id"] == future["since_id"]
    assert load_cursor(engine, key) == future


def test_a_since_id_older_than_recent_search_allows_starts_a_fresh_walk(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    fake = FakeX(_twarc_body("brexit.jsonl"), page_size=100)
    _serve(mocked, fake)
    query = _search(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO collectorcursor (source, brand_id, query_key, cursor, updated_at) VALUES "
                "('x', :b, '#brexit', :c, :t)"
            ),
            {"b": query.brand_id, "c": json.dumps({"since_id": "1440713966649417731"}), "t": NOW},
        )
    result = collect(engine, _collector(now=NOW + timedelta(days=8)), query)
    assert "since_id" not in fake.requests[0] and result.new == 100


def test_an_expired_page_token_restarts_the_walk_from_since_id(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    fake = FakeX(_twarc_body("brexit.jsonl"), page_size=100)

    def refuses_old_tokens(request: Any) -> Any:
        if _query_params(request).get("next_token") == "expired":
            return (
                400,
                {},
                json.dumps({"errors": [{"message": "Invalid 'next_token'"}], "title": "Invalid Request"}),
            )
        return fake(request)

    _serve(mocked, refuses_old_tokens)
    query = _search(engine)
    cursor = {
        "since_id": "1440713966649417731",
        "next_since_id": "1440716000000000000",
        "next_token": "expired",
    }
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO collectorcursor (source, brand_id, query_key, cursor, updated_at) VALUES "
                "('x', :b, '#brexit', :c, :t)"
            ),
            {"b": query.brand_id, "c": json.dumps(cursor), "t": NOW},
        )
    result = collect(engine, _collector(max_pages=1), query)  # the refused token costs no page of the run
    assert result.new == 99 and result.cursor == {"since_id": "1440716895355764743"}
    assert fake.requests[-1]["since_id"] == "1440713966649417731"
    assert "next_token" not in fake.requests[-1]


def test_an_empty_page_with_a_next_token_ends_the_walk(mocked: responses.RequestsMock) -> None:
    _serve(mocked, _reply(200, {"meta": {"result_count": 0, "next_token": "loops"}}))
    pages = list(_collector().pages(BrandQuery(1, "Brexit", "#brexit", ("#brexit",)), {"since_id": OLDEST}))
    assert [(p.records, p.cursor) for p in pages] == [([], {"since_id": OLDEST})]
    assert len(mocked.calls) == 1


# --- rate limits and faults --------------------------------------------------------------------


def _fixture_reply(name: str) -> Callable[[Any], Any]:
    fixture = _synthetic(name)
    return _reply(fixture["status"], fixture["body"], fixture["headers"])


def test_a_window_429_backs_off_until_the_reset_header(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    _serve(mocked, _fixture_reply("rate_limit_window_synthetic.json"))
    with pytest.raises(RateLimitedError, match="rate limit reached on recent search") as caught:
        collect(engine, _collector(), _search(engine))
    assert caught.value.retry_at == datetime.fromtimestamp(1632330900, UTC)


def test_a_429_without_reset_header_backs_off_one_window(mocked: responses.RequestsMock) -> None:
    _serve(mocked, _reply(429, {"title": "Too Many Requests"}))
    with pytest.raises(RateLimitedError) as caught:
        list(_collector().pages(BrandQuery(1, "B", "#b", ("#b",)), {}))
    assert caught.value.retry_at == NOW + timedelta(minutes=15)


def test_the_monthly_usage_cap_backs_off_until_next_month(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    _serve(mocked, _fixture_reply("usage_cap_synthetic.json"))
    with pytest.raises(RateLimitedError, match="monthly post cap of this X app's plan is used up") as caught:
        collect(engine, _collector(), _search(engine))
    assert caught.value.retry_at == datetime(2021, 10, 1, tzinfo=UTC)


def test_a_used_up_window_stops_the_walk_after_storing_the_page(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    fake = FakeX(_twarc_body("brexit.jsonl"), page_size=50, remaining=0)
    _serve(mocked, fake)
    query = _search(engine)
    with pytest.raises(RateLimitedError, match="x-rate-limit-remaining 0") as caught:
        collect(engine, _collector(), query)
    assert caught.value.retry_at == datetime.fromtimestamp(1632330900, UTC) and len(fake.requests) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM mention")).scalar() == 50
    assert load_cursor(engine, CursorKey("x", query.brand_id, "#brexit"))["next_token"].startswith("before:")


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            401,
            {"title": "Unauthorized", "detail": "Unauthorized", "status": 401},
            CollectorError,
            "WOM_X_BEARER_TOKEN",
        ),
        (
            403,
            {
                "title": "Client Forbidden",
                "detail": "This request must be made using an approved developer account",
            },
            CollectorError,
            "not in your X API plan",
        ),
        (
            400,
            {"errors": [{"message": "There were errors processing your request"}]},
            CollectorError,
            "query",
        ),
        (404, {"title": "Not Found Error"}, CollectorError, "base_url"),
        (500, {"title": "Internal Server Error"}, TransientError, "HTTP 500"),
        (503, "<html><body>Over capacity</body></html>", TransientError, "HTTP 503"),
        (502, [], TransientError, "unreadable error response"),
        (302, "", CollectorError, "redirect, which wom does not follow"),
        (200, "<!DOCTYPE html><html>maintenance</html>", TransientError, "not JSON"),
        (200, [{"id": "1"}], TransientError, "not an object"),
        (200, {"data": {"id": "1"}}, TransientError, "'data' is not a list"),
        (200, {"data": [], "includes": {"users": "x"}}, TransientError, "'includes.users'"),
        (200, {"data": [], "meta": "x"}, TransientError, "'meta'"),
    ],
)
def test_faults_name_the_problem_and_never_the_token(
    engine: Engine, mocked: responses.RequestsMock, status: int, body: Any, error: type, message: str
) -> None:
    headers = {"location": "http://169.254.169.254/latest"} if status == 302 else {}
    _serve(mocked, _reply(status, body, headers))
    query = _search(engine)
    with pytest.raises(error, match=message) as caught:
        collect(engine, _collector(), query)
    assert isinstance(caught.value, TransientError) == (error is TransientError)
    assert TOKEN not in str(caught.value)
    assert len(mocked.calls) == 1  # a redirect is not followed
    assert load_cursor(engine, CursorKey("x", query.brand_id, "#brexit")) == {}


def test_connection_errors_are_transient_and_logs_hold_no_token(
    mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.add(responses.GET, SEARCH_URL, body=requests.ConnectionError("connection reset by peer"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TransientError, match="ConnectionError"):
        list(_collector().pages(BrandQuery(1, "B", "#b", ("#b",)), {}))
    assert TOKEN not in caplog.text


def test_truncated_bodies_are_transient_and_store_nothing(mocked: responses.RequestsMock) -> None:
    text = json.dumps(_twarc_body("brexit.jsonl"))
    cuts = [len(text) * n // 12 for n in range(1, 12)]
    for cut in cuts:
        mocked.reset()
        _serve(mocked, _reply(200, text[:cut]))
        with pytest.raises(TransientError, match="not JSON"):
            list(_collector().pages(BrandQuery(1, "B", "#b", ("#b",)), {}))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": 1440716895355764743}, "1440716895355764743"),  # an int id is still the id
        ({"created_at": 7}, "the id's time"),  # a wrong type: the time in the id
        ({"created_at": "yesterday"}, "the id's time"),
        ({"lang": 5}, None),
        ({"public_metrics": "many"}, {}),
        (
            {
                "public_metrics": {
                    "like_count": "3",
                    "retweet_count": -1,
                    "reply_count": 2**70,
                    "quote_count": True,
                }
            },
            {},
        ),
        ({"referenced_tweets": "x", "conversation_id": 5}, (None, "1440716895355764743")),
        ({"note_tweet": {"text": "A long post, all of it"}}, "A long post, all of it"),
        ({"extra_field_from_a_new_api_version": {"a": 1}}, "ok"),
    ],
)
def test_odd_field_values_map_without_failing(change: dict[str, Any], expected: Any) -> None:
    body = _twarc_body("brexit.jsonl")
    post = body["data"][0] | change
    record = map_tweet(post, {u["id"]: u for u in body["includes"]["users"]})
    field = next(iter(change))
    actual = {
        "id": record.external_id,
        "created_at": record.created_at.isoformat(),
        "lang": record.lang,
        "public_metrics": record.engagement,
        "referenced_tweets": (record.in_reply_to, record.thread_id),
        "note_tweet": record.text,
    }.get(field, "ok")
    if expected == "the id's time":
        expected = snowflake_time("1440716895355764743").isoformat()
        assert expected.startswith("2021-09-22T16:37:29.")
    assert actual == expected


def test_unusable_posts_are_skipped_with_a_reason_and_the_rest_kept(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    body = _twarc_body("brexit.jsonl")
    body["data"][0] = body["data"][0] | {"id": ["1"]}
    body["data"][1] = body["data"][1] | {"author_id": {}}
    body["data"][2] = body["data"][2] | {"text": 5}
    body["data"][3] = body["data"][3] | {"text": "x" * 10_000_001}  # a 10 MB post
    body["data"][4] = "not an object"
    _serve(mocked, _reply(200, body))
    result = collect(engine, _collector(max_pages=1), _search(engine))
    assert (result.new, result.failed) == (95, 5)
    assert result.skipped == [
        "X post skipped: 'id' must be a numeric id string, got ['1']",
        "X post skipped: 'author_id' must be a numeric id string, got {}",
        f"X post skipped: X post {body['data'][2]['id']} has no text",
        f"X post skipped: X post {body['data'][3]['id']} has 10000001 characters of text; the limit is 50000",
        "X post is not an object: str",
    ]


def test_nul_bytes_lone_surrogates_and_bad_utf8_are_cleaned_and_stored(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    body = _twarc_body("brexit.jsonl")
    body["data"] = body["data"][:2]
    body["data"][0]["text"] = "Brexit\x00 again \ud800!"
    body["data"][1]["text"] = "Brexit and Labour"
    body["includes"]["users"] = [
        u | {"username": 5} if u["id"] == body["data"][1]["author_id"] else u
        for u in body["includes"]["users"]
    ]
    body["includes"]["users"][0]["public_metrics"]["followers_count"] = 2**70
    raw = json.dumps(body).encode().replace(b"and Labour", b"and Lab\xffour")  # invalid UTF-8
    mocked.add(responses.GET, SEARCH_URL, body=raw, status=200)
    result = collect(engine, _collector(max_pages=1), _search(engine))
    assert (result.new, result.failed) == (2, 0)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT text, text_sanitized, author_handle, url, reach FROM mention ORDER BY external_id DESC"
            )
        ).all()
    assert rows[0][:2] == ("Brexit again \ufffd!", True)
    assert rows[1][0] == "Brexit and Lab\ufffdour"
    # an author X sent without a usable username is kept under its id, with a link that needs no handle
    author_id = body["data"][1]["author_id"]
    assert rows[1][2:4] == (author_id, f"https://x.com/i/web/status/{body['data'][1]['id']}")


def test_huge_reach_is_dropped_not_stored() -> None:
    body = _twarc_body("brexit.jsonl")
    users = {u["id"]: copy.deepcopy(u) for u in body["includes"]["users"]}
    users["4203239195"]["public_metrics"]["followers_count"] = 2**70
    record = map_tweet(body["data"][0], users)
    assert (record.author.reach, record.author.reach_kind, record.author.handle) == (
        None,
        "none",
        "WarmongerHodges",
    )


# --- mentions stream ---------------------------------------------------------------------------


USERS_URL = "https://api.twitter.com/2/users/by"


def test_mentions_stream_looks_the_account_up_once_and_keeps_no_retweets(
    engine: Engine, mocked: responses.RequestsMock
) -> None:
    body = _twarc_body("brexit.jsonl")
    fake = FakeX(body, page_size=100)
    mocked.add(
        responses.GET, USERS_URL, json={"data": [{"id": "783214", "username": "Twitter", "name": "X"}]}
    )
    mocked.add_callback(responses.GET, "https://api.twitter.com/2/users/783214/mentions", callback=fake)
    query = _mentions(engine, "twitter")
    first = collect(engine, _collector(), query)
    retweets = sum(
        1 for post in body["data"] if any(r["type"] == "retweeted" for r in post.get("referenced_tweets", []))
    )
    assert (first.new, first.failed) == (100 - retweets, 0) == (33, 0)
    assert fake.requests[0]["start_time"] == "2021-09-15T17:00:00Z"
    assert first.cursor == {"user_id": "783214", "since_id": "1440716895355764743"}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT DISTINCT brand_hint FROM mention")).scalars().all() == ["Twitter"]

    second = collect(engine, _collector(), query)
    assert second.new == 0
    assert [c.request.url.split("?")[0] for c in mocked.calls].count(USERS_URL) == 1
    assert fake.requests[-1]["since_id"] == "1440716895355764743" and "start_time" not in fake.requests[-1]


def test_an_unknown_handle_names_the_config_to_fix(engine: Engine, mocked: responses.RequestsMock) -> None:
    errors = [
        {
            "value": "nosuchbrand",
            "detail": "Could not find user with usernames: [nosuchbrand].",
            "title": "Not Found Error",
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }
    ]
    mocked.add(responses.GET, USERS_URL, json={"errors": errors})
    with pytest.raises(
        CollectorError, match=r"no account @nosuchbrand .*\[brands.handles\] x of brand Twitter"
    ):
        collect(engine, _collector(), _mentions(engine, "nosuchbrand"))
    with pytest.raises(CollectorError, match="is not an X handle"):
        list(_collector().pages(BrandQuery(1, "B", "m", (), {"stream": "mentions", "handle": "no/pe"}), {}))


# --- queries, build, base URL ------------------------------------------------------------------


def _brand(**fields: Any) -> BrandSettings:
    return BrandSettings(name="Koffiekoning", **fields)


def test_streams_built_from_the_brand() -> None:
    brand = _brand(
        keywords=["Koffiekoning", 'koffie "koning"', "KOFFIEKONING"],  # the repeat is dropped
        hashtags=["koffiekoning"],
        handles={"x": "@KoffieKoning"},
    )
    streams = SPEC.queries(7, brand, XBrand())
    assert [(s.query_key, s.terms, dict(s.options)) for s in streams] == [
        (
            '("Koffiekoning" OR "koffie koning" OR #koffiekoning) -is:retweet',
            ('("Koffiekoning" OR "koffie koning" OR #koffiekoning) -is:retweet',),
            {"stream": "search"},
        ),
        ("mentions:@koffiekoning", (), {"stream": "mentions", "handle": "KoffieKoning"}),
    ]
    without_mentions = SPEC.queries(7, brand, XBrand(own_mentions=False))
    assert [s.terms for s in without_mentions] == [
        ('("Koffiekoning" OR "koffie koning" OR #koffiekoning OR @KoffieKoning) -is:retweet',)
    ]
    custom = SPEC.queries(7, brand, XBrand(query="koffiekoning lang:nl", own_mentions=False))
    assert [(s.query_key, s.terms) for s in custom] == [("koffiekoning lang:nl", ("koffiekoning lang:nl",))]


def test_long_term_lists_are_split_into_queries_under_512_characters() -> None:
    terms = [f'"brand keyword number {n:03d} with words"' for n in range(60)]
    queries = build_queries(terms)
    assert len(queries) > 1 and all(len(q) <= 512 for q in queries)
    assert all(q.endswith(" -is:retweet") for q in queries)
    assert [
        t for q in queries for t in q.removeprefix("(").removesuffix(") -is:retweet").split(" OR ")
    ] == terms
    streams = SPEC.queries(1, _brand(keywords=[t.strip('"') for t in terms]), XBrand())
    assert [s.terms[0] for s in streams] == queries and all(len(s.query_key) <= 300 for s in streams)
    assert len({s.query_key for s in streams}) == len(streams)


def _context(environ: dict[str, str], base_url: str = "", allow: tuple[str, ...] = ()) -> SourceContext:
    def resolver(host: str, port: int) -> list[str]:
        return [host] if host[0].isdigit() else ["104.244.42.1"]  # api.twitter.com's address, no DNS

    policy = OutboundPolicy.from_hosts(allow, resolver=resolver)
    return SourceContext(
        name="x",
        settings=XSource(base_url=base_url, max_pages=3),
        policy=policy,
        environ=environ,
        now=lambda: NOW,
    )


def test_a_missing_token_disables_the_source_naming_the_variable() -> None:
    with pytest.raises(MissingCredentialError) as caught:
        SPEC.build(_context({}))
    assert caught.value.variable == "WOM_X_BEARER_TOKEN" and "WOM_X_BEARER_TOKEN" in str(caught.value)
    assert SPEC.credentials == ("WOM_X_BEARER_TOKEN",)


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        if self.path.startswith("/elsewhere"):
            self.send_response(200)
            self.end_headers()
            return
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()
            return
        payload = json.dumps({"meta": {"result_count": 0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_request_goes_to_the_configured_base_url(local_server: str) -> None:
    with pytest.raises(BlockedURLError, match=r"127\.0\.0\.1"):
        SPEC.build(_context({"WOM_X_BEARER_TOKEN": TOKEN}, base_url=f"http://{local_server}/proxy"))

    collector = SPEC.build(
        _context({"WOM_X_BEARER_TOKEN": TOKEN}, f"http://{local_server}/proxy", (local_server,))
    )
    pages = list(collector.pages(BrandQuery(1, "B", "#b", ("#b",)), {}))
    assert [(p.records, p.cursor) for p in pages] == [([], {})]
    path, auth = _Recorder.seen[0]
    assert urlsplit(path).path == "/proxy/2/tweets/search/recent" and auth == f"Bearer {TOKEN}"

    moved = SPEC.build(
        _context({"WOM_X_BEARER_TOKEN": TOKEN}, f"http://{local_server}/moved", (local_server,))
    )
    with pytest.raises(CollectorError, match="redirect, which wom does not follow"):
        list(moved.pages(BrandQuery(1, "B", "#b", ("#b",)), {}))
    assert not any(path.startswith("/elsewhere") for path, _ in _Recorder.seen)
