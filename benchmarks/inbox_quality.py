"""Inbox quality: the items wom's inbox opens against the true complaints and questions, next to the
obvious alternative.

    python -m benchmarks.inbox_quality [--world demo|90d|both] [--classifier e5|gold|both] [--no-deliveries]
                                       [--show-errors]

Worlds (ground truth from benchmarks.demo_sample.build_sample, each mention's `kind` and `story`):
- demo: the `wom demo` sample, 392 mentions over six weeks;
- 90d: a 90-day world of three samples of other seeds, starting 48, 24 and 0 days before the end (1,176
  mentions: three delivery incidents, the bot, the spammer, the brand's and its staff's replies, the
  competitor and comparisons) and a campaign: 160 praising or neutral posts about the shop's winter blend by
  as many people over six hours, 20 days before the end (`campaign_mentions`), which must open no inbox
  item and raise no negative alert.

Each world is imported and run through the real pipeline (match, classify, profile, alert and the inbox
stage) on a temporary SQLite database with the pipeline's clock at the world's end, as `wom demo
--no-serve` does, once with the default e5 classifier and once with a classifier that answers each text's
drawn kind (gold: complaint -> negative complaint, question -> neutral question, praise -> positive
praise, neutral -> neutral other), which separates the inbox rules' errors from the classifier's.

Truth: a mention is one to answer when its kind is complaint or question, it is about the shop (its
`brands` hold Koffiekoning: comparisons count) and its story is none of own, staff, spam, bot, excluded.
- precision: of the items opened, those whose opening mention is one to answer;
- recall: of the mentions to answer, those in some item (opening it or folded into it).
The alternative is a queue of every mention of the shop the classifier calls a complaint or a question,
one entry each (what the `complaint_to_answer` alert did). `--show-errors` prints each wrong item's opening
mention and each missed mention: its story/kind, the model's sentiment, intent and intent confidence, and
its text.

Deliveries (default e5 classifier): the world is replayed hour by hour on a clock that the pipeline, the
watched alerts (monitor.service.watch) and routing (monitor.service.notify.route_alerts) all read: each
hour the mentions published in it are stored, the pipeline runs, and routing queues the outbox's messages,
with the default [alerts] settings (max_immediate_per_hour 5, group_wait, a reminder every 4 hours of an
alert still open and unacknowledged, max_age_days 14). Two users receive them: an owner with the defaults
(critical alerts at once) and a community manager who asked for every alert at once (min_severity info),
both in UTC without quiet hours. Each run is done twice: nobody acknowledges anything (every reminder goes
out), and the manager acknowledges each alert an hour after its first e-mail (monitor.service.alerts).
Counted from the outbox: the e-mails queued to go out at once (status pending: first notices, updates and
reminders) per recipient per day and per routing hour, against the cap; the alerts raised per brand and
week; the inbox items opened by campaign mentions and the negative alerts raised during the campaign. The
alternative is every alert e-mailed at once to every recipient, as wom did before (one e-mail per alert).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from benchmarks.demo_sample.build_sample import SEED, SampleMention, build_sample
from monitor.classify.base import Classification, Classifier, TextKind, check_batch
from monitor.classify.cache import CachedClassifier
from monitor.config import AlertSettings, Settings, settings_from_mapping
from monitor.demo.config import demo_config_toml
from monitor.demo.story import DEMO_STORY
from monitor.errors import AlertStateError
from monitor.pipeline import Pipeline
from monitor.records import parse_mention
from monitor.service.alerts import change_alert_status
from monitor.service.notify import route_alerts
from monitor.service.pipeline import run_pipeline_once
from monitor.service.users import add_user
from monitor.service.watch import watch_alerts
from monitor.storage.brands import sync_brands
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.mentions import store_mentions
from monitor.storage.models import (
    Alert,
    Brand,
    InboxItem,
    InboxItemMention,
    Mention,
    MentionBrand,
    NotificationDelivery,
)
from monitor.storage.models import Classification as StoredClassification
from monitor.storage.tables import table_of

__all__ = [
    "Deliveries",
    "GoldClassifier",
    "Outcome",
    "World",
    "campaign_mentions",
    "deliveries",
    "demo_world",
    "main",
    "measure",
    "ninety_day_world",
]

NOT_WORD_OF_MOUTH = ("own", "staff", "spam", "bot", "excluded")
_GOLD = {
    "complaint": ("negative", "complaint"),
    "question": ("neutral", "question"),
    "praise": ("positive", "praise"),
    "neutral": ("neutral", "other"),
}
_ITEM = table_of(InboxItem)
_ITEM_MENTION = table_of(InboxItemMention)
_MENTION = table_of(Mention)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)
_CLASSIFICATION = table_of(StoredClassification)
Key = tuple[str, str]  # (source, external_id)


@dataclass(frozen=True)
class World:
    name: str
    mentions: list[SampleMention]
    end: datetime

    def truth(self) -> set[Key]:
        return {_key(m.record) for m in self.mentions if to_answer(m)}


@dataclass
class Outcome:
    world: str
    classifier: str
    mentions: int
    to_answer: int
    items: int
    items_right: int
    found: int
    queue: int  # the alternative's entries
    queue_right: int
    seconds: float
    false_items: Counter[str] = field(default_factory=Counter)  # story/kind of wrong opening mentions
    missed: Counter[str] = field(default_factory=Counter)  # story/kind of mentions to answer in no item
    # one line per wrong item's opening mention and per missed mention (--show-errors)
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.items_right / self.items if self.items else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.to_answer if self.to_answer else 0.0

    @property
    def queue_precision(self) -> float:
        return self.queue_right / self.queue if self.queue else 0.0

    @property
    def queue_recall(self) -> float:
        return self.queue_right / self.to_answer if self.to_answer else 0.0


def to_answer(mention: SampleMention) -> bool:
    """The ground truth: a complaint or question about the shop by someone who is not the shop, a bot or
    a spammer."""
    return (
        mention.kind in ("complaint", "question")
        and DEMO_STORY.brand in mention.brands
        and mention.story not in NOT_WORD_OF_MOUTH
    )


def _key(record: dict[str, Any]) -> Key:
    return (str(record["source"]), str(record["external_id"]))


class GoldClassifier:
    """Answers each sample text's drawn kind (texts it was not given: neutral, other)."""

    name = "gold-kinds"

    def __init__(self, mentions: Sequence[SampleMention]) -> None:
        self._labels = {str(m.record["text"]): _GOLD[m.kind] for m in mentions}

    @property
    def version(self) -> str:
        return "1"

    def classify(
        self,
        texts: Sequence[str],
        *,
        hint_langs: Sequence[str | None] | None = None,
        hint_kinds: Sequence[TextKind | None] | None = None,
    ) -> list[Classification]:
        check_batch(texts, hint_langs, hint_kinds)
        langs = list(hint_langs) if hint_langs is not None else [None] * len(texts)
        out = []
        for text, lang in zip(texts, langs, strict=True):
            sentiment, intent = self._labels.get(text, ("neutral", "other"))
            score = {"positive": 0.9, "neutral": 0.0, "negative": -0.9}[sentiment]
            out.append(Classification(sentiment, 0.95, score, lang or "und", intent, 0.95))  # type: ignore[arg-type]
        return out


