"""ApiError: an error answered in the one shape `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException

__all__ = ["ApiError"]


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
