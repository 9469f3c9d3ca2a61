"""Scores a classifier on labelled JSONL folders: per dataset and language, pure numpy metrics.

    wom model eval --data ../shared/data [--split val] [--limit 400]

A folder holds `<split>.jsonl` with `{"text", "label", "lang"}` lines. Sentiment folders (labels negative /
neutral / positive) get macro-recall (TweetEval's official metric), macro-F1, accuracy and neg-vs-pos
accuracy; the `complaints` folder (complaint / not_complaint) gets complaint precision, recall and F1, with
accuracy and macro figures over its two labels.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from monitor.classify.base import Classifier
from monitor.classify.training.datasets import dataset_name, find_data_dirs, load_folder
from monitor.classify.training.intent_set import INTENTS, IntentItem

__all__ = [
    "COMPLAINT",
    "NOT_COMPLAINT",
    "DatasetScore",
    "IntentScore",
    "accuracy",
    "binary_prf",
    "dataset_name",
    "evaluate",
    "evaluate_intent",
    "find_data_dirs",
    "format_intent_scores",
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
    lang_accuracy: float | None = None


@dataclass(frozen=True, slots=True)
class IntentScore:
    intent: str
    gold: int
    predicted: int
    precision: float
    recall: float
    f1: float
    half: str = "all"
    lang: str = "all"
    praise_as_complaint: int = 0  # praise items predicted complaint (set on the complaint row)


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


def _common_figures(
    dataset: str, lang: str, split: str, gold: Sequence[str], pred: Sequence[str]
) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "lang": lang,
        "split": split,
        "n": len(gold),
        "accuracy": accuracy(gold, pred),
        "macro_recall": macro_recall(gold, pred),
        "macro_f1": macro_f1(gold, pred),
    }


def score_sentiment(
    dataset: str, lang: str, split: str, *, gold: Sequence[str], pred: Sequence[str], scores: Sequence[float]
) -> DatasetScore:
    """Sentiment figures for one group of items."""
    n_np, np_acc = neg_pos_accuracy(gold, scores)
    return DatasetScore(
        **_common_figures(dataset, lang, split, gold, pred), neg_pos_n=n_np, neg_pos_accuracy=np_acc
    )


def score_complaints(
    dataset: str, lang: str, split: str, *, gold: Sequence[str], pred: Sequence[str]
) -> DatasetScore:
    """Complaint figures for one group of items; labels are complaint / not_complaint."""
    precision, recall, f1 = binary_prf(gold, pred, COMPLAINT)
    return DatasetScore(
        **_common_figures(dataset, lang, split, gold, pred),
        complaint_precision=precision,
        complaint_recall=recall,
        complaint_f1=f1,
    )


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


def evaluate(
    classifier: Classifier,
    data_dirs: Sequence[Path],
    split: str = "val",
    limit: int | None = None,
    *,
    lang_hints: bool = False,
) -> list[DatasetScore]:
    """Classifies the first `limit` items of `<dir>/<split>.jsonl` for each dir; one score per dataset and
    gold language, with the share of items whose detected language is the gold one.

    Review sets are classified as reviews (see `datasets`). The gold language is passed as the platform's
    hint only with `lang_hints` (then the language figure measures nothing). Raises FileNotFoundError when
    a folder lacks the split, ValueError for a malformed file, ClassifierError when the model cannot run.
    """
    results: list[DatasetScore] = []
    for data_dir in data_dirs:
        path = data_dir / f"{split}.jsonl"
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; pass folders that hold {split}.jsonl")
        items = load_folder(data_dir, split, limit)
        if not items:
            continue
        classified = classifier.classify(
            [item.text for item in items],
            hint_langs=[item.lang for item in items] if lang_hints else None,
            hint_kinds=[item.kind for item in items],
        )
        name = dataset_name(data_dir)
        for lang in sorted({item.lang or "und" for item in items}):
            rows = [
                (item, c) for item, c in zip(items, classified, strict=True) if (item.lang or "und") == lang
            ]
            gold = [item.label for item, _ in rows]
            lang_accuracy = sum(c.lang == lang for _, c in rows) / len(rows)
            if rows[0][0].is_complaint_task:
                pred = [COMPLAINT if c.intent == COMPLAINT else NOT_COMPLAINT for _, c in rows]
                score = score_complaints(name, lang, split, gold=gold, pred=pred)
            else:
                score = score_sentiment(
                    name,
                    lang,
                    split,
                    gold=gold,
                    pred=[c.sentiment for _, c in rows],
                    scores=[c.score for _, c in rows],
                )
            results.append(replace(score, lang_accuracy=lang_accuracy))
    return results


def evaluate_intent(classifier: Classifier, items: Sequence[IntentItem]) -> list[IntentScore]:
    """Precision and recall per intent on hand-labelled items (no language hints; reviews as reviews), for
    each half (dev, test) and each gold language, plus "all" languages; also how many `praise` items were
    read as complaints (`IntentScore.praise_as_complaint` on the complaint rows)."""
    classified = classifier.classify([item.text for item in items], hint_kinds=[item.kind for item in items])
    scores: list[IntentScore] = []
    for half in ("dev", "test"):
        langs = sorted({item.lang for item in items if item.half == half})
        for lang in [*langs, "all"] if len(langs) > 1 else langs:
            rows = [
                (item, c)
                for item, c in zip(items, classified, strict=True)
                if item.half == half and lang in (item.lang, "all")
            ]
            gold = [item.intent for item, _ in rows]
            pred = [c.intent for _, c in rows]
            praise_as_complaint = sum(
                g == "praise" and p == "complaint" for g, p in zip(gold, pred, strict=True)
            )
            for intent in INTENTS:
                precision, recall, f1 = binary_prf(gold, pred, intent)
                scores.append(
                    IntentScore(
                        intent=intent,
                        gold=sum(g == intent for g in gold),
                        predicted=sum(p == intent for p in pred),
                        precision=precision,
                        recall=recall,
                        f1=f1,
                        half=half,
                        lang=lang,
                        praise_as_complaint=praise_as_complaint if intent == "complaint" else 0,
                    )
                )
    return scores


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def format_scores(scores: Sequence[DatasetScore]) -> str:
    """A plain-text table of scores (percentages)."""
    header = (
        f"{'dataset':<26} {'lang':<4} {'n':>5} {'mRec':>5} {'mF1':>5} {'acc':>5} {'negpos':>6} "
        f"{'cP':>5} {'cR':>5} {'cF1':>5} {'langID':>6}"
    )
    lines = [header]
    for s in scores:
        lines.append(
            f"{s.dataset:<26} {s.lang:<4} {s.n:>5} {_fmt(s.macro_recall):>5} {_fmt(s.macro_f1):>5} "
            f"{_fmt(s.accuracy):>5} {_fmt(s.neg_pos_accuracy):>6} {_fmt(s.complaint_precision):>5} "
            f"{_fmt(s.complaint_recall):>5} {_fmt(s.complaint_f1):>5} {_fmt(s.lang_accuracy):>6}"
        )
    return "\n".join(lines)


def format_intent_scores(scores: Sequence[IntentScore]) -> str:
    """One table per half: precision, recall and F1 per language and intent, and praise read as complaint."""
    lines: list[str] = []
    for half in dict.fromkeys(s.half for s in scores):
        rows = [s for s in scores if s.half == half]
        lines.append(
            f"{half}: {'lang':<4} {'intent':<10} {'gold':>5} {'pred':>5} {'P':>5} {'R':>5} {'F1':>5}"
        )
        for s in rows:
            lines.append(
                f"{half}: {s.lang:<4} {s.intent:<10} {s.gold:>5} {s.predicted:>5} "
                f"{_fmt(s.precision if s.predicted else None):>5} {_fmt(s.recall if s.gold else None):>5} "
                f"{_fmt(s.f1 if s.gold else None):>5}"
            )
        for s in rows:
            if s.intent == "complaint":
                praise = next(p.gold for p in rows if p.lang == s.lang and p.intent == "praise")
                lines.append(
                    f"{half}: {s.lang:<4} praise read as complaint: {s.praise_as_complaint} of {praise}"
                )
    return "\n".join(lines)
