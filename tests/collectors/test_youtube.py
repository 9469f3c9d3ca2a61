"""YouTube collector: the recorded Data API v3 bodies (python-youtube) replayed through httpx, quota and
error envelopes (the real keyInvalid / PERMISSION_DENIED ones, synthetic quotaExceeded and per-video
reasons), resumable walks and malformed pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
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
from monitor.collectors.options import YouTubeBrand, YouTubeSource
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.sources import SourceContext
from monitor.collectors.youtube import SPEC, YouTubeCollector
from monitor.collectors.youtube_api import next_quota_reset
from monitor.config import BrandSettings
from monitor.storage.models import Mention
from monitor.storage.tables import table_of
from tests.collectors.brands import brand_query
from tests.conftest import shared_path

KEY = "AIzaTESTKEY-not-a-real-key_0123456789"
OWN_CHANNEL = "UCa-vrCLQHviTOVnEKDOdetQ"
VIDEO = "F1UP7wRCPH8"
WATCHED = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
SYNTHETIC = Path(__file__).parent / "fixtures" / "youtube"
_MENTION = table_of(Mention)

Responder = Callable[[str, dict[str, str]], httpx.Response]


def _recorded(name: str) -> dict[str, Any]:
    return json.loads(shared_path("fixtures", "youtube", name).read_text(encoding="utf-8"))


def _synthetic(name: str) -> dict[str, Any]:
    return json.loads((SYNTHETIC / name).read_text(encoding="utf-8"))


def _empty() -> httpx.Response:
    return httpx.Response(200, json={"kind": "youtube#commentListResponse", "items": []})


class FakeYouTube:
    """Answers each API call with `responder(resource, params)` and keeps what was asked."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        resource = request.url.path.rsplit("/", 1)[-1]
        params = dict(request.url.params)
        self.urls.append(str(request.url))
        self.calls.append((resource, params))
        return self.responder(resource, params)

    def asked(self, resource: str) -> list[dict[str, str]]:
        return [params for name, params in self.calls if name == resource]


def _policy() -> OutboundPolicy:
    return OutboundPolicy.from_hosts(
        [], resolver=lambda host, port: [host] if host[0].isdigit() else ["142.250.1.1"]
    )


def _context(
    fake: FakeYouTube | Callable[[httpx.Request], httpx.Response],
    now: datetime,
    *,
    base_url: str = "",
    daily_quota: int = 10_000,
    environ: dict[str, str] | None = None,
) -> SourceContext:
    return SourceContext(
        name="youtube",
        settings=YouTubeSource(base_url=base_url, daily_quota=daily_quota),
        policy=_policy(),
        environ={"WOM_YOUTUBE_API_KEY": KEY} if environ is None else environ,
        now=lambda: now,
        transport=httpx.MockTransport(fake),
    )


def _collector(
    fake: FakeYouTube | Callable[[httpx.Request], httpx.Response], now: datetime, **kw: Any
) -> YouTubeCollector:
    collector = SPEC.build(_context(fake, now, **kw))
    assert isinstance(collector, YouTubeCollector)
    return collector


def _stream(engine: Engine, key: str, terms: tuple[str, ...] = ("Hello",)) -> BrandQuery:
    with engine.connect() as conn:
        brand_id = conn.execute(sa.text("SELECT id FROM brand WHERE name = 'Acme'")).scalar_one_or_none()
    if brand_id is None:
        brand_id = brand_query(engine, "Acme").brand_id
    return BrandQuery(int(brand_id), "Acme", key, terms)


def _rows(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_MENTION)).mappings().all()
    return {row["external_id"]: dict(row) for row in rows}


def _utc(row: dict[str, Any]) -> datetime:
    value: datetime = row["created_at"]
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _channel_replay(resource: str, params: dict[str, str]) -> httpx.Response:
    """The recorded all-threads page of a channel, its recorded replies page and the recorded channel."""
    if resource == "commentThreads":
        body = _recorded("comment_threads_all_to_me.json")
        # normalisation: the replies page was recorded after this page, when the thread had its 3 replies
        body["items"][1]["snippet"]["totalReplyCount"] = 3
        return httpx.Response(200, json=body)
    if resource == "comments":
        if params["parentId"] == "Ugw5zYU6n9pmIgAZWvN4AaABAg" and "pageToken" not in params:
            return httpx.Response(200, json=_recorded("comments_by_parent_paged_1.json"))
        return _empty()
    if resource == "channels":
        return httpx.Response(200, json=_recorded("channel_info_single.json"))
    return httpx.Response(404)


