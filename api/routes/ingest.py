"""POST /api/v1/mentions (manager): own-site reviews and webhooks send mentions in the import format.

The body is one mention object or a JSON array of them, exactly as a line of `wom import` (see
monitor/records.py and README, Import format), at most MAX_ITEMS items and MAX_BODY_BYTES bytes. Each item
is checked on its own; the good ones are stored in one transaction (duplicates by `(source, external_id)`
skipped, a forgotten author's refused) and go through the pipeline like an import. The answer reports
every item in order:

    201  every item is good and at least one was created
    200  every item is good and none was new (all duplicates or forgotten)
    422  some items are bad: they carry the reason and were not stored; every good item was stored
    413  the body or the item count is over the limit; nothing was stored
    403  an item names a brand outside a brand-scoped key's brands; nothing was stored (an item without
         a brand gets the key's own brand)

A brand-scoped key's mentions are linked only to its brand and that brand's competitors, whatever their
text names (`mention.scope_brand_id`, read by the match stage), so they never raise another brand's alerts.
An item nested deeper than monitor.records.MAX_DEPTH levels is rejected like any other bad item.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from api.deps import ApiError, Principal, require_role
from api.writes import get_write_engine
from monitor.errors import ForbiddenBrandError
from monitor.service.ingest import IngestItem, IngestReport, ingest_items

__all__ = ["MAX_BODY_BYTES", "MAX_ITEMS", "IngestItem", "IngestReport", "router"]

MAX_ITEMS = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024

router = APIRouter()  # included by api/routes/mentions.py, which tags it


class _ErrorDetail(BaseModel):
    code: str
    message: str


class IngestRejected(BaseModel):
    """422: the error shape and, when some items were bad, what became of every item (the good ones were
    stored). A body that is not a mention or a list of them gets only `error`."""

    error: _ErrorDetail
    created: int | None = None
    duplicate: int | None = None
    forgotten: int | None = None
    rejected: int | None = None
    items: list[IngestItem] | None = None


# the import format, for /docs and schema-driven clients; items are validated one by one (parse_mention)
_MENTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["source", "external_id", "text", "created_at", "author"],
    "properties": {
        "source": {"type": "string", "example": "ownsite"},
        "external_id": {"type": "string", "example": "review-1"},
        "text": {"type": "string", "example": "Fast delivery, lovely coffee"},
        "created_at": {"type": "string", "format": "date-time", "example": "2026-11-01T10:00:00Z"},
        "author": {
            "type": "object",
            "required": ["handle"],
            "properties": {
                "handle": {"type": "string"},
                "id": {"type": "string"},
                "name": {"type": "string"},
                "followers": {"type": "integer", "minimum": 0},
            },
        },
        "url": {"type": "string", "format": "uri"},
        "lang": {"type": "string", "example": "nl"},
        "rating": {"type": "number", "minimum": 1, "maximum": 5},
        "engagement": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "in_reply_to": {"type": "string"},
        "thread_id": {"type": "string"},
        "brand": {"type": "string", "description": "A configured brand; without it the matcher decides."},
    },
}
_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _MENTION_SCHEMA,
                        {"type": "array", "items": _MENTION_SCHEMA, "minItems": 1, "maxItems": MAX_ITEMS},
                    ]
                }
            }
        },
    }
}


def _too_large(what: str) -> ApiError:
    return ApiError(
        413,
        code="payload_too_large",
        message=f"{what}; send at most {MAX_ITEMS:,} mentions and {MAX_BODY_BYTES // (1024 * 1024)} MB "
        "per request, split into several requests",
    )


async def json_body(request: Request) -> Any:
    """The body as JSON, read up to MAX_BODY_BYTES. Raises ApiError 413 past it, 422 for what is not JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large(f"the body is {int(declared):,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(f"the body is over {MAX_BODY_BYTES:,} bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as e:
        raise ApiError(
            422,
            code="invalid_json",
            message=f"the body is not valid JSON ({e}); send one mention object or a JSON array of them, "
            "UTF-8 encoded",
        ) from e


def _items(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise ApiError(
            422,
            code="invalid_body",
            message=f"the body is a JSON {type(data).__name__}; send one mention object or an array of them",
        )
    if not data:
        raise ApiError(422, code="invalid_body", message="the array is empty; send at least one mention")
    if len(data) > MAX_ITEMS:
        raise _too_large(f"the body holds {len(data):,} mentions")
    return data


@router.post(
    "/mentions",
    response_model=IngestReport,
    status_code=201,
    summary="Ingest one mention or a list in the import format (manager)",
    openapi_extra=_REQUEST_BODY,
    responses={
        200: {"model": IngestReport, "description": "Every item was good; none was new"},
        413: {
            "description": f"More than {MAX_ITEMS} items or {MAX_BODY_BYTES // (1024 * 1024)} MB; nothing stored"
        },
        422: {
            "model": IngestRejected,
            "description": "Some items were bad (each carries its reason); the good ones were stored. "
            "A body that is not a mention or a list of them gets only `error`.",
        },
    },
)
def post_mentions(
    # the role is checked before the body is read
    principal: Annotated[Principal, Depends(require_role("manager"))],
    data: Annotated[Any, Depends(json_body)],
    engine: Annotated[Engine, Depends(get_write_engine)],
) -> Any:
    """Own-site reviews and webhooks: see the module docstring for the answers. Stored mentions are
    matched, classified, profiled and alerted on by the pipeline, as an import is."""
    try:
        report = ingest_items(engine, _items(data), scope=principal.scope)
    except ForbiddenBrandError as e:
        raise ApiError(403, code="forbidden_brand", message=str(e)) from e
    if report.rejected:
        first = next(item for item in report.items if item.status == "rejected")
        body = IngestRejected(
            error=_ErrorDetail(
                code="invalid_items",
                message=f"{report.rejected} of {len(report.items)} mentions were rejected and not stored "
                f"(the first, item {first.index}: {first.reason}); the others were taken as items[].status "
                "says. Fix the rejected items (see items[].reason) and send only them again",
            ),
            **report.model_dump(),
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=422)
    if not report.created:
        return JSONResponse(report.model_dump(mode="json"), status_code=200)
    return report
