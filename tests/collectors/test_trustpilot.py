"""Trustpilot collector on synthetic API answers: no recording of the paid Business Units API exists, so the
fixture follows the documented review shape (developers.trustpilot.com, COLLECTORS.md §5)."""

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

from monitor.collectors import trustpilot
from monitor.collectors.base import (
    BrandQuery,
    CollectorError,
    MissingCredentialError,
    RateLimitedError,
    TransientError,
    collect,
)
from monitor.collectors.cursors import CursorKey, load_cursor
from monitor.collectors.http import SafeHttp
from monitor.collectors.options import TrustpilotBrand, TrustpilotSource
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.sources import SourceContext
from monitor.collectors.trustpilot import TrustpilotCollector, map_review
from monitor.config import BrandSettings
from monitor.records import AuthorRecord
from tests.collectors.brands import brand_query
from tests.collectors.kill import Killed, kill_second_store

FIXTURE = Path(__file__).parent / "fixtures" / "trustpilot" / "business_unit_reviews_synthetic.json"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
PUBLIC = ["104.18.20.30"]
UNIT = "5f0c1a2b3c4d5e6f7a8b9c0d"
KEY = "tp-test-key-4f9a1c"
NEWEST = {"watermark": "2026-11-20T09:05:00.250000+00:00", "ids": ["6740a1b2c3d4e5f6a7b8c904"]}