# --- conformance: recorded bodies ----------------------------------------------------------------

CONFORMANCE_NOW = datetime(2019, 12, 2, tzinfo=UTC)


def test_recorded_channel_threads_and_replies_map_exactly(engine: Engine) -> None:
    fake = FakeYouTube(_channel_replay)
    query = _stream(engine, f"channel:{OWN_CHANNEL}")
    result = collect(engine, _collector(fake, CONFORMANCE_NOW), query)
    assert (result.pages, result.new, result.failed) == (1, 6, 0)

    threads = fake.asked("commentThreads")[0]
    assert threads == {
        "part": "snippet,replies",
        "order": "time",
        "maxResults": "100",
        "textFormat": "plainText",
        "allThreadsRelatedToChannelId": OWN_CHANNEL,
        "key": KEY,
    }
    assert [p["parentId"] for p in fake.asked("comments")] == [
        "Ugw5zYU6n9pmIgAZWvN4AaABAg",
        "Ugw5zYU6n9pmIgAZWvN4AaABAg",
        "UgwSRpgkjCe6OHHe3IJ4AaABAg",
    ]
    assert fake.asked("comments")[1]["pageToken"].startswith("R0FJeVZnbzBJTl9zNXRxNXlPWUNN")
    assert fake.asked("channels")[0]["id"] == "UCNvMBmCASzTNNX8lW3JRMbw,UCupGECpPBlTnanhGHLe6GpA"

    rows = _rows(engine)
    top = rows["UgyWeTdgc4sc1xgmbld4AaABAg"]
    assert top["text"] == "Hope to go next time. yah!"
    assert (top["author_handle"], top["url"], top["thread_id"], top["in_reply_to"]) == (
        "kun liu",
        "https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc=UgyWeTdgc4sc1xgmbld4AaABAg",
        "JE8xdDp5B8Q",
        None,
    )
    assert _utc(top) == datetime(2019, 12, 1, 3, 36, 55, tzinfo=UTC)
    assert (top["engagement"], top["brand_hint"], top["lang"]) == ({"likes": 0, "replies": 0}, "Acme", None)
    assert (top["reach"], top["reach_kind"]) == (None, "none")  # the recorded channel is not this author
    assert rows["Ugw5zYU6n9pmIgAZWvN4AaABAg"]["engagement"] == {"likes": 1, "replies": 3}
    no_video = rows["UgwSRpgkjCe6OHHe3IJ4AaABAg"]
    assert (no_video["text"], no_video["author_handle"], no_video["url"], no_video["thread_id"]) == (
        "中午吃啥",
        "杨佳名",
        None,
        "UgwSRpgkjCe6OHHe3IJ4AaABAg",
    )
    reply = rows["Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh"]
    assert (reply["text"], reply["in_reply_to"], reply["thread_id"], reply["engagement"]) == (
        "this is the third reply!",
        "Ugw5zYU6n9pmIgAZWvN4AaABAg",
        "JE8xdDp5B8Q",
        {"likes": 0},
    )
    assert (
        reply["url"]
        == "https://www.youtube.com/watch?v=JE8xdDp5B8Q&lc=Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za6voUoRh"
    )
    assert _utc(reply) == datetime(2019, 12, 1, 4, 46, 31, tzinfo=UTC)
    assert "Ugw5zYU6n9pmIgAZWvN4AaABAg.91zT3cYb5B291za5eJxzs1" in rows

    cursor = load_cursor(engine, CursorKey("youtube", query.brand_id, query.query_key))
    assert cursor == {
        "watermarks": {"threads": "2019-12-01T03:36:55+00:00"},
        "quota": {"day": "2019-12-01", "used": 5},  # 1 threads + 3 replies pages + 1 channels
    }
    assert KEY not in json.dumps(cursor)


