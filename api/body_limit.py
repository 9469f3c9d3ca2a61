"""BodyLimitMiddleware: request bodies are capped as they stream in, at [api] max_body_bytes.

A body that declares a larger Content-Length is refused before a byte of it is read; one without a
Content-Length (chunked) or whose length lies is counted as it arrives and refused once past the cap, so
the server holds at most the cap plus the last piece it received. The answer is a 413 in the API's error
shape. A 300 MB body without a key once took the server from 117 MB to 1.29 GB (issue 13, item 2).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response

__all__ = ["BodyLimitMiddleware", "BodyTooLargeError"]


class BodyTooLargeError(ApiError):
    """The request body is past the cap: a 413 (raised from `receive`, so the app's handlers answer it
    when the app was reading the body, and the middleware when nothing did)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            code="payload_too_large",
            message=f"the request body is over {max_bytes:,} bytes ([api] max_body_bytes); send a smaller one "
            "(POST /api/v1/mentions: split the mentions over several requests)",
        )


class BodyLimitMiddleware:
    """Pure ASGI: counts the body's bytes as the app receives them; 413 past `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLargeError:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLargeError(self.max_bytes)
        # the rest of the body stays unread: the server closes the connection after this answer
        await error_response(error.status_code, error.code, error.message, {"Connection": "close"})(
            scope, receive, send
        )