def demo_world() -> World:
    return World("demo (392 mentions, 6 weeks)", build_sample(), DEMO_STORY.as_of)


def _shifted(mention: SampleMention, *, by: timedelta, tag: str) -> SampleMention:
    record = dict(mention.record)
    moved = mention.created_at + by
    record["created_at"] = moved.isoformat().replace("+00:00", "Z")
    # ids stay unique across the three samples, and replies keep pointing at their post
    record["external_id"] = f"{tag}{record['external_id']}"
    for name in ("in_reply_to", "thread_id"):
        if record.get(name):
            record[name] = f"{tag}{record[name]}"
    return replace(mention, record=record)


def ninety_day_world(seed: int = SEED) -> World:
    """Three samples of seeds `seed`+1..3, ending 48, 24 and 0 days before the demo's end (90 days), and
    the campaign."""
    mentions: list[SampleMention] = []
    for part, days_back in enumerate((48, 24, 0), start=1):
        sample = build_sample(seed=seed + part)
        mentions += [_shifted(m, by=-timedelta(days=days_back), tag=f"w{part}-") for m in sample]
    mentions += campaign_mentions(DEMO_STORY.as_of, seed=seed)
    mentions.sort(key=lambda m: (m.created_at, m.source, str(m.record["external_id"])))
    return World(f"90 days ({len(mentions)} mentions)", mentions, DEMO_STORY.as_of)