def _body() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _collector(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> TrustpilotCollector:
    policy = OutboundPolicy.from_hosts([], resolver=lambda host, port: PUBLIC)
    http = SafeHttp(policy, transport=httpx.MockTransport(handler))
    return TrustpilotCollector(http, api_key=KEY, now=lambda: NOW, **options)


def _paged(pages: list[list[Any]], seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params["page"])
        reviews = pages[page - 1] if page <= len(pages) else []
        # json.dumps escapes the synthetic lone surrogate the way a JSON API sends it (\ud800)
        return httpx.Response(200, content=json.dumps({"reviews": reviews, "links": []}).encode())

    return handler


def _query(engine: Engine) -> BrandQuery:
    stored = brand_query(engine, "Koffiekoning")
    return BrandQuery(stored.brand_id, "Koffiekoning", UNIT, options={"business_unit_id": UNIT})


def _mention_count(engine: Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM mention WHERE source = 'trustpilot'")
        return int(conn.execute(query).scalar_one())


def test_mapping_of_documented_review_fields() -> None:
    newest, sanitized, english, oldest = (map_review(r, brand="Koffiekoning") for r in _body()["reviews"])
    assert (newest.source, newest.external_id, newest.rating, newest.lang) == (
        "trustpilot",
        "6740a1b2c3d4e5f6a7b8c904",
        1,
        "nl",
    )
    assert newest.text == (
        "Bestelling nooit aangekomen\nTwee weken gewacht, geen bonen en geen antwoord van de klantenservice."
    )
    assert newest.created_at == datetime(2026, 11, 20, 9, 5, 0, 250000, tzinfo=UTC)
    assert newest.author == AuthorRecord(
        handle="Bonen Boer", platform_id="5a1b2c3d4e5f6a7b8c9d0e04", reach=12, reach_kind="karma"
    )
    assert newest.url == "https://www.trustpilot.com/reviews/6740a1b2c3d4e5f6a7b8c904"
    assert (newest.brand, newest.engagement) == ("Koffiekoning", {})
    assert newest.raw is not None and newest.raw["companyReply"]["text"] == "Sorry! We zoeken het uit."
    assert sanitized.author.handle == "Espresso Emma"
    assert (
        sanitized.text == "Heerlijke bonen\nSnel bezorgd \ufffd en vers gebrand." and sanitized.text_sanitized
    )
    assert "\x00" not in json.dumps(sanitized.raw)
    assert (english.lang, english.created_at) == ("en", datetime(2026, 11, 19, 21, 30, tzinfo=UTC))
    assert oldest.text == "Drie dagen geen antwoord op mijn mail."
    assert (oldest.author.reach, oldest.author.reach_kind) == (None, "none")


def test_the_request_is_the_documented_one_with_the_key_in_a_header(engine: Engine) -> None:
    seen: list[httpx.Request] = []
    result = collect(engine, _collector(_paged([_body()["reviews"]], seen)), _query(engine))
    assert (result.pages, result.new, result.failed) == (1, 4, 0)
    (request,) = seen
    assert request.url.path == f"/v1/business-units/{UNIT}/reviews"
    assert dict(request.url.params) == {"orderBy": "createdat.desc", "perPage": "100", "page": "1"}
    assert request.headers["apikey"] == KEY and KEY not in str(request.url)
    assert result.cursor == NEWEST


def test_incremental_runs_and_a_future_cursor(engine: Engine) -> None:
    reviews = _body()["reviews"]
    seen: list[httpx.Request] = []
    collector = _collector(_paged([reviews[:2], reviews[2:]], seen), per_page=2)
    query = _query(engine)
    first = collect(engine, collector, query)
    assert (first.pages, first.new, len(seen)) == (3, 4, 3)  # the third page is empty and ends the walk
    key = CursorKey("trustpilot", query.brand_id, UNIT)
    assert load_cursor(engine, key) == NEWEST

    second = collect(engine, collector, query)
    assert (second.pages, second.new, second.duplicate, len(seen)) == (1, 0, 0, 4)

    same_instant = copy.deepcopy(reviews[0])
    same_instant["id"] = "6740a1b2c3d4e5f6a7b8c905"
    third = collect(engine, _collector(_paged([[same_instant, *reviews[:1]]], []), per_page=2), query)
    assert (third.new, third.cursor["ids"]) == (1, ["6740a1b2c3d4e5f6a7b8c904", "6740a1b2c3d4e5f6a7b8c905"])

    with engine.begin() as conn:
        future = json.dumps({"watermark": "2030-01-01T00:00:00+00:00", "ids": []})
        conn.execute(sa.text("UPDATE collectorcursor SET cursor = :c"), {"c": future})
    assert collect(engine, collector, query).new == 0


def test_a_long_walk_continues_on_the_next_run(engine: Engine) -> None:
    reviews = _body()["reviews"]
    seen: list[httpx.Request] = []
    collector = _collector(_paged([[r] for r in reviews], seen), per_page=1, max_pages=2)
    query = _query(engine)
    first = collect(engine, collector, query)
    assert (first.new, first.cursor) == (
        2,
        {
            "page": 3,
            "next": {"watermark": "2026-11-20T09:05:00.250000+00:00", "ids": ["6740a1b2c3d4e5f6a7b8c904"]},
        },
    )
    second = collect(engine, collector, query)
    assert (second.new, second.cursor) == (2, {"page": 5, "next": NEWEST})
    third = collect(engine, collector, query)
    assert (third.new, third.cursor) == (0, NEWEST)
    assert [int(r.url.params["page"]) for r in seen] == [1, 2, 3, 4, 5]


def test_a_kill_between_fetch_and_commit_loses_and_doubles_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviews = _body()["reviews"]
    handler = _paged([reviews[:2], reviews[2:]], [])
    query = _query(engine)
    restore = kill_second_store(monkeypatch)
    with pytest.raises(Killed):
        collect(engine, _collector(handler, per_page=2), query)
    key = CursorKey("trustpilot", query.brand_id, UNIT)
    assert load_cursor(engine, key) == {"page": 2, "next": NEWEST}
    assert _mention_count(engine) == 2

    restore()
    resumed = collect(engine, _collector(handler, per_page=2), query)
    assert (resumed.new, resumed.duplicate) == (2, 0)
    assert _mention_count(engine) == 4 and load_cursor(engine, key) == NEWEST


@pytest.mark.parametrize(
    ("headers", "wait"),
    [({"Retry-After": "300"}, timedelta(seconds=300)), ({}, timedelta(minutes=15))],
)
def test_429_backs_off_until_the_platform_says(
    engine: Engine, headers: dict[str, str], wait: timedelta
) -> None:
    response = httpx.Response(429, headers=headers, json={"message": "API rate limit exceeded"})
    with pytest.raises(RateLimitedError) as raised:
        collect(engine, _collector(lambda request: response), _query(engine))
    assert raised.value.retry_at == NOW + wait


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (
            httpx.Response(401, json={"fault": {"faultstring": "Invalid ApiKey"}}),
            CollectorError,
            "WOM_TRUSTPILOT_API_KEY",
        ),
        (httpx.Response(403), CollectorError, "paid API module"),
        (httpx.Response(404), CollectorError, r"business_unit_ids in \[brands.collect.trustpilot\]"),
        (httpx.Response(400), CollectorError, "HTTP 400"),
        (httpx.Response(500), TransientError, "HTTP 500"),
        (httpx.Response(503, text="<html>down</html>"), TransientError, "HTTP 503"),
        (httpx.Response(200, text="<html><body>Just a moment...</body></html>"), TransientError, "not JSON"),
        (httpx.Response(200, text='{"reviews": [{"id": "67'), TransientError, "not JSON"),
        (httpx.Response(200, content=b"\xff\xfe"), TransientError, "not JSON"),
        (httpx.Response(200, json={"reviews": {"id": "1"}}), TransientError, "'reviews' list"),
        (httpx.Response(200, json=[]), TransientError, "'reviews' list"),
    ],
)
def test_bad_responses_name_the_problem_and_never_the_key(
    engine: Engine, response: httpx.Response, error: type, message: str
) -> None:
    query = _query(engine)
    with pytest.raises(error, match=message) as raised:
        collect(engine, _collector(lambda request: response), query)
    assert KEY not in str(raised.value)
    assert load_cursor(engine, CursorKey("trustpilot", query.brand_id, UNIT)) == {}


