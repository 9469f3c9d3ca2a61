"""Google Play collector: the recorded batchexecute answer replayed through the collector and through
google-play-scraper itself, synthetic answers for paging and faults, and the library's TLS side effect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.collectors import googleplay
from monitor.collectors.base import BrandQuery, CollectorError, RateLimitedError, TransientError, collect
from monitor.collectors.cursors import CursorKey, load_cursor
from monitor.collectors.googleplay import GooglePlayCollector, PlayHttp, map_review
from monitor.collectors.options import GooglePlayBrand, GooglePlaySource
from monitor.collectors.outbound import BlockedURLError, OutboundPolicy
from monitor.collectors.sources import SourceContext
from monitor.config import BrandSettings
from tests.collectors.brands import brand_query
from tests.collectors.kill import Killed, kill_second_store
from tests.conftest import REPO, shared_path

FIXTURE = Path(__file__).parent / "fixtures" / "googleplay" / "reviews_newest_synthetic.json"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
PUBLIC = ["142.250.179.206"]
APP = "nl.koffiekoning.app"
# an rpc error naming the gateway error, as COLLECTORS.md §4 describes Play's throttling (no recording exists)
THROTTLED_SYNTHETIC = (
    ")]}'\n\n"
    '[["wrb.fr","oCPfdb",null,null,null,[8,null,[["type.googleapis.com/'
    'com.google.play.gateway.proto.PlayGatewayError",[null,null,429]]]],"generic"]]'
)


def _reviews() -> list[Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _recorded() -> str:
    return shared_path("fixtures", "googleplay", "review_relevant.batchexecute.txt").read_text(
        encoding="utf-8"
    )


def _answer(reviews: list[Any], token: str | None = None) -> str:
    """A batchexecute answer shaped like today's oCPfdb one: payload [reviews, [null, token], null]."""
    payload = json.dumps([reviews, [None, token], None])
    return ")]}'\n\n" + json.dumps([["wrb.fr", "oCPfdb", payload, None, None, None, "generic"], ["di", 61]])


