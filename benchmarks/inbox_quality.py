"""Inbox quality: the items wom's inbox opens against the true complaints and questions, next to the
obvious alternative.

    python -m benchmarks.inbox_quality [--world demo|90d|both] [--classifier e5|gold|both]

Worlds (ground truth from benchmarks.demo_sample.build_sample, each mention's `kind` and `story`):
- demo: the `wom demo` sample, 392 mentions over six weeks;
- 90d: a 90-day world of three samples of other seeds, starting 48, 24 and 0 days before the end (1,176
  mentions: three delivery incidents, the bot, the spammer, the brand's and its staff's replies, the
  competitor and comparisons; no campaign).

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
one entry each (what the `complaint_to_answer` alert did).
"""

from __future__ import annotations

import argparse
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
from monitor.config import Settings, settings_from_mapping
from monitor.demo.config import demo_config_toml
from monitor.demo.story import DEMO_STORY
from monitor.pipeline import Pipeline
from monitor.records import parse_mention
from monitor.service.pipeline import run_pipeline_once
from monitor.storage.brands import sync_brands
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.mentions import store_mentions
from monitor.storage.models import Brand, InboxItem, InboxItemMention, Mention, MentionBrand
from monitor.storage.tables import table_of

__all__ = ["GoldClassifier", "Outcome", "World", "demo_world", "main", "measure", "ninety_day_world"]

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
    """Three samples of seeds `seed`+1..3, ending 48, 24 and 0 days before the demo's end: 90 days."""
    mentions: list[SampleMention] = []
    for part, days_back in enumerate((48, 24, 0), start=1):
        sample = build_sample(seed=seed + part)
        mentions += [_shifted(m, by=-timedelta(days=days_back), tag=f"w{part}-") for m in sample]
    mentions.sort(key=lambda m: (m.created_at, m.source, str(m.record["external_id"])))
    return World(f"90 days ({len(mentions)} mentions)", mentions, DEMO_STORY.as_of)


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


def measure(world: World, classifier_name: str, workdir: Path) -> Outcome:
    """Run `world` through the pipeline with the named classifier and compare the inbox with the truth."""
    if classifier_name == "gold":
        factory: Callable[[], Classifier] = lambda: GoldClassifier(world.mentions)  # noqa: E731
    else:
        from monitor.classify.factory import build_classifier

        classifier_settings = _settings(workdir / "unused.db").classifier
        factory = lambda: CachedClassifier(build_classifier(classifier_settings))  # noqa: E731
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
    for key in truth - in_items:
        outcome.missed[f"{by_key[key].story}/{by_key[key].kind}"] += 1
    return outcome


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


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", choices=("demo", "90d", "both"), default="both")
    parser.add_argument("--classifier", choices=("e5", "gold", "both"), default="both")
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
    return outcomes


if __name__ == "__main__":
    main(sys.argv[1:])