def test_recorded_video_page_keeps_plain_text_and_counts(engine: Engine) -> None:
    def replay(resource: str, params: dict[str, str]) -> httpx.Response:
        if resource == "commentThreads":
            assert params["videoId"] == VIDEO
            return httpx.Response(200, json=_recorded("comment_threads_by_video_paged_2.json"))
        return _empty() if resource == "comments" else httpx.Response(200, json={"items": []})

    result = collect(
        engine, _collector(FakeYouTube(replay), CONFORMANCE_NOW), _stream(engine, f"video:{VIDEO}")
    )
    assert (result.new, result.failed) == (5, 0)
    rows = _rows(engine)
    assert rows["UgyZ1jqkHKYvi1-ruOZ4AaABAg"]["text"] == "Google.com"
    assert rows["UgyKv8ziPYFJDGytM_J4AaABAg"]["text"] == (
        "All account on Android store for data show the Google and YouTube video Android computer system "
        "fordata show\n        settings displayed"
    )
    assert rows["UgwI_ylXVnzPS8Q-oAV4AaABAg"]["text"].startswith(
        "Lot's of good light coming in from here #ChromeDevSummit"
    )
    assert rows["UgysQP-vp089eFP0Stl4AaABAg"]["engagement"] == {"likes": 4, "replies": 0}
    assert rows["UgwI_ylXVnzPS8Q-oAV4AaABAg"]["engagement"] == {"likes": 0, "replies": 2}
    assert {row["brand_hint"] for row in rows.values()} == {"Acme"}
    assert {row["thread_id"] for row in rows.values()} == {VIDEO}


def test_recorded_channel_statistics_give_subscriber_reach(engine: Engine) -> None:
    def replay(resource: str, params: dict[str, str]) -> httpx.Response:
        if resource == "commentThreads":
            body = _recorded("comment_threads_with_search.json")
            # normalisation: the comment's author is the recorded channel, so its statistics apply
            body["items"][0]["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]["value"] = WATCHED
            return httpx.Response(200, json=body)
        if resource == "channels":
            assert params == {"part": "statistics", "id": WATCHED, "maxResults": "50", "key": KEY}
            return httpx.Response(200, json=_recorded("channel_info_single.json"))
        return _empty()

    collect(
        engine,
        _collector(FakeYouTube(replay), datetime(2019, 6, 30, tzinfo=UTC)),
        _stream(engine, "video:abc"),
    )
    row = _rows(engine)["UgyUBI0HsgL9emxcZpR4AaABAg"]
    assert (row["reach"], row["reach_kind"], row["author_handle"], row["text"]) == (
        1927873,
        "subscribers",
        "DevRagz",
        "Hello",
    )
    assert row["url"] == "https://www.youtube.com/watch?v=abc&lc=UgyUBI0HsgL9emxcZpR4AaABAg"


def test_watched_channel_searches_recent_uploads_and_skips_disabled_comments(engine: Engine) -> None:
    def replay(resource: str, params: dict[str, str]) -> httpx.Response:
        if resource == "playlistItems":
            return httpx.Response(200, json=_synthetic("playlist_items_synthetic.json"))
        if resource == "commentThreads" and params["videoId"] == "vidNoComm02":
            return httpx.Response(403, json=_synthetic("comments_disabled_synthetic.json"))
        if resource == "commentThreads":
            return httpx.Response(200, json=_recorded("comment_threads_with_search.json"))
        return httpx.Response(200, json={"items": []})

    now = datetime(2019, 6, 30, tzinfo=UTC)
    fake = FakeYouTube(replay)
    query = _stream(engine, f"watch:{WATCHED}", ("Hello", "Acme"))
    result = collect(engine, _collector(fake, now), query)
    assert fake.asked("playlistItems")[0]["playlistId"] == "UU_x5XG1OV2P6uZZ5FSM9Ttw"
    assert [(p["videoId"], p["searchTerms"]) for p in fake.asked("commentThreads")] == [
        ("vidRecent01", "Hello"),
        ("vidRecent01", "Acme"),
        ("vidNoComm02", "Hello"),
    ]
    assert (result.new, result.duplicate, result.failed) == (1, 1, 0)
    row = _rows(engine)["UgyUBI0HsgL9emxcZpR4AaABAg"]
    assert (row["brand_hint"], row["thread_id"]) == (None, "vidRecent01")
    cursor = load_cursor(engine, CursorKey("youtube", query.brand_id, query.query_key))
    assert cursor["skip_videos"] == {
        "vidNoComm02": {"reason": "commentsDisabled", "until": "2019-07-07T00:00:00+00:00"}
    }
    assert set(cursor["watermarks"]) == {"vidRecent01/Hello", "vidRecent01/Acme"}

    again = FakeYouTube(replay)
    second = collect(engine, _collector(again, now + timedelta(hours=1)), query)
    assert second.new == 0
    assert [p["videoId"] for p in again.asked("commentThreads")] == ["vidRecent01", "vidRecent01"]


# --- errors ----------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles (PST, UTC-8)
PACIFIC_MIDNIGHT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _answer(status: int, body: Any) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes | str):
            return httpx.Response(status, content=body.encode() if isinstance(body, str) else body)
        return httpx.Response(status, json=body)

    return handler


