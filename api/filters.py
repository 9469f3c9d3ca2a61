"""Filters whose values form a set: a value outside it is a 422 naming the allowed values, in the words
FastAPI uses for an enum parameter, instead of an empty list that looks like an answer.

The parameters stay plain strings in the route signatures so the OpenAPI schema does not change.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import ApiError
from monitor.scoring.profile import SEGMENTS

__all__ = ["ALERT_STATUSES", "SEGMENTS", "one_of"]

# "open" and "withdrawn" are set by monitor/alerts/evaluate.py, "resolved" by the spike detector when an
# incident ends (monitor/alerts/incidents.py) and by people, "acknowledged" by people
ALERT_STATUSES = ("open", "acknowledged", "resolved", "withdrawn")


def one_of(name: str, value: str | None, allowed: Sequence[str]) -> str | None:
    """`value` when it is None or in `allowed`. Raises ApiError 422 naming the parameter and the values."""
    if value is None or value in allowed:
        return value
    quoted = [repr(item) for item in allowed]
    choices = f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    raise ApiError(
        422,
        code="invalid_request",
        message=f"query parameter {name!r}: Input should be {choices}. "
        "Fix the request and retry; /docs lists the values.",
    )
