"""Scores a classifier on labelled JSONL folders: per dataset and language, pure numpy metrics.

    python -m monitor.classify.evaluate --data ../shared/data [--split val] [--limit 400]

A folder holds `<split>.jsonl` with `{"text", "label", "lang"}` lines. Sentiment folders (labels negative /
neutral / positive) get macro-recall (TweetEval's official metric), macro-F1, accuracy and neg-vs-pos
accuracy; the `complaints` folder (complaint / not_complaint) gets complaint precision, recall and F1, with
accuracy and macro figures over its two labels.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.classify.base import Classifier

__all__ = [
    "COMPLAINT",
    "NOT_COMPLAINT",
    "DatasetScore",
    "accuracy",
    "binary_prf",
    "dataset_name",
    "evaluate",
    "find_data_dirs",
    "format_scores",
    "load_items",
    "macro_f1",
    "macro_recall",
    "neg_pos_accuracy",
    "score_complaints",
    "score_sentiment",
]

COMPLAINT = "complaint"
NOT_COMPLAINT = "not_complaint"


@dataclass(frozen=True, slots=True)
class DatasetScore:
    """Figures for one dataset and one (gold) language. Fields that do not apply are None."""

    dataset: str
    lang: str
    split: str
    n: int
    accuracy: float
    macro_recall: float
    macro_f1: float
    neg_pos_n: int = 0
    neg_pos_accuracy: float | None = None
    complaint_precision: float | None = None
    complaint_recall: float | None = None
    complaint_f1: float | None = None


def _confusion(gold: Sequence[str], pred: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Labels (sorted union of gold and predicted, as scikit-learn does) and the gold x pred count matrix."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    labels = sorted(set(gold) | set(pred))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, ([index[g] for g in gold], [index[p] for p in pred]), 1)
    return labels, matrix


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (scikit-learn's zero_division=0)."""
    out: np.ndarray = np.divide(num, den, out=np.zeros(num.shape, dtype=np.float64), where=den > 0)
    return out


