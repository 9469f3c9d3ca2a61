"""Local HTTP servers that replay recorded platform responses, one server per source (for benchmarks and demos).

Each source gets its own 127.0.0.1 port, so its base URL needs no path prefix. Bodies are the recordings
in `../shared/fixtures` (or the repo's `*_synthetic.*` fixtures where no recording exists), moved in time
so that their newest timestamp is an hour ago: collectors that look back a few days on their first run
then see them as new, as they would see live data. Follow-up pages (a cursor, token or `after` in the
request) are answered with an empty page, so each stream reads the recording once.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

__all__ = ["ReplayServers", "Reply", "shift_times", "source_handlers"]

REPO = Path(__file__).resolve().parents[1]
SYNTHETIC = REPO / "tests" / "collectors" / "fixtures"
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_EPOCH = re.compile(r'("(?:created_utc|created_at_i|created)"\s*:\s*)(\d{9,10})(\.\d+)?')


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[str, str, dict[str, list[str]], bytes], Reply]


def _iso_time(match: re.Match[str]) -> datetime:
    zone = match.group(4) or "Z"
    return datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}{'+00:00' if zone == 'Z' else zone}")


def shift_times(text: str, now: datetime) -> str:
    """`text` with every ISO-8601 time and epoch `created*` field moved so that the newest is now - 1 h."""
    times = [_iso_time(m) for m in _ISO.finditer(text)]
    times += [datetime.fromtimestamp(int(m.group(2)), tz=UTC) for m in _EPOCH.finditer(text)]
    if not times:
        return text
    delta = (now - timedelta(hours=1)) - max(times)

    def iso(match: re.Match[str]) -> str:
        moved = _iso_time(match) + delta
        zone = match.group(4)
        if zone and zone != "Z":
            moved = moved.astimezone(_iso_time(match).tzinfo)
        return f"{moved:%Y-%m-%dT%H:%M:%S}{match.group(3) or ''}{zone or ''}"

    def epoch(match: re.Match[str]) -> str:
        return f"{match.group(1)}{int(match.group(2)) + int(delta.total_seconds())}{match.group(3) or ''}"

    return _EPOCH.sub(epoch, _ISO.sub(iso, text))


def _json(body: Any) -> Reply:
    return Reply(200, json.dumps(body).encode())


def _text(text: str, content_type: str = "application/json") -> Reply:
    return Reply(200, text.encode(), content_type)


def _vcr_bodies(path: Path) -> list[tuple[str, str, str]]:
    """(method, uri, body) of every interaction of a vcrpy (JSON or YAML) or R-vcr cassette."""
    data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    interactions = data.get("interactions") or data.get("http_interactions") or []
    found = []
    for item in interactions:
        body = item["response"]["body"]
        text = body.get("string", "") if isinstance(body, dict) else body
        if isinstance(text, bytes):
            text = text.decode()
        found.append((item["request"]["method"], item["request"]["uri"], text))
    return found


def _first_body(path: Path, uri_part: str) -> str:
    for _, uri, text in _vcr_bodies(path):
        if uri_part in uri:
            return text
    raise LookupError(f"no interaction with {uri_part!r} in {path}")


def _fake_jwt(subject: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    exp = int((datetime.now(UTC) + timedelta(hours=2)).timestamp())
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': subject, 'exp': exp, 'scope': 'com.atproto.access'})}.c2ln"


def source_handlers(shared: Path, now: datetime) -> dict[str, Handler]:
    """One request handler per source, answering from the recordings."""
    fixtures = shared / "fixtures"

    def moved(text: str) -> str:
        return shift_times(text, now)

    hn = moved((SYNTHETIC / "hackernews" / "search_by_date_synthetic.json").read_text())
    hn_user = (SYNTHETIC / "hackernews" / "user_synthetic.json").read_text()
    appstore = moved((fixtures / "appstore" / "itunes_rss_reviews.json").read_text())
    play = (fixtures / "googleplay" / "review_relevant.batchexecute.txt").read_text()
    trustpilot = moved((SYNTHETIC / "trustpilot" / "business_unit_reviews_synthetic.json").read_text())
    alerts = moved((fixtures / "rss" / "google_alerts_atom.xml").read_text())
    uploads = moved((fixtures / "rss" / "youtube_atom.xml").read_text())
    youtube = {
        name: moved((fixtures / "youtube" / f"{name}.json").read_text())
        for name in (
            "comment_threads_all_to_me",
            "comment_threads_by_video_paged_2",
            "comments_by_parent_paged_1",
            "channel_info_single",
        )
    }
    brexit = json.loads((fixtures / "twitter" / "brexit.jsonl").read_text().splitlines()[0])
    brexit.pop("__twarc", None)
    x_search = moved(json.dumps(brexit))
    reddit_dir = fixtures / "reddit"
    reddit_token = _first_body(reddit_dir / "TestSubreddit.test_search.json", "access_token")
    reddit_search = moved(_first_body(reddit_dir / "TestSubreddit.test_search.json", "/search"))
    reddit_comments = moved(_first_body(reddit_dir / "TestSubredditListings.test_comments.json", "/comments"))
    reddit_karma = _first_body(reddit_dir / "TestRedditors.test_partial_redditors.json", "user_data_by")
    mastodon_tag = moved(_first_body(fixtures / "mastodon" / "test_hashtag_tl.yaml", "/timelines/tag/"))
    bluesky_search = moved(_first_body(fixtures / "bluesky" / "f_search.yml", "searchPosts"))
    bluesky_profiles = _first_body(fixtures / "bluesky" / "a_profile.yml", "getProfiles")
    empty_listing = {"kind": "Listing", "data": {"after": None, "before": None, "dist": 0, "children": []}}

    def hackernews(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if "/users/" in path:
            return _text(hn_user)
        data = json.loads(hn)
        data["nbPages"] = 1
        return _json(data)

    def appstore_feed(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        return _text(appstore) if "/page=1/" in path else _json({"feed": {}})

    def googleplay(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        return _text(play, "application/json; charset=utf-8")

    def trustpilot_reviews(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        return (
            _text(trustpilot) if query.get("page", ["1"])[0] == "1" else _json({"reviews": [], "links": []})
        )

    def rss(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        return _text(alerts if "alerts" in path else uploads, "application/atom+xml; charset=utf-8")

    def youtube_api(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        resource = path.rstrip("/").rsplit("/", 1)[-1]
        if resource == "channels":
            return _text(youtube["channel_info_single"])
        if "pageToken" in query:
            return _json({"items": []})
        if resource == "comments":
            return _text(youtube["comments_by_parent_paged_1"])
        if "videoId" in query:
            return _text(youtube["comment_threads_by_video_paged_2"])
        return _text(youtube["comment_threads_all_to_me"])

    def x_api(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if "next_token" in query or "pagination_token" in query:
            return _json({"meta": {"result_count": 0}})
        return _text(x_search)

    def reddit(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if path.endswith("/access_token"):
            return _text(reddit_token)
        if "user_data_by_account_ids" in path:
            return _text(reddit_karma)
        if "after" in query:
            return _json(empty_listing)
        return _text(reddit_search if "/search" in path else reddit_comments)

    def mastodon(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if "/timelines/tag/" not in path or "min_id" in query or "max_id" in query:
            return _json([])
        return _text(mastodon_tag)

    def bluesky(method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if path.endswith("com.atproto.server.createSession"):
            did = "did:plc:replayreplayreplayreplay"
            return _json(
                {
                    "did": did,
                    "handle": "replay.bsky.social",
                    "accessJwt": _fake_jwt(did),
                    "refreshJwt": _fake_jwt(did),
                    "active": True,
                }
            )
        if path.endswith("app.bsky.actor.getProfiles"):
            return _text(bluesky_profiles)
        if path.endswith("app.bsky.feed.searchPosts"):
            return _json({"posts": []}) if "cursor" in query else _text(bluesky_search)
        return Reply(404, b'{"error":"NotFound"}')

    return {
        "hackernews": hackernews,
        "appstore": appstore_feed,
        "googleplay": googleplay,
        "trustpilot": trustpilot_reviews,
        "rss": rss,
        "youtube": youtube_api,
        "x": x_api,
        "reddit": reddit,
        "mastodon": mastodon,
        "bluesky": bluesky,
    }


class ReplayServers:
    """Starts one threaded server per handler on 127.0.0.1; `urls[source]` is its origin."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self.requests: dict[str, int] = dict.fromkeys(handlers, 0)
        self._lock = threading.Lock()

    def __enter__(self) -> ReplayServers:
        for source, handler in self.handlers.items():
            server = ThreadingHTTPServer(("127.0.0.1", 0), self._request_handler(source, handler))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers[source] = server
        return self

    def __exit__(self, *_: object) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()

    @property
    def urls(self) -> dict[str, str]:
        return {
            source: f"http://127.0.0.1:{server.server_address[1]}" for source, server in self.servers.items()
        }

    def _request_handler(self, source: str, handler: Handler) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Replayed(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                with replay._lock:
                    replay.requests[source] += 1
                reply = handler(self.command, url.path, parse_qs(url.query), body)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        return Replayed
