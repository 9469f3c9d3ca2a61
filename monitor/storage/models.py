"""SQLModel tables. Mentions are the source of truth; everything under "derived" is rebuilt from them."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from monitor.storage.handles import handle_key_default

__all__ = [
    "Alert",
    "AlertNotice",
    "Author",
    "AuthorBrandStats",
    "AuthorIdentity",
    "AuthorSuppression",
    "Brand",
    "BrandVolume",
    "Classification",
    "CollectorCursor",
    "InboxEvent",
    "InboxItem",
    "InboxItemMention",
    "JobRun",
    "Mention",
    "MentionBrand",
    "NotificationDelivery",
    "SchedulerLease",
    "SegmentChange",
    "SentimentHour",
    "User",
    "WebSession",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; wom stores only timezone-aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _time(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _json(default: Any = None) -> Any:
    return Field(default_factory=lambda: default, sa_column=sa.Column(sa.JSON(), nullable=True))


class Brand(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    competitor_of_id: int | None = Field(default=None, foreign_key="brand.id")
    timezone: str = "UTC"
    keywords: list[str] | None = _json([])
    exclusions: list[str] | None = _json([])
    hashtags: list[str] | None = _json([])
    handles: dict[str, list[str]] | None = _json({})
    # [scoring] staff_handles as of the last sync: with `handles`, whose posts are the brand's own
    staff_handles: list[str] | None = _json([])
    active: bool = True


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    display_name: str = ""
    created_at: datetime | None = _time()
    forgotten: bool = False


class AuthorIdentity(SQLModel, table=True):
    """One account on one platform. `identity_key` is the platform id, or `@handle` when there is none."""

    __table_args__ = (sa.UniqueConstraint("source", "identity_key", name="uq_identity_source_key"),)
    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="author.id", index=True)
    source: str = Field(max_length=40)
    identity_key: str = Field(max_length=300)
    platform_id: str | None = Field(default=None, max_length=300)
    handle: str = Field(max_length=300)
    # monitor.storage.handles.handle_key(handle), filled in on insert: the merge suggestions' lookup
    handle_key: str | None = Field(
        default=None,
        max_length=300,
        index=True,
        sa_column_kwargs={"default": handle_key_default, "nullable": False},
    )
    name: str = ""
    reach: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    reach_kind: str = "none"
    updated_at: datetime | None = _time()


class Mention(SQLModel, table=True):
    """One platform item: the common mention record of ../shared/COLLECTORS.md section 11."""

    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_mention_source_external_id"),
        sa.Index("ix_mention_match_pending", "matched_at"),
        sa.Index("ix_mention_classify_pending", "classified_at", "matched_at"),
        sa.Index("ix_mention_profile_pending", "profiled_at", "classified_at"),
        sa.Index("ix_mention_alert_pending", "alerted_at", "profiled_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=40)
    external_id: str = Field(max_length=300)
    url: str | None = None
    text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    lang: str | None = Field(default=None, max_length=8)
    created_at: datetime | None = _time(nullable=False, index=True)
    collected_at: datetime | None = _time()
    author_identity_id: int | None = Field(default=None, foreign_key="authoridentity.id", index=True)
    author_handle: str = ""
    reach: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=True))
    reach_kind: str = "none"
    engagement: dict[str, int] | None = _json({})
    rating: float | None = None
    in_reply_to: str | None = None
    thread_id: str | None = None
    brand_hint: str | None = None
    # stored through a key limited to this brand id (`wom apikey create --brand`): the match stage links
    # the mention only to this brand and its competitors, whatever its text names (issue 13). No foreign
    # key, so adding the column is an ALTER TABLE, not a copy of every mention on SQLite
    scope_brand_id: int | None = None
    raw: dict[str, Any] | None = _json(None)
    text_sanitized: bool = False
    # sha1 of the language hint and the text: copies (retweets, spam waves) share it and one classification
    content_key: str = Field(default="", max_length=40, index=True)
    # pipeline progress; a stage claims rows with claimed_by/claim_expires_at, then stamps its column
    matched_at: datetime | None = _time()
    classified_at: datetime | None = _time()
    profiled_at: datetime | None = _time()
    alerted_at: datetime | None = _time()
    claimed_by: str | None = None
    claim_expires_at: datetime | None = _time()


class MentionBrand(SQLModel, table=True):
    """A mention matched to a brand, with copies of what a brand's mention list filters and orders on:
    the mention's time and source, and its effective sentiment and intent (kept by
    monitor.storage.brand_links; NULL until classified)."""

    # a brand's list walks one of these newest first and stops when the page is full
    __table_args__ = (
        sa.Index("ix_mentionbrand_feed", "brand_id", "created_at", "mention_id"),
        sa.Index("ix_mentionbrand_sentiment_feed", "brand_id", "sentiment", "created_at", "mention_id"),
        sa.Index("ix_mentionbrand_intent_feed", "brand_id", "intent", "created_at", "mention_id"),
    )
    mention_id: int = Field(foreign_key="mention.id", primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", primary_key=True, index=True)
    matched_by: str = "keyword"
    created_at: datetime | None = _time()
    source: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    sentiment: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    intent: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    # posted by the brand's own or a staff account (monitor.scoring.profile.is_own_account): a response,
    # never word of mouth
    own: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )


class Classification(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("mention_id", "model_name", "model_version", name="uq_class_mention_model"),
    )
    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", index=True)
    model_name: str
    model_version: str
    sentiment: str
    confidence: float
    score: float
    lang: str
    intent: str
    intent_confidence: float
    worker: str = ""
    created_at: datetime | None = _time()


# --- derived: always equal to a rebuild from mentions + classifications -------------------------


class AuthorBrandStats(SQLModel, table=True):
    # the ranked lists read a brand's authors by raw score, best first (a backward scan), and stop early
    __table_args__ = (
        sa.Index("ix_authorbrandstats_brand_ambassador", "brand_id", "ambassador_score", "author_id"),
        sa.Index("ix_authorbrandstats_brand_detractor", "brand_id", "detractor_score", "author_id"),
        # the lists filtered by segment (fans, critics): without these, read past every higher segment
        sa.Index(
            "ix_authorbrandstats_segment_ambassador", "brand_id", "segment", "ambassador_score", "author_id"
        ),
        sa.Index(
            "ix_authorbrandstats_segment_detractor", "brand_id", "segment", "detractor_score", "author_id"
        ),
    )
    author_id: int = Field(foreign_key="author.id", primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", primary_key=True, index=True)
    mentions: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    complaints: int = 0
    questions: int = 0
    reach: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0"))
    engagement: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )
    first_mention_at: datetime | None = _time()
    last_mention_at: datetime | None = _time()
    average_rating: float | None = None
    ambassador_score: float = 0.0
    detractor_score: float = 0.0
    segment: str = "occasional"
    score_terms: dict[str, Any] | None = _json({})
    evidence: list[int] | None = _json([])


class SentimentHour(SQLModel, table=True):
    """Mentions matched to a brand in one UTC hour, by effective sentiment (a label wins over the model;
    unclassified until classified): the trend and share of voice read these instead of the mentions.
    Kept by monitor.storage.sentiment_hours."""

    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    hour: datetime = Field(sa_column=sa.Column(UTCDateTime(), primary_key=True))
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unclassified: int = 0
    own: int = 0  # the brand's own posts (responses): in none of the columns above


class SourceHour(SQLModel, table=True):
    """A brand's word-of-mouth mentions in one UTC hour from one source, by effective sentiment: the
    overview's per-source figures read these. Counted from the brand links' copies, kept with
    `SentimentHour` by monitor.storage.sentiment_hours (the brand's own posts are in no row)."""

    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    hour: datetime = Field(sa_column=sa.Column(UTCDateTime(), primary_key=True))
    source: str = Field(primary_key=True, max_length=40)
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unclassified: int = 0


class BrandVolume(SQLModel, table=True):
    """Mentions matched to a brand in all: the sum of its `SentimentHour` rows, kept with them."""

    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    mentions: int = 0


class SegmentChange(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("author_id", "brand_id", "changed_at", name="uq_segment_change"),
        # a period's new ambassadors (the overview, the digest)
        sa.Index("ix_segmentchange_brand_to", "brand_id", "to_segment", "changed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="author.id", index=True)
    brand_id: int = Field(foreign_key="brand.id")
    from_segment: str
    to_segment: str
    changed_at: datetime | None = _time(nullable=False)
    mention_id: int | None = None


class Alert(SQLModel, table=True):
    """`dedupe_key` makes re-evaluation idempotent: a rule that fires twice for one cause adds nothing."""

    __table_args__ = (
        sa.UniqueConstraint("dedupe_key", name="uq_alert_dedupe_key"),
        # a period's alerts of one kind (the overview's ambassadors at risk, the digest)
        sa.Index("ix_alert_brand_kind_created", "brand_id", "kind", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    kind: str
    dedupe_key: str = Field(max_length=400)
    severity: str = "warning"
    title: str
    detail: dict[str, Any] | None = _json({})
    mention_id: int | None = Field(default=None, foreign_key="mention.id")
    author_id: int | None = Field(default=None, foreign_key="author.id")
    status: str = "open"
    event_at: datetime | None = _time(nullable=False, index=True)
    created_at: datetime | None = _time()
    # who acknowledged / resolved it (api.writes.written_by: `user:NAME` or `apikey:ID`), and when; null
    # when nobody did (the detector resolves incidents that end without an actor)
    acknowledged_at: datetime | None = _time()
    acknowledged_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = _time()
    resolved_by: str | None = Field(default=None, max_length=200)


class NotificationDelivery(SQLModel, table=True):
    """The outbox: one message to one recipient on one channel, sent by `monitor.alerts.delivery`.

    `channel` is email, slack or webhook; `recipient` an e-mail address or a webhook's name; `kind` alert,
    reminder, digest or test. `dedupe_key` says what the message is (one row per alert, reminder number,
    user and channel; one digest per user and local day), so routing twice queues nothing new.
    `message_id` is fixed when the row is queued (the e-mail's Message-ID, the webhook-id): a resend after
    a crash in the send window carries the same id. `status`: pending, sending (claimed; `next_attempt_at`
    is the lease's end), sent, failed, or digest (not pushed: rolled into the user's digest).
    """

    __table_args__ = (sa.Index("ix_notificationdelivery_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True)
    channel: str = "email"
    recipient: str
    kind: str = Field(
        default="alert", sa_column=sa.Column(sa.String(16), nullable=False, server_default="alert")
    )
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    dedupe_key: str | None = Field(
        default=None, sa_column=sa.Column(sa.String(400), nullable=True, unique=True)
    )
    payload: dict[str, Any] | None = _json({})
    status: str = "pending"
    attempts: int = 0
    message_id: str = ""
    last_error: str = ""
    created_at: datetime | None = _time()
    next_attempt_at: datetime | None = _time()
    sent_at: datetime | None = _time()


class AlertNotice(SQLModel, table=True):
    """What routing did with an alert: `state` waiting (a spike inside group_wait), pushed, recorded (not
    pushed: over before group_wait, or nothing to push), or inhibited (an influential negative inside an
    open spike of its brand, `inhibited_by`). `pushed_severity` is the severity last pushed (a rise pushes
    an update); `reminders` how many repeat-interval reminders went out, the last at `last_pushed_at`."""

    alert_id: int = Field(foreign_key="alert.id", primary_key=True)
    state: str = Field(max_length=16)
    pushed_severity: str = Field(default="", max_length=16)
    inhibited_by: int | None = None
    reminders: int = 0
    routed_at: datetime | None = _time(nullable=False)
    last_pushed_at: datetime | None = _time()


class MentionLabel(SQLModel, table=True):
    """A person's correction of a mention's sentiment or intent: it wins over every model, and is kept
    for retraining. One current label per mention; `labeled_by` names the API key (or CLI user)."""

    mention_id: int = Field(foreign_key="mention.id", primary_key=True)
    sentiment: str | None = Field(default=None, max_length=16)
    intent: str | None = Field(default=None, max_length=16)
    labeled_by: str = Field(default="", max_length=200)
    labeled_at: datetime | None = _time(nullable=False)


class AuthorTombstone(SQLModel, table=True):
    """What remains of a forgotten identity: enough to refuse its mentions when a collector brings them back.

    `identity_digest` is the SHA-256 of `source` + NUL + the identity key, so the tombstone holds no
    handle or platform id in the clear."""

    identity_digest: str = Field(primary_key=True, max_length=64)
    forgotten_at: datetime | None = _time(nullable=False)


class ApiKey(SQLModel, table=True):
    """An API key: only its SHA-256 digest is stored; `prefix` (the first characters) identifies it to people."""

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=32, index=True)
    digest: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    role: str = Field(max_length=16)
    brand_id: int | None = Field(default=None, foreign_key="brand.id")
    label: str = Field(default="", max_length=200)
    created_at: datetime | None = _time(nullable=False)
    revoked_at: datetime | None = _time()
    last_used_at: datetime | None = _time()
    user_id: int | None = Field(default=None, foreign_key="user.id")


class User(SQLModel, table=True):
    """A person who signs in, is assigned work and receives notifications.

    `name` is the login name, stored lowercase; `brand_ids` empty means every brand. The notification
    preferences: `alert_kinds` (empty = every kind) at `min_severity` or above (info < warning < critical),
    sent at once or only in the digest at `digest_hour` (local), nothing immediate between `quiet_start`
    and `quiet_end` (local; both None = no quiet hours). `password_hash` is an Argon2id hash, None until
    a password is set.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    display_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    role: str = Field(max_length=16)
    language: str = Field(default="en", max_length=8)
    timezone: str = Field(default="UTC", max_length=64)
    brand_ids: list[int] | None = _json([])
    alert_kinds: list[str] | None = _json([])
    min_severity: str = Field(default="critical", max_length=16)
    delivery: str = Field(default="immediate", max_length=16)
    digest_hour: int = 8
    quiet_start: time | None = None
    quiet_end: time | None = None
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime | None = _time(nullable=False)


class WebSession(SQLModel, table=True):
    """A signed-in browser (monitor.service.sessions): the cookie holds a random token, only its SHA-256
    digest is stored here, so a copy of the table signs nobody in. `csrf_token` is the synchronizer token
    every dashboard form carries. A session ends at `expires_at` or after the idle limit past
    `last_seen_at`, whichever comes first, or when its user signs out."""

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime | None = _time(nullable=False)
    last_seen_at: datetime | None = _time(nullable=False)
    expires_at: datetime | None = _time(nullable=False, index=True)


# --- the inbox: people's work queue (monitor.inbox); items carry what people did, so no rebuild --------


class InboxItem(SQLModel, table=True):
    """One conversation a brand should answer: a complaint or question, its thread, and the same author's
    further messages within `[inbox] fold_hours`. `opened_at` is the first mention's time, so time to first
    response is `first_response_at - opened_at`. Every change adds 1 to `version`: an action updates the
    row only at the version it read (optimistic concurrency; the loser of a race gets a 409)."""

    __table_args__ = (
        sa.Index("ix_inboxitem_queue", "brand_id", "status", "priority", "id"),
        sa.Index("ix_inboxitem_author", "brand_id", "author_key", "last_mention_at"),
        # a period's response times: the items a brand opened in it, read from the index alone
        sa.Index("ix_inboxitem_opened", "brand_id", "opened_at", "status", "due_at", "first_response_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    thread_key: str = Field(max_length=400)
    first_mention_id: int = Field(foreign_key="mention.id")
    last_mention_id: int = Field(foreign_key="mention.id")
    # no foreign keys to author here or in AuthorSuppression: merging and forgetting authors move or
    # delete these rows themselves (monitor.storage.inbox), and retention never waits on them
    author_id: int | None = Field(default=None, index=True)
    # "a:<author id>", or "h:<source>:<handle>" for a mention without an author identity
    author_key: str = Field(max_length=400)
    intent: str = Field(max_length=16)
    status: str = Field(default="open", max_length=16)
    dismiss_reason: str | None = Field(default=None, max_length=32)
    assignee_user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    priority: float = 0.0
    opened_at: datetime | None = _time(nullable=False, index=True)
    last_mention_at: datetime | None = _time(nullable=False)
    due_at: datetime | None = _time(nullable=False)
    first_response_at: datetime | None = _time()
    answered_at: datetime | None = _time()
    resolved_at: datetime | None = _time()
    updated_at: datetime | None = _time(nullable=False)
    version: int = 1


class InboxItemMention(SQLModel, table=True):
    """A mention in an item's conversation; a mention is in at most one item per brand."""

    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", primary_key=True)
    item_id: int = Field(foreign_key="inboxitem.id", index=True)
    # the mention's conversation: source, then its thread id, else the post it replies to, else its own id
    thread_key: str = Field(max_length=400, index=True)
    role: str = Field(default="author", max_length=16)  # author, own (the brand's reply), other


class InboxEvent(SQLModel, table=True):
    """What happened to an item, who did it and when: the pipeline (opened, answered by an own reply,
    reopened by the author) and people (ack, assign, answer, resolve, dismiss, reopen)."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="inboxitem.id", index=True)
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor: str = Field(default="", max_length=200)
    mention_id: int | None = Field(default=None, foreign_key="mention.id")
    detail: dict[str, Any] | None = _json({})
    at: datetime | None = _time(nullable=False)


class AuthorSuppression(SQLModel, table=True):
    """An author an item dismissal called spam or a bot: their mentions open no inbox items and count in no
    score, until the dismissal is undone (the item reopened)."""

    author_id: int = Field(primary_key=True)
    reason: str = Field(max_length=16)  # spam or bot
    item_id: int | None = Field(default=None, foreign_key="inboxitem.id")
    suppressed_by: str = Field(default="", max_length=200)
    suppressed_at: datetime | None = _time(nullable=False)


# --- bookkeeping -------------------------------------------------------------------------------


class CollectorCursor(SQLModel, table=True):
    source: str = Field(primary_key=True, max_length=40)
    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    query_key: str = Field(primary_key=True, max_length=300)
    cursor: dict[str, Any] | None = _json({})
    updated_at: datetime | None = _time()


class SourceState(SQLModel, table=True):
    """Per source: its back-off (rate limit or repeated failure) and when it last found something new."""

    source: str = Field(primary_key=True, max_length=40)
    backoff_until: datetime | None = _time()
    backoff_reason: str = ""
    consecutive_failures: int = 0
    last_run_at: datetime | None = _time()
    last_success_at: datetime | None = _time()
    last_found_at: datetime | None = _time()
    found_total: int = 0


class JobRun(SQLModel, table=True):
    """One run of a collector, an import or a pipeline stage; `heartbeat_at` lets a killed run be marked stale."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    name: str = Field(index=True)
    brand: str | None = None
    status: str = "running"
    started_at: datetime | None = _time(nullable=False)
    heartbeat_at: datetime | None = _time()
    finished_at: datetime | None = _time()
    items_read: int = 0
    items_new: int = 0
    items_duplicate: int = 0
    items_failed: int = 0
    error: str = ""
    detail: dict[str, Any] | None = _json({})


class SchedulerLease(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=100)
    owner: str
    expires_at: datetime | None = _time(nullable=False)
