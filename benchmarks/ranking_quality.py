"""Ranking quality: wom's ambassadors, detractors and at-risk alerts next to the obvious alternative.

    python -m benchmarks.ranking_quality [--data ../shared/data] [--seed 6] [--no-gold] [--show-top]

Builds the synthetic world of benchmarks.ranking_world (texts from the ../shared/data val splits), replays
it day by day through the real pipeline (store, match, classify with the default e5 model, profile, alert)
on a temporary SQLite database, with the pipeline's clock at the end of each day, and ranks with the API's
own `rank_authors` at the end. Reports, per ranking, precision@10 and recall@10 against the world's true
ambassadors and detractors (the turning ambassadors count for neither list and are left out of both
top 10s), and how many days after its turn each turning ambassador raised an `ambassador_at_risk` alert.

The alternative, on the same stored mentions and classifications: followers × share of positive mentions
(detractors: × share of negative mentions); it calls an author at risk on the first day their all-time
share of positive among positive and negative mentions falls below 50 % after having been above it with
at least two positive mentions. Unless `--no-gold`, everything runs a second time with the drawn labels as
the classifier (benchmarks.ranking_world.LabelledClassifier), which separates the scoring's errors from the
classifier's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from benchmarks.ranking_world import (
    LabelledClassifier,
    World,
    WorldAuthor,
    WorldSize,
    build_world,
    world_config,
)
from monitor.classify.base import Classifier
from monitor.classify.cache import CachedClassifier
from monitor.classify.factory import build_classifier
from monitor.config import Settings, settings_from_mapping
from monitor.pipeline import Pipeline
from monitor.read.rankings import Ranking, rank_authors
from monitor.records import parse_mention
from monitor.scoring.store import classified_mentions
from monitor.service.pipeline import run_pipeline_once
from monitor.storage.brands import sync_brands
from monitor.storage.db import connect, upgrade_schema
from monitor.storage.mentions import store_mentions
from monitor.storage.models import Alert, AuthorBrandStats, AuthorIdentity, Brand, Classification, Mention
from monitor.storage.tables import table_of

__all__ = ["Outcome", "main", "measure"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TOP = 10
_TRUTH: dict[Ranking, str] = {"ambassador": "ambassador", "detractor": "detractor"}
_NOT_WORD_OF_MOUTH = ("own_account", "giveaway", "bot", "copy_paste")
_DAY = timedelta(days=1)


@dataclass(slots=True)
class Outcome:
    """One ranking method on one world: its top 10s, precision and recall, at-risk days and false alarms."""

    method: str
    top: dict[Ranking, list[WorldAuthor]]
    precision: dict[Ranking, float]
    recall: dict[Ranking, float]
    turn_days: dict[str, int | None]  # turning author's handle -> days from the turn to its alarm
    false_alarms: list[WorldAuthor]
    early_alarms: list[WorldAuthor]  # turning authors alarmed before their turn
    detail: dict[str, Any] = field(default_factory=dict)


def _replay(world: World, classifier: Classifier, database: Path) -> tuple[Engine, Settings, float]:
    settings = settings_from_mapping(world_config(f"sqlite:///{database}"))
    engine = connect(settings.database.url)
    upgrade_schema(engine)
    sync_brands(engine, settings)
    clock = [world.start]
    pipeline = Pipeline(engine, settings, classifier_factory=lambda: classifier, now=lambda: clock[0])
    by_day: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in world.records:
        by_day[world.day_of(record)].append(record)
    started = time.perf_counter()
    for day in range(world.size.days):
        if by_day[day]:
            store_mentions(engine, [parse_mention(record) for record in by_day[day]])
        clock[0] = world.start + (day + 1) * _DAY  # the pipeline runs at the end of each day
        run_pipeline_once(pipeline)
    return engine, settings, time.perf_counter() - started


def _authors_by_id(engine: Engine, world: World) -> dict[int, WorldAuthor]:
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(identity.c.author_id, identity.c.source, identity.c.handle)).all()
    return {row.author_id: world.authors[(row.source, row.handle)] for row in rows}


def _precision_recall(
    top: Sequence[WorldAuthor], world: World, ranking: Ranking
) -> tuple[list[WorldAuthor], float, float]:
    kept = [author for author in top if author.role != "turning"][:TOP]
    relevant = len(world.with_role(_TRUTH[ranking]))
    hits = sum(1 for author in kept if author.role == _TRUTH[ranking])
    return kept, hits / TOP, hits / relevant if relevant else 0.0


def _day_index(world: World, at: datetime) -> int:
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return (at - world.start) // _DAY


def _wom(world: World, engine: Engine, settings: Settings, method: str) -> Outcome:
    authors = _authors_by_id(engine, world)
    limit = TOP + len(world.with_role("turning"))
    top: dict[Ranking, list[WorldAuthor]] = {}
    precision: dict[Ranking, float] = {}
    recall: dict[Ranking, float] = {}
    with Session(engine) as session:
        brand_id = session.exec(sa.select(Brand.id)).scalar_one()  # type: ignore[call-overload]
        for ranking in _TRUTH:
            ranked = rank_authors(
                session,
                brand_id=brand_id,
                ranking=ranking,
                now=world.end,
                half_life_days=settings.scoring.half_life_days,
                limit=limit,
            )
            listed = [authors[item.author_id] for item in ranked]
            top[ranking], precision[ranking], recall[ranking] = _precision_recall(listed, world, ranking)
    alert = table_of(Alert)
    with engine.connect() as conn:
        alerts = conn.execute(
            sa.select(alert.c.author_id, alert.c.created_at)
            .where(alert.c.kind == "ambassador_at_risk")
            .order_by(alert.c.created_at)
        ).all()
    # the pipeline's clock is the end of a day, so an alert created then belongs to the day before
    alarms = [(authors[row.author_id], _day_index(world, row.created_at) - 1) for row in alerts]
    return _outcome(method, world, top, precision, recall, alarms)


def _outcome(
    method: str,
    world: World,
    top: dict[Ranking, list[WorldAuthor]],
    precision: dict[Ranking, float],
    recall: dict[Ranking, float],
    alarms: Sequence[tuple[WorldAuthor, int]],
) -> Outcome:
    turn_days: dict[str, int | None] = {}
    early: list[WorldAuthor] = []
    for author in world.with_role("turning"):
        assert author.turn_day is not None
        days = [day for who, day in alarms if who == author]
        if any(day < author.turn_day for day in days):
            early.append(author)
        after = [day - author.turn_day for day in days if day >= author.turn_day]
        turn_days[author.handle] = min(after) if after else None
    false_alarms = sorted(
        {who for who, _ in alarms if who.role != "turning"}, key=lambda a: (a.role, a.handle)
    )
    return Outcome(method, top, precision, recall, turn_days, false_alarms, early)


def _baseline(world: World, engine: Engine, method: str) -> Outcome:
    """Followers × share of positive (negative) mentions, from the same stored counts and reach."""
    authors = _authors_by_id(engine, world)
    stats = table_of(AuthorBrandStats)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(stats.c.author_id, stats.c.reach, stats.c.mentions, stats.c.positive, stats.c.negative)
        ).all()
    top: dict[Ranking, list[WorldAuthor]] = {}
    precision: dict[Ranking, float] = {}
    recall: dict[Ranking, float] = {}
    for ranking in _TRUTH:
        scored = [
            (
                (row.reach or 0) * (row.positive if ranking == "ambassador" else row.negative) / row.mentions,
                row,
            )
            for row in rows
        ]
        ordered = sorted(
            (item for item in scored if item[0] > 0), key=lambda item: (-item[0], item[1].author_id)
        )
        listed = [authors[row.author_id] for _, row in ordered[: TOP + len(world.with_role("turning"))]]
        top[ranking], precision[ranking], recall[ranking] = _precision_recall(listed, world, ranking)
    return _outcome(method, world, top, precision, recall, _share_alarms(world, engine, authors))


def _share_alarms(
    world: World, engine: Engine, authors: dict[int, WorldAuthor]
) -> list[tuple[WorldAuthor, int]]:
    """Each author's first day (after having been positive) whose all-time positive share is below 50 %."""
    mention, identity = table_of(Mention), table_of(AuthorIdentity)
    classification = table_of(Classification)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(identity.c.author_id, mention.c.created_at, classification.c.sentiment)
            .select_from(classified_mentions())
            .order_by(identity.c.author_id, mention.c.created_at, mention.c.id)
        ).all()
    timelines: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        timelines[row.author_id].append((_day_index(world, row.created_at), row.sentiment))
    alarms: list[tuple[WorldAuthor, int]] = []
    for author_id, timeline in timelines.items():
        positive = negative = 0
        was_positive = False
        for index, (day, sentiment) in enumerate(timeline):
            positive += sentiment == "positive"
            negative += sentiment == "negative"
            if index + 1 < len(timeline) and timeline[index + 1][0] == day:
                continue  # judged at the end of the day
            share = positive / (positive + negative) if positive + negative else 0.5
            if was_positive and share < 0.5:
                alarms.append((authors[author_id], day))
                break
            was_positive = was_positive or (positive >= 2 and share > 0.5)
    return alarms


