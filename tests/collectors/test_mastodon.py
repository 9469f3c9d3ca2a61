"""Mastodon collector through the real Mastodon.py: synthetic instances (responses) and the recorded
Mastodon.py cassettes in ../shared/fixtures/mastodon replayed with vcrpy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import requests
import responses
import sqlalchemy as sa
import vcr
import vcr.persisters.filesystem
import vcr.request
import yaml
from sqlalchemy.engine import Engine

from monitor.collectors import base as collector_base
from monitor.collectors.base import (
    BrandQuery,
    CollectorError,
    MissingCredentialError,
    RateLimitedError,
    TransientError,
    collect,
)
from monitor.collectors.cursors import CursorKey, load_cursor, save_cursor
from monitor.collectors.mastodon import SPEC, MastodonCollector, html_to_text, map_status
from monitor.collectors.options import MastodonBrand, MastodonSource
from monitor.collectors.outbound import OutboundPolicy
from monitor.collectors.sources import SourceContext
from monitor.config import BrandSettings
from monitor.storage.models import Mention
from monitor.storage.tables import table_of
from tests.collectors.brands import brand_query
from tests.conftest import shared_path

NOW = datetime(2026, 11, 21, tzinfo=UTC)
INSTANCE = "https://mastodon.example"
TIMELINE = re.compile(r"https://mastodon\.example/api/v1/timelines/tag/acme(\?.*)?$")
SEARCH = re.compile(r"https://mastodon\.example/api/v2/search(\?.*)?$")
_MENTION = table_of(Mention)


def _public_policy(*allowed: str) -> OutboundPolicy:
    return OutboundPolicy.from_hosts(allowed, resolver=lambda host, port: ["199.232.1.1"])


def _collector(**options: Any) -> MastodonCollector:
    return MastodonCollector(_public_policy(), now=lambda: NOW, **options)


def _status(n: int, text: str = "Acme beans arrived stale", **fields: Any) -> dict[str, Any]:
    """A status shaped like the recorded ones (test_hashtag_tl.yaml), on a synthetic instance."""
    status_id = str(117_000_000_000_000_000 + n)
    status: dict[str, Any] = {
        "id": status_id,
        "created_at": f"2026-11-20T10:{n:02d}:00.000Z",
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "nl",
        "uri": f"{INSTANCE}/users/koffiefan/statuses/{status_id}",
        "url": f"{INSTANCE}/@koffiefan/{status_id}",
        "replies_count": 1,
        "reblogs_count": 2,
        "favourites_count": 3,
        "quotes_count": 0,
        "content": f'<p>{text} <a href="{INSTANCE}/tags/acme" class="mention hashtag" rel="tag">#<span>acme</span></a></p>',
        "reblog": None,
        "account": {
            "id": "1",
            "username": "koffiefan",
            "acct": "koffiefan",
            "display_name": "Koffie Fan",
            "url": f"{INSTANCE}/@koffiefan",
            "followers_count": 120,
            "bot": False,
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": "acme", "url": f"{INSTANCE}/tags/acme"}],
        "emojis": [],
    }
    status.update(fields)
    return status


class _FakeTimeline:
    """A hashtag timeline paged like Mastodon's: `min_id` gives the statuses immediately newer, newest first."""

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = statuses
        self.params: list[dict[str, str]] = []

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        params = {key: values[0] for key, values in parse_qs(urlsplit(str(request.url)).query).items()}
        self.params.append(params)
        limit = int(params.get("limit", "20"))
        ordered = sorted(self.statuses, key=lambda status: int(status["id"]))
        if "min_id" in params:
            page = [status for status in ordered if int(status["id"]) > int(params["min_id"])][:limit]
        else:
            page = ordered[-limit:]
        return 200, {"X-RateLimit-Remaining": "299"}, json.dumps(page[::-1])