def _paged(pages: list[list[Any]], seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    """Page n+1 is served for a body carrying token `tok{n}`; each page but the last names the next token."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = request.content.decode()
        page = next((n for n in range(len(pages), 0, -1) if f"%5C%22tok{n}%5C%22" in body), 0)
        token = f"tok{page + 1}" if page + 1 < len(pages) else None
        return httpx.Response(200, text=_answer(pages[page] if page < len(pages) else [], token))

    return handler


def _collector(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> GooglePlayCollector:
    policy = OutboundPolicy.from_hosts([], resolver=lambda host, port: PUBLIC)
    http = PlayHttp(policy, transport=httpx.MockTransport(handler))
    return GooglePlayCollector(http, now=lambda: NOW, **options)


def _query(engine: Engine, app_id: str = APP, locale: str = "nl-nl") -> BrandQuery:
    stored = brand_query(engine, "Koffiekoning")
    lang, country = locale.split("-")
    options = {"app_id": app_id, "lang": lang, "country": country}
    return BrandQuery(stored.brand_id, "Koffiekoning", f"{app_id}:{locale}", options=options)


def _mention_count(engine: Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM mention WHERE source = 'googleplay'")
        return int(conn.execute(query).scalar_one())


def test_mapping_of_synthetic_reviews() -> None:
    newest, nul, anonymous, oldest = (
        map_review(r, app_id=APP, lang="nl", country="nl", brand="Koffiekoning") for r in _reviews()
    )
    assert (newest.external_id, newest.author.handle, newest.author.platform_id) == (
        "gp:SYNTHETIC-0004",
        "bonenboer",
        None,
    )
    assert newest.created_at == datetime(2026, 11, 20, 9, 5, 0, 250000, tzinfo=UTC)
    assert (newest.rating, newest.engagement, newest.lang, newest.brand) == (
        1,
        {"helpful": 3},
        "nl",
        "Koffiekoning",
    )
    assert newest.text == "De app crasht bij het afrekenen, bestelling kwijt."
    assert newest.url == (
        "https://play.google.com/store/apps/details?id=nl.koffiekoning.app&reviewId=gp%3ASYNTHETIC-0004"
    )
    assert (
        newest.raw is not None
        and newest.raw["review"][7][1] == "Sorry! Stuur ons je ordernummer via de chat."
    )
    assert (newest.raw["app_id"], newest.raw["lang"], newest.raw["country"]) == (APP, "nl", "nl")
    assert nul.text == "Snel bezorgd, lekkere bonen." and nul.text_sanitized
    assert "\x00" not in json.dumps(nul.raw)
    assert anonymous.author.handle == "A Google user"
    assert oldest.created_at == datetime(2026, 11, 18, 19, 0, 0, 999999, tzinfo=UTC)


def test_recorded_answer_conformance(engine: Engine) -> None:
    recorded = _recorded()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=recorded, headers={"Content-Type": "application/json; charset=utf-8"})

    query = _query(engine, "com.twitter.android", "en-us")
    result = collect(engine, _collector(handler), query)
    assert (result.pages, result.read, result.new, result.failed) == (1, 40, 40, 0)
    (request,) = seen  # the recorded answer has no continuation token
    assert request.method == "POST"
    assert str(request.url) == "https://play.google.com/_/PlayStoreUi/data/batchexecute?hl=en&gl=us"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert request.content.startswith(b"f.req=%5B%5B%5B%22oCPfdb%22%2C%22%5Bnull%2C%5B2%2C2%2C%5B200%5D")
    assert b"%5C%22com.twitter.android%5C%22" in request.content
    assert result.cursor == {
        "watermark": "2021-01-20T07:54:59.108000+00:00",
        "ids": ["gp:AOqpTOFoPKoKJwwN88pYcnihxfOveRNeMLoj0QMvZtOq05ZdN0nyvW-S6fBoS-8mces7u_7A58pQsknXZd-ghQ"],
    }

    reviews, token = googleplay.parse_batch(recorded)
    assert (len(reviews), token) == (40, None)
    records = [map_review(r, app_id="com.twitter.android", lang="en", country="us") for r in reviews]
    first, second, last = records[0], records[1], records[39]
    assert first.external_id == (
        "gp:AOqpTOEG141w8NXyoj4CFpinzfXvBYYywrWQdoRk3NMYLgGE-8TmYXHQhFgs-pXL25gDnLulPidwqJvbcxNK3A"
    )
    assert (first.author.handle, first.rating, first.engagement) == (
        "hayzel rose ilagan",
        5,
        {"helpful": 1114},
    )
    assert first.created_at == datetime(2021, 1, 20, 1, 34, 5, 316000, tzinfo=UTC)
    assert first.text.startswith("I see that a lot here rate the app for a glitch that happened once")
    assert (second.author.handle, second.rating, second.engagement) == ("Crazy Diamond", 2, {"helpful": 2092})
    assert second.created_at == datetime(2021, 1, 9, 4, 15, 28, 594000, tzinfo=UTC)
    assert (last.author.handle, last.rating, last.engagement) == ("hanaa 81", 1, {"helpful": 216})
    assert last.created_at == datetime(2021, 1, 9, 15, 14, 14, 929000, tzinfo=UTC)
    ratings = [int(r.rating or 0) for r in records]
    assert [ratings.count(stars) for stars in (1, 2, 3, 4, 5)] == [19, 10, 6, 4, 1]
    assert sum(r.engagement["helpful"] for r in records) == 20189
    assert {r.lang for r in records} == {"en"}


@pytest.fixture
def pacific_time() -> Iterator[None]:
    """The process's local zone set to US Pacific, where the library's naive `at` is 8 hours off UTC."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Los_Angeles"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_the_library_reads_the_same_reviews_but_in_naive_local_time(
    monkeypatch: pytest.MonkeyPatch, pacific_time: None
) -> None:
    import google_play_scraper
    from google_play_scraper.features import reviews as library_reviews

    recorded = _recorded()
    monkeypatch.setattr(library_reviews, "post", lambda url, data, headers: recorded)
    library, _ = google_play_scraper.reviews("com.twitter.android", lang="en", country="us", count=200)
    ours = [
        map_review(r, app_id="com.twitter.android", lang="en", country="us")
        for r in googleplay.parse_batch(recorded)[0]
    ]
    assert len(library) == len(ours) == 40
    pacific = ZoneInfo("America/Los_Angeles")
    for theirs, mine in zip(library, ours, strict=True):
        assert (theirs["reviewId"], theirs["userName"], theirs["content"]) == (
            mine.external_id,
            mine.author.handle,
            mine.text,
        )
        assert (theirs["score"], theirs["thumbsUpCount"]) == (mine.rating, mine.engagement["helpful"])
        assert theirs["at"].tzinfo is None
        assert theirs["at"] == mine.created_at.astimezone(pacific).replace(tzinfo=None, microsecond=0)
        assert theirs["at"].replace(tzinfo=UTC) - mine.created_at.replace(microsecond=0) in (
            timedelta(hours=-8),
            timedelta(hours=-7),
        )


def test_incremental_runs_and_a_future_cursor(engine: Engine) -> None:
    reviews = _reviews()
    seen: list[httpx.Request] = []
    collector = _collector(_paged([reviews[:2], reviews[2:]], seen))
    query = _query(engine)
    first = collect(engine, collector, query)
    assert (first.pages, first.new, len(seen)) == (2, 4, 2)
    assert b"%5C%22tok1%5C%22" in seen[1].content
    key = CursorKey("googleplay", query.brand_id, f"{APP}:nl-nl")
    assert load_cursor(engine, key) == {
        "watermark": "2026-11-20T09:05:00.250000+00:00",
        "ids": ["gp:SYNTHETIC-0004"],
    }

    second = collect(engine, collector, query)
    assert (second.pages, second.new, second.duplicate, len(seen)) == (1, 0, 0, 3)

    same_instant = [*reviews[0][:5], list(reviews[0][5]), *reviews[0][6:]]
    same_instant[0] = "gp:SYNTHETIC-0005"
    third = collect(engine, _collector(_paged([[same_instant, *reviews]], [])), query)
    assert (third.new, third.cursor) == (
        1,
        {"watermark": "2026-11-20T09:05:00.250000+00:00", "ids": ["gp:SYNTHETIC-0004", "gp:SYNTHETIC-0005"]},
    )

    with engine.begin() as conn:
        future = json.dumps({"watermark": "2030-01-01T00:00:00+00:00", "ids": []})
        conn.execute(sa.text("UPDATE collectorcursor SET cursor = :c"), {"c": future})
    assert collect(engine, collector, query).new == 0


def test_an_unreadable_cursor_reads_the_newest_again(engine: Engine) -> None:
    query = _query(engine)
    collector = _collector(_paged([_reviews()], []))
    collect(engine, collector, query)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE collectorcursor SET cursor = :c"), {"c": json.dumps({"watermark": "soon"})}
        )
    again = collect(engine, collector, query)
    assert (again.new, again.duplicate, again.cursor["watermark"]) == (
        0,
        4,
        "2026-11-20T09:05:00.250000+00:00",
    )


