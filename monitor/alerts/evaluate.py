"""Database side of the alert rules: gather the facts for a batch of mentions, store what fires.

The rules themselves are pure (monitor.alerts.rules). Alerts carry a dedupe key, so evaluating a
batch again (after a crash, or by another worker) adds nothing; each new alert gets one pending
delivery per recipient, in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.alerts.incidents import SPIKE_KINDS, spike_drafts, store_incident
from monitor.alerts.rules import (
    AlertDraft,
    MentionFacts,
    ambassador_at_risk,
    complaint_to_answer,
    influential_negative,
)
from monitor.alerts.segment_alerts import detractor_emerging, new_ambassador
from monitor.config import Settings
from monitor.scoring.profile import SegmentChangeEvent, is_own_account
from monitor.scoring.store import classified_mentions
from monitor.storage.inbox import attached
from monitor.storage.labels import effective_classification
from monitor.storage.models import (
    Alert,
    AuthorBrandStats,
    AuthorIdentity,
    Brand,
    Mention,
    MentionBrand,
    NotificationDelivery,
    SegmentChange,
)
from monitor.storage.tables import table_of

__all__ = [
    "FOLDED_INTO_INBOX",
    "alert_drafts_for",
    "fold_into_inbox",
    "revise_mention_alerts",
    "store_alerts",
]

_MENTION = table_of(Mention)
_IDENTITY = table_of(AuthorIdentity)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)
_CHANGES = table_of(SegmentChange)
_ALERT = table_of(Alert)
_DELIVERY = table_of(NotificationDelivery)
_STATS = table_of(AuthorBrandStats)
# the rules that raise alerts about one mention. A complaint or question to an own brand is the inbox's work
# (monitor.inbox.stage opens or joins its item; lateness is `first_response_missed`), so `complaint_to_answer`
# raises nothing new; its rule stays to revise the alerts of that kind stored before (revise_mention_alerts)
_MENTION_RULES = (influential_negative,)
# the rules a label can take the cause of away (revise_mention_alerts), the old complaint alerts' included
_REVISED_RULES = (complaint_to_answer, influential_negative)
_MENTION_RULE_KINDS = ("complaint_to_answer", "influential_negative")
# kinds about one mention that fold into the mention's inbox item instead of a second alert
FOLDED_INTO_INBOX = frozenset({"influential_negative"})


def _classified_mentions(conn: Connection, *, where: Any) -> list[sa.Row[Any]]:
    effective = effective_classification()  # a person's label wins over the model
    query = (
        sa.select(
            _MENTION.c.id,
            _MENTION.c.source,
            _MENTION.c.external_id,
            _MENTION.c.author_handle,
            _MENTION.c.text,
            _MENTION.c.created_at,
            _MENTION.c.reach,
            _MENTION.c.engagement,
            _MENTION.c.url,
            _IDENTITY.c.author_id,
            _LINK.c.brand_id,
            effective.sentiment.label("sentiment"),
            effective.confidence.label("confidence"),
            effective.intent.label("intent"),
        )
        .select_from(classified_mentions())
        .where(where)
    )
    return list(conn.execute(query))


def _answered(
    conn: Connection, rows: Sequence[sa.Row[Any]], *, is_own: Callable[[int, str, str], bool]
) -> set[int]:
    """Mentions the brand (its own or staff accounts) already replied to."""
    if not rows:
        return set()
    replies = conn.execute(
        sa.select(_MENTION.c.source, _MENTION.c.in_reply_to, _MENTION.c.author_handle).where(
            _MENTION.c.in_reply_to.in_([row.external_id for row in rows])
        )
    ).all()
    by_target: dict[tuple[str, str], list[str]] = defaultdict(list)
    for source, target, handle in replies:
        by_target[(source, target)].append(handle)
    return {
        row.id
        for row in rows
        if any(
            is_own(row.brand_id, row.source, handle)
            for handle in by_target.get((row.source, row.external_id), [])
        )
    }


def _own_account_check(settings: Settings, handles: dict[int, Any]) -> Callable[[int, str, str], bool]:
    """(brand id, source, handle) -> whether the brand's own or a staff account posted it."""
    staff = settings.scoring.staff_handles

    def is_own(brand_id: int, source: str, handle: str) -> bool:
        return is_own_account(
            handle, source=source, brand_handles=handles.get(brand_id, {}), staff_handles=staff
        )

    return is_own


