"""ApiError: an error answered in the one shape `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException
from fastapi.responses import JSONResponse

__all__ = ["DATABASE_FAILED", "ApiError", "error_response"]

DATABASE_FAILED = (
    "the database could not answer; check that it runs, that WOM_DATABASE_URL points at it "
    "and that its schema is upgraded, then retry"
)


class ApiError(HTTPException):
    """An error answered as `{"error": {"code": ..., "message": ...}}`; `message` says what to do.

    `headers` go on the response as they are (WWW-Authenticate on 401, Retry-After on 429).
    """

    def __init__(
        self, status_code: int, *, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=dict(headers) if headers else None)
        self.code = code
        self.message = message


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The response for an error, in the one shape; also for middleware, which runs outside the
    app's exception handlers."""
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)