def test_reviews_per_run_bounds_each_run() -> None:
    seen: list[httpx.Request] = []
    collector = _collector(_paged([_reviews()[:3], _reviews()[3:]], seen), reviews_per_run=3)
    pages = list(
        collector.pages(
            BrandQuery(1, "Koffiekoning", "k", options={"app_id": APP, "lang": "nl", "country": "nl"}), {}
        )
    )
    assert [len(page.records) for page in pages] == [3]
    assert len(seen) == 1 and b"%5B3%5D" in seen[0].content


def test_a_kill_between_fetch_and_commit_loses_and_doubles_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviews = _reviews()
    handler = _paged([reviews[:2], reviews[2:]], [])
    query = _query(engine)
    restore = kill_second_store(monkeypatch)
    with pytest.raises(Killed):
        collect(engine, _collector(handler), query)
    key = CursorKey("googleplay", query.brand_id, f"{APP}:nl-nl")
    assert load_cursor(engine, key) == {}  # the old cursor: the next run starts from the newest again
    assert _mention_count(engine) == 2

    restore()
    resumed = collect(engine, _collector(handler), query)
    assert (resumed.new, resumed.duplicate) == (2, 2)
    assert _mention_count(engine) == 4
    assert load_cursor(engine, key)["watermark"] == "2026-11-20T09:05:00.250000+00:00"


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        (
            httpx.Response(200, text=THROTTLED_SYNTHETIC),
            timedelta(minutes=15),
        ),
        (httpx.Response(429, headers={"Retry-After": "90"}), timedelta(seconds=90)),
        (
            httpx.Response(302, headers={"Location": "https://www.google.com/sorry/index?continue=x"}),
            timedelta(minutes=15),
        ),
    ],
)
def test_throttling_backs_off_without_sleeping(
    engine: Engine, response: httpx.Response, wait: timedelta
) -> None:
    with pytest.raises(RateLimitedError) as raised:
        collect(engine, _collector(lambda request: response), _query(engine))
    assert raised.value.retry_at == NOW + wait


