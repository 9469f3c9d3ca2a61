"""RSS/Atom collector: the recorded Google Alerts and YouTube feeds replayed through httpx and feedparser,
conditional GET, windows without dates, and the faults a feed server produces."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import monitor.collectors.base as collector_base
from monitor.collectors.base import (
    BrandQuery,
    CollectorError,
    RateLimitedError,
    TransientError,
    collect,
)
from monitor.collectors.cursors import CursorKey, load_cursor, save_cursor
from monitor.collectors.options import RssBrand, RssSource
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.rss import SPEC, RssCollector, feed_query_key, strip_html, unwrap_link
from monitor.collectors.sources import SourceContext
from monitor.config import BrandSettings
from monitor.storage.models import Brand, Mention
from monitor.storage.tables import table_of
from tests.collectors.brands import brand_query
from tests.conftest import shared_path

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ALERTS_URL = "https://www.google.com/alerts/feeds/04175468913983673025/4428013283581841004"
YOUTUBE_URL = "https://www.youtube.com/feeds/videos.xml?channel_id=UCK8sQmJBp8GCxrOtXWBpyEA"
ATOM = "application/atom+xml; charset=utf-8"
_MENTION = table_of(Mention)
_BRAND = table_of(Brand)

Handler = Callable[[httpx.Request], httpx.Response]


def _resolver(host: str, port: int) -> list[str]:
    """Names resolve to a public address; IP literals to themselves (so 127.0.0.1 is refused)."""
    return [host] if host.replace(".", "").isdigit() else ["199.232.1.1"]


def _policy() -> OutboundPolicy:
    return OutboundPolicy.from_hosts([], resolver=_resolver)


def _context(base_url: str, handler: Handler) -> SourceContext:
    return SourceContext(
        name="rss",
        settings=RssSource(base_url=base_url),
        policy=_policy(),
        now=lambda: NOW,
        transport=httpx.MockTransport(handler),
    )


def _collector(handler: Handler) -> RssCollector:
    """The collector as the registry builds it, its HTTP replayed by `handler`."""
    collector = SPEC.build(_context("", handler))
    assert isinstance(collector, RssCollector)
    return collector


def _feed_query(engine: Engine, url: str) -> BrandQuery:
    """The stream of one feed for brand Slack (stored on first use)."""
    with engine.connect() as conn:
        brand_id = conn.execute(sa.select(_BRAND.c.id).where(_BRAND.c.name == "Slack")).scalar_one_or_none()
    if brand_id is None:
        brand_id = brand_query(engine, "Slack").brand_id
    return BrandQuery(int(brand_id), "Slack", feed_query_key(url), ("Slack",), {"feed_url": url})


def _serve(body: bytes, seen: list[httpx.Request] | None = None, **headers: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": ATOM, **headers})

    return handler


def _alerts() -> bytes:
    return shared_path("fixtures", "rss", "google_alerts_atom.xml").read_bytes()


def _stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_MENTION).order_by(_MENTION.c.created_at.desc())).mappings().all()
    return [dict(row) for row in rows]


def _rss(items: str, language: str = "") -> bytes:
    lang = f"<language>{language}</language>" if language else ""
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Koffie news</title>{lang}{items}</channel></rss>'
    ).encode()


def _item(guid: str, title: str, date: str = "") -> str:
    pub = f"<pubDate>{date}</pubDate>" if date else ""
    return f"<item><guid isPermaLink='false'>{guid}</guid><title>{title}</title><description>about {title}</description>{pub}</item>"


# --- conformance: the recorded feeds --------------------------------------------------------------


def test_google_alerts_feed_maps_every_entry_with_the_real_link(engine: Engine) -> None:
    seen: list[httpx.Request] = []
    query = _feed_query(engine, ALERTS_URL)
    result = collect(engine, _collector(_serve(_alerts(), seen, etag='"ga-1"')), query)
    assert (result.pages, result.read, result.new, result.failed) == (1, 20, 20, 0)
    assert str(seen[0].url) == ALERTS_URL
    assert "If-None-Match" not in seen[0].headers

    rows = _stored(engine)
    first = rows[0]
    assert first["external_id"] == "tag:google.com,2013:googlealerts/feed:8974135267215335962"
    assert first["url"] == (
        "https://www.aglobalmarketresearch.com/report-offers-prediction-of-automotive-slack-market-by-top-key-"
        "players-like-haldex-meritor-bendix-mei-wabco-accuride-stemco-tbk-febi-aydinsan/"
    )
    assert first["author_handle"] == "aglobalmarketresearch.com"
    assert first["text"] == (
        "Report offers Prediction of Automotive Slack Market by Top key players like Haldex, Meritor, Bendix ...\n"
        "Automotive Slack Market reports provides a comprehensive overview of the global market size and share. "
        "It provides strategists, marketers and senior ..."
    )
    assert first["created_at"].replace(tzinfo=UTC) == datetime(2019, 7, 10, 11, 53, 37, tzinfo=UTC)
    assert (first["lang"], first["brand_hint"], first["reach"], first["reach_kind"]) == (
        None,
        None,
        None,
        "none",
    )
    assert first["engagement"] == {}
    assert first["raw"]["published_parsed"] == "2019-07-10T11:53:37Z"

    second = next(row for row in rows if row["external_id"].endswith("feed:13685523368333461374"))
    assert second["url"] == "https://investorplace.com/2019/07/slack-stock-truly-compelling/"
    assert second["author_handle"] == "investorplace.com"
    assert second["text"].startswith(
        "Slack Stock Has a Compelling Story and the Numbers to Back It Up\nIn the run up"
    )
    assert "Company's decision" in second["text"]

    assert all("google.com/url" not in row["url"] for row in rows)
    assert all("<b>" not in row["text"] and "&nbsp;" not in row["text"] for row in rows)
    assert all("slack" in row["text"].lower() for row in rows)  # each entry holds the alert term
    cursor = load_cursor(engine, CursorKey("rss", query.brand_id, ALERTS_URL))
    assert cursor["etag"] == '"ga-1"'
    assert cursor["watermark"] == "2019-07-10T11:53:37+00:00"
    assert len(cursor["seen"]) == 20


def test_youtube_channel_feed_is_read_although_feedparser_flags_it(engine: Engine) -> None:
    body = shared_path("fixtures", "rss", "youtube_atom.xml").read_bytes()
    assert body.startswith(b"\n<?xml")  # feedparser's bozo: the declaration is not at the start
    query = _feed_query(engine, YOUTUBE_URL)
    result = collect(engine, _collector(_serve(body, etag='"yt-1"')), query)
    assert (result.new, result.failed) == (15, 0)
    rows = _stored(engine)
    first = rows[0]
    assert (first["external_id"], first["url"], first["author_handle"]) == (
        "yt:video:5shykyfmb28",
        "http://www.youtube.com/watch?v=5shykyfmb28",
        "Google",
    )
    assert first["text"].startswith("The Google app: Questions Title\nA question is the most powerful force")
    assert first["created_at"].replace(tzinfo=UTC) == datetime(2015, 5, 4, 0, 1, 27, tzinfo=UTC)
    assert first["raw"]["yt_videoid"] == "5shykyfmb28"
    assert rows[-1]["external_id"] == "yt:video:8ztbpW3THmI"
    # validators from a flagged parse are not kept: the next run fetches the whole feed again
    assert "etag" not in load_cursor(engine, CursorKey("rss", query.brand_id, YOUTUBE_URL))


def test_unwrap_and_strip_helpers() -> None:
    assert unwrap_link("https://www.google.com/url?rct=j&sa=t&url=https://a.example/x%3Fy%3D1&ct=ga") == (
        "https://a.example/x?y=1"
    )
    assert unwrap_link("https://www.google.com/url?url=javascript:alert(1)") == (
        "https://www.google.com/url?url=javascript:alert(1)"
    )
    assert (
        unwrap_link("https://news.example/a?url=https://b.example")
        == "https://news.example/a?url=https://b.example"
    )
    assert strip_html("<b>Slack</b> &amp; co&nbsp;...<p>next  line</p>") == "Slack & co ...\nnext line"


# --- incremental ---------------------------------------------------------------------------------


def test_conditional_get_and_a_304_change_nothing(engine: Engine) -> None:
    seen: list[httpx.Request] = []
    body = _alerts()
    validators = {"etag": '"v1"', "last-modified": "Wed, 10 Jul 2019 11:53:37 GMT"}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, content=body, headers={"content-type": ATOM, **validators})

    query = _feed_query(engine, ALERTS_URL)
    key = CursorKey("rss", query.brand_id, ALERTS_URL)
    assert collect(engine, _collector(handler), query).new == 20
    before = load_cursor(engine, key)
    again = collect(engine, _collector(handler), query)
    assert (again.pages, again.new) == (0, 0)
    assert seen[1].headers["if-none-match"] == '"v1"'
    assert seen[1].headers["if-modified-since"] == "Wed, 10 Jul 2019 11:53:37 GMT"
    assert load_cursor(engine, key) == before


def test_a_server_without_validators_gets_nothing_new_twice(engine: Engine) -> None:
    query = _feed_query(engine, ALERTS_URL)
    assert collect(engine, _collector(_serve(_alerts())), query).new == 20
    second = collect(engine, _collector(_serve(_alerts())), query)
    assert (second.pages, second.read, second.new, second.duplicate) == (1, 0, 0, 0)


def test_a_cursor_in_the_future_returns_nothing(engine: Engine) -> None:
    query = _feed_query(engine, ALERTS_URL)
    with engine.begin() as conn:
        save_cursor(
            conn, CursorKey("rss", query.brand_id, ALERTS_URL), {"watermark": "2100-01-01T00:00:00+00:00"}
        )
    result = collect(engine, _collector(_serve(_alerts())), query)
    assert (result.read, result.new) == (0, 0)


def test_entries_without_dates_are_neither_lost_nor_doubled(engine: Engine) -> None:
    url = "https://news.example/koffie.rss"
    query = _feed_query(engine, url)
    window = [_item("a", "Koffiekoning opens"), _item("b", "Koffiekoning closes")]
    assert collect(engine, _collector(_serve(_rss("".join(window), "nl-NL"))), query).new == 2
    grown = [_item("c", "Koffiekoning again"), *window]
    second = collect(engine, _collector(_serve(_rss("".join(grown), "nl-NL"))), query)
    assert (second.read, second.new) == (1, 1)
    rows = {row["external_id"]: row for row in _stored(engine)}
    assert rows["c"]["created_at"].replace(tzinfo=UTC) == NOW  # undated: first seen
    assert rows["c"]["lang"] == "nl-nl"
    assert rows["c"]["text"] == "Koffiekoning again\nabout Koffiekoning again"
    assert rows["c"]["author_handle"] == "news.example"  # no author, no link: the feed's domain


def test_a_late_entry_dated_before_the_newest_is_still_read(engine: Engine) -> None:
    url = "https://news.example/aggregator.rss"
    query = _feed_query(engine, url)
    newest = _item("n1", "Koffiekoning new", "Sat, 21 Nov 2026 10:00:00 GMT")
    assert collect(engine, _collector(_serve(_rss(newest))), query).new == 1
    late = _item("n0", "Koffiekoning late", "Sat, 21 Nov 2026 08:00:00 GMT")
    ancient = _item("old", "Koffiekoning ancient", "Sat, 01 Nov 2025 08:00:00 GMT")
    second = collect(engine, _collector(_serve(_rss(newest + late + ancient))), query)
    assert second.new == 1
    assert {row["external_id"] for row in _stored(engine)} == {"n1", "n0"}


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (httpx.Response(404), CollectorError, f"feed {ALERTS_URL} answered HTTP 404"),
        (httpx.Response(410), CollectorError, "the feed is gone; remove it from"),
        (httpx.Response(300), CollectorError, "HTTP 300; check the feed URL"),
        (httpx.Response(403), CollectorError, "refuses access"),
        (httpx.Response(500), TransientError, "HTTP 500"),
        (httpx.Response(503), TransientError, "HTTP 503"),
        (
            httpx.Response(
                200,
                text="<!DOCTYPE html><html><body>Sign in</body></html>",
                headers={"content-type": "text/html"},
            ),
            TransientError,
            "HTML page where a feed was expected",
        ),
        (
            httpx.Response(200, content=b"\x00\xff garbage", headers={"content-type": ATOM}),
            TransientError,
            "not a readable",
        ),
        (  # feedparser raised ValueError on the NUL in the declared encoding (the I-10 fuzz)
            httpx.Response(
                200,
                content=b'<?xml version="1.0" encoding="utf-8\x00"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
                headers={"content-type": "application/atom+xml"},  # no charset: the declaration is read
            ),
            TransientError,
            "not a readable RSS/Atom feed",
        ),
    ],
)
def test_bad_responses_name_the_problem(
    engine: Engine, response: httpx.Response, error: type[Exception], message: str
) -> None:
    query = _feed_query(engine, ALERTS_URL)
    with pytest.raises(error, match=message) as raised:
        collect(engine, _collector(lambda request: response), query)
    assert type(raised.value) is error
    assert load_cursor(engine, CursorKey("rss", query.brand_id, ALERTS_URL)) == {}


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"retry-after": "120"}, timedelta(seconds=120)),
        (429, {}, timedelta(minutes=30)),
        (503, {"retry-after": "Sat, 21 Nov 2026 13:00:00 GMT"}, timedelta(hours=1)),
        (429, {"retry-after": "99999999"}, timedelta(days=1)),
    ],
)
def test_rate_limits_carry_retry_after(
    engine: Engine, status: int, headers: dict[str, str], wait: timedelta
) -> None:
    with pytest.raises(RateLimitedError) as raised:
        collect(
            engine,
            _collector(lambda request: httpx.Response(status, headers=headers)),
            _feed_query(engine, ALERTS_URL),
        )
    assert raised.value.retry_at == NOW + wait


def test_timeouts_are_transient(engine: Engine) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(TransientError, match="ReadTimeout"):
        collect(engine, _collector(slow), _feed_query(engine, ALERTS_URL))


def test_truncated_feeds_keep_what_parsed_or_fail_transiently(engine: Engine) -> None:
    body = _alerts()
    outcomes: dict[str, int] = {"kept": 0, "transient": 0}
    for offset in range(0, len(body), len(body) // 50):
        collector = _collector(_serve(body[:offset], etag='"cut"'))
        query = _feed_query(engine, f"https://alerts.example/cut/{offset}")
        try:
            result = collect(engine, collector, query)
        except TransientError:
            outcomes["transient"] += 1
            continue
        outcomes["kept"] += 1
        assert result.new <= 20
        assert "etag" not in load_cursor(engine, CursorKey("rss", query.brand_id, query.query_key))
    assert outcomes["kept"] > 10 and outcomes["transient"] > 0


def test_odd_entries_are_cleaned_or_skipped(engine: Engine) -> None:
    items = (
        "<item><guid isPermaLink='false'>nul</guid><title>Koffie\x01king &lt;b&gt;bold&lt;/b&gt;</title></item>"
        "<item><description></description></item>"
        f"<item><guid isPermaLink='false'>{'x' * 400}</guid><title>long id</title></item>"
    )
    result = collect(
        engine, _collector(_serve(_rss(items))), _feed_query(engine, "https://news.example/odd.rss")
    )
    assert (result.new, result.failed) == (2, 1)
    assert "without id, link, title or summary" in result.skipped[0]
    rows = {row["text"]: row for row in _stored(engine)}
    assert rows["Koffieking bold"]["text_sanitized"] is True
    assert rows["long id"]["external_id"].startswith("sha256:")


def test_an_entry_with_only_invisible_text_is_skipped_as_the_importer_refuses_it(engine: Engine) -> None:
    # every collected page passes the importer's text rule before it is stored (issue 14)
    items = (
        "<item><guid isPermaLink='false'>zw</guid><title>&#8203;&#8288;</title></item>"
        "<item><guid isPermaLink='false'>ok</guid><title>Slack is down</title></item>"
    )
    result = collect(
        engine, _collector(_serve(_rss(items))), _feed_query(engine, "https://news.example/zw.rss")
    )
    assert (result.new, result.failed) == (1, 1)
    assert result.skipped == ["rss item zw: 'text' is empty after removing control characters and whitespace"]
    assert [row["text"] for row in _stored(engine)] == ["Slack is down"]


def test_a_kill_between_fetch_and_commit_loses_and_doubles_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = _feed_query(engine, ALERTS_URL)
    real_store = collector_base.store_page

    def dying_store(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt("killed before commit")

    monkeypatch.setattr(collector_base, "store_page", dying_store)
    with pytest.raises(KeyboardInterrupt):
        collect(engine, _collector(_serve(_alerts(), etag='"v1"')), query)
    assert _stored(engine) == [] and load_cursor(engine, CursorKey("rss", query.brand_id, ALERTS_URL)) == {}

    monkeypatch.setattr(collector_base, "store_page", real_store)
    seen: list[httpx.Request] = []
    resumed = collect(engine, _collector(_serve(_alerts(), seen, etag='"v1"')), query)
    assert "If-None-Match" not in seen[0].headers  # the etag of the lost page was never saved
    assert (resumed.new, len(_stored(engine))) == (20, 20)


# --- outbound URLs and configuration -------------------------------------------------------------


def test_a_private_feed_and_a_redirect_to_one_are_refused(engine: Engine) -> None:
    hits: list[httpx.Request] = []
    query = _feed_query(engine, "http://127.0.0.1:8080/feed")
    with pytest.raises(CollectorError, match=r"127\.0\.0\.1"):
        collect(engine, _collector(_serve(_alerts(), hits)), query)
    assert hits == []

    def bounce(request: httpx.Request) -> httpx.Response:
        hits.append(request)
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data"})

    with pytest.raises(CollectorError, match=r"169\.254\.169\.254"):
        collect(engine, _collector(bounce), _feed_query(engine, ALERTS_URL))
    assert [str(r.url) for r in hits] == [ALERTS_URL]


def test_a_moved_feed_is_followed_to_a_public_host(engine: Engine) -> None:
    hits: list[str] = []

    def moved(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        if request.url.host == "www.google.com":
            return httpx.Response(301, headers={"location": "https://feeds.example/alerts.xml"})
        return httpx.Response(200, content=_alerts(), headers={"content-type": ATOM})

    assert collect(engine, _collector(moved), _feed_query(engine, ALERTS_URL)).new == 20
    assert hits == [ALERTS_URL, "https://feeds.example/alerts.xml"]


def test_a_base_url_is_the_origin_every_feed_is_fetched_from(engine: Engine) -> None:
    seen: list[httpx.Request] = []
    collector = SPEC.build(_context("https://mirror.example/rss", _serve(_alerts(), seen)))
    result = collect(engine, collector, _feed_query(engine, ALERTS_URL))
    assert result.new == 20
    assert (
        str(seen[0].url) == "https://mirror.example/rss/alerts/feeds/04175468913983673025/4428013283581841004"
    )
    with pytest.raises(BlockedURLError, match="allow_private_hosts"):
        SPEC.build(_context("http://127.0.0.1:9000", _serve(b"")))


def test_one_stream_per_feed_without_a_brand() -> None:
    brand = BrandSettings(name="Slack", keywords=["Slack"])
    long_url = "https://news.example/search?q=" + "slack+" * 80
    queries = SPEC.queries(7, brand, RssBrand(feeds=[ALERTS_URL, ALERTS_URL, long_url]))
    assert [(q.query_key, q.terms, dict(q.options)) for q in queries[:1]] == [
        (ALERTS_URL, ("Slack",), {"feed_url": ALERTS_URL})
    ]
    assert len(queries) == 2 and queries[1].query_key.startswith("feed:sha256:")
    assert queries[1].options["feed_url"] == long_url
    assert SPEC.credentials == ()
    json.dumps([dict(q.options) for q in queries])
