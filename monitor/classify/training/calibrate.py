"""Settings chosen on val: per-head class offsets for sentiment and the complaint threshold.

Each source has its own label mix (Thuisbezorgd is 83% positive, bol.com balanced), and a 3-star review
is "neutral" by a rule, not by its words; an offset on each class's logit, chosen on val, puts the
decision boundaries where the val data says they are. Only val logits are used, never test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "choose_complaint_threshold",
    "choose_sentiment_offsets",
    "macro_f1_codes",
    "macro_recall_codes",
    "primary_metric",
]


def _per_class(gold: np.ndarray, pred: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    matrix = np.zeros((classes, classes), dtype=np.float64)
    np.add.at(matrix, (gold, pred), 1)
    tp = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(classes), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(classes), where=actual > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(classes), where=precision + recall > 0
    )
    present = (actual > 0) | (predicted > 0)
    return recall[present], f1[present]


def macro_recall_codes(gold: np.ndarray, pred: np.ndarray, classes: int = 3) -> float:
    return float(_per_class(gold, pred, classes)[0].mean()) if len(gold) else 0.0


def macro_f1_codes(gold: np.ndarray, pred: np.ndarray, classes: int = 3) -> float:
    return float(_per_class(gold, pred, classes)[1].mean()) if len(gold) else 0.0


def primary_metric(dataset: str, gold: np.ndarray, pred: np.ndarray, classes: int) -> float:
    """TweetEval's official macro-recall for TweetEval, macro-F1 for every other set."""
    if dataset.startswith("tweeteval"):
        return macro_recall_codes(gold, pred, classes)
    return macro_f1_codes(gold, pred, classes)


def _mean_primary_by_dataset(
    gold: np.ndarray, pred: np.ndarray, dataset_codes: np.ndarray, by_recall: np.ndarray
) -> float:
    """The mean over datasets of `primary_metric`, from one count per (dataset, gold, predicted): the same
    figure as calling it per dataset, without a pass over the items per dataset."""
    datasets = len(by_recall)
    counts = np.bincount(dataset_codes * 9 + gold * 3 + pred, minlength=datasets * 9).reshape(datasets, 3, 3)
    counts = counts.astype(np.float64)
    tp = np.diagonal(counts, axis1=1, axis2=2)
    predicted, actual = counts.sum(axis=1), counts.sum(axis=2)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=precision + recall > 0
    )
    present = (actual > 0) | (predicted > 0)
    per_class = np.where(by_recall[:, None], recall, f1)
    per_dataset = (per_class * present).sum(axis=1) / present.sum(axis=1)
    return float(np.mean(per_dataset))


def choose_sentiment_offsets(
    logits: np.ndarray, gold: np.ndarray, datasets: Sequence[str], grid: np.ndarray | None = None
) -> np.ndarray:
    """Offsets (negative, 0, positive-relative) added to [neg, neu, pos] logits that maximise the mean of
    each dataset's primary metric. The neutral logit is the reference; ties keep the smallest change."""
    grid = np.round(np.arange(-2.0, 2.01, 0.1), 2) if grid is None else grid
    names = sorted(set(datasets))
    codes = {name: i for i, name in enumerate(names)}
    dataset_codes = np.array([codes[d] for d in datasets], dtype=np.int64)
    by_recall = np.array([name.startswith("tweeteval") for name in names], dtype=bool)
    gold = np.asarray(gold, dtype=np.int64)
    best_offsets = np.zeros(3, dtype=np.float32)
    best_score = -1.0
    for negative in grid:
        for positive in grid:
            offsets = np.array([negative, 0.0, positive], dtype=np.float32)
            pred = np.argmax(logits + offsets, axis=1)
            score = _mean_primary_by_dataset(gold, pred, dataset_codes, by_recall)
            if score > best_score + 1e-9 or (
                abs(score - best_score) <= 1e-9 and np.abs(offsets).sum() < np.abs(best_offsets).sum()
            ):
                best_score, best_offsets = score, offsets
    return best_offsets


def choose_complaint_threshold(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """The P(complaint) threshold with the best macro-F1 over complaint / not complaint."""
    best_threshold, best_score = 0.5, -1.0
    for threshold in np.round(np.arange(0.05, 0.96, 0.01), 2):
        score = macro_f1_codes(gold, (probabilities >= threshold).astype(np.int64), 2)
        if score > best_score + 1e-9 or (
            abs(score - best_score) <= 1e-9 and abs(threshold - 0.5) < abs(best_threshold - 0.5)
        ):
            best_threshold, best_score = float(threshold), score
    return best_threshold