def test_timeouts_are_transient_and_keep_the_key_out(engine: Engine) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    collector = _collector(slow)
    with pytest.raises(TransientError, match="ReadTimeout") as raised:
        collect(engine, collector, _query(engine))
    assert KEY not in str(raised.value) and KEY not in repr(collector)


def test_truncated_answers_fail_as_transient_at_every_offset() -> None:
    body = FIXTURE.read_bytes()
    query = BrandQuery(1, "Koffiekoning", UNIT, options={"business_unit_id": UNIT})
    for offset in [len(body) * i // 50 for i in range(50)]:
        collector = _collector(lambda request, content=body[:offset]: httpx.Response(200, content=content))
        with pytest.raises(TransientError):
            list(collector.pages(query, {}))


def test_unusable_reviews_are_skipped_and_the_rest_kept(engine: Engine) -> None:
    good = _body()["reviews"][:2]

    def variant(review_id: str | None, **changes: Any) -> dict[str, Any]:
        review = copy.deepcopy(good[1])
        review.update(id=review_id, **changes)
        return review

    broken: list[Any] = [
        "not a review",
        variant(None),
        variant("b1", stars=0),
        variant("b2", stars="5"),
        variant("b3", createdAt=None),
        variant("b4", createdAt="2026-11-20T08:00:00"),
        variant("b5", consumer=None),
        variant("b6", title=["x"]),
        variant("b7", title="", text=" "),
        variant("b8", consumer={"displayName": "", "id": ""}),
    ]
    odd = variant("b9", consumer={"id": "c9", "displayName": "Groot", "numberOfReviews": 10**30}, language=7)
    result = collect(engine, _collector(_paged([[good[0], *broken, odd, good[1]]], [])), _query(engine))
    assert (result.new, result.failed) == (3, 10)
    reasons = "\n".join(result.skipped)
    for expected in (
        "not an object: str",
        "without a usable id (None)",
        "stars 0 is not a star rating",
        "stars '5' is not a star rating",
        "'createdAt' is missing",
        "has no time zone",
        "b5 has no consumer object",
        "'title' is a list, not a string",
        "b7 has neither title nor text",
        "b8 has no consumer displayName or id",
    ):
        assert expected in reasons
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT reach, reach_kind, lang FROM mention WHERE external_id = 'b9'")
        ).one()
    assert (row.reach, row.reach_kind, row.lang) == (None, "none", None)