CAMPAIGN_POSTS = 160
CAMPAIGN_HOURS = 6
CAMPAIGN_DAYS_BEFORE_END = 20
_CAMPAIGN_EN = (
    ("praise", "Koffiekoning's winter blend is back and it is every bit as good as last year {e}"),
    ("praise", "Just tried the new winter blend from Koffiekoning, lovely chocolatey finish {e}"),
    ("praise", "That Koffiekoning winter ad with the tram is honestly charming {e}"),
    ("praise", "Picked up the Koffiekoning winter blend today. Great with oat milk {e}"),
    ("praise", "Koffiekoning nailed it with the winter blend, my new favourite morning cup {e}"),
    ("neutral", "Koffiekoning launches its winter blend today, 2 for 1 this weekend #winterblend"),
    ("neutral", "Saw the Koffiekoning winter campaign on a billboard at the station #winterblend"),
    ("neutral", "Koffiekoning winter blend now in the shop, limited run until January"),
    ("neutral", "Sharing this: Koffiekoning winter blend tasting on Saturday in their Utrecht store"),
)
_CAMPAIGN_NL = (
    ("praise", "De winterblend van Koffiekoning is terug en net zo lekker als vorig jaar {e}"),
    ("praise", "Net de nieuwe winterblend van Koffiekoning geprobeerd, heerlijk vol {e}"),
    ("praise", "Leuke reclame van Koffiekoning met die tram, echt vrolijk {e}"),
    ("praise", "Koffiekoning winterblend gehaald, past perfect bij een koude ochtend {e}"),
    ("neutral", "Koffiekoning lanceert vandaag de winterblend, dit weekend 2 halen 1 betalen #winterblend"),
    ("neutral", "Koffiekoning winterblend nu in de webshop, beperkte oplage tot januari"),
    ("neutral", "Zaterdag proeverij van de Koffiekoning winterblend in de winkel #winterblend"),
)
_CAMPAIGN_EMOJI = ("☕", "😍", "👌", "!", "🙌", "", "❄️")


def campaign_mentions(end: datetime, *, seed: int = SEED) -> list[SampleMention]:
    """A campaign: CAMPAIGN_POSTS praising or neutral posts about the shop's winter blend by as many people,
    on X, Bluesky and Mastodon, in CAMPAIGN_HOURS from 16:00 UTC CAMPAIGN_DAYS_BEFORE_END days before `end`
    (story `campaign`; none is a complaint or question)."""
    rng = random.Random(seed * 7919 + 17)
    start = (end - timedelta(days=CAMPAIGN_DAYS_BEFORE_END)).replace(
        hour=16, minute=0, second=0, microsecond=0
    )
    out: list[SampleMention] = []
    for n in range(CAMPAIGN_POSTS):
        lang = "nl" if rng.random() < 0.55 else "en"
        kind, template = rng.choice(_CAMPAIGN_NL if lang == "nl" else _CAMPAIGN_EN)
        # the first hours carry most of it, as a launch does
        moment = start + timedelta(seconds=int(CAMPAIGN_HOURS * 3600 * rng.random() ** 1.6))
        source = rng.choice(("x", "x", "bluesky", "mastodon"))
        handle = f"winterfan{n:03d}"
        if source == "mastodon":
            handle += "@mastodon.nl"
        elif source == "bluesky":
            handle += ".bsky.social"
        record: dict[str, Any] = {
            "source": source,
            "external_id": f"campaign-{n}",
            "url": f"https://example.org/campaign/{n}",
            "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "author": {
                "handle": handle,
                "name": f"Winter fan {n}",
                "followers": int(rng.lognormvariate(5.5, 1.3)),
            },
            "text": template.format(e=rng.choice(_CAMPAIGN_EMOJI)).strip(),
            "lang": lang,
            "engagement": {"likes": rng.randrange(0, 40), "shares": rng.randrange(0, 6)},
        }
        sentiment = "positive" if kind == "praise" else "neutral"
        out.append(SampleMention(record, "campaign", kind, sentiment, lang, (DEMO_STORY.brand,)))
    return out