@pytest.fixture
def instance() -> Iterator[responses.RequestsMock]:
    """A synthetic instance at INSTANCE; Mastodon.py asks /api/v2/instance once per client."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.GET,
            f"{INSTANCE}/api/v2/instance/",
            json={
                "version": "4.5.0",
                "api_versions": {"mastodon": 7},
                "configuration": {
                    "timelines_access": {"hashtag_feeds": {"local": "public", "remote": "public"}}
                },
            },
        )
        yield mock


def _stream(engine: Engine, **options: Any) -> BrandQuery:
    query = brand_query(engine, "Acme")
    brand = BrandSettings(name="Acme", keywords=["Acme coffee"], hashtags=["acme"])
    streams = SPEC.queries(query.brand_id, brand, MastodonBrand(instances=[INSTANCE], **options))
    return streams[0]


def _stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_MENTION.c.external_id)
            .where(_MENTION.c.source == "mastodon")
            .order_by(_MENTION.c.external_id)
        )
        return [row[0] for row in rows]


# --- streams and mapping --------------------------------------------------------------------------


def test_one_stream_per_instance_and_hashtag_and_search_term() -> None:
    brand = BrandSettings(name="Acme", keywords=["Acme coffee"], hashtags=["#Acme", "acme", "AcmeBeans"])
    options = MastodonBrand(instances=["mastodon.social", "https://mastodon.nl/"], search=True)
    streams = SPEC.queries(7, brand, options)
    assert [stream.query_key for stream in streams] == [
        "https://mastodon.social #acme",
        "https://mastodon.social #acmebeans",
        "https://mastodon.social search:Acme coffee",
        "https://mastodon.nl #acme",
        "https://mastodon.nl #acmebeans",
        "https://mastodon.nl search:Acme coffee",
    ]
    assert streams[0].options == {"instance": "https://mastodon.social", "hashtag": "acme"}
    assert streams[2].options == {"instance": "https://mastodon.social", "search": "Acme coffee"}
    own_tags = SPEC.queries(7, brand, MastodonBrand(instances=["mastodon.social"], hashtags=["#koffie"]))
    assert [stream.query_key for stream in own_tags] == ["https://mastodon.social #koffie"]


def test_mapping_of_a_local_status() -> None:
    record = map_status(_status(5, language="en-GB"), instance_domain="mastodon.example")
    assert record.source == "mastodon"
    assert record.external_id == f"{INSTANCE}/users/koffiefan/statuses/117000000000000005"
    assert record.url == f"{INSTANCE}/@koffiefan/117000000000000005"
    assert record.text == "Acme beans arrived stale #acme"
    assert record.created_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    assert (record.author.handle, record.author.platform_id, record.author.name) == (
        "koffiefan@mastodon.example",
        f"{INSTANCE}/@koffiefan",
        "Koffie Fan",
    )
    assert (record.author.reach, record.author.reach_kind) == (120, "followers")
    assert record.engagement == {"likes": 3, "shares": 2, "replies": 1, "quotes": 0}
    assert (record.lang, record.in_reply_to, record.brand) == ("en", None, None)
    assert record.raw is not None and record.raw["id"] == "117000000000000005"
    orjson.dumps(record.raw)


def test_a_boost_is_unwrapped_and_a_content_warning_kept() -> None:
    boosted = _status(
        7,
        text="",
        spoiler_text="koffie rant",
        content='<p>Line one<br />line <a href="https://x.example/a"><span class="invisible">https://</span>'
        '<span class="ellipsis">x.example/</span><span class="invisible">a</span></a></p><p>Para &amp; two</p>'
        '<p class="quote-inline">RE: <a href="https://x.example/q">https://x.example/q</a></p>',
        in_reply_to_id="116999",
        account={
            "acct": "remote@other.example",
            "url": "https://other.example/@remote",
            "followers_count": 9,
        },
    )
    wrapper = _status(8, reblog=boosted, content="", account={"acct": "booster", "followers_count": 1})
    record = map_status(wrapper, instance_domain="mastodon.example")
    assert record.external_id == boosted["uri"]
    assert record.text == "koffie rant\n\nLine one\nline https://x.example/a\n\nPara & two"
    assert (record.author.handle, record.author.reach) == ("remote@other.example", 9)
    assert record.in_reply_to == "116999"


def test_html_to_text_keeps_text_after_a_void_tag_in_a_hidden_paragraph() -> None:
    assert html_to_text('<p class="quote-inline">RE: <br/>x</p><p>kept</p>') == "kept"


def test_odd_values_are_cleaned_or_left_out() -> None:
    status = _status(
        9,
        text="bad\x00 byte \ud800 here",
        favourites_count="lots",
        reblogs_count=True,
        replies_count=10**30,
        language=7,
        url="javascript:alert(1)",
        account={"acct": "koffiefan", "followers_count": -4, "display_name": None},
    )
    record = map_status(status, instance_domain="mastodon.example")
    assert record.text == "bad byte \ufffd here #acme" and record.text_sanitized
    assert record.engagement == {"quotes": 0}
    assert (record.lang, record.author.reach, record.author.reach_kind) == (None, None, "none")
    assert record.url == status["uri"]
    raw = orjson.dumps(record.raw).decode()
    assert "\\u0000" not in raw and '"replies_count":"1000000000000000000000000000000"' in raw
    huge = map_status(_status(10, text="x" * 200_000), instance_domain="mastodon.example")
    assert len(huge.text) == 50_000


# --- incremental runs -----------------------------------------------------------------------------


def test_incremental_runs_walk_forward_from_the_newest_id(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    timeline = _FakeTimeline([_status(n) for n in range(1, 4)])
    instance.add_callback(responses.GET, TIMELINE, callback=timeline)
    query = _stream(engine)
    collector = _collector(page_limit=2)

    first = collect(engine, collector, query)  # a first run takes the newest page only
    assert (first.pages, first.new, first.cursor) == (1, 2, {"min_id": "117000000000000003"})
    assert timeline.params[0] == {"limit": "2"}

    timeline.statuses += [_status(n) for n in range(4, 9)]
    second = collect(engine, collector, query)
    assert (second.pages, second.new, second.duplicate) == (3, 5, 0)
    assert [params.get("min_id") for params in timeline.params] == [
        None,  # first run: the newest page, then a check for anything newer
        "117000000000000003",
        "117000000000000003",
        "117000000000000005",
        "117000000000000007",  # a short page: nothing newer to ask for
    ]
    key = CursorKey("mastodon", query.brand_id, "https://mastodon.example #acme")
    assert load_cursor(engine, key) == {"min_id": "117000000000000008"}

    third = collect(engine, collector, query)
    assert (third.pages, third.new) == (0, 0)
    assert timeline.params[-1] == {"limit": "2", "min_id": "117000000000000008"}
    assert len(_stored(engine)) == 7  # status 1 was older than the first run's newest page


def test_a_cursor_in_the_future_returns_nothing(engine: Engine, instance: responses.RequestsMock) -> None:
    instance.add_callback(responses.GET, TIMELINE, callback=_FakeTimeline([_status(n) for n in range(1, 4)]))
    query = _stream(engine)
    key = CursorKey("mastodon", query.brand_id, query.query_key)
    with engine.begin() as conn:
        save_cursor(conn, key, {"min_id": "999999999999999999999"})
    result = collect(engine, _collector(), query)
    assert (result.new, load_cursor(engine, key)) == (0, {"min_id": "999999999999999999999"})


def test_an_instance_that_ignores_min_id_does_not_loop(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    page = json.dumps([_status(2), _status(1)])
    instance.add(responses.GET, TIMELINE, body=page, content_type="application/json")
    query = _stream(engine)
    collector = _collector(page_limit=2)
    assert collect(engine, collector, query).new == 2
    again = collect(engine, collector, query)
    assert (again.pages, again.new) == (0, 0)
    # instance info once; the first run's page was full, so it asked again (and got the same page back)
    assert len(instance.calls) == 4


def test_a_kill_between_fetch_and_commit_loses_and_doubles_nothing(
    engine: Engine, instance: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    timeline = _FakeTimeline([_status(n) for n in range(1, 3)])
    instance.add_callback(responses.GET, TIMELINE, callback=timeline)
    query = _stream(engine)
    collector = _collector(page_limit=2)
    collect(engine, collector, query)
    timeline.statuses += [_status(n) for n in range(3, 9)]

    real_store_page = collector_base.store_page
    calls = {"n": 0}

    def dies_on_second_page(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed between fetch and commit")
        return real_store_page(*args, **kwargs)

    monkeypatch.setattr(collector_base, "store_page", dies_on_second_page)
    with pytest.raises(KeyboardInterrupt):
        collect(engine, collector, query)
    key = CursorKey("mastodon", query.brand_id, query.query_key)
    assert load_cursor(engine, key) == {"min_id": "117000000000000004"}
    assert len(_stored(engine)) == 4

    monkeypatch.setattr(collector_base, "store_page", real_store_page)
    resumed = collect(engine, _collector(page_limit=2), query)
    assert (resumed.new, resumed.duplicate) == (4, 0)
    assert _stored(engine) == sorted(
        f"{INSTANCE}/users/koffiefan/statuses/{117_000_000_000_000_000 + n}" for n in range(1, 9)
    )


# --- faults ---------------------------------------------------------------------------------------


def test_429_backs_off_until_the_reset_header(engine: Engine, instance: responses.RequestsMock) -> None:
    instance.add(
        responses.GET,
        TIMELINE,
        status=429,
        json={"error": "Too many requests"},
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2026-11-21T00:03:00.896192Z",
        },
    )
    with pytest.raises(RateLimitedError, match="429") as raised:
        collect(engine, _collector(), _stream(engine))
    assert raised.value.retry_at == datetime(2026, 11, 21, 0, 3, 0, 896192, tzinfo=UTC)


def test_429_without_a_usable_reset_waits_one_window(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    instance.add(responses.GET, TIMELINE, status=429, headers={"X-RateLimit-Reset": "soon"})
    with pytest.raises(RateLimitedError) as raised:
        collect(engine, _collector(), _stream(engine))
    assert raised.value.retry_at == NOW + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (500, "", TransientError, "HTTP 500"),
        (503, "<html>down</html>", TransientError, "HTTP 503"),
        (404, '{"error":"Record not found"}', CollectorError, "not a Mastodon instance"),
        (
            401,
            '{"error":"This method requires an authenticated user"}',
            CollectorError,
            "logged-in users only",
        ),
        (403, "", CollectorError, "logged-in users only"),
        (422, '{"error":"Validation failed"}', CollectorError, "HTTP 422 \\(Validation failed\\)"),
        (200, "<html>maintenance</html>", TransientError, "not JSON"),
        (200, '[{"id": "117000000000000001", "crea', TransientError, "not JSON"),
        (200, '{"error": "not a list"}', TransientError, "without usable ids"),
    ],
)
def test_bad_responses_name_the_problem(
    engine: Engine, instance: responses.RequestsMock, status: int, body: str, error: type, message: str
) -> None:
    instance.add(responses.GET, TIMELINE, status=status, body=body, content_type="application/json")
    with pytest.raises(error, match=message) as raised:
        collect(engine, _collector(), _stream(engine))
    assert type(raised.value) is error
    assert load_cursor(engine, CursorKey("mastodon", _brand_id(engine), f"{INSTANCE} #acme")) == {}


def _brand_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT id FROM brand WHERE name = 'Acme'")).scalar_one())


def test_timeouts_are_transient(engine: Engine, instance: responses.RequestsMock) -> None:
    instance.add(responses.GET, TIMELINE, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransientError, match="could not be reached"):
        collect(engine, _collector(), _stream(engine))


def test_a_redirect_is_refused_and_never_followed(engine: Engine, instance: responses.RequestsMock) -> None:
    canary = instance.add(responses.GET, "http://127.0.0.1:9/api/v1/timelines/tag/acme", json=[])
    instance.add(
        responses.GET,
        TIMELINE,
        status=302,
        headers={"Location": "http://127.0.0.1:9/api/v1/timelines/tag/acme"},
    )
    with pytest.raises(CollectorError, match=r"redirects to http://127\.0\.0\.1:9/") as raised:
        collect(engine, _collector(), _stream(engine))
    assert not isinstance(raised.value, TransientError)
    assert canary.call_count == 0


def test_unusable_statuses_are_skipped_and_the_rest_kept(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    page = [
        _status(6),
        _status(5, created_at="garbage"),
        _status(4, created_at=12345),
        _status(3, account="nope"),
        _status(2, uri=None),
        _status(1, content="", spoiler_text=""),
        "not an object",
    ]
    instance.add(responses.GET, TIMELINE, json=page)
    result = collect(engine, _collector(), _stream(engine))
    assert (result.new, result.failed) == (1, 6)
    assert result.skipped == [
        "Mastodon status without a created_at time (got NoneType)",
        "Mastodon status created_at 1970-01-01T03:25:45+00:00 is outside 1990..2200",
        f"Mastodon status {INSTANCE}/users/koffiefan/statuses/117000000000000003 without an account handle",
        "Mastodon status without a usable uri",
        f"Mastodon status {INSTANCE}/users/koffiefan/statuses/117000000000000001 has no text",
        "Mastodon status is not an object: str",
    ]
    assert result.cursor == {"min_id": "117000000000000006"}


def test_nul_bytes_and_surrogates_are_stored_cleaned(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    body = json.dumps([_status(1, text="koffie\u0000 \ud800 slecht", display_name="x")])
    instance.add(responses.GET, TIMELINE, body=body, content_type="application/json")
    assert collect(engine, _collector(), _stream(engine)).new == 1
    with engine.connect() as conn:
        text, sanitized = conn.execute(sa.select(_MENTION.c.text, _MENTION.c.text_sanitized)).one()
    assert (text, sanitized) == ("koffie \ufffd slecht #acme", True)


# --- search, credentials, outbound policy ---------------------------------------------------------


def test_search_without_a_token_fails_that_stream_only(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    instance.add(responses.GET, TIMELINE, json=[_status(1)])
    query = brand_query(engine, "Acme")
    brand = BrandSettings(name="Acme", keywords=["Acme coffee"], hashtags=["acme"])
    hashtag, search = SPEC.queries(query.brand_id, brand, MastodonBrand(instances=[INSTANCE], search=True))
    collector = _collector()
    with pytest.raises(MissingCredentialError, match="WOM_MASTODON_ACCESS_TOKEN") as raised:
        collect(engine, collector, search)
    assert raised.value.variable == "WOM_MASTODON_ACCESS_TOKEN"
    assert collect(engine, collector, hashtag).new == 1


def test_search_sends_the_token_and_walks_newer_results(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    seen: list[requests.PreparedRequest] = []
    results = [[_status(n) for n in (9, 8)]]

    def search(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        seen.append(request)
        return (
            200,
            {},
            json.dumps({"accounts": [], "statuses": results.pop(0) if results else [], "hashtags": []}),
        )

    instance.add_callback(responses.GET, SEARCH, callback=search)
    instance.add(responses.GET, f"{INSTANCE}/api/v1/instance/", json={"version": "4.5.0"})
    instance.add(responses.GET, TIMELINE, json=[_status(1)])
    query = brand_query(engine, "Acme")
    brand = BrandSettings(name="Acme", keywords=["Acme coffee"], hashtags=["acme"])
    hashtag, stream = SPEC.queries(query.brand_id, brand, MastodonBrand(instances=[INSTANCE], search=True))
    collector = _collector(access_token="secret-token", page_limit=2)

    first = collect(engine, collector, stream)
    assert (first.new, first.cursor) == (2, {"min_id": "117000000000000009"})
    params = parse_qs(urlsplit(str(seen[0].url)).query)
    assert params == {"q": ["Acme coffee"], "type": ["statuses"], "limit": ["2"]}
    assert seen[0].headers["Authorization"] == "Bearer secret-token"

    results[:] = [[_status(n) for n in (12, 11)], [_status(10)]]
    second = collect(engine, collector, stream)
    assert (second.new, second.cursor) == (3, {"min_id": "117000000000000012"})
    assert [parse_qs(urlsplit(str(r.url)).query).get("offset") for r in seen[1:]] == [None, ["2"]]
    assert {parse_qs(urlsplit(str(r.url)).query)["min_id"][0] for r in seen[1:]} == {"117000000000000009"}

    collect(engine, collector, hashtag)
    timeline_calls = [call for call in instance.calls if "/timelines/" in call.request.url]
    assert "Authorization" not in timeline_calls[0].request.headers


def test_a_rejected_token_names_the_variable(engine: Engine, instance: responses.RequestsMock) -> None:
    instance.add(responses.GET, SEARCH, status=401, json={"error": "The access token is invalid"})
    query = brand_query(engine, "Acme")
    brand = BrandSettings(name="Acme", keywords=["Acme coffee"])
    (stream,) = SPEC.queries(query.brand_id, brand, MastodonBrand(instances=[INSTANCE], search=True))
    with pytest.raises(CollectorError, match="WOM_MASTODON_ACCESS_TOKEN") as raised:
        collect(engine, _collector(access_token="secret-token"), stream)
    assert "secret-token" not in str(raised.value)


def _context(policy: OutboundPolicy, environ: dict[str, str]) -> SourceContext:
    return SourceContext(
        name="mastodon", settings=MastodonSource(), policy=policy, environ=environ, now=lambda: NOW
    )


def test_the_spec_needs_no_credential_and_reads_the_optional_token() -> None:
    assert SPEC.credentials == ()
    with_token = SPEC.build(_context(_public_policy(), {"WOM_MASTODON_ACCESS_TOKEN": " tok "}))
    without = SPEC.build(_context(_public_policy(), {}))
    assert isinstance(with_token, MastodonCollector) and isinstance(without, MastodonCollector)
    assert (with_token._access_token, without._access_token) == ("tok", None)


def test_a_private_instance_is_refused_unless_the_operator_allows_it(
    engine: Engine, instance: responses.RequestsMock
) -> None:
    private = "http://10.0.0.5:3000"
    canary = instance.add(responses.GET, re.compile(r"http://10\.0\.0\.5:3000/.*"), json=[_status(1)])
    query = brand_query(engine, "Acme")
    brand = BrandSettings(name="Acme", hashtags=["acme"])
    (stream,) = SPEC.queries(query.brand_id, brand, MastodonBrand(instances=[private]))

    def resolver(host: str, port: int) -> list[str]:
        return ["10.0.0.5"]

    refused = SPEC.build(_context(OutboundPolicy.from_hosts([], resolver=resolver), {}))
    with pytest.raises(CollectorError, match="allow_private_hosts") as raised:
        collect(engine, refused, stream)
    assert not isinstance(raised.value, TransientError)
    assert canary.call_count == 0

    allowed = SPEC.build(_context(OutboundPolicy.from_hosts(["10.0.0.5:3000"], resolver=resolver), {}))
    assert collect(engine, allowed, stream).new == 1
    assert {urlsplit(call.request.url).netloc for call in instance.calls} == {"10.0.0.5:3000"}


# --- conformance: Mastodon.py's recorded cassettes ------------------------------------------------


class _ReadOnlyPersister:
    """Loads cassettes from ../shared and never writes back (synthetic additions stay in memory)."""

    @staticmethod
    def load_cassette(cassette_path: str, serializer: Any) -> Any:
        return vcr.persisters.filesystem.FilesystemPersister.load_cassette(cassette_path, serializer)

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        return None


def _same_query(live: vcr.request.Request, recorded: vcr.request.Request) -> bool:
    """Exact query match, except what the recordings were made without: wom always sends `limit`, and
    asks search for statuses only (`type`), where the recorded search asked for every type."""
    live_params, recorded_params = dict(live.query), dict(recorded.query)
    for key in ("limit", "type"):
        if key not in recorded_params:
            live_params.pop(key, None)
    for key in ("resolve", "exclude_unreviewed"):  # account/hashtag options; no effect on statuses
        recorded_params.pop(key, None)
    return live_params == recorded_params


def _replay(**hooks: Any) -> vcr.VCR:
    player = vcr.VCR(
        record_mode="none",
        match_on=["method", "scheme", "host", "port", "path", "wom_query"],
        **hooks,
    )
    player.register_matcher("wom_query", _same_query)
    player.register_persister(_ReadOnlyPersister)
    return player


def _recorded(name: str) -> str:
    return str(shared_path("fixtures", "mastodon", name))


def _nothing_newer(uri: str) -> tuple[vcr.request.Request, dict[str, Any]]:
    """Synthetic: the empty page a timeline answers for `min_id` = its newest status."""
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["application/json; charset=utf-8"]},
        "body": {"string": b"[]"},
    }
    return vcr.request.Request("GET", uri, None, {}), response


def _wire(
    collector: MastodonCollector, instance: str, *, authenticated: bool = False
) -> list[requests.Response]:
    """The responses (with the requests as sent) of the instance's client, from now on."""
    _, session = collector._client(instance, authenticated=authenticated)
    seen: list[requests.Response] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
    return seen


