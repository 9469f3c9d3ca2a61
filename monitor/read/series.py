"""Sentiment series and share of voice, as GET /api/v1/stats/sentiment shows them: volume and sentiment per
hour, local day or week of a brand, from the kept hourly counts where they answer.

Every figure counts word of mouth only: posts by the brand's own or staff accounts (`mentionbrand.own`)
are its responses, counted apart in each bucket's `own_posts` and in no volume, sentiment or share."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, SQLColumnExpression, case, false, func, literal
from sqlmodel import Session, col, select

from monitor.errors import RangeTooLongError
from monitor.storage.models import Brand, MentionBrand, SentimentHour
from monitor.storage.sentiment_hours import (
    HOUR_COLUMNS,
    OWN,
    SENTIMENT_COLUMNS,
    UNCLASSIFIED,
    epoch_seconds,
    floor_hour,
)
from monitor.storage.tables import table_of

__all__ = [
    "Interval",
    "SentimentBucket",
    "SentimentSeries",
    "ShareOfVoice",
    "bucket_starts",
    "sentiment_series",
]

Interval = Literal["hour", "day", "week"]
_MAX_BUCKETS = 366
_LINK = table_of(MentionBrand)


class SentimentBucket(BaseModel):
    """Word of mouth in one bucket (the brand's own posts left out), and the brand's own posts apart."""

    start: datetime
    volume: int
    positive: int
    neutral: int
    negative: int
    net_sentiment: float | None
    own_posts: int = Field(
        default=0,
        description="Posts by the brand's own and staff accounts (its responses), counted in no other field.",
    )


class ShareOfVoice(BaseModel):
    brand: str
    mentions: int
    share: float | None


class SentimentSeries(BaseModel):
    brand: str
    interval: Interval
    timezone: str
    since: datetime
    until: datetime
    buckets: list[SentimentBucket]
    totals: SentimentBucket
    share_of_voice: list[ShareOfVoice]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hour_starts(since: datetime, until: datetime) -> list[datetime]:
    # hours are counted in UTC: local hours repeat or vanish at DST changes, UTC hours never do
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    count = int((until - start).total_seconds() // 3600) + (
        1 if (until - start).total_seconds() % 3600 else 0
    )
    if count > _MAX_BUCKETS:
        raise RangeTooLongError(
            f"the range spans more than {_MAX_BUCKETS} hours; "
            "shorten it with 'since' and 'until' or use interval=day"
        )
    return [start + timedelta(hours=n) for n in range(count)]


def bucket_starts(since: datetime, until: datetime, *, interval: Interval, zone: ZoneInfo) -> list[datetime]:
    """UTC hours, local midnights (days) or Monday midnights (weeks) from the one at or before `since`
    up to `until`."""
    if interval == "hour":
        return _hour_starts(since, until)
    first: date = since.astimezone(zone).date()
    if interval == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=1 if interval == "day" else 7)
    starts: list[datetime] = []
    day = first
    while (start := datetime.combine(day, time(0), tzinfo=zone)) < until:
        starts.append(start)
        if len(starts) > _MAX_BUCKETS:
            raise RangeTooLongError(
                f"the range spans more than {_MAX_BUCKETS} {interval}s; "
                "shorten it with 'since' and 'until' or use interval=week"
            )
        day += step
    return starts


def _bucket(start: datetime, counts: dict[str, int]) -> SentimentBucket:
    positive, neutral, negative = (counts.get(name, 0) for name in ("positive", "neutral", "negative"))
    classified = positive + neutral + negative
    return SentimentBucket(
        start=start,
        volume=sum(counts.get(name, 0) for name in SENTIMENT_COLUMNS),
        positive=positive,
        neutral=neutral,
        negative=negative,
        net_sentiment=None if classified == 0 else (positive - negative) / classified,
        own_posts=counts.get(OWN, 0),
    )


def _counted_as() -> ColumnElement[str]:
    """What a brand link counts as: 'own' for the brand's own posts, else its effective sentiment."""
    link = _LINK.c
    return case((link.own, literal(OWN)), else_=func.coalesce(link.sentiment, literal(UNCLASSIFIED)))


def _bucket_of(
    starts: list[datetime], low: int, high: int, moment: SQLColumnExpression[datetime]
) -> ColumnElement[int]:
    """The index i in [low, high) whose bucket holds `moment`, as a balanced tree of CASEs."""
    if high - low == 1:
        return literal(low)
    mid = (low + high) // 2
    return case(
        (moment < starts[mid], _bucket_of(starts, low, mid, moment)),
        else_=_bucket_of(starts, mid, high, moment),
    )


def _whole_hours(starts: list[datetime]) -> bool:
    """Every bucket starts on a UTC hour (not so in zones like Asia/Kolkata, at +05:30)."""
    return all(start.astimezone(UTC) == floor_hour(start) for start in starts)


_HOURS_READ_ONE_BY_ONE = 4_000  # up to ~5 months of hours are read as rows; longer ranges group in SQL


def _hour_counts(
    session: Session, *, brand_id: int, starts: list[datetime], low: datetime, high: datetime
) -> dict[int, dict[str, int]]:
    """Per bucket and sentiment (and own posts), from the kept counts of the whole UTC hours in [low, high)."""
    in_range = (
        col(SentimentHour.brand_id) == brand_id,
        col(SentimentHour.hour) >= low,
        col(SentimentHour.hour) < high,
    )
    columns = [getattr(SentimentHour, name) for name in HOUR_COLUMNS]
    counts: dict[int, dict[str, int]] = {}
    if (high - low) <= timedelta(hours=_HOURS_READ_ONE_BY_ONE):
        # hours as epoch seconds through the plain connection: making an aware datetime of each hour
        # in an ORM row took longer than the query
        edges = [int(start.timestamp()) for start in starts]
        connection = session.connection()
        statement = select(epoch_seconds(connection, col(SentimentHour.hour)), *columns).where(*in_range)
        sums: dict[int, list[int]] = {}
        per_sentiment: list[int]
        for hour, *per_sentiment in connection.execute(statement).all():
            total = sums.setdefault(bisect_right(edges, hour) - 1, [0] * len(HOUR_COLUMNS))
            for position, count in enumerate(per_sentiment):
                total[position] += count
        return {index: dict(zip(HOUR_COLUMNS, total, strict=True)) for index, total in sums.items()}
    rows = (
        select(_bucket_of(starts, 0, len(starts), col(SentimentHour.hour)).label("bucket"), *columns)
        .where(*in_range)
        .subquery()
    )
    grouped = select(rows.c.bucket, *(func.sum(rows.c[name]) for name in HOUR_COLUMNS)).group_by(
        rows.c.bucket
    )
    for index, *per_sentiment in session.exec(grouped).all():
        counts[int(index)] = {name: int(n) for name, n in zip(HOUR_COLUMNS, per_sentiment, strict=True)}
    return counts


def _recent_counts(
    session: Session, *, brand_ids: list[int], since: datetime, until: datetime
) -> dict[int, dict[str, int]]:
    """Per brand and sentiment (and own posts) in [since, until) (the current, partial hour), from the brand
    links, which carry their mention's time and effective sentiment (monitor.storage.brand_links)."""
    link = _LINK.c
    rows = (
        select(link.brand_id, _counted_as().label("counted_as"))
        .where(link.brand_id.in_(brand_ids), link.created_at >= since, link.created_at < until)
        .subquery()
    )
    statement = select(rows.c.brand_id, rows.c.counted_as, func.count()).group_by(
        rows.c.brand_id, rows.c.counted_as
    )
    counts: dict[int, dict[str, int]] = {}
    for brand_id, counted_as, count in session.connection().execute(statement).all():
        counts.setdefault(brand_id, {})[counted_as] = count
    return counts


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        into[name] = into.get(name, 0) + count


def _counts(
    session: Session, *, brand_id: int, starts: list[datetime], since: datetime, until: datetime
) -> dict[int, dict[str, int]]:
    """Per bucket and sentiment (and own posts), from the brand's links (they carry their mention's time
    and effective sentiment): for buckets that do not start on whole UTC hours."""
    # bucket edges computed here keep the grouping exact in the brand's time zone (DST included) on both
    # backends; a tree, not a chain, of CASEs: 9 comparisons a row for a year of days instead of 365
    # (1 s -> 0.2 s at 60k mentions); a subquery, because PostgreSQL does not match a GROUP BY expression
    # with parameters to the same expression in the select list
    link = _LINK.c
    rows = (
        select(
            _bucket_of(starts, 0, len(starts), link.created_at).label("bucket"),
            _counted_as().label("counted_as"),
        )
        .where(link.brand_id == brand_id, link.created_at >= since, link.created_at < until)
        .subquery()
    )
    statement = select(rows.c.bucket, rows.c.counted_as, func.count()).group_by(
        rows.c.bucket, rows.c.counted_as
    )
    counts: dict[int, dict[str, int]] = {}
    for index, counted_as, count in session.connection().execute(statement).all():
        counts.setdefault(int(index), {})[counted_as] = count
    return counts


def _mention_counts(
    session: Session, *, brands: list[Brand], since: datetime, until: datetime
) -> dict[int | None, int]:
    link = _LINK.c
    statement = (
        select(link.brand_id, func.count())
        .where(
            link.brand_id.in_([b.id for b in brands]),
            link.own == false(),
            link.created_at >= since,
            link.created_at < until,
        )
        .group_by(link.brand_id)
    )
    return dict(session.connection().execute(statement).all())


def _hour_volumes(
    session: Session, *, brands: list[Brand], since: datetime, until: datetime
) -> dict[int | None, int]:
    """Word-of-mouth mentions per brand over the whole UTC hours in [since, until), from the kept counts."""
    total = sum((col(getattr(SentimentHour, name)) for name in SENTIMENT_COLUMNS), literal(0))
    statement = (
        select(col(SentimentHour.brand_id), func.sum(total))
        .where(
            col(SentimentHour.brand_id).in_([b.id for b in brands]),
            col(SentimentHour.hour) >= since,
            col(SentimentHour.hour) < until,
        )
        .group_by(col(SentimentHour.brand_id))
    )
    return {brand_id: int(mentions) for brand_id, mentions in session.exec(statement).all()}


def _competitive_group(session: Session, brand: Brand) -> list[Brand]:
    """The brand, the brand it competes with or its competitors: the group share of voice divides."""
    own_id = brand.competitor_of_id or brand.id
    return list(
        session.exec(
            select(Brand)
            .where((col(Brand.id) == own_id) | (col(Brand.competitor_of_id) == own_id))
            .order_by(col(Brand.id))
        ).all()
    )


def _share_of_voice(brand: Brand, group: list[Brand], volumes: dict[int | None, int]) -> list[ShareOfVoice]:
    total = sum(volumes.get(member.id, 0) for member in group)
    shares = []
    for member in sorted(group, key=lambda b: (b.id != brand.id, b.name.casefold())):
        mentions = volumes.get(member.id, 0)
        shares.append(
            ShareOfVoice(brand=member.name, mentions=mentions, share=mentions / total if total else None)
        )
    return shares


def _counted_from_mentions(
    session: Session, *, brand: Brand, group: list[Brand], starts: list[datetime], until: datetime
) -> tuple[dict[int, dict[str, int]], dict[int | None, int]]:
    assert brand.id is not None
    counts = _counts(session, brand_id=brand.id, starts=starts, since=starts[0], until=until)
    return counts, _mention_counts(session, brands=group, since=starts[0], until=until)


def _counted_from_hours(
    session: Session, *, brand: Brand, group: list[Brand], starts: list[datetime], until: datetime
) -> tuple[dict[int, dict[str, int]], dict[int | None, int]]:
    """Whole hours from the kept counts; the current, partial hour from its mentions."""
    assert brand.id is not None
    whole_until = floor_hour(until)
    counts = _hour_counts(session, brand_id=brand.id, starts=starts, low=starts[0], high=whole_until)
    volumes = _hour_volumes(session, brands=group, since=starts[0], until=whole_until)
    if whole_until < until:
        recent = _recent_counts(
            session, brand_ids=[b.id for b in group if b.id is not None], since=whole_until, until=until
        )
        last = bisect_right([start.astimezone(UTC) for start in starts], whole_until) - 1
        _add(counts.setdefault(last, {}), recent.get(brand.id, {}))
        for brand_id, per_sentiment in recent.items():
            word_of_mouth = sum(per_sentiment.get(name, 0) for name in SENTIMENT_COLUMNS)
            volumes[brand_id] = volumes.get(brand_id, 0) + word_of_mouth
    return counts, volumes


def sentiment_series(
    session: Session, *, brand: Brand, interval: Interval, since: datetime, until: datetime
) -> SentimentSeries:
    """Volume and sentiment per hour, local day or week of `brand`, with its share of voice over the same range.

    Word of mouth only: a post by the brand's own or a staff account is in no volume, sentiment count or
    share, but in its bucket's `own_posts`. Unclassified mentions count in `volume` but not in the
    sentiment counts or `net_sentiment`. Where
    every bucket starts on a whole UTC hour (all but a few time zones), whole hours are read from the
    kept counts (monitor.storage.sentiment_hours); otherwise every mention in the range is counted.

    Raises RangeTooLongError past 366 buckets.
    """
    assert brand.id is not None
    zone = _zone(brand.timezone)
    starts = bucket_starts(since, until, interval=interval, zone=zone)
    group = _competitive_group(session, brand)
    from_hours = _whole_hours(starts) and floor_hour(until) > starts[0]
    counted = _counted_from_hours if from_hours else _counted_from_mentions
    counts, volumes = counted(session, brand=brand, group=group, starts=starts, until=until)
    buckets = [_bucket(start, counts.get(index, {})) for index, start in enumerate(starts)]
    overall: dict[str, int] = {}
    for per_bucket in counts.values():
        _add(overall, per_bucket)
    return SentimentSeries(
        brand=brand.name,
        interval=interval,
        timezone=zone.key,
        since=starts[0],
        until=until,
        buckets=buckets,
        totals=_bucket(starts[0], overall),
        share_of_voice=_share_of_voice(brand, group, volumes),
    )
