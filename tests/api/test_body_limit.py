"""Request bodies: the key is checked before a body is read, and a body is capped as it streams in
([api] max_body_bytes), issue 13 item 2. On the wire through uvicorn where the server's reading matters."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config import ApiSettings, Settings
from monitor.storage.api_keys import create_api_key
from tests.api.conftest import KeylessClient, Seeded, TestClient, build_app, error_of
from tests.api.served import serve_in_thread

CAP = 1024 * 1024
HUGE = 50 * 1024 * 1024
PIECE = 64 * 1024


def _write_operations(client: KeylessClient) -> list[tuple[str, str]]:
    """(method, path with ids filled in) of every API operation that may carry a body."""
    schema = client.get("/openapi.json").json()
    found = []
    for path, operations in schema["paths"].items():
        for method in operations:
            if method in ("post", "put", "patch", "delete"):
                found.append((method.upper(), path.replace("{mention_id}", "1").replace("{author_id}", "1")))
    return sorted(found)


def test_no_key_and_a_bad_body_is_401_on_every_route_that_takes_a_body(
    engine: Engine, seeded: Seeded
) -> None:
    with KeylessClient(build_app(engine)) as client:
        operations = _write_operations(client)
        assert {
            ("PUT", "/api/v1/mentions/1/label"),
            ("POST", "/api/v1/authors/merge"),
            ("POST", "/api/v1/authors/1/split"),
            ("POST", "/api/v1/mentions"),
        } <= set(operations)
        answered = []
        for method, path in operations:
            for body in (b"{not json", b'{"unknown": 1}', b"[]"):
                response = client.request(
                    method,
                    path,
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                answered.append((method, path, body, response.status_code, error_of(response)["code"]))
    assert answered == [(m, p, b, 401, "missing_api_key") for m, p, b, *_ in answered]


def test_a_bad_key_and_a_bad_body_is_401(client: TestClient) -> None:
    response = client.post(
        "/api/v1/authors/merge",
        content=b"{not json",
        headers={"Authorization": "Bearer wom_not_a_key", "Content-Type": "application/json"},
    )
    assert (response.status_code, error_of(response)["code"]) == (401, "invalid_api_key")
    assert response.headers["www-authenticate"] == 'Bearer realm="wom"'


def test_a_valid_key_still_gets_the_body_checked(client: TestClient, seeded: Seeded) -> None:
    mention = seeded.mentions["m01"]
    response = client.put(
        f"/api/v1/mentions/{mention}/label",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, error_of(response)["code"]) == (422, "invalid_request")
    labelled = client.put(f"/api/v1/mentions/{mention}/label", json={"sentiment": "negative"})
    assert labelled.status_code == 200


def test_a_request_with_a_body_spends_one_request_of_the_key(engine: Engine, seeded: Seeded) -> None:
    app = build_app(engine, Settings(api=ApiSettings(requests_per_minute=3)))
    mention = seeded.mentions["m01"]
    with TestClient(app) as client:
        statuses = [
            client.put(f"/api/v1/mentions/{mention}/label", json={"sentiment": "negative"}).status_code
            for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


def test_a_body_past_the_cap_is_413_in_the_error_shape(engine: Engine, seeded: Seeded) -> None:
    app = build_app(engine, Settings(api=ApiSettings(max_body_bytes=CAP)))
    at_cap = json.dumps({"keep_author_id": 1, "merge_author_ids": [2], "pad": " " * (CAP - 60)})
    with TestClient(app) as client:
        over = client.post(
            "/api/v1/mentions", content=b" " * (CAP + 1), headers={"Content-Type": "application/json"}
        )
        fits = client.post(
            "/api/v1/authors/merge", content=at_cap, headers={"Content-Type": "application/json"}
        )
    assert over.status_code == 413
    assert error_of(over) == {
        "code": "payload_too_large",
        "message": "the request body is over 1,048,576 bytes ([api] max_body_bytes); send a smaller one "
        "(POST /api/v1/mentions: split the mentions over several requests)",
    }
    assert len(at_cap) <= CAP
    assert fits.status_code == 422  # read and checked: `pad` is not a field of the merge


class _CountingApp:
    """Wraps the app on the server: how many body bytes the server handed to it, and its largest piece."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.received = 0
        self.largest = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                self.received += size
                self.largest = max(self.largest, size)
            return message

        await self.app(scope, counted, send)


@dataclass
class _Sent:
    bytes_sent: int
    status: int
    body: dict[str, Any]


def _send_chunked(
    address: tuple[str, int], method: str, path: str, headers: dict[str, str], total: int
) -> _Sent:
    """Send a chunked body of up to `total` bytes, a piece at a time, until the server answers or stops
    reading; then read its answer."""
    head = f"{method} {path} HTTP/1.1\r\nHost: wom\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    piece = f"{PIECE:x}\r\n".encode() + b" " * PIECE + b"\r\n"
    sent = 0
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(head.encode())
        pending = b""
        while sent < total or pending:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            assert readable or writable, "the server neither answered nor read for 30 s"
            if readable:
                break  # the answer is coming
            pending = pending or piece
            try:
                written = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += written
            pending = pending[written:]
        else:
            sock.sendall(b"0\r\n\r\n")  # all of it went: end the body, so the server answers
        answer = b""
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
            if b"\r\n\r\n" in answer:
                head_part, _, rest = answer.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head_part.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                if len(rest) >= length:
                    break
    head_part, _, rest = answer.partition(b"\r\n\r\n")
    return _Sent(bytes_sent=sent, status=int(head_part.split(b" ")[1]), body=json.loads(rest))


@pytest.fixture
def served(engine: Engine, seeded: Seeded) -> Iterator[tuple[tuple[str, int], _CountingApp, str]]:
    app = build_app(engine, Settings(api=ApiSettings(max_body_bytes=CAP)))
    counting = _CountingApp(app)
    key = create_api_key(engine, role="manager", label="tests: manager").key
    with serve_in_thread(counting) as address:
        yield address, counting, key


def test_a_chunked_body_past_the_cap_is_not_read_whole(
    served: tuple[tuple[str, int], _CountingApp, str], seeded: Seeded
) -> None:
    address, counting, key = served
    path = f"/api/v1/mentions/{seeded.mentions['m01']}/label"
    answer = _send_chunked(address, "PUT", path, {"Authorization": f"Bearer {key}"}, HUGE)
    assert (answer.status, answer.body["error"]["code"]) == (413, "payload_too_large")
    # the server stopped reading at the piece that passed the cap; the client could not push it all
    assert counting.received - counting.largest <= CAP < counting.received
    assert answer.bytes_sent < HUGE


def test_no_key_and_a_chunked_body_is_401_before_a_byte_is_read(
    served: tuple[tuple[str, int], _CountingApp, str],
) -> None:
    address, counting, _ = served
    answer = _send_chunked(address, "POST", "/api/v1/authors/merge", {}, HUGE)
    assert (answer.status, answer.body["error"]["code"]) == (401, "missing_api_key")
    assert counting.received == 0
    assert answer.bytes_sent < HUGE


def test_a_declared_length_past_the_cap_is_413_before_a_byte_is_read(
    served: tuple[tuple[str, int], _CountingApp, str],
) -> None:
    address, counting, _ = served
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/authors/merge HTTP/1.1\r\nHost: wom\r\nContent-Type: application/json\r\n"
            b"Content-Length: 300000000\r\n\r\n"
        )
        answer = b""
        while data := sock.recv(65536):
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert counting.received == 0
