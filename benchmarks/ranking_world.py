"""A synthetic word-of-mouth world for the ranking-quality benchmark: who is who, and what they post.

Sentiment texts come from the `val` splits of ../shared/data (English and Dutch), drawn by label and never
reused, so the real classifier reads real texts and its errors are in play; only the giveaway tail, the
price-alert template and the copy-paste links are made up. Seeded: the same arguments give the same world.

Roles (the ground truth the ranking is judged against):
    ambassador   repeated positive posts over the months (mostly positive, some neutral, a rare negative)
    detractor    the same, negative
    turning      an ambassador who turns negative at a known day (positive before, negative after)
    occasional   two to four mentions of any sentiment
    one_off      a single mention, a third of them app or Trustpilot reviews with stars
    own_account  the brand's own account (in [brands.handles]) and a staff handle (in staff_handles)
    giveaway     a contest spammer: positive texts with "RT & follow to win" tails
    bot          a handle that says bot, a price-alert template poster, a burst poster (60 in a day)
    copy_paste   one text posted six times (a positive and a negative one), links varied
Reach runs from 10 to 100,000 followers for everyone; the true ambassadors and detractors
are spread evenly over that range on a log scale.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from monitor.classify.base import Classification, Sentiment, TextKind, check_batch
from monitor.records import clean_text

__all__ = [
    "BRAND",
    "BRAND_HANDLE",
    "STAFF_HANDLE",
    "LabelledClassifier",
    "TextPool",
    "World",
    "WorldAuthor",
    "WorldError",
    "WorldSize",
    "build_world",
    "world_config",
]

BRAND = "Kofra"
BRAND_HANDLE = "kofra"
STAFF_HANDLE = "sanne_kofra"
SOCIAL_SOURCES = ("x", "mastodon", "bluesky", "reddit")
REVIEW_SOURCES = ("trustpilot", "googleplay")
START = datetime(2026, 1, 5, tzinfo=UTC)

# val splits by language: posts may draw from every set of their language, reviews only from the sets
# that carry the reviewer's stars (their rating travels with the text)
_SETS = {
    "en": ("tweeteval_sentiment", "xlmt_sentiment/en"),
    "nl": (
        "nl_political_tweets",
        "absa16_nl_restaurants",
        "nl_thuisbezorgd_reviews",
        "nl_bol_product_reviews",
    ),
}
_ONE_OFF_LABELS = (("positive", 0.45), ("neutral", 0.30), ("negative", 0.25))
_AMBASSADOR_LABELS = (("positive", 0.80), ("neutral", 0.12), ("negative", 0.08))
_DETRACTOR_LABELS = (("negative", 0.80), ("neutral", 0.12), ("positive", 0.08))
_AFTER_TURN_LABELS = (("negative", 0.85), ("neutral", 0.15))


class WorldError(ValueError):
    """The world cannot be built from the data given (too few texts of a label: use a smaller world)."""


@dataclass(frozen=True, slots=True)
class WorldSize:
    ambassadors: int = 12
    detractors: int = 12
    turning: int = 3
    occasional: int = 100
    one_offs: int = 600
    days: int = 180


@dataclass(frozen=True, slots=True)
class WorldAuthor:
    source: str
    handle: str
    role: str
    lang: str
    followers: int
    turn_day: int | None = None


@dataclass(frozen=True, slots=True)
class _Text:
    text: str
    lang: str
    label: Sentiment
    rating: int | None


@dataclass(slots=True)
class World:
    seed: int
    size: WorldSize
    start: datetime
    authors: dict[tuple[str, str], WorldAuthor] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)  # the import format, in time order
    labels: dict[str, Sentiment] = field(default_factory=dict)  # exact text -> the label it was drawn with

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.size.days)

    def day_of(self, record: dict[str, Any]) -> int:
        return (datetime.fromisoformat(record["created_at"]) - self.start).days

    def with_role(self, *roles: str) -> list[WorldAuthor]:
        return [author for author in self.authors.values() if author.role in roles]


class TextPool:
    """Val texts by (language, label), each handed out once; reviews only from sets that carry stars."""

    def __init__(self, data_dir: Path, *, rng: random.Random) -> None:
        self._pools: dict[tuple[str, str], list[_Text]] = {}
        for lang, folders in _SETS.items():
            for folder in folders:
                for item in _read_val(data_dir / folder / "val.jsonl"):
                    text = _Text(item["text"].strip(), lang, item["label"], item.get("rating"))
                    if text.text:
                        self._pools.setdefault((lang, text.label), []).append(text)
        for pool in self._pools.values():
            rng.shuffle(pool)
        self._used: set[str] = set()

    def draw(self, lang: str, label: str, *, review: bool = False) -> _Text:
        pool = self._pools.get((lang, label), [])
        for index in range(len(pool) - 1, -1, -1):
            candidate = pool[index]
            if (review and candidate.rating is None) or candidate.text in self._used:
                continue
            pool.pop(index)
            self._used.add(candidate.text)
            return candidate
        kind = "review" if review else "post"
        raise WorldError(
            f"no unused {lang} {label} {kind} text left in the val splits; build a smaller world"
        )


class LabelledClassifier:
    """A Classifier that answers with the label each text was drawn with (the world's ground truth).

    Texts it was not given are neutral; confidence is `confidence` for every text. Used for the benchmark's
    gold-label row and for scoring tests that need exact, known classifications.
    """

    name = "gold-labels"

    def __init__(self, labels: dict[str, Sentiment], *, confidence: float = 1.0) -> None:
        self._labels = dict(labels)
        self._confidence = confidence

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
        return [self._one(text, lang) for text, lang in zip(texts, langs, strict=True)]

    def _one(self, text: str, lang: str | None) -> Classification:
        sentiment = self._labels.get(text, "neutral")
        score = {"positive": self._confidence, "neutral": 0.0, "negative": -self._confidence}[sentiment]
        intent = "praise" if sentiment == "positive" else "other"
        return Classification(sentiment, self._confidence, score, lang or "und", intent, 1.0)


def _read_val(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        raise WorldError(f"{path} is missing; point --data at ../shared/data (its val splits)")
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([label for label, _ in weighted], weights=[w for _, w in weighted])[0]


def _spread(rng: random.Random, count: int, *, low: float = 1.0, high: float = 5.0) -> list[int]:
    """`count` follower counts spread evenly over 10**low .. 10**high on a log scale, in random order."""
    values = [int(10 ** (low + (high - low) * (i + rng.random()) / count)) for i in range(count)]
    rng.shuffle(values)
    return values


class _Builder:
    def __init__(self, world: World, pool: TextPool, rng: random.Random) -> None:
        self.world = world
        self.pool = pool
        self.rng = rng
        self._ids = 0

    def author(
        self, role: str, *, source: str, handle: str, lang: str, followers: int, turn_day: int | None = None
    ) -> WorldAuthor:
        author = WorldAuthor(source, handle, role, lang, followers, turn_day)
        self.world.authors[(source, handle)] = author
        return author

    def post(self, author: WorldAuthor, day: float, label: str, *, review: bool = False) -> None:
        drawn = self.pool.draw(author.lang, label, review=review)
        self.emit(author, day, drawn.text, drawn.label, rating=drawn.rating if review else None)

    def emit(
        self, author: WorldAuthor, day: float, text: str, label: Sentiment, *, rating: int | None = None
    ) -> None:
        self._ids += 1
        text = clean_text(text)[0].strip()  # as it will be stored, so the gold labels find it
        created = self.world.start + timedelta(days=day)
        likes = int(author.followers * self.rng.uniform(0.0, 0.01))
        self.world.labels[text] = label
        record: dict[str, Any] = {
            "source": author.source,
            "external_id": f"{author.source}-{self._ids}",
            "text": text,
            "created_at": created.isoformat(),
            "author": {
                "id": f"{author.source}:{author.handle}",
                "handle": author.handle,
                "followers": author.followers,
            },
            "lang": author.lang,
            "engagement": {"likes": likes, "replies": int(likes * self.rng.uniform(0.0, 0.2))},
            "brand": BRAND,
        }
        if rating is not None:
            record["rating"] = rating
        self.world.records.append(record)

    def day(self, low: float = 0.0, high: float | None = None) -> float:
        return self.rng.uniform(low, self.world.size.days if high is None else high)

    def lang(self) -> str:
        return self.rng.choice(("en", "nl"))


def _loyal(builder: _Builder, role: str, count: int, labels: Sequence[tuple[str, float]]) -> None:
    rng = builder.rng
    for index, followers in enumerate(_spread(rng, count)):
        author = builder.author(
            role,
            source=rng.choice(SOCIAL_SOURCES),
            handle=f"{role}_{index}",
            lang=builder.lang(),
            followers=followers,
        )
        for day in sorted(builder.day() for _ in range(rng.randint(6, 12))):
            builder.post(author, day, _pick(rng, labels))


def _turning(builder: _Builder, count: int) -> None:
    rng, days = builder.rng, builder.world.size.days
    for index, followers in enumerate(_spread(rng, count, low=2.0, high=5.0)):
        turn_day = int(days * (0.55 + 0.2 * index / max(1, count - 1)))
        author = builder.author(
            "turning",
            source=rng.choice(SOCIAL_SOURCES),
            handle=f"turning_{index}",
            lang=builder.lang(),
            followers=followers,
            turn_day=turn_day,
        )
        day = rng.uniform(0.0, 5.0)
        while day < turn_day:
            builder.post(author, day, "positive" if rng.random() < 0.9 else "neutral")
            day += rng.uniform(5.0, 10.0)
        day = turn_day + rng.uniform(0.0, 1.0)
        while day < days:
            builder.post(author, day, _pick(rng, _AFTER_TURN_LABELS))
            day += rng.uniform(2.0, 4.0)


def _crowd(builder: _Builder, *, occasional: int, one_offs: int) -> None:
    rng = builder.rng
    for index in range(occasional):
        author = builder.author(
            "occasional",
            source=rng.choice(SOCIAL_SOURCES),
            handle=f"occasional_{index}",
            lang=builder.lang(),
            followers=int(10 ** rng.uniform(1.0, 5.0)),
        )
        for _ in range(rng.randint(2, 4)):
            builder.post(author, builder.day(), _pick(rng, _ONE_OFF_LABELS))
    for index in range(one_offs):
        review = rng.random() < 1 / 3
        author = builder.author(
            "one_off",
            source=rng.choice(REVIEW_SOURCES if review else SOCIAL_SOURCES),
            handle=f"one_off_{index}",
            lang="nl" if review else builder.lang(),
            followers=int(10 ** rng.uniform(1.0, 5.0)),
        )
        builder.post(author, builder.day(), _pick(rng, _ONE_OFF_LABELS), review=review)


def _not_word_of_mouth(builder: _Builder) -> None:
    rng, days = builder.rng, builder.world.size.days
    own = builder.author("own_account", source="x", handle=BRAND_HANDLE, lang="nl", followers=60_000)
    for _ in range(max(6, days // 3)):
        builder.post(own, builder.day(), "positive" if rng.random() < 0.6 else "neutral")
    staff = builder.author("own_account", source="x", handle=STAFF_HANDLE, lang="nl", followers=1_200)
    for _ in range(max(4, days // 9)):
        builder.post(staff, builder.day(), "positive" if rng.random() < 0.7 else "neutral")

    spammer = builder.author("giveaway", source="x", handle="dealhunter_nl", lang="en", followers=35_000)
    for _ in range(max(6, days // 4)):
        drawn = builder.pool.draw("en", "positive")
        tail = f" RT & follow @{BRAND_HANDLE} to win a €50 {BRAND} voucher! #giveaway"
        builder.emit(spammer, builder.day(days / 6, days / 2), drawn.text + tail, "positive")

    named = builder.author("bot", source="x", handle="kofra_deals_bot", lang="en", followers=20_000)
    for _ in range(max(6, days // 3)):
        builder.post(named, builder.day(), "positive")
    template = builder.author("bot", source="x", handle="prijsalarm", lang="nl", followers=12_000)
    for n in range(max(6, days // 4)):
        price = rng.uniform(8.0, 16.0)
        text = f"{BRAND} prijsalarm: bonen nu €{price:.2f} bij {BRAND}. https://prijs.example/{n}"
        builder.emit(template, builder.day(), text, "neutral")
    burst = builder.author("bot", source="mastodon", handle="newsflash_247", lang="en", followers=8_000)
    burst_day = float(rng.randrange(days))
    for _ in range(60):
        builder.post(burst, burst_day + rng.uniform(0.0, 0.9), "positive")

    for label, followers in (("positive", 80_000), ("negative", 50_000)):
        copier = builder.author(
            "copy_paste", source="x", handle=f"copy_paste_{label}", lang="en", followers=followers
        )
        drawn = builder.pool.draw("en", label)
        for n in range(6):
            builder.emit(copier, builder.day(), f"{drawn.text} https://copy.example/{label}/{n}", drawn.label)


def build_world(data_dir: Path, *, size: WorldSize, seed: int) -> World:
    """The world for `size` and `seed`; raises WorldError when ../shared/data lacks the texts it needs."""
    rng = random.Random(seed)
    world = World(seed=seed, size=size, start=START)
    builder = _Builder(world, TextPool(data_dir, rng=rng), rng)
    _loyal(builder, "ambassador", size.ambassadors, _AMBASSADOR_LABELS)
    _loyal(builder, "detractor", size.detractors, _DETRACTOR_LABELS)
    _turning(builder, size.turning)
    _crowd(builder, occasional=size.occasional, one_offs=size.one_offs)
    _not_word_of_mouth(builder)
    world.records.sort(key=lambda r: (r["created_at"], r["external_id"]))
    return world


def world_config(database_url: str) -> dict[str, Any]:
    """Settings for the world's brand; everything else (half-lives, thresholds, alert rules) at its default."""
    return {
        "database": {"url": database_url},
        "scoring": {"staff_handles": [STAFF_HANDLE]},
        "brands": [
            {
                "name": BRAND,
                "keywords": [BRAND.lower()],
                "handles": {"x": [BRAND_HANDLE]},
                "timezone": "Europe/Amsterdam",
            }
        ],
    }
