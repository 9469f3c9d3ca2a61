"""Database side of spike detection: read a brand's mentions, run the detector, keep one alert per incident.

An incident's alert is inserted when it is first found (with e-mails only when it is still going on and
began within `alerts.max_age_days`: a backfill import records its incidents, resolved, and pushes none),
updated on every later run while it lasts (counts, end, why; no new e-mail) and set to `resolved` when the
detector closes it. A later run may see an incident start a little earlier or later (late mentions): it
updates the stored alert whose span it overlaps rather than adding a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from monitor.alerts.rules import AlertDraft
from monitor.alerts.spikes import Incident, MentionEvent, detect_spikes
from monitor.alerts.why import WhyMention, incident_why
from monitor.config import AlertSettings
from monitor.scoring.store import classified_mentions
from monitor.storage.labels import effective_classification
from monitor.storage.models import Alert, Brand, Mention, MentionBrand
from monitor.storage.tables import table_of

__all__ = ["SPIKE_KINDS", "incident_draft", "spike_drafts", "store_incident"]

SPIKE_KINDS = ("negative_spike", "volume_spike")
LIVE_STATUSES = ("open", "acknowledged")
MENTION_IDS_KEPT = 200
# an incident that began up to this long before the batch's first mention is still seen whole
_LOOKBACK = timedelta(days=1)
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)
_ALERT = table_of(Alert)


def _brand_rows(conn: Connection, *, brand_id: int, since: datetime, until: datetime) -> list[sa.Row[Any]]:
    effective = effective_classification()
    query = (
        sa.select(
            _MENTION.c.id,
            _MENTION.c.source,
            _MENTION.c.author_handle,
            _MENTION.c.text,
            _MENTION.c.created_at,
            _MENTION.c.reach,
            effective.sentiment.label("sentiment"),
        )
        .select_from(classified_mentions())
        .where(_LINK.c.brand_id == brand_id, _MENTION.c.created_at >= since, _MENTION.c.created_at <= until)
        .order_by(_MENTION.c.created_at, _MENTION.c.id)
    )
    return list(conn.execute(query))


def _scan_ranges(
    conn: Connection,
    batch: Sequence[tuple[int, datetime]],
    *,
    own_brands: set[int],
    now: datetime,
) -> dict[int, tuple[datetime, datetime]]:
    """{brand: (scan from, scan to)}: around the batch's mentions, and up to now for a live incident."""
    ranges: dict[int, tuple[datetime, datetime]] = {}
    for brand_id, at in batch:
        lo, hi = ranges.get(brand_id, (at, at))
        ranges[brand_id] = (min(lo, at), max(hi, at))
    live = conn.execute(
        sa.select(_ALERT.c.brand_id, sa.func.min(_ALERT.c.event_at))
        .where(_ALERT.c.kind.in_(SPIKE_KINDS), _ALERT.c.status.in_(LIVE_STATUSES))
        .group_by(_ALERT.c.brand_id)
    ).all()
    for brand_id, started in live:
        if brand_id in own_brands:
            lo, _ = ranges.get(brand_id, (started, now))
            ranges[brand_id] = (min(lo, started), now)
    return {
        brand_id: (lo - _LOOKBACK, min(now, hi + _LOOKBACK))
        for brand_id, (lo, hi) in ranges.items()
        if lo <= now
    }


def spike_drafts(
    conn: Connection,
    batch: Sequence[tuple[int, datetime]],
    *,
    own_brands: set[int],
    is_own: Callable[[int, str, str], bool],
    settings: AlertSettings,
    now: datetime,
) -> list[AlertDraft]:
    """Negative and volume spikes around this batch's mentions ((brand id, created_at) pairs) and for every
    brand with a live spike alert; the brand's own and staff posts do not count."""
    drafts: list[AlertDraft] = []
    history = timedelta(weeks=settings.spike_history_weeks)
    for brand_id, (scan_from, scan_to) in sorted(
        _scan_ranges(conn, batch, own_brands=own_brands, now=now).items()
    ):
        history_start = conn.execute(
            sa.select(sa.func.min(_MENTION.c.created_at))
            .select_from(_MENTION.join(_LINK, _LINK.c.mention_id == _MENTION.c.id))
            .where(_LINK.c.brand_id == brand_id)
        ).scalar_one()
        if history_start is None:
            continue
        rows = [
            row
            for row in _brand_rows(conn, brand_id=brand_id, since=scan_from - history, until=scan_to)
            if not is_own(brand_id, row.source, row.author_handle)
        ]
        events = [MentionEvent(row.created_at, row.id, row.sentiment == "negative") for row in rows]
        brand_name = conn.execute(sa.select(_BRAND.c.name).where(_BRAND.c.id == brand_id)).scalar_one()
        for kind in SPIKE_KINDS:
            for incident in detect_spikes(
                events,
                kind=kind,
                scan_from=scan_from,
                now=scan_to,
                history_start=history_start,
                settings=settings,
            ):
                drafts.append(
                    incident_draft(
                        incident,
                        brand_id=brand_id,
                        rows=rows,
                        brand_words=[brand_name],
                        settings=settings,
                        now=now,
                    )
                )
    return drafts