def _context(
    environ: dict[str, str], handler: Callable[[httpx.Request], httpx.Response], base_url: str = ""
) -> SourceContext:
    resolver = {"proxy.example.com": PUBLIC, "api.trustpilot.com": PUBLIC, "192.168.1.20": ["192.168.1.20"]}
    return SourceContext(
        name="trustpilot",
        settings=TrustpilotSource(base_url=base_url),
        policy=OutboundPolicy.from_hosts([], resolver=lambda host, port: resolver[host]),
        environ=environ,
        now=lambda: NOW,
        transport=httpx.MockTransport(handler),
    )


def test_without_the_api_key_the_source_is_disabled_naming_the_variable() -> None:
    with pytest.raises(MissingCredentialError, match="WOM_TRUSTPILOT_API_KEY") as raised:
        trustpilot.SPEC.build(_context({}, _paged([], [])))
    assert raised.value.variable == "WOM_TRUSTPILOT_API_KEY"
    assert trustpilot.SPEC.credentials == ("WOM_TRUSTPILOT_API_KEY",)


def test_the_configured_base_url_is_used_and_a_private_one_refused() -> None:
    seen: list[httpx.Request] = []
    environ = {"WOM_TRUSTPILOT_API_KEY": KEY}
    collector = trustpilot.SPEC.build(
        _context(environ, _paged([_body()["reviews"]], seen), "https://proxy.example.com/tp/v1")
    )
    query = BrandQuery(1, "Koffiekoning", UNIT, options={"business_unit_id": UNIT})
    assert sum(len(page.records) for page in collector.pages(query, {})) == 4
    assert str(seen[0].url).startswith(f"https://proxy.example.com/tp/v1/business-units/{UNIT}/reviews?")
    assert seen[0].headers["apikey"] == KEY
    with pytest.raises(BlockedURLError, match="allow_private_hosts"):
        trustpilot.SPEC.build(_context(environ, _paged([], []), "http://192.168.1.20"))


def test_a_business_unit_id_cannot_change_the_path() -> None:
    seen: list[httpx.Request] = []
    query = BrandQuery(1, "Koffiekoning", "x", options={"business_unit_id": "../../private/x?y=1"})
    list(_collector(_paged([], seen)).pages(query, {}))
    assert seen[0].url.raw_path.startswith(b"/v1/business-units/..%2F..%2Fprivate%2Fx%3Fy%3D1/reviews?")


def test_one_stream_per_business_unit() -> None:
    brand = BrandSettings(name="Koffiekoning", keywords=["koffiekoning"])
    queries = trustpilot.SPEC.queries(
        5, brand, TrustpilotBrand(business_unit_ids=[UNIT, "5f0c1a2b3c4d5e6f7a8b9c0e"])
    )
    assert [(q.brand_id, q.brand, q.query_key, dict(q.options)) for q in queries] == [
        (5, "Koffiekoning", UNIT, {"business_unit_id": UNIT}),
        (5, "Koffiekoning", "5f0c1a2b3c4d5e6f7a8b9c0e", {"business_unit_id": "5f0c1a2b3c4d5e6f7a8b9c0e"}),
    ]


def test_an_id_with_a_lone_surrogate_is_skipped_not_a_crash() -> None:
    """Found by the I-10 fuzz: quote() raised UnicodeEncodeError, which no collector catches."""
    review = copy.deepcopy(_body()["reviews"][0])
    review["id"] = "5f1c2d\ud800"
    with pytest.raises(CollectorError, match=r"without a usable id \('5f1c2d\\ud800'\)"):
        map_review(review)
