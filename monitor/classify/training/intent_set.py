"""Hand-labelled intent sets: lines that point at texts instead of holding them.

    {"ref": "complaints/val#12", "intent": "question", "lang": "en", "note": "..."}
    {"ref": "tweeteval_sentiment/train#<sha256 of the text>", "intent": "other", "lang": "en"}
    {"ref": "demo/KK_POSTS#3", "text": "...", "intent": "praise", "lang": "nl"}

A `ref` names a data folder, a split and either a 1-based line number or the sha256 (hex) of the line's
text; the text is read from `<data root>/<folder>/<split>.jsonl` when the set is scored, so no third-party
text is stored in the repository (several sources forbid redistribution). Only `demo/...` items, texts
written for wom's demo, may carry their `text`. Test splits are refused: the sets choose rules.

Each item falls in the `dev` or the `test` half by a fixed rule on its ref (the first byte of the ref's
sha256 even: dev): rules may be chosen on dev, test is only reported.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from monitor.classify.base import Intent, TextKind
from monitor.classify.training.datasets import REVIEW_DATASETS

__all__ = ["INTENTS", "Half", "IntentItem", "LoadedIntentSet", "half_of", "load_intent_set"]

Half = Literal["dev", "test"]
INTENTS: tuple[Intent, ...] = ("complaint", "question", "praise", "other")
DEMO = "demo"
_ALLOWED_SPLITS = frozenset({"train", "val"})
_REF = re.compile(r"^(?P<folder>[\w.-]+)/(?P<split>[\w.-]+)#(?P<key>\d{1,9}|[0-9a-f]{64})$")


@dataclass(frozen=True, slots=True)
class IntentItem:
    ref: str
    text: str
    intent: Intent
    lang: str
    kind: TextKind
    half: Half


@dataclass(frozen=True, slots=True)
class LoadedIntentSet:
    items: list[IntentItem]
    # One line per data file that could not be found: what was skipped and why.
    skipped: list[str]


def half_of(ref: str) -> Half:
    """`dev` or `test`, fixed by the ref alone (so adding items never moves old ones)."""
    return "dev" if hashlib.sha256(ref.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Texts:
    """Split files under the data roots, read once each."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = list(roots)
        self._lines: dict[tuple[str, str], list[str] | None] = {}
        self._by_sha: dict[tuple[str, str], dict[str, str]] = {}

    def lines(self, folder: str, split: str) -> list[str] | None:
        key = (folder, split)
        if key not in self._lines:
            found = next(
                (
                    root / folder / f"{split}.jsonl"
                    for root in self.roots
                    if (root / folder / f"{split}.jsonl").is_file()
                ),
                None,
            )
            self._lines[key] = (
                None
                if found is None
                else [json.loads(line)["text"] for line in found.read_text(encoding="utf-8").splitlines()]
            )
        return self._lines[key]

    def by_sha(self, folder: str, split: str, lines: list[str]) -> dict[str, str]:
        key = (folder, split)
        if key not in self._by_sha:
            table: dict[str, str] = {}
            for text in lines:
                table.setdefault(_sha(text), text)
            self._by_sha[key] = table
        return self._by_sha[key]


def _rows(paths: Iterable[Path]) -> Iterable[tuple[str, int, dict[str, object]]]:
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                yield str(path), number, json.loads(line)


def load_intent_set(paths: Sequence[Path], data_roots: Sequence[Path]) -> LoadedIntentSet:
    """The items of the set files `paths`, their texts looked up under `data_roots` (e.g. ../shared/data).

    Items whose split file is under no root are skipped, with one reason per missing file. Raises
    ValueError for a malformed line, an unknown intent, a test-split ref, a `text` outside `demo/`, a
    duplicate ref, or a ref that does not resolve in a file that exists (the data changed).
    """
    texts = _Texts(data_roots)
    items: list[IntentItem] = []
    missing: dict[str, int] = {}
    seen: set[str] = set()
    for path, number, row in _rows(paths):
        where = f"{path}:{number}"
        ref, intent, lang = row.get("ref"), row.get("intent"), row.get("lang")
        if not isinstance(ref, str) or (match := _REF.match(ref)) is None:
            raise ValueError(
                f"{where}: ref must look like 'folder/split#line' or '...#<sha256>', got {ref!r}"
            )
        if intent not in INTENTS:
            raise ValueError(f"{where}: intent must be one of {', '.join(INTENTS)}, got {intent!r}")
        if not isinstance(lang, str) or not lang:
            raise ValueError(f"{where}: lang is missing")
        if ref in seen:
            raise ValueError(f"{where}: {ref} occurs twice")
        seen.add(ref)
        folder, split, key = match["folder"], match["split"], match["key"]
        text = row.get("text")
        if folder == DEMO:
            if not isinstance(text, str) or not text:
                raise ValueError(f"{where}: a demo item carries its text")
        else:
            if text is not None:
                raise ValueError(
                    f"{where}: only demo items may store their text; {folder} is third-party data"
                )
            if split not in _ALLOWED_SPLITS:
                raise ValueError(f"{where}: {split} split refused; intent sets draw on train and val only")
            lines = texts.lines(folder, split)
            if lines is None:
                name = f"{folder}/{split}.jsonl"
                missing[name] = missing.get(name, 0) + 1
                continue
            if len(key) < 64:
                if not 1 <= int(key) <= len(lines):
                    raise ValueError(f"{where}: {folder}/{split}.jsonl has no line {key}")
                text = lines[int(key) - 1]
            else:
                text = texts.by_sha(folder, split, lines).get(key)
                if text is None:
                    raise ValueError(f"{where}: no text in {folder}/{split}.jsonl has sha256 {key}")
        kind: TextKind = "review" if folder in REVIEW_DATASETS else "post"
        items.append(IntentItem(ref, text, intent, lang, kind, half_of(ref)))
    roots = ", ".join(map(str, data_roots)) or "no data folder"
    skipped = [
        f"{count} items skipped: {name} not found under {roots}" for name, count in sorted(missing.items())
    ]
    return LoadedIntentSet(items, skipped)
