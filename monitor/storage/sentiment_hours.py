"""Mention counts per brand, UTC hour and effective sentiment (`sentimenthour`), the same per source
(`sourcehour`, counted from the brand links' copies of source and sentiment), and per brand (`brandvolume`,
the sum of the brand's hours, moved by the difference whenever its hours are recomputed).

They count word of mouth only: a mention the brand's own or a staff account posted (`mentionbrand.own`,
see monitor.storage.brand_links) is in no sentiment column and no volume, but in the hour's `own`
column, the brand's responses as a series of their own.

The sentiment trend, share of voice and brand counts read these few rows instead of scanning every
mention. A cell (brand, hour) is recomputed from the mentions in the same transaction as anything that
changes which brands a mention has, its classification or its label, or deletes it; so the table always
equals `rebuild_sentiment_hours`. Recomputing a cell, rather than adding and subtracting, cannot drift.

On PostgreSQL two workers may recompute the same cell at once; a transaction-scoped advisory lock per
cell makes them take turns, and the last one reads every change committed before it. Callers refresh
as the last write of their transaction, so one holding cell locks never waits for a row lock, and the
locks are taken in sorted order: no two transactions can wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.storage.brand_links import (
    LinkFacts,
    computed_link_facts,
    rebuild_link_facts,
    refresh_link_facts,
    stored_link_facts,
)
from monitor.storage.labels import effective_classification
from monitor.storage.models import (
    BrandVolume,
    Classification,
    Mention,
    MentionBrand,
    MentionLabel,
    SentimentHour,
    SourceHour,
    UTCDateTime,
)
from monitor.storage.tables import table_of

__all__ = [
    "HOUR_COLUMNS",
    "OWN",
    "SENTIMENT_COLUMNS",
    "UNCLASSIFIED",
    "Cell",
    "SentimentCounts",
    "cells_of",
    "computed_sentiment_hours",
    "epoch_seconds",
    "floor_hour",
    "hour_of",
    "rebuild_sentiment_hours",
    "refresh_cells",
    "refresh_mentions",
    "stored_sentiment_hours",
]

UNCLASSIFIED = "unclassified"
Cell = tuple[int, datetime]
_HOURS = table_of(SentimentHour)
_SOURCE_HOURS = table_of(SourceHour)
_VOLUME = table_of(BrandVolume)
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_HOUR = timedelta(hours=1)
_IDS_PER_STATEMENT = 2_000
_RANGES_PER_STATEMENT = 100


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_of(conn: Connection, column: sa.ColumnElement[datetime]) -> sa.ColumnElement[datetime]:
    """SQL for the UTC hour of a stored time, in the stored format of the dialect (naive UTC)."""
    if conn.dialect.name == "postgresql":
        expression = sa.func.date_trunc(sa.literal_column("'hour'"), column)
    else:
        # SQLAlchemy's SQLite DATETIME text format, so stored hours compare equal to bound ones
        expression = sa.func.strftime(sa.literal_column("'%Y-%m-%d %H:00:00.000000'"), column)
    return sa.type_coerce(expression, UTCDateTime())


def epoch_seconds(conn: Connection, column: sa.SQLColumnExpression[datetime]) -> sa.ColumnElement[int]:
    """SQL for a stored (naive UTC) time as whole seconds since 1970."""
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.extract("epoch", column), sa.BigInteger)
    return sa.cast(sa.func.strftime(sa.literal_column("'%s'"), column), sa.Integer)


def _current_classification() -> sa.ColumnElement[bool]:
    newer = _CLASSIFICATION.alias("newer_classification")
    return sa.and_(
        _CLASSIFICATION.c.mention_id == _MENTION.c.id,
        ~sa.exists().where(
            newer.c.mention_id == _CLASSIFICATION.c.mention_id, newer.c.id > _CLASSIFICATION.c.id
        ),
    )


SENTIMENT_COLUMNS = ("positive", "neutral", "negative", UNCLASSIFIED)
OWN = "own"
HOUR_COLUMNS = (*SENTIMENT_COLUMNS, OWN)
HourRow = tuple[int, datetime, int, int, int, int, int]
SourceHourRow = tuple[int, datetime, str, int, int, int, int]


def _counted(
    conn: Connection, condition: sa.ColumnElement[bool]
) -> sa.Select[int, datetime, int, int, int, int, int]:
    """brand_id, hour, the word-of-mouth mentions per sentiment column and the brand's own posts, for the
    linked mentions matching `condition`."""
    sentiment = sa.func.coalesce(effective_classification().sentiment, sa.literal_column(f"'{UNCLASSIFIED}'"))
    rows = (
        sa.select(
            _LINK.c.brand_id.label("brand_id"),
            hour_of(conn, _MENTION.c.created_at).label("hour"),
            sentiment.label("sentiment"),
            _LINK.c.own.label("own"),
        )
        .select_from(
            _MENTION.join(_LINK, _LINK.c.mention_id == _MENTION.c.id)
            .outerjoin(_CLASSIFICATION, _current_classification())
            .outerjoin(_LABEL, _LABEL.c.mention_id == _MENTION.c.id)
        )
        .where(condition)
        .subquery()
    )
    # grouped outside: PostgreSQL does not match a GROUP BY expression to the same one in the select list
    per_sentiment = [
        sa.func.sum(
            sa.case((rows.c.own, 0), (rows.c.sentiment == sa.literal_column(f"'{name}'"), 1), else_=0)
        ).label(name)
        for name in SENTIMENT_COLUMNS
    ]
    own = sa.func.sum(sa.case((rows.c.own, 1), else_=0)).label(OWN)
    return sa.select(rows.c.brand_id, rows.c.hour, *per_sentiment, own).group_by(rows.c.brand_id, rows.c.hour)


def _source_counted(
    conn: Connection, condition: sa.ColumnElement[bool]
) -> sa.Select[int, datetime, str, int, int, int, int]:
    """brand_id, hour, source and the word-of-mouth mentions per sentiment column, for the brand links
    matching `condition`: their copies of the mention's time, source and effective sentiment are current
    whenever a cell is refreshed (monitor.storage.brand_links is written first)."""
    rows = (
        sa.select(
            _LINK.c.brand_id.label("brand_id"),
            hour_of(conn, _LINK.c.created_at).label("hour"),
            sa.func.coalesce(_LINK.c.source, sa.literal_column("''")).label("source"),
            sa.func.coalesce(_LINK.c.sentiment, sa.literal_column(f"'{UNCLASSIFIED}'")).label("sentiment"),
        )
        .where(condition, _LINK.c.own.is_(False), _LINK.c.created_at.is_not(None))
        .subquery()
    )
    known = [name for name in SENTIMENT_COLUMNS if name != UNCLASSIFIED]
    per_sentiment = [
        sa.func.sum(sa.case((rows.c.sentiment == sa.literal_column(f"'{name}'"), 1), else_=0)).label(name)
        for name in known
    ]
    unclassified = sa.func.sum(
        sa.case((rows.c.sentiment.in_([sa.literal_column(f"'{n}'") for n in known]), 0), else_=1)
    ).label(UNCLASSIFIED)
    return sa.select(rows.c.brand_id, rows.c.hour, rows.c.source, *per_sentiment, unclassified).group_by(
        rows.c.brand_id, rows.c.hour, rows.c.source
    )


def _refresh_source_hours(conn: Connection, chunk: Sequence[tuple[int, datetime, datetime]]) -> None:
    conn.execute(
        sa.delete(_SOURCE_HOURS).where(
            sa.or_(
                *(
                    sa.and_(
                        _SOURCE_HOURS.c.brand_id == b,
                        _SOURCE_HOURS.c.hour >= first,
                        _SOURCE_HOURS.c.hour < end,
                    )
                    for b, first, end in chunk
                )
            )
        )
    )
    in_ranges = sa.or_(
        *(
            sa.and_(_LINK.c.brand_id == b, _LINK.c.created_at >= first, _LINK.c.created_at < end)
            for b, first, end in chunk
        )
    )
    counted = conn.execute(_source_counted(conn, in_ranges)).all()
    if counted:
        conn.execute(
            _SOURCE_HOURS.insert(),
            [
                {
                    "brand_id": b,
                    "hour": hour,
                    "source": source,
                    **dict(zip(SENTIMENT_COLUMNS, per, strict=True)),
                }
                for b, hour, source, *per in counted
            ],
        )


def cells_of(conn: Connection, mention_ids: Iterable[int]) -> set[Cell]:
    """The (brand, hour) cells the mentions count in now."""
    ids = sorted(set(mention_ids))
    cells: set[Cell] = set()
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        rows = conn.execute(
            sa.select(_LINK.c.brand_id, _MENTION.c.created_at)
            .join(_MENTION, _MENTION.c.id == _LINK.c.mention_id)
            .where(_LINK.c.mention_id.in_(chunk))
        )
        cells.update((brand_id, floor_hour(created_at)) for brand_id, created_at in rows)
    return cells


def _ranges(cells: Iterable[Cell]) -> Iterator[tuple[int, datetime, datetime]]:
    """Runs of consecutive hours per brand, as (brand, first hour, end)."""
    run: list[datetime] = []
    brand = -1
    for brand_id, hour in sorted(cells):
        if run and brand_id == brand and hour == run[-1] + _HOUR:
            run.append(hour)
            continue
        if run:
            yield brand, run[0], run[-1] + _HOUR
        brand, run = brand_id, [hour]
    if run:
        yield brand, run[0], run[-1] + _HOUR


def _lock(conn: Connection, cells: Sequence[Cell]) -> None:
    for brand_id, hour in cells:
        key = (
            sa.cast(sa.literal(brand_id), sa.Integer),
            sa.cast(sa.literal(int(hour.timestamp()) // 3600), sa.Integer),
        )
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(*key)))


def refresh_cells(conn: Connection, cells: Iterable[Cell]) -> int:
    """Recompute the counts of `cells` from the mentions, and the brands' volumes; returns how many cells."""
    ordered = sorted(cells)
    if not ordered:
        return 0
    if conn.dialect.name == "postgresql":
        _lock(conn, ordered)
    change: dict[int, int] = {}
    ranges = list(_ranges(ordered))
    for start in range(0, len(ranges), _RANGES_PER_STATEMENT):
        chunk = ranges[start : start + _RANGES_PER_STATEMENT]
        removed = conn.execute(
            sa.delete(_HOURS)
            .where(
                sa.or_(
                    *(
                        sa.and_(_HOURS.c.brand_id == b, _HOURS.c.hour >= first, _HOURS.c.hour < end)
                        for b, first, end in chunk
                    )
                )
            )
            .returning(_HOURS.c.brand_id, *(_HOURS.c[name] for name in SENTIMENT_COLUMNS))
        )
        for brand_id, *per_sentiment in removed:
            change[brand_id] = change.get(brand_id, 0) - sum(per_sentiment)
        counted = conn.execute(
            _counted(
                conn,
                sa.or_(
                    *(
                        sa.and_(
                            _LINK.c.brand_id == b, _MENTION.c.created_at >= first, _MENTION.c.created_at < end
                        )
                        for b, first, end in chunk
                    )
                ),
            )
        ).all()
        if counted:
            conn.execute(
                _HOURS.insert(),
                [
                    {"brand_id": b, "hour": hour, **dict(zip(HOUR_COLUMNS, per_column, strict=True))}
                    for b, hour, *per_column in counted
                ],
            )
        for brand_id, _, *per_column in counted:
            change[brand_id] = change.get(brand_id, 0) + sum(per_column[: len(SENTIMENT_COLUMNS)])
        _refresh_source_hours(conn, chunk)
    _move_volumes(conn, change)
    return len(ordered)