def test_next_quota_reset_is_midnight_pacific() -> None:
    assert next_quota_reset(NOW) == PACIFIC_MIDNIGHT
    assert next_quota_reset(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "body", "retry_at"),
    [
        (403, "quota_exceeded_synthetic.json", PACIFIC_MIDNIGHT),
        (403, "rate_limit_exceeded_synthetic.json", NOW + timedelta(minutes=15)),
        (
            429,
            {"error": {"code": 429, "errors": [{"reason": "userRateLimitExceeded"}]}},
            NOW + timedelta(minutes=15),
        ),
        (429, "", NOW + timedelta(minutes=15)),
    ],
)
def test_quota_and_rate_limits_say_when_to_come_back(
    engine: Engine, status: int, body: Any, retry_at: datetime
) -> None:
    if isinstance(body, str) and body.endswith(".json"):
        body = _synthetic(body)
    with pytest.raises(RateLimitedError) as raised:
        collect(engine, _collector(_answer(status, body), NOW), _stream(engine, f"channel:{OWN_CHANNEL}"))
    assert raised.value.retry_at == retry_at
    assert KEY not in str(raised.value)


@pytest.mark.parametrize("fixture", ["error_response.json", "error_permission_resp.json"])
def test_recorded_key_errors_name_the_variable(engine: Engine, fixture: str) -> None:
    body = _recorded(fixture)
    with pytest.raises(CollectorError, match="WOM_YOUTUBE_API_KEY") as raised:
        collect(
            engine,
            _collector(_answer(body["error"]["code"], body), NOW),
            _stream(engine, f"channel:{OWN_CHANNEL}"),
        )
    assert type(raised.value) is CollectorError
    assert body["error"]["errors"][0]["reason"] in str(raised.value)
    assert KEY not in str(raised.value)


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (500, {"error": {"code": 500, "message": "Backend Error"}}, TransientError, "HTTP 500"),
        (503, "<html>unavailable</html>", TransientError, "HTTP 503"),
        (200, "<!DOCTYPE html><html><body>Sorry</body></html>", TransientError, "not JSON"),
        (200, '{"kind": "youtube#commentThreadListResponse", "items": [', TransientError, "not JSON"),
        (200, "[1, 2]", TransientError, "not an object"),
        (200, {"kind": "youtube#commentThreadListResponse"}, TransientError, "no 'items' list"),
        (
            404,
            {"error": {"code": 404, "errors": [{"reason": "channelNotFound"}]}},
            CollectorError,
            "check the ids",
        ),
        (
            400,
            {"error": {"code": 400, "errors": [{"reason": "invalidParameter"}]}},
            CollectorError,
            "invalidParameter",
        ),
    ],
)
def test_faults_are_typed_and_store_nothing(
    engine: Engine, status: int, body: Any, error: type[Exception], message: str
) -> None:
    query = _stream(engine, f"channel:{OWN_CHANNEL}")
    with pytest.raises(error, match=message) as raised:
        collect(engine, _collector(_answer(status, body), NOW), query)
    assert isinstance(raised.value, error) and (
        error is TransientError or not isinstance(raised.value, TransientError)
    )
    assert load_cursor(engine, CursorKey("youtube", query.brand_id, query.query_key)) == {}


def test_the_key_never_reaches_a_message(engine: Engine) -> None:
    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    with pytest.raises(TransientError, match="ConnectError") as raised:
        collect(engine, _collector(leaky, NOW), _stream(engine, f"channel:{OWN_CHANNEL}"))
    assert KEY not in str(raised.value) and "key=***" in str(raised.value)


