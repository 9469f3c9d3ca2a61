"""Pipeline stages over the database: match brands, classify, profile authors, evaluate alerts (and place
mentions in the inbox, monitor.inbox.stage, in the alert stage's transaction).

One stage at a time (`Pipeline.run_stage`); the loop over all of them is
monitor.service.pipeline.run_pipeline_once.

Each stage claims a batch of pending mentions (see monitor.storage.claims), does its work, and
commits its results with its stage column in one transaction, for the rows it still owns. Every
stage is idempotent: results go in with unique keys, and author profiles are recomputed from all of
an author's mentions, so they always equal a rebuild from scratch.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.alerts.rules import AlertDraft
from monitor.classify.base import Classification as ClassificationResult
from monitor.classify.base import Classifier
from monitor.config import Settings
from monitor.faults import fault_point
from monitor.inbox.stage import update_inbox
from monitor.matching import BrandMatcher, BrandRules
from monitor.scoring.store import recompute_profiles
from monitor.storage.claims import Stage, claim_mentions, finish_claim, release_claim, release_dead_claims
from monitor.storage.classifications import store_classifications
from monitor.storage.models import Brand, Classification, Mention, MentionBrand, utcnow
from monitor.storage.sentiment_hours import refresh_mentions
from monitor.storage.tables import table_of

__all__ = ["STAGE_ORDER", "Pipeline", "StageResult", "worker_id"]

log = logging.getLogger("wom.pipeline")
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_CLASSIFICATION = table_of(Classification)
_BRAND = table_of(Brand)
STAGE_ORDER: tuple[Stage, ...] = ("match", "classify", "profile", "alert")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(slots=True)
class StageResult:
    claimed: int = 0
    done: int = 0
    batches: int = 0
    detail: dict[str, int] = field(default_factory=dict)


def _insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def load_matcher(engine: Engine) -> BrandMatcher:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_BRAND).where(_BRAND.c.active.is_(True))).mappings().all()
    return BrandMatcher(
        [
            BrandRules(
                brand_id=row["id"],
                name=row["name"],
                keywords=tuple(row["keywords"] or ()),
                hashtags=tuple(row["hashtags"] or ()),
                handles=tuple(h for handles in (row["handles"] or {}).values() for h in handles),
                exclusions=tuple(row["exclusions"] or ()),
                competitor_of=row["competitor_of_id"],
            )
            for row in rows
        ]
    )


class Pipeline:
    """Runs the stages for one process; `worker` names it in claims."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        classifier_factory: Callable[[], Classifier],
        worker: str | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker = worker or worker_id()
        self._classifier_factory = classifier_factory
        self._classifier: Classifier | None = None
        self._matcher: BrandMatcher | None = None
        self._now = now

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._classifier = self._classifier_factory()
        return self._classifier

    def recover_dead_claims(self) -> int:
        """Release rows claimed by workers of this host that died (their leases would hold them for a while)."""
        released = release_dead_claims(self.engine, hostname=socket.gethostname())
        if released:
            log.info("released %d mentions claimed by dead workers on this host", released)
        return released

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.pipeline.claim_timeout_seconds)

    def run_stage(self, stage: Stage, *, max_batches: int | None = None) -> StageResult:
        """Run `stage` batch after batch until nothing is pending (or `max_batches`)."""
        handler = {
            "match": self._match,
            "classify": self._classify,
            "profile": self._profile,
            "alert": self._alert,
        }[stage]
        result = StageResult()
        while max_batches is None or result.batches < max_batches:
            ids = claim_mentions(
                self.engine,
                stage=stage,
                worker=self.worker,
                limit=self._batch_size(stage),
                lease=self.lease,
                now=self._now(),
            )
            if not ids:
                break
            result.claimed += len(ids)
            result.batches += 1
            try:
                done = handler(ids, result.detail)
            except BaseException:
                release_claim(self.engine, worker=self.worker, mention_ids=ids)
                raise
            result.done += done
        return result

    def _batch_size(self, stage: Stage) -> int:
        if stage == "classify":
            return max(1, min(self.settings.pipeline.batch_size, self.settings.classifier.batch_size * 4))
        return self.settings.pipeline.batch_size

    # --- match -------------------------------------------------------------------------------------

    def _match(self, ids: Sequence[int], detail: dict[str, int]) -> int:
        if self._matcher is None:
            self._matcher = load_matcher(self.engine)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    _MENTION.c.id, _MENTION.c.text, _MENTION.c.brand_hint, _MENTION.c.scope_brand_id
                ).where(_MENTION.c.id.in_(ids))
            ).all()
        links = [
            {"mention_id": mention_id, "brand_id": brand_id, "matched_by": how}
            for mention_id, text, hint, scope in rows
            for brand_id, how in self._matcher.match(text, brand_hint=hint, scope_brand_id=scope).items()
        ]
        with self.engine.begin() as conn:
            owned = finish_claim(conn, stage="match", worker=self.worker, mention_ids=ids, now=self._now())
            owned_links = [link for link in links if link["mention_id"] in owned]
            if owned_links:
                conn.execute(_insert(conn, _LINK).on_conflict_do_nothing(), owned_links)
                refresh_mentions(conn, {link["mention_id"] for link in owned_links})
        detail["links"] = detail.get("links", 0) + len(owned_links)
        return len(owned)

    # --- classify ----------------------------------------------------------------------------------

    def _classify(self, ids: Sequence[int], detail: dict[str, int]) -> int:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    _MENTION.c.id, _MENTION.c.text, _MENTION.c.lang, _MENTION.c.content_key, _MENTION.c.rating
                ).where(_MENTION.c.id.in_(ids))
            ).all()
        classifier = self.classifier
        # copies (retweets, spam waves, a batch redone after a crash) reuse the classification of their text
        known = self._known_classifications(
            {row.content_key for row in rows}, model=(classifier.name, classifier.version)
        )
        # a mention with a star rating is a review (app stores, Trustpilot, own-site reviews)
        todo = {
            row.content_key: (row.text, row.lang, "review" if row.rating is not None else "post")
            for row in rows
            if row.content_key not in known
        }
        if todo:
            keys = list(todo)
            outputs = classifier.classify(
                [todo[k][0] for k in keys],
                hint_langs=[todo[k][1] for k in keys],
                hint_kinds=[todo[k][2] for k in keys],  # type: ignore[misc]
            )
            known.update(zip(keys, outputs, strict=True))
        fault_point("pipeline.after_classify_before_commit")
        now = self._now()
        with self.engine.begin() as conn:
            owned = finish_claim(conn, stage="classify", worker=self.worker, mention_ids=ids, now=now)
            values = [
                {
                    "mention_id": row.id,
                    "model_name": classifier.name,
                    "model_version": classifier.version,
                    "sentiment": known[row.content_key].sentiment,
                    "confidence": known[row.content_key].confidence,
                    "score": known[row.content_key].score,
                    "lang": known[row.content_key].lang,
                    "intent": known[row.content_key].intent,
                    "intent_confidence": known[row.content_key].intent_confidence,
                    "worker": self.worker,
                    "created_at": now,
                }
                for row in rows
                if row.id in owned
            ]
            store_classifications(conn, values)
        detail["classified_texts"] = detail.get("classified_texts", 0) + len(todo)
        return len(owned)

    def _known_classifications(
        self, keys: set[str], *, model: tuple[str, str]
    ) -> dict[str, ClassificationResult]:
        if not keys:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    _MENTION.c.content_key,
                    _CLASSIFICATION.c.sentiment,
                    _CLASSIFICATION.c.confidence,
                    _CLASSIFICATION.c.score,
                    _CLASSIFICATION.c.lang,
                    _CLASSIFICATION.c.intent,
                    _CLASSIFICATION.c.intent_confidence,
                )
                .join(_CLASSIFICATION, _CLASSIFICATION.c.mention_id == _MENTION.c.id)
                .where(
                    _MENTION.c.content_key.in_(list(keys)),
                    _CLASSIFICATION.c.model_name == model[0],
                    _CLASSIFICATION.c.model_version == model[1],
                )
            ).all()
        return {row[0]: ClassificationResult(*row[1:]) for row in rows}

    # --- profile -----------------------------------------------------------------------------------

    def _profile(self, ids: Sequence[int], detail: dict[str, int]) -> int:
        with self.engine.begin() as conn:
            pairs = recompute_profiles(conn, mention_ids=ids, settings=self.settings)
            fault_point("scoring.after_update")
            owned = finish_claim(conn, stage="profile", worker=self.worker, mention_ids=ids, now=self._now())
        detail["profiles"] = detail.get("profiles", 0) + pairs
        return len(owned)

    # --- alert -------------------------------------------------------------------------------------

    def _alert(self, ids: Sequence[int], detail: dict[str, int]) -> int:
        from monitor.alerts.evaluate import alert_drafts_for, fold_into_inbox, store_alerts
        from monitor.storage.outbox import legacy_recipients

        now = self._now()
        drafts: list[AlertDraft] = alert_drafts_for(
            self.engine, mention_ids=ids, settings=self.settings, now=now
        )
        with self.engine.begin() as conn:
            owned = finish_claim(conn, stage="alert", worker=self.worker, mention_ids=ids, now=now)
            kept = [
                d
                for d in drafts
                if d.mention_id is None or d.mention_id in owned or d.kind == "negative_spike"
            ]
            recipients = legacy_recipients(conn, self.settings.alerts.email_to)
            # the inbox first: a mention that opens or joins an item raises no second alert of its own
            inbox = update_inbox(conn, mention_ids=sorted(owned), settings=self.settings, now=now)
            kept = fold_into_inbox(conn, kept)
            created = store_alerts(conn, drafts=kept, recipients=recipients, now=now)
        detail["alerts"] = detail.get("alerts", 0) + created
        detail["inbox_opened"] = detail.get("inbox_opened", 0) + inbox.opened
        detail["inbox_answered"] = detail.get("inbox_answered", 0) + inbox.answered
        detail["inbox_reopened"] = detail.get("inbox_reopened", 0) + inbox.reopened
        return len(owned)
