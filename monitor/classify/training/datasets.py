"""Labelled JSON Lines folders: which task each item trains or tests, and which kind of text it is.

A folder holds `train.jsonl`, `val.jsonl` (and elsewhere `test.jsonl`) with `{"text", "label", "lang"}`
lines. Labels `negative|neutral|positive` are sentiment; `complaint|not_complaint` are complaint
detection. Sentiment items are reviews or posts: an item's own `"kind"` field decides, else the folder's
name when it is one of the known review sets, else "post".
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.classify.base import COMPLAINT_LABELS, SENTIMENT_LABELS, TextKind

__all__ = [
    "COMPLAINT_LABELS",
    "CORRECTIONS_DATASET",
    "REVIEW_DATASETS",
    "SENTIMENT_LABELS",
    "LabelledItem",
    "dataset_name",
    "find_data_dirs",
    "load_folder",
    "read_labelled",
]

# people's corrections from the database (monitor.classify.training.corrections), trained on as one more dataset
CORRECTIONS_DATASET = "wom_corrections"
REVIEW_DATASETS = frozenset({"nl_thuisbezorgd_reviews", "nl_bol_product_reviews", "absa16_nl_restaurants"})


@dataclass(frozen=True, slots=True)
class LabelledItem:
    text: str
    label: str
    lang: str | None
    kind: TextKind
    dataset: str

    @property
    def is_complaint_task(self) -> bool:
        return self.label in COMPLAINT_LABELS


def dataset_name(data_dir: Path) -> str:
    """`tweeteval_sentiment`, or `xlmt_sentiment/de` for a per-language subfolder."""
    if len(data_dir.name) == 2 and data_dir.name.isalpha():
        return f"{data_dir.parent.name}/{data_dir.name}"
    return data_dir.name


def find_data_dirs(roots: Sequence[Path], split: str) -> list[Path]:
    """Every folder under each root (the root included) that holds `<split>.jsonl`, sorted, no repeats."""
    found = {path.parent.resolve() for root in roots for path in Path(root).rglob(f"{split}.jsonl")}
    return sorted(found)


def read_labelled(path: Path, dataset: str, limit: int | None = None) -> Iterator[LabelledItem]:
    """Items of one JSONL file. Raises ValueError naming the line when one is not a labelled item."""
    default_kind: TextKind = "review" if dataset.split("/")[0] in REVIEW_DATASETS else "post"
    count = 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if limit is not None and count >= limit:
                return
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(
                    f'{path}:{number}: not a labelled item ({e}); expected {{"text": ..., "label": ...}}'
                ) from e
            if label not in SENTIMENT_LABELS and label not in COMPLAINT_LABELS:
                raise ValueError(
                    f"{path}:{number}: unknown label {label!r}; use one of "
                    f"{', '.join(SENTIMENT_LABELS + COMPLAINT_LABELS)}"
                )
            kind = row.get("kind", default_kind)
            if kind not in ("post", "review"):
                raise ValueError(f'{path}:{number}: kind must be "post" or "review", got {kind!r}')
            yield LabelledItem(str(text), label, row.get("lang"), kind, dataset)
            count += 1


def load_folder(data_dir: Path, split: str, limit: int | None = None) -> list[LabelledItem]:
    return list(read_labelled(data_dir / f"{split}.jsonl", dataset_name(data_dir), limit))