def test_conformance_hashtag_timeline(engine: Engine) -> None:
    query = brand_query(engine, "Acme")
    (stream,) = SPEC.queries(
        query.brand_id,
        BrandSettings(name="Acme", hashtags=["hoot"]),
        MastodonBrand(instances=["http://localhost:3000"]),
    )
    collector = MastodonCollector(_public_policy("localhost:3000"), now=lambda: NOW)
    wire = _wire(collector, "http://localhost:3000")
    with _replay().use_cassette(_recorded("test_hashtag_tl.yaml")):
        result = collect(engine, collector, stream)
    assert [response.request.url for response in wire] == [
        "http://localhost:3000/api/v2/instance/",
        "http://localhost:3000/api/v1/timelines/tag/hoot?limit=40",
    ]
    assert "Authorization" not in wire[1].request.headers
    assert (result.pages, result.new, result.failed) == (1, 1, 0)
    assert result.cursor == {"min_id": "117020593741189701"}
    with engine.connect() as conn:
        row = conn.execute(sa.select(_MENTION).where(_MENTION.c.source == "mastodon")).mappings().one()
    assert (
        row["external_id"] == "http://localhost:3000/ap/users/117020566092212359/statuses/117020593741189701"
    )
    assert row["url"] == "http://localhost:3000/@mastodonpy_test_2/117020593741189701"
    assert (row["text"], row["lang"]) == ("#hoot (hashtag toot)", "ja")
    assert row["author_handle"] == "mastodonpy_test_2@localhost:3000"
    assert (row["reach"], row["reach_kind"]) == (0, "followers")
    assert row["created_at"].replace(tzinfo=UTC) == datetime(2026, 8, 1, 13, 55, 55, 867000, tzinfo=UTC)
    assert row["engagement"] == {"likes": 0, "shares": 0, "replies": 0, "quotes": 0}
    assert (row["in_reply_to"], row["brand_hint"]) == (None, None)
    assert row["raw"]["account"]["acct"] == "mastodonpy_test_2"