def test_a_missing_video_is_skipped_and_not_asked_again_for_a_week(engine: Engine) -> None:
    fake = FakeYouTube(
        lambda resource, params: httpx.Response(404, json=_synthetic("video_not_found_synthetic.json"))
    )
    query = _stream(engine, "video:gone0000001")
    result = collect(engine, _collector(fake, NOW), query)
    assert (result.pages, result.new, result.failed) == (1, 0, 0)
    cursor = load_cursor(engine, CursorKey("youtube", query.brand_id, query.query_key))
    assert cursor["skip_videos"]["gone0000001"]["reason"] == "videoNotFound"
    assert collect(engine, _collector(fake, NOW + timedelta(days=6)), query).pages == 0
    assert len(fake.calls) == 1
    collect(engine, _collector(fake, NOW + timedelta(days=8)), query)
    assert len(fake.calls) == 2


# --- quota accounting ----------------------------------------------------------------------------


def _thread(
    thread_id: str, published: str, text: str = "Acme rocks", author: str = "UCauthor000001"
) -> dict[str, Any]:
    return {
        "kind": "youtube#commentThread",
        "id": thread_id,
        "snippet": {
            "videoId": "vid0000001",
            "totalReplyCount": 0,
            "topLevelComment": {
                "kind": "youtube#comment",
                "id": thread_id,
                "snippet": {
                    "authorDisplayName": "@fan",
                    "authorChannelId": {"value": author},
                    "textDisplay": text,
                    "textOriginal": text,
                    "likeCount": 2,
                    "publishedAt": published,
                    "updatedAt": published,
                },
            },
        },
    }


def _paged(pages: list[list[dict[str, Any]]]) -> Responder:
    """commentThreads answered from `pages` by pageToken ("p1", "p2", ...); empty channels."""

    def respond(resource: str, params: dict[str, str]) -> httpx.Response:
        if resource != "commentThreads":
            return httpx.Response(200, json={"items": []})
        index = int(params.get("pageToken", "p0")[1:])
        body: dict[str, Any] = {"items": pages[index]}
        if index + 1 < len(pages):
            body["nextPageToken"] = f"p{index + 1}"
        return httpx.Response(200, json=body)

    return respond


def test_the_daily_quota_stops_the_source_until_midnight_pacific(engine: Engine) -> None:
    pages = [
        [_thread("t3", "2026-11-21T10:00:00Z")],
        [_thread("t2", "2026-11-21T09:00:00Z")],
        [_thread("t1", "2026-11-21T08:00:00Z")],
    ]
    query = _stream(engine, "video:vid0000001")
    fake = FakeYouTube(_paged(pages))
    with pytest.raises(RateLimitedError, match="3 of 3 units") as raised:
        collect(engine, _collector(fake, NOW, daily_quota=3), query)
    assert raised.value.retry_at == PACIFIC_MIDNIGHT
    # page 1 and its channels call spent 2 units, page 2 the third (its author's reach was cached)
    assert set(_rows(engine)) == {"t3", "t2"}
    key = CursorKey("youtube", query.brand_id, query.query_key)
    assert load_cursor(engine, key)["quota"] == {"day": "2026-11-21", "used": 3}

    # a fresh process reads the count from the cursor and does not ask YouTube at all once it is spent
    restarted = FakeYouTube(_paged(pages))
    with pytest.raises(RateLimitedError):
        collect(engine, _collector(restarted, NOW, daily_quota=3), query)
    assert restarted.calls == []

    tomorrow = collect(
        engine, _collector(restarted, PACIFIC_MIDNIGHT + timedelta(minutes=1), daily_quota=10), query
    )
    assert tomorrow.new == 1 and set(_rows(engine)) == {"t1", "t2", "t3"}
    assert load_cursor(engine, key)["quota"] == {"day": "2026-11-22", "used": 2}


# --- incremental -----------------------------------------------------------------------------------


def test_second_run_adds_nothing_and_a_future_cursor_returns_nothing(engine: Engine) -> None:
    pages = [[_thread("t2", "2026-11-21T09:00:00Z"), _thread("t1", "2026-11-21T08:00:00Z")]]
    query = _stream(engine, "video:vid0000001")
    assert collect(engine, _collector(FakeYouTube(_paged(pages)), NOW), query).new == 2
    second = collect(engine, _collector(FakeYouTube(_paged(pages)), NOW), query)
    assert (second.read, second.new) == (0, 0)

    future = _stream(engine, "video:vid0000002")
    with engine.begin() as conn:
        save_cursor(
            conn,
            CursorKey("youtube", future.brand_id, future.query_key),
            {"watermarks": {"threads": "2100-01-01T00:00:00+00:00"}},
        )
    assert collect(engine, _collector(FakeYouTube(_paged(pages)), NOW), future).read == 0