def _engagement_total(engagement: dict[str, Any] | None) -> int:
    return sum(v for k, v in (engagement or {}).items() if k != "views" and isinstance(v, int))


def _mention_drafts(
    conn: Connection,
    rows: Sequence[sa.Row[Any]],
    *,
    settings: Settings,
    handles: dict[int, Any],
    now: datetime,
) -> list[AlertDraft]:
    is_own = _own_account_check(settings, handles)
    answered = _answered(conn, rows, is_own=is_own)
    drafts: list[AlertDraft] = []
    for row in rows:
        facts = _facts(row, is_own=is_own, answered=row.id in answered)
        for rule in _MENTION_RULES:
            draft = rule(facts, settings=settings.alerts, now=now)
            if draft is not None:
                drafts.append(draft)
    return drafts


def _facts(row: sa.Row[Any], *, is_own: Callable[[int, str, str], bool], answered: bool) -> MentionFacts:
    return MentionFacts(
        mention_id=row.id,
        brand_id=row.brand_id,
        author_id=row.author_id,
        source=row.source,
        author_handle=row.author_handle,
        text=row.text,
        created_at=row.created_at,
        sentiment=row.sentiment,
        confidence=row.confidence,
        intent=row.intent,
        reach=row.reach,
        engagement_total=_engagement_total(row.engagement),
        url=row.url,
        is_own_account=is_own(row.brand_id, row.source, row.author_handle),
        answered=answered,
    )


def revise_mention_alerts(
    conn: Connection, *, mention_id: int, settings: Settings, now: datetime
) -> tuple[int, int]:
    """After a person relabels `mention_id`, bring its complaint and negative-mention alerts in line.

    Complaint alerts are no longer raised (the inbox holds complaints), but those stored before are revised too.

    An open alert whose cause the label took away (no longer a complaint or question, no longer negative)
    is withdrawn and its pending e-mails are cancelled; a withdrawn one whose cause is back (the label was
    changed again or removed) reopens and its cancelled e-mails are due again. Age and replies are left
    out: they decide whether an alert is raised, not whether its cause holds. Alerts the label now calls
    for are raised by the alert stage (see `monitor.service.labels`); spikes and at-risk alerts stay as raised.
    Returns (withdrawn, reopened).
    """
    alerts = conn.execute(
        sa.select(_ALERT.c.id, _ALERT.c.dedupe_key, _ALERT.c.status).where(
            _ALERT.c.mention_id == mention_id,
            _ALERT.c.kind.in_(_MENTION_RULE_KINDS),
            _ALERT.c.status.in_(("open", "withdrawn")),
        )
    ).all()
    if not alerts:
        return 0, 0
    handles = {
        row.id: dict(row.handles or {}) for row in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.handles))
    }
    is_own = _own_account_check(settings, handles)
    holding = {
        draft.dedupe_key
        for row in _classified_mentions(conn, where=_MENTION.c.id == mention_id)
        for rule in _REVISED_RULES
        if (
            draft := rule(
                _facts(row, is_own=is_own, answered=False), settings=settings.alerts, now=row.created_at
            )
        )
    }
    withdraw = [a.id for a in alerts if a.status == "open" and a.dedupe_key not in holding]
    reopen = [a.id for a in alerts if a.status == "withdrawn" and a.dedupe_key in holding]
    if withdraw:
        conn.execute(sa.update(_ALERT).where(_ALERT.c.id.in_(withdraw)).values(status="withdrawn"))
        conn.execute(
            sa.update(_DELIVERY)
            .where(_DELIVERY.c.alert_id.in_(withdraw), _DELIVERY.c.status == "pending")
            .values(status="cancelled")
        )
    if reopen:
        conn.execute(sa.update(_ALERT).where(_ALERT.c.id.in_(reopen)).values(status="open"))
        conn.execute(
            sa.update(_DELIVERY)
            .where(_DELIVERY.c.alert_id.in_(reopen), _DELIVERY.c.status == "cancelled")
            .values(status="pending", next_attempt_at=now)
        )
    return len(withdraw), len(reopen)


