"""SecurityHeadersMiddleware: no answer of the app may be framed, sniffed or given a foreign base URL.

The dashboard's pages set their own Content-Security-Policy (dashboards/app.py SECURITY_HEADERS); every
other answer (JSON, errors, the dashboard's 401) gets `API_CSP`, which allows nothing, and /docs gets
`DOCS_CSP`: Swagger UI is served by wom itself (api/docs.py) without inline script, so scripts, styles and
requests come only from wom; its stylesheet draws icons from data: images. Every answer also carries X-Frame-Options: DENY (for browsers without
frame-ancestors) and X-Content-Type-Options: nosniff. Issue 13, item 8: the dashboard could be framed.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_CSP", "DOCS_CSP", "SecurityHeadersMiddleware"]

API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)


class SecurityHeadersMiddleware:
    """Pure ASGI: adds the headers above to each response that does not set them itself."""

    def __init__(self, app: ASGIApp, *, docs_path: str | None) -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = self.docs_path is not None and (
            path == self.docs_path or path.startswith(self.docs_path + "/")
        )
        policy = DOCS_CSP if docs else API_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, with_headers)