def test_conformance_min_id_paging(engine: Engine) -> None:
    """test_fetch_next_previous.yaml pages an account's statuses by `min_id` with the same semantics as a
    hashtag timeline; the stream's path is rewritten to the recorded one."""
    query = brand_query(engine, "Acme")
    (stream,) = SPEC.queries(
        query.brand_id,
        BrandSettings(name="Acme", hashtags=["hoot"]),
        MastodonBrand(instances=["http://localhost:3000"]),
    )
    key = CursorKey("mastodon", query.brand_id, stream.query_key)
    with engine.begin() as conn:
        save_cursor(conn, key, {"min_id": "117020580481736214"})

    def as_account_statuses(request: vcr.request.Request) -> vcr.request.Request:
        request.uri = request.uri.replace("/timelines/tag/hoot", "/accounts/117020565966271181/statuses")
        return request

    collector = MastodonCollector(_public_policy("localhost:3000"), page_limit=5, now=lambda: NOW)
    with _replay(before_record_request=as_account_statuses).use_cassette(
        _recorded("test_fetch_next_previous.yaml")
    ) as cassette:
        cassette.append(
            *_nothing_newer(
                "http://localhost:3000/api/v1/accounts/117020565966271181/statuses?limit=5&min_id=117020580518794573"
            )
        )
        result = collect(engine, collector, stream)
        played_newest = cassette.play_counts[len(cassette.requests) - 1]
    assert played_newest == 1  # the walk asked for what is newer than the page's newest id, and stopped
    assert (result.pages, result.new) == (1, 5)
    assert load_cursor(engine, key) == {"min_id": "117020580518794573"}
    assert _stored(engine) == [
        f"http://localhost:3000/ap/users/117020565966271181/statuses/{status_id}"
        for status_id in (
            "117020580489281910",
            "117020580496489811",
            "117020580503743669",
            "117020580511453871",
            "117020580518794573",
        )
    ]
    with engine.connect() as conn:
        texts = conn.execute(
            sa.select(_MENTION.c.text, _MENTION.c.author_handle).order_by(_MENTION.c.external_id)
        ).all()
    assert [tuple(row) for row in texts] == [
        (f"Toot number {n}!", "mastodonpy_test@localhost:3000") for n in range(5, 10)
    ]