def _settings(database: Path) -> Settings:
    return settings_from_mapping(tomllib.loads(demo_config_toml(f"sqlite:///{database}")))


def _run(world: World, classifier: Callable[[], Classifier], database: Path) -> tuple[Engine, float]:
    settings = _settings(database)
    engine = connect(settings.database.url)
    upgrade_schema(engine)
    sync_brands(engine, settings)
    started = time.perf_counter()
    store_mentions(engine, [parse_mention(m.record) for m in world.mentions])
    pipeline = Pipeline(engine, settings, classifier_factory=classifier, now=lambda: world.end)
    run_pipeline_once(pipeline)
    return engine, time.perf_counter() - started


def _keys(engine: Engine, query: sa.Select[Any]) -> list[Key]:
    with engine.connect() as conn:
        return [(source, external_id) for source, external_id in conn.execute(query)]


_E5: list[Classifier] = []  # one model and its cache for every run


def _classifier(name: str, world: World, workdir: Path) -> Callable[[], Classifier]:
    if name == "gold":
        return lambda: GoldClassifier(world.mentions)
    if not _E5:
        from monitor.classify.factory import build_classifier

        _E5.append(CachedClassifier(build_classifier(_settings(workdir / "unused.db").classifier)))
    return lambda: _E5[0]


def measure(world: World, classifier_name: str, workdir: Path) -> Outcome:
    """Run `world` through the pipeline with the named classifier and compare the inbox with the truth."""
    factory = _classifier(classifier_name, world, workdir)
    engine, seconds = _run(world, factory, workdir / f"{classifier_name}-{abs(hash(world.name))}.db")
    try:
        brand = sa.select(_BRAND.c.id).where(_BRAND.c.name == DEMO_STORY.brand).scalar_subquery()
        opening = _keys(
            engine,
            sa.select(_MENTION.c.source, _MENTION.c.external_id)
            .join(_ITEM, _ITEM.c.first_mention_id == _MENTION.c.id)
            .where(_ITEM.c.brand_id == brand),
        )
        in_items = set(
            _keys(
                engine,
                sa.select(_MENTION.c.source, _MENTION.c.external_id)
                .join(_ITEM_MENTION, _ITEM_MENTION.c.mention_id == _MENTION.c.id)
                .where(_ITEM_MENTION.c.brand_id == brand),
            )
        )
        queue = _keys(
            engine,
            sa.select(_MENTION.c.source, _MENTION.c.external_id)
            .join(_LINK, _LINK.c.mention_id == _MENTION.c.id)
            .where(_LINK.c.brand_id == brand, _LINK.c.intent.in_(("complaint", "question"))),
        )
        labels = _model_labels(engine)
    finally:
        engine.dispose()
    truth = world.truth()
    by_key = {_key(m.record): m for m in world.mentions}
    outcome = Outcome(
        world=world.name,
        classifier=classifier_name,
        mentions=len(world.mentions),
        to_answer=len(truth),
        items=len(opening),
        items_right=sum(key in truth for key in opening),
        found=len(truth & in_items),
        queue=len(queue),
        queue_right=sum(key in truth for key in queue),
        seconds=seconds,
    )
    for key in opening:
        if key not in truth:
            outcome.false_items[f"{by_key[key].story}/{by_key[key].kind}"] += 1
            outcome.errors.append(_error_line("wrong item", by_key[key], labels.get(key)))
    for key in sorted(truth - in_items):
        outcome.missed[f"{by_key[key].story}/{by_key[key].kind}"] += 1
        outcome.errors.append(_error_line("missed", by_key[key], labels.get(key)))
    return outcome