def _move_volumes(conn: Connection, change: dict[int, int]) -> None:
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_VOLUME)
    for brand_id in sorted(change):  # in order: concurrent writers queue on these rows, never in a circle
        if change[brand_id]:
            conn.execute(
                insert.values(brand_id=brand_id, mentions=change[brand_id]).on_conflict_do_update(
                    index_elements=["brand_id"], set_={"mentions": _VOLUME.c.mentions + change[brand_id]}
                )
            )


def refresh_mentions(conn: Connection, mention_ids: Iterable[int]) -> int:
    """After matching, classifying or labelling mentions: rewrite what their brand links copy from them
    (monitor.storage.brand_links), then recompute the cells they count in."""
    ids = list(mention_ids)
    refresh_link_facts(conn, ids)
    return refresh_cells(conn, cells_of(conn, ids))


@dataclass(frozen=True, slots=True)
class SentimentCounts:
    """Both tables' contents and the links' copies, sorted, for comparing what is stored with what a
    rebuild computes."""

    hours: list[HourRow]
    source_hours: list[SourceHourRow]
    brand_volumes: dict[int, int]
    links: LinkFacts


def stored_sentiment_hours(conn: Connection) -> SentimentCounts:
    rows = conn.execute(
        sa.select(_HOURS.c.brand_id, _HOURS.c.hour, *(_HOURS.c[name] for name in HOUR_COLUMNS))
    )
    volumes = conn.execute(sa.select(_VOLUME.c.brand_id, _VOLUME.c.mentions).where(_VOLUME.c.mentions != 0))
    sources = conn.execute(
        sa.select(
            _SOURCE_HOURS.c.brand_id,
            _SOURCE_HOURS.c.hour,
            _SOURCE_HOURS.c.source,
            *(_SOURCE_HOURS.c[name] for name in SENTIMENT_COLUMNS),
        )
    )
    return SentimentCounts(
        hours=sorted(tuple(row) for row in rows),
        source_hours=sorted((*row,) for row in sources),
        brand_volumes=dict(volumes.all()),
        links=stored_link_facts(conn),
    )