def test_conformance_search_v2_on_mastodon_social(engine: Engine) -> None:
    query = brand_query(engine, "Halcy")
    (stream,) = SPEC.queries(
        query.brand_id,
        BrandSettings(name="Halcy", keywords=["halcy"]),
        MastodonBrand(instances=["mastodon.social"], search=True),
    )
    collector = MastodonCollector(_public_policy(), access_token="DUMMY", now=lambda: NOW)
    wire = _wire(collector, "https://mastodon.social", authenticated=True)
    with _replay().use_cassette(_recorded("test_entity_searchv2.yaml")):
        result = collect(engine, collector, stream)
    assert [response.request.url for response in wire] == [
        "https://mastodon.social/api/v2/search?q=halcy&limit=40&type=statuses"
    ]
    assert wire[0].request.headers["Authorization"] == "Bearer DUMMY"
    assert (result.new, result.failed, result.cursor) == (2, 0, {"min_id": "116388149027005349"})
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_MENTION).order_by(_MENTION.c.created_at.desc())).mappings().all()
    greg, jo = rows
    assert greg["external_id"] == "https://icosahedron.website/users/greg/statuses/116388148912635764"
    assert greg["url"] == "https://icosahedron.website/@greg/116388148912635764"
    assert greg["text"] == (
        "@cancel @halcy not only is this the classic hip-hop / funk sample but it's ALSO the dnb sample "
        "(just sped up real fast) - e.g. heard right at the start of Squarepusher - Come On My Selector "
        "https://www.youtube.com/watch?v=MWCSw_cNxKc"
    )
    assert (greg["author_handle"], greg["reach"], greg["lang"]) == ("greg@icosahedron.website", 455, "en")
    assert greg["engagement"] == {"likes": 0, "shares": 0, "replies": 1, "quotes": 0}
    assert greg["in_reply_to"] == "116387888508422624"
    assert greg["created_at"].replace(tzinfo=UTC) == datetime(2026, 4, 11, 21, 16, 53, tzinfo=UTC)
    assert jo["external_id"] == "https://social.sublingual.xyz/users/Jo/statuses/116388107097123650"
    assert jo["text"] == "@halcy me when im riding my horse in stop and go traffic"
    assert (jo["author_handle"], jo["reach"]) == ("Jo@social.sublingual.xyz", 893)
    assert jo["engagement"] == {"likes": 4, "shares": 1, "replies": 0, "quotes": 0}
    assert jo["in_reply_to"] == "116387872475672523"


