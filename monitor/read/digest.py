"""What a user's daily digest shows, read for their brands over one period: volume and sentiment (and the
period before), the inbox (backlog now and response times of the period), top complaints, new ambassadors,
ambassadors at risk, the period's alerts, open alerts.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.storage.models import (
    Alert,
    Author,
    Brand,
    InboxItem,
    Mention,
    MentionBrand,
    SegmentChange,
    SentimentHour,
)
from monitor.storage.tables import table_of

__all__ = [
    "DigestAlert",
    "DigestComplaint",
    "DigestData",
    "DigestInbox",
    "SentimentCounts",
    "ambassadors_at_risk",
    "digest_data",
    "new_ambassadors",
    "top_complaints",
]

_HOUR = table_of(SentimentHour)
_ALERT = table_of(Alert)
_BRAND = table_of(Brand)
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_CHANGE = table_of(SegmentChange)
_AUTHOR = table_of(Author)
_ITEM = table_of(InboxItem)
TOP_COMPLAINTS = 5
COMPLAINTS_WEIGHED = 500  # per brand: see top_complaints
LISTED = 200


@dataclass(frozen=True, slots=True)
class SentimentCounts:
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unclassified: int = 0

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative + self.unclassified


@dataclass(frozen=True, slots=True)
class DigestAlert:
    id: int
    brand: str
    kind: str
    severity: str
    status: str
    title: str
    event_at: datetime


@dataclass(frozen=True, slots=True)
class DigestComplaint:
    mention_id: int
    brand: str
    author: str
    text: str
    url: str | None
    reach: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DigestInbox:
    """One brand's inbox: waiting and overdue now; opened in the period, answered of those, and the
    median hours to their first response."""

    brand: str
    waiting: int
    overdue: int
    opened: int
    responded: int
    median_hours: float | None


@dataclass(frozen=True, slots=True)
class DigestData:
    since: datetime
    until: datetime
    now: SentimentCounts
    before: SentimentCounts
    inbox: list[DigestInbox]
    complaints: list[DigestComplaint]
    new_ambassadors: list[tuple[str, str]]  # (brand, author name)
    at_risk: list[DigestAlert]
    alerts: list[DigestAlert]  # raised in the period
    alerts_total: int
    open_alerts: list[DigestAlert]


def _counts(conn: Connection, brand_ids: Sequence[int], since: datetime, until: datetime) -> SentimentCounts:
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(_HOUR.c.positive), 0),
            sa.func.coalesce(sa.func.sum(_HOUR.c.neutral), 0),
            sa.func.coalesce(sa.func.sum(_HOUR.c.negative), 0),
            sa.func.coalesce(sa.func.sum(_HOUR.c.unclassified), 0),
        ).where(_HOUR.c.brand_id.in_(list(brand_ids)), _HOUR.c.hour >= since, _HOUR.c.hour < until)
    ).one()
    return SentimentCounts(*(int(value) for value in row))


def _alerts(conn: Connection, *where: sa.ColumnElement[bool], limit: int = LISTED) -> list[DigestAlert]:
    rows = conn.execute(
        sa.select(
            _ALERT.c.id,
            _BRAND.c.name,
            _ALERT.c.kind,
            _ALERT.c.severity,
            _ALERT.c.status,
            _ALERT.c.title,
            _ALERT.c.event_at,
        )
        .join(_BRAND, _BRAND.c.id == _ALERT.c.brand_id)
        .where(*where)
        .order_by(_ALERT.c.event_at.desc(), _ALERT.c.id.desc())
        .limit(limit)
    ).all()
    return [DigestAlert(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), r[6]) for r in rows]


def _inbox(conn: Connection, brand_ids: Sequence[int], since: datetime, until: datetime) -> list[DigestInbox]:
    waiting = ("open", "acknowledged")
    backlog = {
        int(row[0]): (int(row[1]), int(row[2] or 0))
        for row in conn.execute(
            sa.select(
                _ITEM.c.brand_id,
                sa.func.count(),
                sa.func.sum(sa.case((_ITEM.c.due_at < until, 1), else_=0)),
            )
            .where(_ITEM.c.brand_id.in_(list(brand_ids)), _ITEM.c.status.in_(waiting))
            .group_by(_ITEM.c.brand_id)
        )
    }
    opened: dict[int, list[float | None]] = {}
    for row in conn.execute(
        sa.select(_ITEM.c.brand_id, _ITEM.c.opened_at, _ITEM.c.first_response_at).where(
            _ITEM.c.brand_id.in_(list(brand_ids)), _ITEM.c.opened_at >= since, _ITEM.c.opened_at < until
        )
    ):
        hours = (row[2] - row[1]).total_seconds() / 3600 if row[2] is not None else None
        opened.setdefault(int(row[0]), []).append(hours)
    names = dict(
        conn.execute(sa.select(_BRAND.c.id, _BRAND.c.name).where(_BRAND.c.id.in_(list(brand_ids)))).all()
    )
    out = []
    for brand_id in sorted(set(backlog) | set(opened), key=lambda b: str(names.get(b, ""))):
        answered = sorted(h for h in opened.get(brand_id, []) if h is not None)
        median = statistics.median(answered) if answered else None
        waiting_now, overdue = backlog.get(brand_id, (0, 0))
        out.append(
            DigestInbox(
                str(names.get(brand_id, "")),
                waiting_now,
                overdue,
                len(opened.get(brand_id, [])),
                len(answered),
                median,
            )
        )
    return out


def top_complaints(
    conn: Connection,
    *,
    brand_ids: Sequence[int],
    since: datetime,
    until: datetime,
    limit: int = TOP_COMPLAINTS,
    latest: int = COMPLAINTS_WEIGHED,
) -> list[DigestComplaint]:
    """The complaints about `brand_ids` made in [since, until), widest reach first, from each brand's
    `latest` complaints of the period: a brand with thousands a quarter is read as its newest few hundred
    (a walk of the links' intent index, newest first) rather than by sorting them all on the mentions'
    reach; below `latest` complaints in the period it is every one of them."""
    newest = [
        sa.select(_LINK.c.mention_id, _LINK.c.brand_id)
        .where(
            _LINK.c.brand_id == brand_id,
            _LINK.c.intent == "complaint",
            _LINK.c.created_at >= since,
            _LINK.c.created_at < until,
        )
        .order_by(_LINK.c.created_at.desc(), _LINK.c.mention_id.desc())
        .limit(latest)
        .subquery()
        for brand_id in brand_ids
    ]
    if not newest:
        return []
    picked = sa.union_all(*(sa.select(n.c.mention_id, n.c.brand_id) for n in newest)).subquery()
    reach = sa.func.coalesce(_MENTION.c.reach, 0)
    rows = conn.execute(
        sa.select(
            _MENTION.c.id,
            _BRAND.c.name,
            _MENTION.c.author_handle,
            _MENTION.c.text,
            _MENTION.c.url,
            reach,
            _MENTION.c.created_at,
        )
        .select_from(
            picked.join(_MENTION, _MENTION.c.id == picked.c.mention_id).join(
                _BRAND, _BRAND.c.id == picked.c.brand_id
            )
        )
        .order_by(reach.desc(), _MENTION.c.id)
        .limit(limit)
    ).all()
    return [
        DigestComplaint(int(r[0]), str(r[1]), str(r[2] or ""), str(r[3]), r[4], int(r[5]), r[6]) for r in rows
    ]


def new_ambassadors(
    conn: Connection, *, brand_ids: Sequence[int], since: datetime, until: datetime
) -> list[tuple[str, str]]:
    """(brand, author name) of each author who became an ambassador of `brand_ids` in [since, until)."""
    rows = conn.execute(
        sa.select(_BRAND.c.name, _AUTHOR.c.display_name)
        .select_from(
            _CHANGE.join(_BRAND, _BRAND.c.id == _CHANGE.c.brand_id).join(
                _AUTHOR, _AUTHOR.c.id == _CHANGE.c.author_id
            )
        )
        .where(
            _CHANGE.c.brand_id.in_(list(brand_ids)),
            _CHANGE.c.to_segment == "ambassador",
            _CHANGE.c.changed_at >= since,
            _CHANGE.c.changed_at < until,
        )
        .order_by(_CHANGE.c.changed_at)
        .limit(LISTED)
    ).all()
    return [(str(r[0]), str(r[1] or "")) for r in rows]


def ambassadors_at_risk(
    conn: Connection, *, brand_ids: Sequence[int], since: datetime, until: datetime
) -> list[DigestAlert]:
    """The 'ambassador at risk' alerts of `brand_ids` raised in [since, until), newest first."""
    return _alerts(
        conn,
        _ALERT.c.brand_id.in_(list(brand_ids)),
        _ALERT.c.kind == "ambassador_at_risk",
        _ALERT.c.created_at >= since,
        _ALERT.c.created_at < until,
    )


def digest_data(
    conn: Connection,
    *,
    brand_ids: Sequence[int],
    alert_kinds: Sequence[str],
    min_severities: Sequence[str],
    since: datetime,
    until: datetime,
) -> DigestData:
    """The digest of `brand_ids` over [since, until); alerts limited to the user's kinds (empty: all) and
    severities."""
    previous = since - (until - since)
    followed = [_ALERT.c.brand_id.in_(list(brand_ids)), _ALERT.c.severity.in_(list(min_severities))]
    if alert_kinds:
        followed.append(_ALERT.c.kind.in_(list(alert_kinds)))
    in_period = [_ALERT.c.created_at >= since, _ALERT.c.created_at < until]
    alerts_total = int(
        conn.execute(sa.select(sa.func.count()).select_from(_ALERT).where(*followed, *in_period)).scalar_one()
    )
    return DigestData(
        since=since,
        until=until,
        now=_counts(conn, brand_ids, since, until),
        before=_counts(conn, brand_ids, previous, since),
        inbox=_inbox(conn, brand_ids, since, until),
        complaints=top_complaints(conn, brand_ids=brand_ids, since=since, until=until),
        new_ambassadors=new_ambassadors(conn, brand_ids=brand_ids, since=since, until=until),
        at_risk=ambassadors_at_risk(conn, brand_ids=brand_ids, since=since, until=until),
        alerts=_alerts(conn, *followed, *in_period),
        alerts_total=alerts_total,
        open_alerts=_alerts(conn, *followed, _ALERT.c.status.in_(("open", "acknowledged"))),
    )