def _model_labels(engine: Engine) -> dict[Key, tuple[str, str, float]]:
    """(sentiment, intent, intent confidence) of the model's latest classification per mention."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                _MENTION.c.source,
                _MENTION.c.external_id,
                _CLASSIFICATION.c.sentiment,
                _CLASSIFICATION.c.intent,
                _CLASSIFICATION.c.intent_confidence,
            )
            .join(_CLASSIFICATION, _CLASSIFICATION.c.mention_id == _MENTION.c.id)
            .order_by(_CLASSIFICATION.c.id)
        )
        return {(s, e): (sentiment, intent, confidence) for s, e, sentiment, intent, confidence in rows}


def _error_line(what: str, mention: SampleMention, label: tuple[str, str, float] | None) -> str:
    model = f"{label[0]}/{label[1]} {label[2]:.2f}" if label else "unclassified"
    reply = " reply" if mention.record.get("in_reply_to") else ""
    text = " ".join(str(mention.record["text"]).split())
    return f"{what:<10} {mention.story}/{mention.kind:<10} model {model:<24} {mention.source}{reply}: {text}"


OWNER, MANAGER = "owner@koffiekoning.example", "community@koffiekoning.example"
NEGATIVE_KINDS = ("negative_spike", "influential_negative", "complaint_to_answer", "detractor_emerging")
_ALERT = table_of(Alert)
_DELIVERY = table_of(NotificationDelivery)


@dataclass
class Deliveries:
    world: str
    scenario: str  # nobody acknowledges | acknowledged after an hour
    days: int
    cap: int
    # per recipient: immediate e-mails per UTC day (every day of the world, 0 included), the most in one
    # routing hour, and how many were reminders
    per_day: dict[str, list[int]]
    max_per_hour: dict[str, int]
    reminders: dict[str, int]
    alerts_per_day: list[int]  # the alternative: every alert to every recipient at once
    alerts_by_brand: dict[str, int]
    alerts_by_kind: Counter[str]
    campaign_items: int
    campaign_negative_alerts: int
    campaign_alerts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def weeks(self) -> float:
        return self.days / 7


def _immediate_rows(engine: Engine) -> list[tuple[str, str, datetime]]:
    with engine.connect() as conn:
        return [
            (str(recipient), str(kind), created_at)
            for recipient, kind, created_at in conn.execute(
                sa.select(_DELIVERY.c.recipient, _DELIVERY.c.kind, _DELIVERY.c.created_at).where(
                    _DELIVERY.c.channel == "email", _DELIVERY.c.status.in_(("pending", "sent"))
                )
            )
        ]


def _acknowledge_after(engine: Engine, *, now: datetime, after: timedelta) -> None:
    """The manager acknowledges every open alert whose first e-mail to them is `after` old."""
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(_ALERT.c.id)
            .join(_DELIVERY, _DELIVERY.c.alert_id == _ALERT.c.id)
            .where(
                _ALERT.c.status == "open",
                _DELIVERY.c.recipient == MANAGER,
                _DELIVERY.c.kind == "alert",
                _DELIVERY.c.created_at <= now - after,
            )
            .distinct()
        ).scalars()
        ids = [int(i) for i in due]
    for alert_id in ids:
        with contextlib.suppress(AlertStateError):  # the detector closed it meanwhile
            change_alert_status(engine, alert_id=alert_id, action="ack", actor="user:community", now=now)


def deliveries(
    world: World, classifier: Callable[[], Classifier], database: Path, *, ack_after: timedelta | None
) -> Deliveries:
    """Replay `world` hour by hour through the pipeline, the watched alerts and routing on one clock."""
    settings = _settings(database)
    # the sample's own clock drives everything here: the default age limit, not the demo's 10 years
    settings = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"max_age_days": AlertSettings().max_age_days})}
    )
    engine = connect(settings.database.url)
    upgrade_schema(engine)
    sync_brands(engine, settings)
    ordered = sorted(world.mentions, key=lambda m: m.created_at)
    first = ordered[0].created_at.replace(minute=0, second=0, microsecond=0)
    with engine.begin() as conn:
        add_user(conn, name="owner", email=OWNER, role="admin", now=first)
        add_user(conn, name="community", email=MANAGER, role="manager", min_severity="info", now=first)
    clock = [first]
    pipeline = Pipeline(engine, settings, classifier_factory=classifier, now=lambda: clock[0])
    started = time.perf_counter()
    index = 0
    while clock[0] < world.end:
        clock[0] += timedelta(hours=1)
        now = clock[0]
        batch = []
        while index < len(ordered) and ordered[index].created_at <= now:
            batch.append(parse_mention(ordered[index].record))
            index += 1
        if batch:
            store_mentions(engine, batch)
            run_pipeline_once(pipeline)
        watch_alerts(engine, settings, now=now)
        route_alerts(engine, settings, now=now)
        if ack_after is not None:
            _acknowledge_after(engine, now=now, after=ack_after)
    seconds = time.perf_counter() - started
    days = (world.end.date() - first.date()).days + 1
    day_of = {first.date() + timedelta(days=n): n for n in range(days)}
    per_day = {OWNER: [0] * days, MANAGER: [0] * days}
    per_hour: dict[str, Counter[datetime]] = {OWNER: Counter(), MANAGER: Counter()}
    reminders = {OWNER: 0, MANAGER: 0}
    for recipient, kind, created_at in _immediate_rows(engine):
        per_day[recipient][day_of[created_at.date()]] += 1
        per_hour[recipient][created_at] += 1
        reminders[recipient] += kind == "reminder"
    campaign = [m for m in world.mentions if m.story == "campaign"]
    campaign_keys = {_key(m.record) for m in campaign}
    with engine.connect() as conn:
        alerts = conn.execute(
            sa.select(_BRAND.c.name, _ALERT.c.kind, _ALERT.c.event_at, _ALERT.c.created_at).join(
                _BRAND, _BRAND.c.id == _ALERT.c.brand_id
            )
        ).all()
    opened_by = _keys(
        engine,
        sa.select(_MENTION.c.source, _MENTION.c.external_id).join(
            _ITEM, _ITEM.c.first_mention_id == _MENTION.c.id
        ),
    )
    engine.dispose()
    alerts_per_day = [0] * days
    for alert in alerts:
        alerts_per_day[day_of[alert.created_at.date()]] += 1
    outcome = Deliveries(
        world=world.name,
        scenario="nobody acknowledges" if ack_after is None else f"acknowledged after {ack_after}",
        days=days,
        cap=settings.alerts.max_immediate_per_hour,
        per_day=per_day,
        max_per_hour={r: max(c.values(), default=0) for r, c in per_hour.items()},
        reminders=reminders,
        alerts_per_day=alerts_per_day,
        alerts_by_brand=dict(Counter(a.name for a in alerts)),
        alerts_by_kind=Counter(a.kind for a in alerts),
        campaign_items=sum(key in campaign_keys for key in opened_by),
        campaign_negative_alerts=0,
        seconds=seconds,
    )
    if campaign:
        since = min(m.created_at for m in campaign)
        until = max(m.created_at for m in campaign) + timedelta(hours=2)
        during = [a for a in alerts if since <= a.event_at <= until]
        outcome.campaign_alerts = Counter(a.kind for a in during)
        outcome.campaign_negative_alerts = sum(a.kind in NEGATIVE_KINDS for a in during)
    return outcome


def _mean(values: Sequence[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _print_deliveries(runs: Sequence[Deliveries]) -> None:
    print(
        f"\n{'world':<30} {'scenario':<34} {'recipient':<32} {'e-mails/day max':>15} {'mean':>6} "
        f"{'max/hour':>8} {'reminders':>9} {'every alert: /day max':>21} {'mean':>6} {'before/wom':>10}"
    )
    for d in runs:
        for recipient, days in d.per_day.items():
            total = sum(days)
            before = sum(d.alerts_per_day)
            ratio = f"{before / total:.1f}x" if total else "-"
            print(
                f"{d.world:<30} {d.scenario:<34} {recipient:<32} {max(days):>15} {_mean(days):>6.2f} "
                f"{d.max_per_hour[recipient]:>8} {d.reminders[recipient]:>9} {max(d.alerts_per_day):>21} "
                f"{_mean(d.alerts_per_day):>6.2f} {ratio:>10}"
            )
    for d in runs:
        per_week = ", ".join(f"{b} {n / d.weeks:.1f}" for b, n in sorted(d.alerts_by_brand.items()))
        print(
            f"\n{d.world}, {d.scenario}: {d.days} days, cap {d.cap} immediate e-mails an hour; alerts per "
            f"brand-week: {per_week or 'none'}; by kind {dict(d.alerts_by_kind.most_common())}; "
            f"replay {d.seconds:.0f} s"
        )
        if d.campaign_alerts or d.campaign_items or "90" in d.world:
            print(
                f"  campaign: {d.campaign_items} inbox items opened by its posts, "
                f"{d.campaign_negative_alerts} negative alerts during it; alerts during it "
                f"{dict(d.campaign_alerts)}"
            )


def _print(outcomes: Sequence[Outcome]) -> None:
    print(f"{'world':<30} {'classifier':<10} {'queue':<24} {'entries':>7} {'precision':>9} {'recall':>7}")
    for o in outcomes:
        print(
            f"{o.world:<30} {o.classifier:<10} {'wom inbox items':<24} {o.items:>7} "
            f"{o.precision:>9.3f} {o.recall:>7.3f}"
        )
        print(
            f"{'':<30} {'':<10} {'every complaint/question':<24} {o.queue:>7} "
            f"{o.queue_precision:>9.3f} {o.queue_recall:>7.3f}"
        )
    print("targets: precision >= 0.85, recall >= 0.90 (wom inbox items)")
    for o in outcomes:
        print(
            f"\n{o.world}, {o.classifier}: {o.to_answer} mentions to answer, {o.found} in an item; "
            f"{o.items_right} of {o.items} items opened by one; pipeline {o.seconds:.1f} s"
        )
        print(f"  items opened by another mention (story/kind): {dict(o.false_items.most_common())}")
        print(f"  mentions to answer in no item (story/kind): {dict(o.missed.most_common())}")


def _print_errors(outcomes: Sequence[Outcome]) -> None:
    for o in outcomes:
        print(f"\n{o.world}, {o.classifier}: wrong items and missed mentions")
        for line in o.errors:
            print(f"  {line}")


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", choices=("demo", "90d", "both"), default="both")
    parser.add_argument("--classifier", choices=("e5", "gold", "both"), default="both")
    parser.add_argument(
        "--no-deliveries", action="store_true", help="skip the hour-by-hour replay of e-mails and alerts"
    )
    parser.add_argument(
        "--show-errors",
        action="store_true",
        help="print each wrong item's opening mention and each missed mention with the model's labels",
    )
    args = parser.parse_args(argv)
    worlds = [demo_world()] if args.world in ("demo", "both") else []
    if args.world in ("90d", "both"):
        worlds.append(ninety_day_world())
    classifiers = ["e5", "gold"] if args.classifier == "both" else [args.classifier]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="wom-inbox-bench-") as tmp:
        for world in worlds:
            for name in classifiers:
                outcomes.append(measure(world, name, Path(tmp)))
        _print(outcomes)
        if args.show_errors:
            _print_errors(outcomes)
        if not args.no_deliveries:
            replay = "e5" if "e5" in classifiers else "gold"
            runs = [
                deliveries(
                    world,
                    _classifier(replay, world, Path(tmp)),
                    Path(tmp) / f"replay-{n}-{ack is None}.db",
                    ack_after=ack,
                )
                for n, world in enumerate(worlds)
                for ack in (None, timedelta(hours=1))
            ]
            _print_deliveries(runs)
    return outcomes


if __name__ == "__main__":
    main(sys.argv[1:])