def test_conformance_status_search_that_finds_nothing(engine: Engine) -> None:
    query = brand_query(engine, "Test")
    (stream,) = SPEC.queries(
        query.brand_id,
        BrandSettings(name="Test", keywords=["mastodonpy_test"]),
        MastodonBrand(instances=["http://localhost:3000"], search=True),
    )
    collector = MastodonCollector(_public_policy("localhost:3000"), access_token="DUMMY", now=lambda: NOW)

    def statuses_only(request: vcr.request.Request, response: dict[str, Any], cassette: Any) -> Any:
        return (request, response) if "type=statuses" in request.uri else None

    with _replay(after_load_interaction=statuses_only).use_cassette(
        _recorded("test_search.yaml")
    ) as cassette:
        result = collect(engine, collector, stream)
        assert cassette.play_counts[0] == 1
    assert (result.pages, result.new, result.failed, result.cursor) == (1, 0, 0, {})


# --- malformed payloads (RELIABILITY I-6) ---------------------------------------------------------


def _recorded_statuses() -> str:
    """The statuses of the real mastodon.social search response, as a timeline page would carry them."""
    cassette = yaml.safe_load(Path(_recorded("test_entity_searchv2.yaml")).read_text(encoding="utf-8"))
    body = json.loads(cassette["interactions"][2]["response"]["body"]["string"])
    return json.dumps(body["statuses"])