def _per_class(gold: Sequence[str], pred: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _, matrix = _confusion(gold, pred)
    tp = np.diag(matrix).astype(np.float64)
    precision = _safe_div(tp, matrix.sum(axis=0).astype(np.float64))
    recall = _safe_div(tp, matrix.sum(axis=1).astype(np.float64))
    f1 = _safe_div(2 * precision * recall, precision + recall)
    return precision, recall, f1


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Share of predictions equal to gold; 0.0 for no items."""
    _, matrix = _confusion(gold, pred)
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else 0.0


def macro_recall(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Unweighted mean of per-class recall over the labels in gold or pred."""
    if not gold:
        return 0.0
    return float(_per_class(gold, pred)[1].mean())


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over the labels in gold or pred."""
    if not gold:
        return 0.0
    return float(_per_class(gold, pred)[2].mean())


def binary_prf(gold: Sequence[str], pred: Sequence[str], positive: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of the `positive` label (0.0 where undefined)."""
    tp = sum(g == positive and p == positive for g, p in zip(gold, pred, strict=True))
    predicted = sum(p == positive for p in pred)
    actual = sum(g == positive for g in gold)
    precision = tp / predicted if predicted else 0.0
    recall = tp / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def neg_pos_accuracy(gold: Sequence[str], scores: Sequence[float]) -> tuple[int, float | None]:
    """(n, accuracy) on the items whose gold label is negative or positive.

    The prediction is the larger of P(negative) and P(positive), i.e. the sign of score = P(pos) - P(neg);
    a score of exactly 0 counts as wrong. Accuracy is None when there are no such items.
    """
    pairs = [(g, s) for g, s in zip(gold, scores, strict=True) if g in ("negative", "positive")]
    if not pairs:
        return 0, None
    right = sum((g == "positive" and s > 0) or (g == "negative" and s < 0) for g, s in pairs)
    return len(pairs), right / len(pairs)


def score_sentiment(
    dataset: str, lang: str, split: str, *, gold: Sequence[str], pred: Sequence[str], scores: Sequence[float]
) -> DatasetScore:
    """Sentiment figures for one group of items."""
    n_np, np_acc = neg_pos_accuracy(gold, scores)
    return DatasetScore(
        dataset=dataset,
        lang=lang,
        split=split,
        n=len(gold),
        accuracy=accuracy(gold, pred),
        macro_recall=macro_recall(gold, pred),
        macro_f1=macro_f1(gold, pred),
        neg_pos_n=n_np,
        neg_pos_accuracy=np_acc,
    )


def score_complaints(
    dataset: str, lang: str, split: str, *, gold: Sequence[str], pred: Sequence[str]
) -> DatasetScore:
    """Complaint figures for one group of items; labels are complaint / not_complaint."""
    precision, recall, f1 = binary_prf(gold, pred, COMPLAINT)
    return DatasetScore(
        dataset=dataset,
        lang=lang,
        split=split,
        n=len(gold),
        accuracy=accuracy(gold, pred),
        macro_recall=macro_recall(gold, pred),
        macro_f1=macro_f1(gold, pred),
        complaint_precision=precision,
        complaint_recall=recall,
        complaint_f1=f1,
    )


def dataset_name(data_dir: Path) -> str:
    """`tweeteval_sentiment`, or `xlmt_sentiment/de` for a per-language subfolder."""
    if len(data_dir.name) == 2 and data_dir.name.isalpha():
        return f"{data_dir.parent.name}/{data_dir.name}"
    return data_dir.name


def load_items(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The first `limit` JSON lines of `path` (all when None)."""
    items: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(items) >= limit:
                break
            if line.strip():
                items.append(json.loads(line))
    return items


def find_data_dirs(root: Path, split: str = "val") -> list[Path]:
    """Every folder under `root` (itself included) that holds `<split>.jsonl`, sorted."""
    return sorted(path.parent for path in root.rglob(f"{split}.jsonl"))


def evaluate(
    classifier: Classifier, data_dirs: list[Path], split: str = "val", limit: int | None = None
) -> list[DatasetScore]:
    """Classifies the first `limit` items of `<dir>/<split>.jsonl` for each dir; one score per dataset and
    gold language. The gold `lang` is passed as the platform hint, as a collector would.

    Raises FileNotFoundError when a folder lacks the split, ClassifierError when the model cannot run.
    """
    results: list[DatasetScore] = []
    for data_dir in data_dirs:
        path = data_dir / f"{split}.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; pass folders that hold {split}.jsonl")
        items = load_items(path, limit)
        if not items:
            continue
        classified = classifier.classify(
            [item["text"] for item in items], hint_langs=[item.get("lang") for item in items]
        )
        name = dataset_name(data_dir)
        is_complaints = {item["label"] for item in items} <= {COMPLAINT, NOT_COMPLAINT}
        for lang in sorted({item.get("lang", "und") for item in items}):
            rows = [
                (item, c)
                for item, c in zip(items, classified, strict=True)
                if item.get("lang", "und") == lang
            ]
            gold = [item["label"] for item, _ in rows]
            if is_complaints:
                pred = [COMPLAINT if c.intent == COMPLAINT else NOT_COMPLAINT for _, c in rows]
                results.append(score_complaints(name, lang, split, gold=gold, pred=pred))
            else:
                results.append(
                    score_sentiment(
                        name,
                        lang,
                        split,
                        gold=gold,
                        pred=[c.sentiment for _, c in rows],
                        scores=[c.score for _, c in rows],
                    )
                )
    return results


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def format_scores(scores: Sequence[DatasetScore]) -> str:
    """A plain-text table of scores (percentages)."""
    header = f"{'dataset':<26} {'lang':<4} {'n':>5} {'mRec':>5} {'mF1':>5} {'acc':>5} {'negpos':>6} {'cP':>5} {'cR':>5} {'cF1':>5}"
    lines = [header]
    for s in scores:
        lines.append(
            f"{s.dataset:<26} {s.lang:<4} {s.n:>5} {_fmt(s.macro_recall):>5} {_fmt(s.macro_f1):>5} "
            f"{_fmt(s.accuracy):>5} {_fmt(s.neg_pos_accuracy):>6} {_fmt(s.complaint_precision):>5} "
            f"{_fmt(s.complaint_recall):>5} {_fmt(s.complaint_f1):>5}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from monitor.classify.e5_heads import E5HeadsClassifier

    parser = argparse.ArgumentParser(
        description="Score the shipped e5-heads classifier on labelled JSONL folders."
    )
    parser.add_argument("--data", type=Path, required=True, help="folder searched for <split>.jsonl files")
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=None, help="first N items per folder")
    args = parser.parse_args(argv)
    data_dirs = find_data_dirs(args.data, args.split)
    if not data_dirs:
        parser.error(f"no {args.split}.jsonl under {args.data}")
    classifier = E5HeadsClassifier()
    print(f"{classifier.name} {classifier.version}")
    print(format_scores(evaluate(classifier, data_dirs, args.split, args.limit)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