def computed_sentiment_hours(conn: Connection) -> SentimentCounts:
    """What a rebuild would store, without storing it (to compare with `stored_sentiment_hours`)."""
    volumes = conn.execute(
        sa.select(_LINK.c.brand_id, sa.func.count()).where(_LINK.c.own.is_(False)).group_by(_LINK.c.brand_id)
    ).all()
    return SentimentCounts(
        # (*row,) keeps the column types for mypy, tuple(row) does not
        hours=sorted((*row,) for row in conn.execute(_counted(conn, sa.true()))),
        source_hours=sorted((*row,) for row in conn.execute(_source_counted(conn, sa.true()))),
        brand_volumes=dict(volumes),
        links=computed_link_facts(conn),
    )


def rebuild_sentiment_hours(conn: Connection, *, source_hours: bool = True) -> int:
    """Recompute the tables, and the brand links' copies, from the mentions; returns the rows of
    `sentimenthour`. `source_hours=False` leaves `sourcehour` alone: for a migration older than that
    table, which 0014 then fills."""
    rebuild_link_facts(conn)
    conn.execute(sa.delete(_HOURS))
    conn.execute(sa.delete(_VOLUME))
    if source_hours:
        conn.execute(sa.delete(_SOURCE_HOURS))
        conn.execute(
            _SOURCE_HOURS.insert().from_select(
                ["brand_id", "hour", "source", *SENTIMENT_COLUMNS], _source_counted(conn, sa.true())
            )
        )
    counted = _counted(conn, sa.true())
    conn.execute(_HOURS.insert().from_select(["brand_id", "hour", *HOUR_COLUMNS], counted))
    total = sum((_HOURS.c[name] for name in SENTIMENT_COLUMNS), sa.literal(0))
    conn.execute(
        _VOLUME.insert().from_select(
            ["brand_id", "mentions"],
            sa.select(_HOURS.c.brand_id, sa.func.sum(total)).group_by(_HOURS.c.brand_id),
        )
    )
    return int(conn.execute(sa.select(sa.func.count()).select_from(_HOURS)).scalar_one())