def _drain(collector: MastodonCollector, query: BrandQuery) -> list[Any]:
    return list(collector.pages(query, {}))


def _offline_stream() -> BrandQuery:
    (stream,) = SPEC.queries(
        1, BrandSettings(name="Acme", hashtags=["acme"]), MastodonBrand(instances=[INSTANCE])
    )
    return stream


def test_a_recorded_page_truncated_anywhere_is_a_transient_fault(instance: responses.RequestsMock) -> None:
    body = _recorded_statuses()
    offsets = range(0, len(body), max(1, len(body) // 50))
    for offset in offsets:
        instance.upsert(responses.GET, TIMELINE, body=body[:offset], content_type="application/json")
        with pytest.raises(TransientError):
            _drain(_collector(), _offline_stream())
    instance.upsert(responses.GET, TIMELINE, body=body, content_type="application/json")
    (page,) = _drain(_collector(), _offline_stream())
    assert len(page.records) == 2


_MAPPED_FIELDS = [
    ("id",),
    ("uri",),
    ("url",),
    ("created_at",),
    ("content",),
    ("spoiler_text",),
    ("language",),
    ("in_reply_to_id",),
    ("favourites_count",),
    ("reblogs_count",),
    ("replies_count",),
    ("quotes_count",),
    ("reblog",),
    ("account",),
    ("account", "acct"),
    ("account", "url"),
    ("account", "followers_count"),
    ("account", "display_name"),
]


@pytest.mark.parametrize("path", _MAPPED_FIELDS, ids=".".join)
def test_wrong_types_on_a_mapped_field_skip_or_map_the_status(
    instance: responses.RequestsMock, path: tuple[str, ...]
) -> None:
    statuses = json.loads(_recorded_statuses())
    for wrong in ([1], {"a": 1}, 7, -1, 1.5, "x", "", None, True, 10**30):
        broken = json.loads(json.dumps(statuses[0]))
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = wrong
        instance.upsert(responses.GET, TIMELINE, json=[broken, statuses[1]])
        try:
            (page,) = _drain(_collector(), _offline_stream())
        except TransientError:
            assert path == ("id",)  # the only field a page cannot go on without: its cursor
            continue
        assert len(page.records) + len(page.skipped) == 2
        assert page.records[-1].external_id == statuses[1]["uri"]
        for record in page.records:
            orjson.dumps(record.raw)