@pytest.mark.parametrize(
    ("response", "error", "message"),
    [
        (httpx.Response(500), TransientError, "HTTP 500"),
        (httpx.Response(503, text="<html>captcha</html>"), TransientError, "HTTP 503"),
        (httpx.Response(404), CollectorError, r"base_url in \[collectors.googleplay\]"),
        (httpx.Response(400, text="bad f.req"), CollectorError, r"\[brands.collect.googleplay\]"),
        (
            httpx.Response(302, headers={"Location": "https://consent.google.com/ml"}),
            CollectorError,
            "consent.google.com",
        ),
        (httpx.Response(200, text="<!doctype html><html>Play</html>"), TransientError, "prefix"),
        (
            httpx.Response(200, text=')]}\'\n\n[["wrb.fr","oCPfdb","[[[\\"gp:'),
            TransientError,
            "cannot be read",
        ),
        (
            httpx.Response(200, text=')]}\'\n\n[["wrb.fr","oCPfdb",null,null,null,[3],"generic"]]'),
            TransientError,
            "cannot be read",
        ),
        (httpx.Response(200, text=')]}\'\n\n[["wrb.fr","oCPfdb","{}"]]'), TransientError, "not a list"),
        (
            httpx.Response(200, text=')]}\'\n\n[["wrb.fr","oCPfdb","[{\\"a\\":1}]"]]'),
            TransientError,
            "review list is a dict",
        ),
        (httpx.Response(200, content=b")]}'\n\n\xff\xfe[[1]]"), TransientError, "cannot be read"),
    ],
)
def test_bad_answers_name_the_problem(
    engine: Engine, response: httpx.Response, error: type, message: str
) -> None:
    query = _query(engine)
    with pytest.raises(error, match=message):
        collect(engine, _collector(lambda request: response), query)
    assert load_cursor(engine, CursorKey("googleplay", query.brand_id, f"{APP}:nl-nl")) == {}


def test_timeouts_are_transient(engine: Engine) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(TransientError, match="ConnectTimeout"):
        collect(engine, _collector(slow), _query(engine))


def test_truncated_recordings_fail_as_transient_at_every_offset() -> None:
    body = _recorded()
    query = BrandQuery(
        1, "Twitter", "t", options={"app_id": "com.twitter.android", "lang": "en", "country": "us"}
    )
    for offset in [len(body) * i // 50 for i in range(50)]:
        collector = _collector(lambda request, text=body[:offset]: httpx.Response(200, text=text))
        with pytest.raises(TransientError):
            list(collector.pages(query, {}))


def test_an_empty_review_list_ends_the_walk(engine: Engine) -> None:
    result = collect(
        engine, _collector(lambda request: httpx.Response(200, text=_answer([]))), _query(engine)
    )
    assert (result.pages, result.new, result.cursor) == (1, 0, {})


def test_unusable_reviews_are_skipped_and_the_rest_kept(engine: Engine) -> None:
    good = _reviews()[:2]

    def variant(**changes: Any) -> list[Any]:
        review = json.loads(json.dumps(good[1]))
        for position, value in changes.items():
            review[int(position.removeprefix("p"))] = value
        return review

    broken: list[Any] = [
        "not a review",
        variant(p0=None),
        variant(p0="gp:X1", p2=6),
        variant(p0="gp:X2", p2=True),
        variant(p0="gp:X3", p5=["2026-11-20", 0]),
        variant(p0="gp:X4", p5=[10**30, 0]),
        variant(p0="gp:X5", p4=None),
    ]
    odd = [
        variant(p0="gp:X6", p6=10**40, p4="lone \ud800 surrogate", p1=[123]),
        variant(p0="gp:X7", p5=[1795161600, -5]),
    ]
    text = ")]}'\n\n" + json.dumps(
        [["wrb.fr", "oCPfdb", json.dumps([[*good[:1], *broken, *odd, good[1]], None, None])]]
    )
    result = collect(engine, _collector(lambda request: httpx.Response(200, text=text)), _query(engine))
    assert (result.new, result.failed) == (4, 7)
    reasons = "\n".join(result.skipped)
    for expected in (
        "is a str, not an array",
        "without a usable reviewId (None)",
        "score 6 is not a star rating",
        "score True is not a star rating",
        "review time '2026-11-20' is not epoch seconds",
        "is out of range",
        "gp:X5 of nl.koffiekoning.app has no text",
    ):
        assert expected in reasons
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT text, engagement, author_handle FROM mention WHERE external_id = 'gp:X6'")
        ).one()
    assert row.text == "lone \ufffd surrogate" and row.author_handle == "A Google user"
    assert row.engagement in ({}, "{}")


def _context(
    base_url: str, allow: list[str], handler: Callable[[httpx.Request], httpx.Response]
) -> SourceContext:
    resolver = {"proxy.example.com": PUBLIC, "play.google.com": PUBLIC, "10.0.0.8": ["10.0.0.8"]}
    return SourceContext(
        name="googleplay",
        settings=GooglePlaySource(base_url=base_url, reviews_per_run=50),
        policy=OutboundPolicy.from_hosts(allow, resolver=lambda host, port: resolver[host]),
        environ={},
        now=lambda: NOW,
        transport=httpx.MockTransport(handler),
    )


