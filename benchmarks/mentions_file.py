"""Synthetic import files for benchmarks and crash tests: realistic shapes, bad lines and repeats on purpose.

Texts come from a small pool of English and Dutch sentences about the brand "Acme", so the
classifier meets a few hundred distinct texts however long the file is (as with retweet waves).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["FileFacts", "write_mentions"]

_OPENINGS = [
    "Acme",
    "@acme",
    "Bij Acme",
    "My order from Acme",
    "Mijn bestelling bij Acme",
    "#acme",
    "Acme.nl",
]
_BODIES = [
    "arrived a day early, great packaging and friendly service!",
    "is still not here after two weeks, nobody answers my emails.",
    "kwam netjes op tijd, top service 👍",
    "heeft mijn geld nog steeds niet teruggestort, echt schandalig.",
    "do you ship to Belgium?",
    "kan ik mijn abonnement pauzeren?",
    "the grinder broke after one week and support is rude.",
    "prima koffie, niks bijzonders.",
    "just restocked their beans, new Ethiopian roast is in.",
    "beste bonen die ik ooit heb gehad, aanrader!",
    "waarom duurt de levering zo lang??",
    "refund took forever but it finally came through.",
    "love the subscription, never running out again ☕",
    "de klantenservice reageert niet op mijn vraag.",
    "wat is het verschil tussen de espresso en de lungo bonen?",
    "terrible experience, never ordering again.",
]
_ENDINGS = ["", " #koffie", " 😡", " !!", " (via app)", " 🙏"]
_BAD_LINES = [
    "{not json at all",
    '{"source": "x", "external_id": "", "text": "empty id", "created_at": "2026-11-01T10:00:00Z", "author": {"handle": "a"}}',
    '{"source": "x", "external_id": "bad-date", "text": "bad date", "created_at": "yesterday", "author": {"handle": "a"}}',
    '{"source": "x", "external_id": "no-author", "text": "no author", "created_at": "2026-11-01T10:00:00Z"}',
    '{"source": "x", "external_id": "bad-rating", "text": "t", "created_at": "2026-11-01T10:00:00Z", "author": {"handle": "a"}, "rating": 11}',
    "[1, 2, 3]",
]


@dataclass(frozen=True, slots=True)
class FileFacts:
    lines: int
    valid_ids: frozenset[tuple[str, str]]
    bad_lines: int
    repeated_lines: int


def write_mentions(
    path: Path,
    *,
    lines: int,
    bad_share: float = 0.0,
    repeat_share: float = 0.0,
    authors: int = 2000,
    seed: int = 7,
    end: datetime = datetime(2026, 11, 20, tzinfo=UTC),
) -> FileFacts:
    """Write `lines` lines: `bad_share` rejected on purpose, `repeat_share` repeating an earlier valid line."""
    rng = random.Random(seed)
    start = end - timedelta(days=42)
    span = (end - start).total_seconds()
    valid: list[str] = []
    ids: set[tuple[str, str]] = set()
    bad = repeated = 0
    with path.open("w", encoding="utf-8") as handle:
        for number in range(lines):
            roll = rng.random()
            if roll < bad_share:
                handle.write(rng.choice(_BAD_LINES) + "\n")
                bad += 1
                continue
            if roll < bad_share + repeat_share and valid:
                handle.write(rng.choice(valid) + "\n")
                repeated += 1
                continue
            author = rng.randrange(authors)
            source = rng.choice(["x", "x", "reddit", "trustpilot", "mastodon", "bluesky"])
            created = start + timedelta(seconds=span * (number / max(1, lines)) + rng.random() * 60)
            item = {
                "source": source,
                "external_id": f"{source}-{number}",
                "text": f"{rng.choice(_OPENINGS)} {rng.choice(_BODIES)}{rng.choice(_ENDINGS)}",
                "created_at": created.isoformat().replace("+00:00", "Z"),
                "author": {
                    "id": f"{source}-u{author}",
                    "handle": f"user{author}",
                    "name": f"User {author}",
                    "followers": int(rng.paretovariate(1.2) * 50),
                },
                "url": f"https://example.com/{source}/{number}",
                "engagement": {"likes": rng.randrange(20), "replies": rng.randrange(3)},
            }
            if source in ("x", "mastodon", "bluesky"):
                item["lang"] = rng.choice(["nl", "en"])
            if source == "trustpilot":
                item["rating"] = rng.randint(1, 5)
            line = json.dumps(item, ensure_ascii=False)
            valid.append(line)
            ids.add((source, str(item["external_id"])))
            handle.write(line + "\n")
    return FileFacts(lines=lines, valid_ids=frozenset(ids), bad_lines=bad, repeated_lines=repeated)
