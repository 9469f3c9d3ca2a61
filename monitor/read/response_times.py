"""Response times as GET /api/v1/stats/response-times shows them: per brand and ISO week (in the brand's
time zone) of the items opened that week, the median and 90th percentile of the time to first response,
how many missed their target, how many still wait; and each brand's backlog now.

An item missed its target when its first response came after its due time, or when it still waits without
one past it. Percentiles are numpy's default, linear ones (`statistics.quantiles` with method "inclusive").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session

from monitor.read.inbox import WAITING, overdue_condition
from monitor.storage.models import Brand, InboxItem
from monitor.storage.tables import table_of

__all__ = [
    "BrandBacklog",
    "PeriodResponseTimes",
    "ResponseTimeWeek",
    "ResponseTimes",
    "period_response_times",
    "response_times",
]

_ITEM = table_of(InboxItem)
_BRAND = table_of(Brand)


class ResponseTimeWeek(BaseModel):
    """The items of one brand opened in one ISO week (`week` as 2026-W45, starting on Monday
    `week_start` in the brand's time zone). Hours are null without a first response in the week's items."""

    brand: str
    week: str
    week_start: date
    opened: int
    responded: int
    median_hours: float | None
    p90_hours: float | None
    missed_target: int
    waiting: int


class BrandBacklog(BaseModel):
    """A brand's items waiting (open or acknowledged) now, and those of them past due without a response."""

    brand: str
    waiting: int
    overdue: int


class ResponseTimes(BaseModel):
    since: datetime
    until: datetime
    weeks: list[ResponseTimeWeek]
    backlog: list[BrandBacklog]


class PeriodResponseTimes(BaseModel):
    """One brand's inbox: the items opened in [since, until) (as in a week above, over the whole period) and
    its backlog now."""

    opened: int
    responded: int
    median_hours: float | None
    p90_hours: float | None
    missed_target: int
    backlog: BrandBacklog


@dataclass
class _Week:
    opened: int = 0
    hours: list[float] = field(default_factory=list)
    missed: int = 0
    waiting: int = 0


def _percentiles(hours: Sequence[float]) -> tuple[float | None, float | None]:
    if not len(hours):
        return None, None
    # numpy's default (linear) method is statistics.quantiles' "inclusive" one; it sorts once, in C
    median, p90 = np.percentile(np.asarray(hours, dtype=np.float64), [50, 90])
    return round(float(median), 2), round(float(p90), 2)


def _missed(row: Any, now: datetime) -> bool:
    if row.first_response_at is not None:
        return bool(row.first_response_at > row.due_at)
    return row.status in WAITING and row.due_at < now


def response_times(
    session: Session, *, brand_ids: Collection[int] | None, since: datetime, until: datetime, now: datetime
) -> ResponseTimes:
    """The figures of the module docstring for items opened in [since, until), of `brand_ids` (None:
    every brand); weeks in order per brand, brands by name."""
    conn = session.connection()
    brands = sa.select(_BRAND.c.id, _BRAND.c.name, _BRAND.c.timezone).where(
        _BRAND.c.competitor_of_id.is_(None)
    )
    if brand_ids is not None:
        brands = brands.where(_BRAND.c.id.in_(sorted(brand_ids)))
    brand_rows = {row.id: row for row in conn.execute(brands.order_by(_BRAND.c.name))}
    items = sa.select(
        _ITEM.c.brand_id, _ITEM.c.status, _ITEM.c.opened_at, _ITEM.c.due_at, _ITEM.c.first_response_at
    ).where(_ITEM.c.brand_id.in_(list(brand_rows)), _ITEM.c.opened_at >= since, _ITEM.c.opened_at < until)
    weeks: dict[tuple[int, date], _Week] = defaultdict(_Week)
    for row in conn.execute(items):
        local = row.opened_at.astimezone(ZoneInfo(brand_rows[row.brand_id].timezone))
        week = weeks[(row.brand_id, local.date() - timedelta(days=local.weekday()))]
        week.opened += 1
        if row.first_response_at is not None:
            week.hours.append((row.first_response_at - row.opened_at).total_seconds() / 3600)
        week.missed += _missed(row, now)
        week.waiting += row.status in WAITING
    out: list[ResponseTimeWeek] = []
    for brand_id, brand in brand_rows.items():
        for (week_brand, start), week in sorted(weeks.items(), key=lambda kv: kv[0][1]):
            if week_brand != brand_id:
                continue
            median, p90 = _percentiles(week.hours)
            year, number, _ = start.isocalendar()
            out.append(
                ResponseTimeWeek(
                    brand=brand.name,
                    week=f"{year}-W{number:02d}",
                    week_start=start,
                    opened=week.opened,
                    responded=len(week.hours),
                    median_hours=median,
                    p90_hours=p90,
                    missed_target=week.missed,
                    waiting=week.waiting,
                )
            )
    return ResponseTimes(since=since, until=until, weeks=out, backlog=_backlog(session, brand_rows, now=now))


def _backlog(session: Session, brand_rows: dict[int, Any], *, now: datetime) -> list[BrandBacklog]:
    query = (
        sa.select(
            _ITEM.c.brand_id,
            sa.func.count(),
            sa.func.sum(sa.case((overdue_condition(now), 1), else_=0)),
        )
        .where(_ITEM.c.brand_id.in_(list(brand_rows)), _ITEM.c.status.in_(WAITING))
        .group_by(_ITEM.c.brand_id)
    )
    counts = {
        brand_id: (waiting, overdue or 0)
        for brand_id, waiting, overdue in session.connection().execute(query)
    }
    return [
        BrandBacklog(
            brand=brand.name, waiting=counts.get(brand_id, (0, 0))[0], overdue=counts.get(brand_id, (0, 0))[1]
        )
        for brand_id, brand in brand_rows.items()
    ]


def _response_seconds(session: Session) -> sa.ColumnElement[float]:
    """SQL for an item's time to first response in seconds (on SQLite, whose times are text, from Julian
    days: within a few microseconds, so rounded to the millisecond in Python)."""
    first, opened = _ITEM.c.first_response_at, _ITEM.c.opened_at
    if session.connection().dialect.name == "postgresql":
        return sa.cast(sa.extract("epoch", first - opened), sa.Float)
    return (sa.func.julianday(first) - sa.func.julianday(opened)) * 86_400.0


def period_response_times(
    session: Session, *, brand: Brand, since: datetime, until: datetime, now: datetime
) -> PeriodResponseTimes:
    """`brand`'s items opened in [since, until), counted as one week is above, and its backlog now. The
    counts are summed in SQL and only the response times travel, so a busy brand's 90 days stay quick."""
    assert brand.id is not None
    conn = session.connection()
    in_period = sa.and_(_ITEM.c.brand_id == brand.id, _ITEM.c.opened_at >= since, _ITEM.c.opened_at < until)
    responded = _ITEM.c.first_response_at.is_not(None)
    missed = sa.case(
        (sa.and_(responded, _ITEM.c.first_response_at > _ITEM.c.due_at), 1),
        (sa.and_(~responded, _ITEM.c.status.in_(WAITING), _ITEM.c.due_at < now), 1),
        else_=0,
    )
    opened, missed_target = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(missed), 0)).where(in_period)
    ).one()
    seconds = conn.execute(sa.select(_response_seconds(session)).where(in_period, responded)).scalars().all()
    hours = list(np.round(np.asarray(seconds, dtype=np.float64), 3) / 3600)
    median, p90 = _percentiles(hours)
    (backlog,) = _backlog(session, {brand.id: brand}, now=now)
    return PeriodResponseTimes(
        opened=int(opened),
        responded=len(hours),
        median_hours=median,
        p90_hours=p90,
        missed_target=int(missed_target),
        backlog=backlog,
    )