def test_the_configured_base_url_is_used_and_a_private_one_refused() -> None:
    seen: list[httpx.Request] = []
    collector = googleplay.SPEC.build(
        _context("https://proxy.example.com/play", [], _paged([_reviews()], seen))
    )
    query = BrandQuery(1, "Koffiekoning", "k", options={"app_id": APP, "lang": "nl", "country": "be"})
    assert sum(len(page.records) for page in collector.pages(query, {})) == 4
    assert str(seen[0].url) == "https://proxy.example.com/play/_/PlayStoreUi/data/batchexecute?hl=nl&gl=be"
    assert b"%5B50%5D" in seen[0].content  # [collectors.googleplay] reviews_per_run
    with pytest.raises(BlockedURLError, match="allow_private_hosts"):
        googleplay.SPEC.build(_context("http://10.0.0.8:8080", [], _paged([], [])))
    assert isinstance(
        googleplay.SPEC.build(_context("http://10.0.0.8:8080", ["10.0.0.8:8080"], _paged([], []))),
        GooglePlayCollector,
    )


def test_a_redirect_is_never_followed() -> None:
    seen: list[httpx.Request] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": "http://127.0.0.1:9/internal"})

    collector = googleplay.SPEC.build(_context("", [], redirect))
    query = BrandQuery(1, "Koffiekoning", "k", options={"app_id": APP, "lang": "nl", "country": "nl"})
    with pytest.raises(CollectorError, match="does not follow redirects"):
        list(collector.pages(query, {}))
    assert [r.url.host for r in seen] == ["play.google.com"]


def test_one_stream_per_app_and_locale() -> None:
    brand = BrandSettings(name="Koffiekoning", keywords=["koffiekoning"])
    options = GooglePlayBrand(app_ids=[APP], locales=["nl-NL", "en_us"])
    queries = googleplay.SPEC.queries(3, brand, options)
    assert [(q.query_key, dict(q.options)) for q in queries] == [
        (f"{APP}:nl-nl", {"app_id": APP, "lang": "nl", "country": "nl"}),
        (f"{APP}:en-us", {"app_id": APP, "lang": "en", "country": "us"}),
    ]
    assert {q.brand for q in queries} == {"Koffiekoning"} and googleplay.SPEC.credentials == ()


_TLS_PROBE = r"""
import datetime, ipaddress, ssl, sys, tempfile, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

if sys.argv[1] == "wom":
    import monitor.collectors.googleplay
else:
    import google_play_scraper
from google_play_scraper.utils import request as library_request

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    .sign(key, hashes.SHA256())
)
folder = tempfile.mkdtemp()
with open(f"{folder}/cert.pem", "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
with open(f"{folder}/key.pem", "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_context.load_cert_chain(f"{folder}/cert.pem", f"{folder}/key.pem")

class Reached(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"reached")

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Reached)
server.socket = server_context.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("default context verifies:", ssl._create_default_https_context is ssl.create_default_context)
try:
    library_request.post(f"https://127.0.0.1:{server.server_port}/x", b"f.req=1", {})
    print("self-signed certificate: accepted")
except Exception as e:
    print("self-signed certificate:", "refused" if "CERTIFICATE_VERIFY_FAILED" in repr(e) else repr(e))
"""


@pytest.mark.parametrize(
    ("imported", "expected"),
    [
        ("wom", "default context verifies: True\nself-signed certificate: refused\n"),
        # the control: google-play-scraper alone really does switch verification off
        ("library", "default context verifies: False\nself-signed certificate: accepted\n"),
    ],
    ids=["after-importing-the-collector", "control-library-alone"],
)
def test_importing_the_collector_leaves_tls_verification_on(imported: str, expected: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _TLS_PROBE, imported],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_a_short_or_misshapen_review_array_is_skipped_not_a_crash() -> None:
    """Found by the I-10 fuzz: google-play-scraper's nested_lookup raised IndexError/TypeError."""
    review = _reviews()[0]
    with pytest.raises(CollectorError, match="score None is not a star rating"):
        map_review(review[:1], app_id="com.acme.app", lang="en", country="us")
    no_time = [*review[:5], 7, *review[6:]]  # the [seconds, nanos] slot holds a number
    with pytest.raises(CollectorError, match="review time None is not epoch seconds"):
        map_review(no_time, app_id="com.acme.app", lang="en", country="us")