def _agreement(world: World, engine: Engine) -> float:
    """Share of mentions whose stored sentiment is the label their text was drawn with."""
    mention = table_of(Mention)
    classification = table_of(Classification)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(mention.c.text, classification.c.sentiment).join(
                classification, classification.c.mention_id == mention.c.id
            )
        ).all()
    return sum(1 for row in rows if world.labels.get(row.text) == row.sentiment) / max(1, len(rows))


def measure(world: World, classifier: Classifier, *, name: str, workdir: Path) -> tuple[Outcome, Outcome]:
    """wom and the alternative on `world` classified by `classifier`."""
    engine, settings, seconds = _replay(world, classifier, workdir / f"{name}.db")
    try:
        wom = _wom(world, engine, settings, f"wom, {name}")
        baseline = _baseline(world, engine, f"alternative, {name}")
        agreement = _agreement(world, engine)
    finally:
        engine.dispose()
    wom.detail.update(replay_seconds=seconds, agreement=agreement)
    baseline.detail.update(agreement=agreement)
    return wom, baseline


def _days(outcome: Outcome) -> str:
    values = ["never" if days is None else str(days) for days in outcome.turn_days.values()]
    return ", ".join(values) or "-"


def _print_table(world: World, outcomes: Sequence[Outcome], *, show_top: bool) -> None:
    size = world.size
    mentions = len(world.records)
    print(
        f"Ranking quality on a synthetic world (seed {world.seed}): {len(world.authors)} authors, "
        f"{mentions:,} mentions over {size.days} days, texts from the ../shared/data val splits"
    )
    turns = ", ".join(f"day {a.turn_day}" for a in world.with_role("turning"))
    print(
        f"{size.ambassadors} true ambassadors, {size.detractors} true detractors, {size.turning} ambassadors "
        f"turning negative ({turns}); top {TOP} without the turning ones"
    )
    print(
        "alternative: followers × share of positive (negative) mentions; at risk when the all-time share of"
    )
    print("positive among positive and negative mentions falls below 50 % (after having been above)\n")
    rows: list[tuple[str, list[str]]] = [
        ("ambassadors precision@10", [f"{o.precision['ambassador']:.2f}" for o in outcomes]),
        ("ambassadors recall@10", [f"{o.recall['ambassador']:.2f}" for o in outcomes]),
        ("detractors precision@10", [f"{o.precision['detractor']:.2f}" for o in outcomes]),
        ("detractors recall@10", [f"{o.recall['detractor']:.2f}" for o in outcomes]),
        (
            "not word of mouth in top-10 ambassadors",
            [str(sum(a.role in _NOT_WORD_OF_MOUTH for a in o.top["ambassador"])) for o in outcomes],
        ),
        ("turn to at-risk alarm, days (each)", [_days(o) for o in outcomes]),
        ("turning authors alarmed before the turn", [str(len(o.early_alarms)) for o in outcomes]),
        ("other authors alarmed", [str(len(o.false_alarms)) for o in outcomes]),
        ("sentiment = drawn label", [f"{100 * o.detail['agreement']:.1f}%" for o in outcomes]),
    ]
    width = max(len(o.method) for o in outcomes) + 2
    print(f"{'':<42}" + "".join(f"{o.method:>{width}}" for o in outcomes))
    for label, values in rows:
        print(f"{label:<42}" + "".join(f"{value:>{width}}" for value in values))
    for outcome in outcomes:
        if outcome.false_alarms:
            roles = defaultdict(int)
            for author in outcome.false_alarms:
                roles[author.role] += 1
            listed = ", ".join(f"{role} {count}" for role, count in sorted(roles.items()))
            print(f"  {outcome.method}: other authors alarmed, by role: {listed}")
    if show_top:
        for outcome in outcomes:
            for ranking in _TRUTH:
                listed = ", ".join(f"{a.handle}({a.followers})" for a in outcome.top[ranking])
                print(f"  {outcome.method} top {ranking}s: {listed}")