def test_a_walk_stops_at_the_watermark_and_keeps_it_until_the_end(engine: Engine) -> None:
    query = _stream(engine, "video:vid0000001")
    key = CursorKey("youtube", query.brand_id, query.query_key)
    with engine.begin() as conn:
        save_cursor(conn, key, {"watermarks": {"threads": "2026-11-21T07:30:00+00:00"}})
    pages = [
        [_thread("t5", "2026-11-21T11:00:00Z"), _thread("t4", "2026-11-21T10:00:00Z")],
        [_thread("t3", "2026-11-21T09:00:00Z"), _thread("t2", "2026-11-21T08:00:00Z")],
        [_thread("t1", "2026-11-21T07:00:00Z"), _thread("t0", "2026-11-21T06:00:00Z")],
        [_thread("never", "2026-11-21T05:00:00Z")],
    ]
    fake = FakeYouTube(_paged(pages))
    real_store = collector_base.store_page
    stored: list[dict[str, Any]] = []

    def store_then_die(engine_: Engine, records: Any, key_: Any, cursor: Any) -> Any:
        if stored:
            raise KeyboardInterrupt("killed between fetch and commit of page 2")
        stored.append(dict(cursor))
        return real_store(engine_, records, key_, cursor)

    collector_base.store_page = store_then_die  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            collect(engine, _collector(fake, NOW), query)
    finally:
        collector_base.store_page = real_store
    mid = load_cursor(engine, key)
    assert mid["watermarks"] == {"threads": "2026-11-21T07:30:00+00:00"}
    assert mid["walk"] == {"listing": "threads", "page_token": "p1", "newest": "2026-11-21T11:00:00+00:00"}
    assert set(_rows(engine)) == {"t5", "t4"}

    resumed = FakeYouTube(_paged(pages))
    result = collect(engine, _collector(resumed, NOW), query)
    assert [p.get("pageToken") for p in resumed.asked("commentThreads")] == ["p1", "p2"]
    assert (result.new, result.duplicate) == (2, 0)
    assert set(_rows(engine)) == {"t5", "t4", "t3", "t2"}  # t1 and older were at or below the watermark
    assert load_cursor(engine, key)["watermarks"] == {"threads": "2026-11-21T11:00:00+00:00"}
    assert "walk" not in load_cursor(engine, key)


def test_a_refused_page_token_restarts_the_walk(engine: Engine) -> None:
    query = _stream(engine, "video:vid0000001")
    key = CursorKey("youtube", query.brand_id, query.query_key)
    with engine.begin() as conn:
        save_cursor(
            conn,
            key,
            {
                "watermarks": {"threads": "2026-11-21T07:30:00+00:00"},
                "walk": {"listing": "threads", "page_token": "stale", "newest": "2026-11-21T07:45:00+00:00"},
            },
        )
    pages = [[_thread("t1", "2026-11-21T08:00:00Z"), _thread("t0", "2026-11-21T07:00:00Z")]]

    def respond(resource: str, params: dict[str, str]) -> httpx.Response:
        if params.get("pageToken") == "stale":
            return httpx.Response(
                400, json={"error": {"code": 400, "errors": [{"reason": "invalidPageToken"}]}}
            )
        return _paged(pages)(resource, params)

    assert collect(engine, _collector(FakeYouTube(respond), NOW), query).new == 1
    assert load_cursor(engine, key)["watermarks"] == {"threads": "2026-11-21T08:00:00+00:00"}


# --- malformed payloads ----------------------------------------------------------------------------