def _at_risk_drafts(
    conn: Connection,
    mention_ids: Sequence[int],
    *,
    sentiments: dict[int, tuple[str, str]],
    settings: Settings,
    now: datetime,
) -> list[AlertDraft]:
    changes = conn.execute(
        sa.select(_CHANGES, _MENTION.c.author_handle)
        .select_from(_CHANGES.join(_MENTION, _MENTION.c.id == _CHANGES.c.mention_id))
        .where(_CHANGES.c.mention_id.in_(list(mention_ids)))
    ).mappings()
    drafts: list[AlertDraft] = []
    for change in changes:
        sentiment, intent = sentiments.get(change["mention_id"], ("neutral", "other"))
        event = SegmentChangeEvent(
            changed_at=change["changed_at"],
            from_segment=change["from_segment"],
            to_segment=change["to_segment"],
            mention_id=change["mention_id"],
        )
        drafts.extend(_segment_entry_drafts(conn, event, change, settings=settings, now=now))
        draft = ambassador_at_risk(
            event,
            author_id=change["author_id"],
            brand_id=change["brand_id"],
            author_handle=change["author_handle"],
            caused_by_negative=sentiment == "negative" or intent == "complaint",
            settings=settings.alerts,
            now=now,
        )
        if draft is not None:
            drafts.append(draft)
    return drafts


def _recent_negative_ids(
    conn: Connection, *, author_id: int, brand_id: int, since: datetime, until: datetime
) -> list[int]:
    """The author's negative mentions or complaints about the brand from `since` to `until`, newest first
    (a person's label wins over the model)."""
    effective = effective_classification()
    query = (
        sa.select(_MENTION.c.id)
        .select_from(classified_mentions())
        .where(
            _IDENTITY.c.author_id == author_id,
            _LINK.c.brand_id == brand_id,
            _MENTION.c.created_at >= since,
            _MENTION.c.created_at <= until,
            sa.or_(effective.sentiment == "negative", effective.intent == "complaint"),
        )
        .order_by(_MENTION.c.created_at.desc(), _MENTION.c.id.desc())
    )
    return [int(i) for i in conn.execute(query).scalars()]


def _segment_entry_drafts(
    conn: Connection, event: SegmentChangeEvent, change: Any, *, settings: Settings, now: datetime
) -> list[AlertDraft]:
    """new_ambassador and detractor_emerging for one recorded segment change (monitor.alerts.segment_alerts)."""
    if event.to_segment not in ("ambassador", "detractor"):
        return []
    author_id, brand_id = int(change["author_id"]), int(change["brand_id"])
    stats = (
        conn.execute(sa.select(_STATS).where(_STATS.c.author_id == author_id, _STATS.c.brand_id == brand_id))
        .mappings()
        .first()
    )
    reach = int(stats["reach"]) if stats else 0
    if event.to_segment == "ambassador":
        draft = new_ambassador(
            event,
            author_id=author_id,
            brand_id=brand_id,
            author_handle=change["author_handle"],
            mentions=int(stats["mentions"]) if stats else 0,
            positive=int(stats["positive"]) if stats else 0,
            reach=reach,
            evidence=list(stats["evidence"] or []) if stats else [],
            settings=settings.alerts,
            now=now,
        )
    else:
        negatives = _recent_negative_ids(
            conn,
            author_id=author_id,
            brand_id=brand_id,
            since=event.changed_at - timedelta(days=settings.alerts.detractor_recent_days),
            until=event.changed_at,
        )
        draft = detractor_emerging(
            event,
            author_id=author_id,
            brand_id=brand_id,
            author_handle=change["author_handle"],
            reach=reach,
            recent_negative_ids=negatives,
            settings=settings.alerts,
            now=now,
        )
    return [draft] if draft is not None else []