def main(argv: list[str] | None = None) -> dict[str, Outcome]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=SHARED_DATA, help="the ../shared/data folder (val splits)"
    )
    parser.add_argument("--seed", type=int, default=6)
    defaults = WorldSize()
    for name in ("ambassadors", "detractors", "turning", "occasional", "one_offs", "days"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    parser.add_argument(
        "--no-gold", action="store_true", help="skip the run with the drawn labels as classifier"
    )
    parser.add_argument("--show-top", action="store_true", help="print every top 10")
    args = parser.parse_args(argv)
    if not args.data.exists():
        sys.exit(f"{args.data} is absent: this benchmark draws its texts from the ../shared/data val splits")
    size = WorldSize(
        ambassadors=args.ambassadors,
        detractors=args.detractors,
        turning=args.turning,
        occasional=args.occasional,
        one_offs=args.one_offs,
        days=args.days,
    )
    world = build_world(args.data, size=size, seed=args.seed)
    settings = settings_from_mapping(world_config("sqlite://"))
    # as `wom process` and `wom worker` build it
    runs: list[tuple[str, Classifier]] = [("e5", CachedClassifier(build_classifier(settings.classifier)))]
    if not args.no_gold:
        runs.append(("gold labels", LabelledClassifier(world.labels)))
    outcomes: dict[str, Outcome] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, classifier in runs:
            wom, baseline = measure(world, classifier, name=name, workdir=Path(tmp))
            outcomes[wom.method] = wom
            outcomes[baseline.method] = baseline
    _print_table(world, list(outcomes.values()), show_top=args.show_top)
    replay = ", ".join(
        f"{o.method} {o.detail['replay_seconds']:.1f} s"
        for o in outcomes.values()
        if "replay_seconds" in o.detail
    )
    print(f"\nday-by-day replay through the pipeline: {replay}")
    return outcomes


if __name__ == "__main__":
    main()
