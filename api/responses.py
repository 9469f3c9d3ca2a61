"""Sending a response model as JSON without FastAPI handling it twice."""

from __future__ import annotations

from fastapi.responses import Response
from pydantic import BaseModel

__all__ = ["json_response"]


def json_response(model: BaseModel) -> Response:
    """`model` as JSON. A route that returns the model itself has FastAPI dump it to a dict, validate that
    against the response model and serialize it again: for a page of 50 mentions, a third of its time.
    The route keeps `response_model=` for the OpenAPI schema."""
    return Response(content=model.model_dump_json(), media_type="application/json")
