"""GET /api/v1/stats/sentiment (trend and share of voice) and GET /api/v1/status (what the database holds)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.deps import (
    ApiError,
    Instant,
    as_utc,
    every_brand,
    get_engine,
    get_now,
    get_session,
    get_settings,
    required_brand,
)
from api.responses import json_response
from monitor.config import Settings
from monitor.errors import RangeTooLongError
from monitor.read.series import Interval, SentimentSeries, sentiment_series
from monitor.service.status import StatusReport, status_report
from monitor.storage.models import Brand

__all__ = ["default_range", "router"]

router = APIRouter(tags=["stats"])

_DEFAULT_SPAN = {"hour": timedelta(hours=47), "day": timedelta(days=29), "week": timedelta(weeks=11)}


def default_range(
    since: datetime | None, until: datetime | None, *, interval: Interval, now: datetime
) -> tuple[datetime, datetime]:
    """The range asked for, with `until` defaulting to now and `since` to 48 hours, 30 days or 12 weeks before it."""
    end = as_utc(until) or now
    start = as_utc(since) or end - _DEFAULT_SPAN[interval]
    if start >= end:
        raise ApiError(422, code="invalid_range", message="'since' must be earlier than 'until'; swap them")
    return start, end


@router.get("/stats/sentiment", response_model=SentimentSeries, summary="Sentiment trend and share of voice")
def get_sentiment(
    session: Annotated[Session, Depends(get_session)],
    now: Annotated[datetime, Depends(get_now)],
    brand: Annotated[Brand, Depends(required_brand)],
    interval: Annotated[
        Interval, Query(description="Bucket size: hours in UTC, days and weeks in the brand's time zone.")
    ] = "day",
    since: Annotated[Instant | None, Query(description="ISO 8601; default 30 days or 12 weeks back.")] = None,
    until: Annotated[Instant | None, Query(description="ISO 8601, exclusive; default now.")] = None,
) -> Response:
    """Word of mouth per bucket: `volume`, the sentiment counts, `net_sentiment` and the share of voice
    leave out the posts of the brand's own and staff accounts; those (its responses) are each bucket's
    `own_posts`, a series of their own."""
    try:
        start, end = default_range(since, until, interval=interval, now=now)
        series = sentiment_series(session, brand=brand, interval=interval, since=start, until=end)
    except RangeTooLongError as e:
        raise ApiError(422, code="range_too_long", message=str(e)) from e
    except OverflowError as e:  # date arithmetic on the buckets past what datetime holds
        raise ApiError(
            422,
            code="invalid_range",
            message="the buckets from 'since' to 'until' reach past 9999-12-31 or before 0001-01-01; "
            "choose 'since' and 'until' further from the ends of the calendar",
        ) from e
    return json_response(series)


@router.get(
    "/status",
    response_model=StatusReport,
    summary="Row counts, the newest run of every job, and each collector source's state and back-off",
    dependencies=[Depends(every_brand)],
)
def get_status(
    session: Annotated[Session, Depends(get_session)],
    engine: Annotated[Engine, Depends(get_engine)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> StatusReport:
    return status_report(session, engine, settings, now)
