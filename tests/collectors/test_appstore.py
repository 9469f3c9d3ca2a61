"""App Store collector: the real recorded feed page replayed through httpx, plus synthetic pages for paging."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.collectors import appstore
from monitor.collectors.appstore import AppStoreCollector, map_entry
from monitor.collectors.base import BrandQuery, CollectorError, RateLimitedError, TransientError, collect
from monitor.collectors.cursors import CursorKey, load_cursor
from monitor.collectors.http import SafeHttp
from monitor.collectors.options import AppStoreBrand, AppStoreSource
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.sources import SourceContext
from monitor.config import BrandSettings
from tests.collectors.brands import brand_query
from tests.collectors.kill import Killed, kill_second_store
from tests.conftest import shared_path

FIXTURE = Path(__file__).parent / "fixtures" / "appstore" / "customerreviews_synthetic.json"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
PUBLIC = ["17.253.144.10"]


def _synthetic() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _recorded() -> dict[str, Any]:
    return json.loads(
        shared_path("fixtures", "appstore", "itunes_rss_reviews.json").read_text(encoding="utf-8")
    )


def _query(engine: Engine, app_id: str = "1500000001", country: str = "nl") -> BrandQuery:
    stored = brand_query(engine, "Koffiekoning")
    return BrandQuery(
        stored.brand_id, "Koffiekoning", f"{app_id}:{country}", options={"app_id": app_id, "country": country}
    )


def _collector(handler: Callable[[httpx.Request], httpx.Response]) -> AppStoreCollector:
    policy = OutboundPolicy.from_hosts([], resolver=lambda host, port: PUBLIC)
    return AppStoreCollector(SafeHttp(policy, transport=httpx.MockTransport(handler)), now=lambda: NOW)


def _feed(entries: list[Any]) -> dict[str, Any]:
    feed: dict[str, Any] = {"title": {"label": "iTunes Store: Customer Reviews"}}
    if len(entries) == 1:
        feed["entry"] = entries[0]  # Apple's quirk: one review is an object, not a list
    elif entries:
        feed["entry"] = entries
    return {"feed": feed}


def _paged(pages: list[list[Any]], seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.path.split("/page=")[1].split("/")[0])
        # json.dumps escapes the lone surrogate of the synthetic page as Apple would (\ud800)
        body = json.dumps(_feed(pages[page - 1] if page <= len(pages) else []))
        return httpx.Response(200, content=body.encode(), headers={"Content-Type": "text/javascript"})

    return handler


def _mention_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT count(*) FROM mention WHERE source = 'appstore'")).scalar_one()
        )


def test_mapping_of_synthetic_reviews() -> None:
    entries = _synthetic()["feed"]["entry"][1:]
    newest, sanitized, _, oldest = (
        map_entry(e, app_id="1500000001", country="nl", brand="Koffiekoning") for e in entries
    )
    assert newest.external_id == "nl:11000000004"
    assert newest.text == "Bestelling kwijt\nDe app crasht bij het afrekenen en mijn bestelling is weg."
    assert newest.created_at == datetime(2026, 11, 20, 9, 5, tzinfo=UTC)
    assert (newest.rating, newest.engagement, newest.lang, newest.brand) == (
        1,
        {"helpful": 3},
        None,
        "Koffiekoning",
    )
    assert (newest.author.handle, newest.author.platform_id, newest.author.reach_kind) == (
        "bonenboer",
        "900000004",
        "none",
    )
    assert newest.url == "https://apps.apple.com/nl/app/id1500000001?see-all=reviews"
    assert newest.raw is not None and newest.raw["im:voteCount"] == {"label": "4"}
    assert (
        sanitized.text == "Top app\nSnel bezorgd, lekkere bonen \ufffd echt waar."
        and sanitized.text_sanitized
    )
    assert sanitized.created_at == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert oldest.created_at == datetime(2026, 11, 18, 19, 0, tzinfo=UTC)


def test_recorded_feed_page_conformance(engine: Engine) -> None:
    recorded = _recorded()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "/page=1/" in request.url.path:
            return httpx.Response(200, json=recorded)
        return httpx.Response(200, json={"feed": {"title": {"label": "iTunes Store: Customer Reviews"}}})

    query = _query(engine, "284815942", "us")
    result = collect(engine, _collector(handler), query)
    assert (result.pages, result.read, result.new, result.failed) == (2, 50, 50, 0)
    assert [r.url.path for r in seen] == [
        "/us/rss/customerreviews/page=1/id=284815942/sortby=mostrecent/json",
        "/us/rss/customerreviews/page=2/id=284815942/sortby=mostrecent/json",
    ]
    assert result.cursor == {"watermark": 8732208963}
    records = [map_entry(e, app_id="284815942", country="us") for e in recorded["feed"]["entry"]]
    first, second, last = records[0], records[1], records[49]
    assert (first.external_id, first.author.handle, first.author.platform_id) == (
        "us:8044879566",
        "Lantana, FL",
        "524855897",
    )
    assert first.created_at == datetime(2021, 11, 20, 17, 25, 34, tzinfo=UTC)
    assert (first.rating, first.engagement) == (4, {"helpful": 263})
    assert first.raw is not None and first.raw["im:voteCount"]["label"] == "581"
    assert first.text.startswith("Usually interesting reading but\nA huge bug is that when I click")
    assert (second.external_id, second.author.platform_id, second.rating) == (
        "us:7868068902",
        "1140640454",
        1,
    )
    assert second.created_at == datetime(2021, 10, 2, 6, 13, 3, tzinfo=UTC)
    assert (last.external_id, last.author.handle, last.author.platform_id) == (
        "us:7200642338",
        "AdamantVision",
        "40285734",
    )
    assert last.created_at == datetime(2021, 4, 9, 3, 41, 23, tzinfo=UTC)
    ratings = [int(r.rating or 0) for r in records]
    assert [ratings.count(stars) for stars in (1, 2, 3, 4, 5)] == [11, 16, 12, 4, 7]
    assert sum(r.engagement["helpful"] for r in records) == 3443
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT rating, brand_hint, created_at FROM mention WHERE external_id = 'us:8044879566'")
        ).one()
    assert (stored.rating, stored.brand_hint) == (4, "Koffiekoning")


def test_recorded_entries_as_a_single_review_and_behind_app_metadata(engine: Engine) -> None:
    entries = _recorded()["feed"]["entry"]
    metadata = {"im:name": {"label": "Google"}, "id": {"label": "https://apps.apple.com/us/app/id284815942"}}
    pages = [[metadata, *entries[:3]], [entries[3]]]
    result = collect(engine, _collector(_paged(pages, [])), _query(engine, "284815942", "us"))
    assert (result.read, result.new, result.failed) == (4, 4, 0)


def test_incremental_runs_and_a_future_cursor(engine: Engine) -> None:
    entries = _synthetic()["feed"]["entry"]
    seen: list[httpx.Request] = []
    collector = _collector(_paged([entries[:3], entries[3:]], seen))
    query = _query(engine)
    first = collect(engine, collector, query)
    assert (first.pages, first.new) == (3, 4)  # the third page is the empty one that ends the walk
    key = CursorKey("appstore", query.brand_id, "1500000001:nl")
    assert load_cursor(engine, key) == {"watermark": 11000000004}

    second = collect(engine, collector, query)
    assert (second.pages, second.new, second.duplicate) == (1, 0, 0)
    assert "/page=1/" in seen[-1].url.path

    newer = copy.deepcopy(entries[1])
    newer["id"]["label"] = "11000000005"
    third = collect(engine, _collector(_paged([[newer, *entries[1:3]], entries[3:]], [])), query)
    assert (third.new, third.cursor) == (1, {"watermark": 11000000005})

    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE collectorcursor SET cursor = :c"), {"c": json.dumps({"watermark": 10**15})}
        )
    assert collect(engine, collector, query).new == 0


def test_a_kill_between_fetch_and_commit_loses_and_doubles_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = _synthetic()["feed"]["entry"]
    handler = _paged([entries[:3], entries[3:]], [])
    query = _query(engine)
    restore = kill_second_store(monkeypatch)
    with pytest.raises(Killed):
        collect(engine, _collector(handler), query)
    key = CursorKey("appstore", query.brand_id, "1500000001:nl")
    assert load_cursor(engine, key) == {"watermark": 0, "next_watermark": 11000000004, "page": 2}
    assert _mention_count(engine) == 2

    restore()
    resumed = collect(engine, _collector(handler), query)
    assert (resumed.new, resumed.duplicate) == (2, 0)
    assert _mention_count(engine) == 4
    assert load_cursor(engine, key) == {"watermark": 11000000004}


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (httpx.Response(500), TransientError, "HTTP 500"),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), TransientError, "HTTP 502"),
        (httpx.Response(404), CollectorError, r"\[brands.collect.appstore\]"),
        (httpx.Response(200, text="<html><body>maintenance</body></html>"), TransientError, "not JSON"),
        (httpx.Response(200, text='{"feed": {"entry": [{"id": '), TransientError, "not JSON"),
        (httpx.Response(200, content=b""), TransientError, "empty body"),
        (httpx.Response(200, content=b"\xff\xfe{}"), TransientError, "not JSON"),
        (httpx.Response(200, json={"feed": []}), TransientError, "'feed' object"),
        (httpx.Response(200, json=["feed"]), TransientError, "'feed' object"),
        (httpx.Response(200, json={"feed": {"entry": "x"}}), TransientError, "'feed.entry' is a str"),
    ],
)
def test_bad_responses_name_the_problem(
    engine: Engine, response: httpx.Response, error: type, message: str
) -> None:
    query = _query(engine)
    with pytest.raises(error, match=message):
        collect(engine, _collector(lambda request: response), query)
    assert load_cursor(engine, CursorKey("appstore", query.brand_id, "1500000001:nl")) == {}


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [(429, {"Retry-After": "120"}, timedelta(seconds=120)), (403, {}, timedelta(minutes=30))],
)
def test_rate_limits_back_off_until_the_platform_says(
    engine: Engine, status: int, headers: dict[str, str], wait: timedelta
) -> None:
    with pytest.raises(RateLimitedError) as raised:
        collect(engine, _collector(lambda request: httpx.Response(status, headers=headers)), _query(engine))
    assert raised.value.retry_at == NOW + wait


def test_timeouts_are_transient(engine: Engine) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransientError, match="ReadTimeout"):
        collect(engine, _collector(slow), _query(engine))


def test_truncated_recordings_fail_as_transient_at_every_offset() -> None:
    body = shared_path("fixtures", "appstore", "itunes_rss_reviews.json").read_bytes()
    offsets = [len(body) * i // 50 for i in range(50)]
    for offset in offsets:
        truncated = body[:offset]
        collector = _collector(lambda request, content=truncated: httpx.Response(200, content=content))
        query = BrandQuery(1, "Google", "284815942:us", options={"app_id": "284815942", "country": "us"})
        with pytest.raises(TransientError):
            list(collector.pages(query, {}))


def test_unusable_entries_are_skipped_and_the_rest_kept(engine: Engine) -> None:
    good = _synthetic()["feed"]["entry"][1:3]
    broken: list[Any] = [copy.deepcopy(good[1]) for _ in range(6)]
    broken[0]["id"] = {"label": "not-a-number"}
    broken[1]["im:rating"] = {"label": "six"}
    broken[2]["updated"] = {"label": 1795169100}
    broken[3]["updated"] = {"label": "2026-11-20T10:00:00"}
    broken[4]["title"], broken[4]["content"] = {"label": ""}, {"label": " "}
    broken[5]["author"] = {"name": {"label": ""}}
    broken[5]["im:voteSum"] = {"label": "9" * 40}
    for offset, entry in enumerate(broken):
        entry["id"] = entry["id"] if offset == 0 else {"label": str(11000000100 + offset)}
    result = collect(engine, _collector(_paged([[*good, *broken, "not an entry"]], [])), _query(engine))
    assert (result.new, result.failed) == (2, 7)
    reasons = "\n".join(result.skipped)
    for expected in (
        "'id' 'not-a-number' is not a numeric review id",
        "'im:rating' 'six' is not a star rating",
        "'updated' is a int, not a label string",
        "has no time zone",
        "neither title nor content",
        "no author name or id",
        "not an object: str",
    ):
        assert expected in reasons


def test_a_huge_vote_count_is_left_out_not_fatal() -> None:
    entry = copy.deepcopy(_synthetic()["feed"]["entry"][1])
    entry["im:voteSum"] = {"label": "9" * 40}
    assert map_entry(entry, app_id="1", country="nl").engagement == {}


def _context(
    base_url: str, allow: list[str], handler: Callable[[httpx.Request], httpx.Response]
) -> SourceContext:
    resolver = {"proxy.example.com": PUBLIC, "127.0.0.1": ["127.0.0.1"], "itunes.apple.com": PUBLIC}
    return SourceContext(
        name="appstore",
        settings=AppStoreSource(base_url=base_url),
        policy=OutboundPolicy.from_hosts(allow, resolver=lambda host, port: resolver[host]),
        environ={},
        now=lambda: NOW,
        transport=httpx.MockTransport(handler),
    )


def test_the_configured_base_url_is_used_and_a_private_one_refused() -> None:
    seen: list[httpx.Request] = []
    entries = _synthetic()["feed"]["entry"]
    collector = appstore.SPEC.build(_context("https://proxy.example.com/itunes", [], _paged([entries], seen)))
    query = BrandQuery(1, "Koffiekoning", "1500000001:nl", options={"app_id": "1500000001", "country": "nl"})
    assert sum(len(page.records) for page in collector.pages(query, {})) == 4
    assert str(seen[0].url) == (
        "https://proxy.example.com/itunes/nl/rss/customerreviews/page=1/id=1500000001/sortby=mostrecent/json"
    )
    with pytest.raises(BlockedURLError, match="allow_private_hosts"):
        appstore.SPEC.build(_context("http://127.0.0.1:8080", [], _paged([], [])))
    allowed = appstore.SPEC.build(_context("http://127.0.0.1:8080", ["127.0.0.1:8080"], _paged([], [])))
    assert isinstance(allowed, AppStoreCollector)


def test_a_redirect_to_a_private_address_is_refused() -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/internal"})

    collector = appstore.SPEC.build(_context("", [], redirect))
    query = BrandQuery(1, "Koffiekoning", "1:nl", options={"app_id": "1", "country": "nl"})
    with pytest.raises(BlockedURLError):
        list(collector.pages(query, {}))


def test_one_stream_per_app_and_storefront() -> None:
    brand = BrandSettings(name="Koffiekoning", keywords=["koffiekoning"])
    options = AppStoreBrand(app_ids=["id1500000001", "1500000002"], countries=["NL", "be"])
    queries = appstore.SPEC.queries(7, brand, options)
    assert [(q.brand_id, q.brand, q.query_key, dict(q.options)) for q in queries] == [
        (7, "Koffiekoning", "1500000001:nl", {"app_id": "1500000001", "country": "nl"}),
        (7, "Koffiekoning", "1500000001:be", {"app_id": "1500000001", "country": "be"}),
        (7, "Koffiekoning", "1500000002:nl", {"app_id": "1500000002", "country": "nl"}),
        (7, "Koffiekoning", "1500000002:be", {"app_id": "1500000002", "country": "be"}),
    ]
    assert appstore.SPEC.credentials == ()