def alert_drafts_for(
    engine: Engine, *, mention_ids: Sequence[int], settings: Settings, now: datetime
) -> list[AlertDraft]:
    """Every alert the rules raise for this batch of mentions (duplicates are removed on store).

    Only the user's own brands raise alerts; competitors are tracked for share of voice, not answered.
    """
    with engine.connect() as conn:
        own_brands = set(
            conn.execute(sa.select(_BRAND.c.id).where(_BRAND.c.competitor_of_id.is_(None))).scalars()
        )
        rows = [
            row
            for row in _classified_mentions(conn, where=_MENTION.c.id.in_(list(mention_ids)))
            if row.brand_id in own_brands
        ]
        if not rows:
            return []
        handles = {
            row.id: dict(row.handles or {}) for row in conn.execute(sa.select(_BRAND.c.id, _BRAND.c.handles))
        }
        sentiments = {row.id: (row.sentiment, row.intent) for row in rows}
        is_own = _own_account_check(settings, handles)
        batch = [
            (row.brand_id, row.created_at)
            for row in rows
            if not is_own(row.brand_id, row.source, row.author_handle)
        ]
        return [
            *_mention_drafts(conn, rows, settings=settings, handles=handles, now=now),
            *spike_drafts(
                conn, batch, own_brands=own_brands, is_own=is_own, settings=settings.alerts, now=now
            ),
            *(
                draft
                for draft in _at_risk_drafts(
                    conn, mention_ids, sentiments=sentiments, settings=settings, now=now
                )
                if draft.brand_id in own_brands
            ),
        ]


def fold_into_inbox(conn: Connection, drafts: Sequence[AlertDraft]) -> list[AlertDraft]:
    """`drafts` less the influential negatives whose mention is in an inbox item of its brand.

    Run after the inbox stage placed the batch (monitor.inbox.stage.update_inbox, same transaction): such a
    mention is already the item's work, and the item's priority weighs its reach and negative sentiment, so
    it raises no second alert; one that opens no item (a negative review or post that asks nothing) keeps its
    alert. A spike covering it still inhibits the alert's e-mail (monitor.alerts.routing).
    """
    return [
        draft
        for draft in drafts
        if draft.kind not in FOLDED_INTO_INBOX
        or draft.mention_id is None
        or not attached(conn, brand_id=draft.brand_id, mention_id=draft.mention_id)
    ]


def store_alerts(
    conn: Connection, *, drafts: Sequence[AlertDraft], recipients: Sequence[str], now: datetime
) -> int:
    """Insert new alerts (by dedupe key) and their pending deliveries. Returns the number of new alerts.

    A spike's alert is one per incident, updated while it lasts (`monitor.alerts.incidents.store_incident`).
    Deliveries go only to new alerts whose draft says `notify`.
    """
    if not drafts:
        return 0
    unique = {draft.dedupe_key: draft for draft in drafts if draft.kind not in SPIKE_KINDS}
    spikes = {draft.dedupe_key: draft for draft in drafts if draft.kind in SPIKE_KINDS}
    new_spikes = [
        (alert_id, draft)
        for draft in spikes.values()
        if (alert_id := store_incident(conn, draft, now=now)) is not None
    ]
    new_rows = (
        conn.execute(
            _insert(conn)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_ALERT.c.id, _ALERT.c.dedupe_key),
            [
                {
                    "brand_id": d.brand_id,
                    "kind": d.kind,
                    "dedupe_key": d.dedupe_key,
                    "severity": d.severity,
                    "title": d.title,
                    "detail": d.detail,
                    "mention_id": d.mention_id,
                    "author_id": d.author_id,
                    "status": d.status,
                    "event_at": d.event_at,
                    "created_at": now,
                }
                for d in unique.values()
            ],
        ).all()
        if unique
        else []
    )
    new_alerts = [*new_spikes, *((alert_id, unique[key]) for alert_id, key in new_rows)]
    notified = [alert_id for alert_id, draft in new_alerts if draft.notify]
    if notified and recipients:
        conn.execute(
            sa.insert(_DELIVERY),
            [
                {
                    "alert_id": alert_id,
                    "channel": "email",
                    "recipient": recipient,
                    "status": "pending",
                    "attempts": 0,
                    "message_id": "",
                    "last_error": "",
                    "next_attempt_at": now,
                }
                for alert_id in notified
                for recipient in recipients
            ],
        )
    return len(new_alerts)


def _insert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_ALERT)