def _duration(start: datetime, end: datetime) -> str:
    minutes = max(0, round((end - start).total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def incident_draft(
    incident: Incident,
    *,
    brand_id: int,
    rows: Sequence[sa.Row[Any]],
    brand_words: Sequence[str],
    settings: AlertSettings,
    now: datetime,
) -> AlertDraft:
    """The alert for one incident. `rows`: the brand's word-of-mouth mentions the detector read."""
    negative = incident.kind == "negative_spike"
    inside = set(incident.mention_ids)
    history_from = incident.start - timedelta(weeks=settings.spike_history_weeks)

    def why_mention(row: sa.Row[Any]) -> WhyMention:
        return WhyMention(row.id, row.text or "", row.source, row.author_handle, row.reach)

    baseline = [
        why_mention(row)
        for row in rows
        if history_from <= row.created_at < incident.start and (row.sentiment == "negative" or not negative)
    ]
    why = incident_why(
        [why_mention(row) for row in rows if row.id in inside], baseline, brand_words=brand_words
    )
    ended = incident.end is not None
    last = incident.end or now
    about = ", ".join(term["term"] for term in why["top_terms"][:3])
    what = "negative mentions" if negative else "mentions"
    title = (
        f"{'Negative' if negative else 'Volume'} spike: {incident.count} {what} in "
        f"{_duration(incident.start, last)} (expected {incident.expected:.1f})"
        + (f" about {about}" if about else "")
    )
    strong = incident.peak_count >= max(4 * incident.peak_expected, 2 * settings.spike_min_count)
    too_old = now - incident.start > timedelta(days=settings.max_age_days)
    detail: dict[str, Any] = {
        "start": incident.start.isoformat(),
        "end": incident.end.isoformat() if incident.end else None,
        "opened_at": incident.opened_at.isoformat(),
        "state": "ended" if ended else "ongoing",
        "count": incident.count,
        "expected": incident.expected,
        "total": incident.total,
        "total_expected": incident.total_expected,
        "negative_share": incident.negative_share,
        "baseline_share": incident.baseline_share,
        "peak_at": incident.peak_at.isoformat(),
        "peak_window_minutes": incident.peak_window_minutes,
        "peak_count": incident.peak_count,
        "peak_expected": incident.peak_expected,
        "peak_p_value": incident.peak_p_value,
        "baseline": incident.baseline,
        "test": (
            f"negative binomial upper tail P(X >= count) <= {settings.spike_p_value} and count >= "
            f"{settings.spike_min_count if negative else settings.volume_spike_min_count}, windows of "
            f"{', '.join(map(str, settings.spike_windows_minutes))} min every {settings.spike_step_minutes} min"
        ),
        "mention_count": len(incident.mention_ids),
        "mention_ids": list(incident.mention_ids[:MENTION_IDS_KEPT]),
        "why": why,
    }
    return AlertDraft(
        kind=incident.kind,
        dedupe_key=f"{'spike' if negative else 'volume_spike'}:{brand_id}:{incident.start.isoformat()}",
        severity=("critical" if strong else "warning") if negative else "info",
        title=title,
        detail=detail,
        event_at=incident.start,
        brand_id=brand_id,
        status="resolved" if ended or too_old else "open",
        # live negative spikes interrupt; volume spikes are for reading, not for e-mail
        notify=negative and not ended and not too_old,
    )


def _overlapping(conn: Connection, draft: AlertDraft) -> Any:
    """The stored alert row of this incident's kind and brand whose span overlaps the draft's, or None."""
    start = datetime.fromisoformat(draft.detail["start"])
    end = datetime.fromisoformat(draft.detail["end"]) if draft.detail["end"] else None
    candidates = conn.execute(
        sa.select(_ALERT.c.id, _ALERT.c.status, _ALERT.c.detail, _ALERT.c.event_at)
        .where(
            _ALERT.c.brand_id == draft.brand_id,
            _ALERT.c.kind == draft.kind,
            _ALERT.c.status != "withdrawn",
            _ALERT.c.event_at >= start - timedelta(days=2),
        )
        .order_by(_ALERT.c.event_at)
    ).all()
    for row in candidates:
        stored = row.detail or {}
        if "start" not in stored:
            continue
        stored_start = datetime.fromisoformat(stored["start"])
        stored_end = datetime.fromisoformat(stored["end"]) if stored.get("end") else None
        if (end is None or stored_start <= end) and (stored_end is None or start <= stored_end):
            return row
    return None


def store_incident(conn: Connection, draft: AlertDraft, *, now: datetime) -> int | None:
    """Update the stored alert of this incident, or insert it. Returns the new alert's id, or None when
    an existing one was updated (it was notified when it opened, so no new e-mail)."""
    existing: Any = _overlapping(conn, draft)
    if existing is None:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_ALERT)
        inserted = conn.execute(
            insert.values(
                brand_id=draft.brand_id,
                kind=draft.kind,
                dedupe_key=draft.dedupe_key,
                severity=draft.severity,
                title=draft.title,
                detail=draft.detail,
                status=draft.status,
                event_at=draft.event_at,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_ALERT.c.id)
        ).scalar_one_or_none()
        if inserted is not None:
            return int(inserted)
        # another worker stored it first, or a person withdrew it: that row stands for the incident
        existing = conn.execute(
            sa.select(_ALERT.c.id, _ALERT.c.status, _ALERT.c.detail).where(
                _ALERT.c.dedupe_key == draft.dedupe_key
            )
        ).one()
        if existing.status == "withdrawn":
            return None
    status = existing.status
    detector_closed = (existing.detail or {}).get("end") is not None
    if draft.status == "resolved" and status in LIVE_STATUSES:
        status = "resolved"
    elif draft.status == "open" and status == "resolved" and detector_closed:
        status = (
            "open"  # late mentions carried on an incident the detector had closed; a person's close stays
        )
    conn.execute(
        sa.update(_ALERT)
        .where(_ALERT.c.id == existing.id)
        .values(severity=draft.severity, title=draft.title, detail=draft.detail, status=status)
    )
    return None