def test_odd_items_are_skipped_or_cleaned_and_the_rest_kept(engine: Engine) -> None:
    good = _thread("ok1", "2026-11-21T09:00:00Z", text="Acme\x00 is great \ud800")
    huge = _thread("huge", "2026-11-21T09:30:00Z")
    huge["snippet"]["topLevelComment"]["snippet"]["likeCount"] = 10**30
    huge["snippet"]["totalReplyCount"] = "lots"
    items: list[Any] = [
        good,
        huge,
        "not an object",
        {"id": "x", "snippet": {}},
        _thread("bad-time", "yesterday"),
        {**_thread("no-text", "2026-11-21T09:00:00Z")},
    ]
    del items[-1]["snippet"]["topLevelComment"]["snippet"]["textOriginal"]
    del items[-1]["snippet"]["topLevelComment"]["snippet"]["textDisplay"]

    def respond(resource: str, params: dict[str, str]) -> httpx.Response:
        body = {"items": items if resource == "commentThreads" else []}
        return httpx.Response(200, content=json.dumps(body).encode())  # escapes the lone surrogate

    fake = FakeYouTube(respond)
    result = collect(engine, _collector(fake, NOW), _stream(engine, "video:vid0000001"))
    assert (result.new, result.failed) == (2, 4)
    assert any("publishedAt" in reason for reason in result.skipped)
    assert any("has no text" in reason for reason in result.skipped)
    rows = _rows(engine)
    assert rows["ok1"]["text"] == "Acme is great \ufffd" and rows["ok1"]["text_sanitized"] is True
    assert rows["huge"]["engagement"] == {}
    assert rows["huge"]["raw"]["snippet"]["topLevelComment"]["snippet"]["likeCount"] == str(10**30)


def test_truncated_recordings_are_transient_faults(engine: Engine) -> None:
    text = shared_path("fixtures", "youtube", "comment_threads_all_to_me.json").read_text(encoding="utf-8")
    query = _stream(engine, f"channel:{OWN_CHANNEL}")
    step = len(text) // 50
    for offset in range(1, len(text) - 1, step):
        with pytest.raises(TransientError):
            collect(engine, _collector(_answer(200, text[:offset]), CONFORMANCE_NOW), query)
    assert _rows(engine) == {}


def test_an_empty_page_with_a_looping_token_ends_the_walk(engine: Engine) -> None:
    fake = FakeYouTube(
        lambda resource, params: httpx.Response(200, json={"items": [], "nextPageToken": "same"})
    )
    result = collect(engine, _collector(fake, NOW), _stream(engine, "video:vid0000001"))
    assert (result.pages, len(fake.asked("commentThreads"))) == (1, 1)


# --- configuration -------------------------------------------------------------------------------


def test_a_missing_key_disables_the_source() -> None:
    with pytest.raises(MissingCredentialError, match="WOM_YOUTUBE_API_KEY"):
        SPEC.build(_context(_answer(200, {}), NOW, environ={}))
    assert SPEC.credentials == ("WOM_YOUTUBE_API_KEY",)


def test_the_base_url_is_honoured_and_a_private_one_refused(engine: Engine) -> None:
    fake = FakeYouTube(_paged([[_thread("t1", "2026-11-21T09:00:00Z")]]))
    collect(
        engine,
        _collector(fake, NOW, base_url="https://yt-proxy.example/v3"),
        _stream(engine, "video:vid0000001"),
    )
    assert all(url.startswith("https://yt-proxy.example/v3/") for url in fake.urls)
    assert {url.split("?")[0].rsplit("/", 1)[1] for url in fake.urls} == {"commentThreads", "channels"}
    with pytest.raises(BlockedURLError, match="allow_private_hosts"):
        SPEC.build(_context(fake, NOW, base_url="http://10.0.0.1:8080/youtube/v3"))
    default = FakeYouTube(_paged([[]]))
    collect(engine, _collector(default, NOW), _stream(engine, "video:vid0000003"))
    assert default.urls[0].startswith("https://www.googleapis.com/youtube/v3/commentThreads?")


def test_streams_per_brand() -> None:
    brand = BrandSettings(name="Acme", keywords=["Acme", "Acme app"])
    options = YouTubeBrand(
        channel_ids=["UCown0000001"], video_ids=["vid1", "vid1"], watch_channel_ids=["UCother00001"]
    )
    queries = SPEC.queries(3, brand, options)
    assert [(q.query_key, q.terms) for q in queries] == [
        ("channel:UCown0000001", ("Acme", "Acme app")),
        ("video:vid1", ("Acme", "Acme app")),
        ("watch:UCother00001", ("Acme", "Acme app")),
    ]
    handles_only = BrandSettings(name="Acme", handles={"x": ["acme"]})
    assert [q.query_key for q in SPEC.queries(3, handles_only, options)] == [
        "channel:UCown0000001",
        "video:vid1",
    ]
