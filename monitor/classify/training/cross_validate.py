"""How well the settings chosen on val (class offsets, complaint threshold) generalise: k-fold CV over val.

The in-sample figure chooses the settings on all of val and scores the same val: optimistic. Here each
fold's items are scored by settings chosen, with the same procedure (`calibrate`), on the other k-1
folds only; folds are stratified by dataset and label with a fixed seed. A shrink factor s scales the
chosen offsets (and moves the threshold towards 0.5 in logit space): s = 0 is the uncalibrated model,
s = 1 today's procedure. s is chosen per head by the CV score; its own figure is nested (each outer fold
chooses s by an inner CV on its k-1 choosing folds), so no figure scores items its settings saw.

Predictions mirror `E5Classifier`: sentiment = argmax of the kind's head logits + offsets; a complaint =
P(complaint) >= threshold while P(positive) of the post head < 0.5, or a negative review
(`intent.decide_intent`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.classify.training.calibrate import (
    choose_complaint_threshold,
    choose_sentiment_offsets,
    primary_metric,
)
from monitor.classify.training.val_logits import ValLogits

__all__ = [
    "SHRINKS",
    "Calibration",
    "CvReport",
    "choose_calibration",
    "choose_shrink",
    "cross_validate",
    "format_report",
    "improves",
    "metadata_with",
    "out_of_fold_predictions",
    "predict",
    "scores_by_dataset",
    "stratified_folds",
]

SHRINKS = (0.0, 0.25, 0.5, 0.75, 1.0)
SENTIMENT_HEADS = ("sentiment_post", "sentiment_review")
# the order shrinks are chosen in: the complaint decision reads the post head's calibrated P(positive)
SHRINK_HEADS = ("sentiment_post", "sentiment_review", "complaint")
_CONFIDENTLY_POSITIVE = 0.5  # as intent.decide_intent
_NEGATIVE = 0


@dataclass(frozen=True, slots=True)
class Calibration:
    offsets: Mapping[str, np.ndarray]  # sentiment head -> [negative, neutral, positive] offsets
    complaint_threshold: float

    def shrunk(self, shrink: Mapping[str, float]) -> Calibration:
        """Offsets times s per head; the threshold's log-odds times s (s = 0 gives 0.5)."""
        threshold = self.complaint_threshold
        s = shrink.get("complaint", 1.0)
        if s != 1.0:
            log_odds = np.log(threshold / (1.0 - threshold))
            threshold = float(1.0 / (1.0 + np.exp(-s * log_odds)))
        return Calibration(
            {head: np.float32(shrink.get(head, 1.0)) * values for head, values in self.offsets.items()},
            threshold,
        )

    @classmethod
    def from_metadata(cls, calibration: Mapping[str, Any]) -> Calibration:
        """Reads `calibration` of e5_adapter.json (missing parts: no offsets, threshold 0.5)."""
        offsets = calibration.get("offsets", {})
        return cls(
            {
                head: np.asarray(offsets.get(head, [0.0, 0.0, 0.0]), dtype=np.float32)
                for head in SENTIMENT_HEADS
            },
            float(calibration.get("complaint_threshold", 0.5)),
        )

    def as_metadata(self) -> dict[str, object]:
        """The form the adapter's metadata stores (`calibration` in e5_adapter.json)."""
        return {
            "offsets": {
                head: [round(float(v), 4) + 0.0 for v in values] for head, values in self.offsets.items()
            },
            "complaint_threshold": round(self.complaint_threshold, 4),
        }


UNCALIBRATED = Calibration({head: np.zeros(3, dtype=np.float32) for head in SENTIMENT_HEADS}, 0.5)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


def stratified_folds(datasets: np.ndarray, gold: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold number 0..k-1 per item: each (dataset, label) group is shuffled and dealt round the folds,
    each group starting where the previous one stopped so that fold sizes differ by at most one."""
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    rng = np.random.default_rng(seed)
    folds = np.empty(len(gold), dtype=np.int64)
    start = 0
    for name in sorted(set(datasets.tolist())):
        for label in sorted(set(gold[datasets == name].tolist())):
            members = rng.permutation(np.flatnonzero((datasets == name) & (gold == label)))
            folds[members] = (start + np.arange(len(members))) % k
            start = (start + len(members)) % k
    return folds


def _head_items(values: ValLogits, head: str) -> np.ndarray:
    complaint = values.is_complaint
    if head == "complaint":
        return complaint
    return ~complaint & (values.kind == head.removeprefix("sentiment_"))


def choose_calibration(
    values: ValLogits, choosing: np.ndarray, grid: np.ndarray | None = None
) -> Calibration:
    """Today's procedure (finetune.calibrate) on the items of the bool mask `choosing` only."""
    offsets: dict[str, np.ndarray] = {}
    for head in SENTIMENT_HEADS:
        selected = _head_items(values, head) & choosing
        offsets[head] = (
            choose_sentiment_offsets(
                values.logits[head][selected], values.gold[selected], values.dataset[selected].tolist(), grid
            )
            if selected.any()
            else np.zeros(3, dtype=np.float32)
        )
    selected = _head_items(values, "complaint") & choosing
    threshold = 0.5
    if selected.any():
        probability = _softmax(values.logits["complaint"][selected])[:, 1]
        threshold = choose_complaint_threshold(probability, values.gold[selected])
    return Calibration(offsets, threshold)


def predict(values: ValLogits, calibration: Calibration, items: np.ndarray | None = None) -> np.ndarray:
    """The classifier's answer per item (sentiment code, or 1 = complaint for complaint items), for the
    bool mask `items` (all when None); -1 elsewhere."""
    items = np.ones(len(values), dtype=bool) if items is None else items
    pred = np.full(len(values), -1, dtype=np.int64)
    sentiment = np.zeros(len(values), dtype=np.int64)
    p_positive = np.zeros(len(values))
    for head in SENTIMENT_HEADS:
        kind = head.removeprefix("sentiment_")
        # complaint items are scored as the classifier reads them: their own kind's sentiment head
        selected = items & (values.kind == kind)
        if selected.any():
            calibrated = values.logits[head][selected] + calibration.offsets[head]
            sentiment[selected] = np.argmax(calibrated, axis=1)
            p_positive[selected] = _softmax(calibrated)[:, 2]
    complaint_items = items & values.is_complaint
    pred[items & ~values.is_complaint] = sentiment[items & ~values.is_complaint]
    if complaint_items.any():
        p_complaint = _softmax(values.logits["complaint"][complaint_items])[:, 1]
        by_head = (p_complaint >= calibration.complaint_threshold) & (
            p_positive[complaint_items] < _CONFIDENTLY_POSITIVE
        )
        negative_review = (values.kind[complaint_items] == "review") & (
            sentiment[complaint_items] == _NEGATIVE
        )
        pred[complaint_items] = (by_head | negative_review).astype(np.int64)
    return pred


def scores_by_dataset(
    values: ValLogits, pred: np.ndarray, items: np.ndarray | None = None
) -> dict[str, float]:
    """Each dataset's primary metric (TweetEval macro-recall, else macro-F1) over the masked items."""
    items = np.ones(len(values), dtype=bool) if items is None else items
    scores: dict[str, float] = {}
    for name in sorted(set(values.dataset[items].tolist())):
        selected = items & (values.dataset == name)
        classes = 2 if name.startswith("complaints") else 3
        scores[name] = primary_metric(name, values.gold[selected], pred[selected], classes)
    return scores


def _head_score(values: ValLogits, pred: np.ndarray, items: np.ndarray, head: str) -> float:
    selected = items & _head_items(values, head)
    scores = scores_by_dataset(values, pred, selected)
    return float(np.mean(list(scores.values()))) if scores else 0.0


def out_of_fold_predictions(
    values: ValLogits,
    folds: np.ndarray,
    calibrations: Sequence[Calibration],
    shrinks: Sequence[Mapping[str, float]] | Mapping[str, float] | None = None,
) -> np.ndarray:
    """Each item predicted by the calibration of its own fold (chosen without it), shrunk per fold."""
    pred = np.full(len(values), -1, dtype=np.int64)
    for fold, calibration in enumerate(calibrations):
        held_out = folds == fold
        shrink = shrinks if shrinks is None or isinstance(shrinks, Mapping) else shrinks[fold]
        chosen = calibration if shrink is None else calibration.shrunk(shrink)
        pred[held_out] = predict(values, chosen, held_out)[held_out]
    return pred


def choose_shrink(
    values: ValLogits,
    items: np.ndarray,
    folds: np.ndarray,
    calibrations: Sequence[Calibration],
    shrinks: Sequence[float] = SHRINKS,
) -> dict[str, float]:
    """Per head, the s with the best CV score over `items` (folds and their calibrations given); ties
    keep the larger s (closer to today's settings)."""
    chosen: dict[str, float] = {}
    for head in SHRINK_HEADS:
        best, best_score = 1.0, -1.0
        for s in sorted(shrinks, reverse=True):
            pred = out_of_fold_predictions(values, folds, calibrations, {**chosen, head: s})
            score = _head_score(values, pred, items, head)
            if score > best_score + 1e-9:
                best, best_score = s, score
        chosen[head] = best
    return chosen


def _calibrations_per_fold(
    values: ValLogits, items: np.ndarray, folds: np.ndarray, k: int, grid: np.ndarray | None
) -> list[Calibration]:
    return [choose_calibration(values, items & (folds != fold), grid) for fold in range(k)]


@dataclass(frozen=True, slots=True)
class CvReport:
    """Per dataset figures; `mean` of each column over all datasets."""

    k: int
    seed: int
    columns: dict[str, dict[str, float]]  # column name -> dataset -> primary metric
    predictions: dict[str, np.ndarray]  # column name -> the answer per val item
    folds: np.ndarray  # each item's fold
    in_sample: Calibration
    shrink: dict[str, float]  # the CV-chosen s per head (CV over all val)
    shipped_candidate: Calibration  # chosen on all val, shrunk by `shrink`
    nested_shrinks: list[dict[str, float]] = field(default_factory=list)  # each outer fold's own choice

    def mean(self, column: str) -> float:
        return float(np.mean(list(self.columns[column].values())))


def cross_validate(
    values: ValLogits,
    *,
    k: int = 5,
    seed: int = 0,
    grid: np.ndarray | None = None,
    shipped: Calibration | None = None,
    shrinks: Sequence[float] = SHRINKS,
    folds: np.ndarray | None = None,
) -> CvReport:
    """Columns: `shipped` (the given calibration, scored on all val), `uncalibrated` (offsets 0,
    threshold 0.5), `in_sample` (chosen and scored on all val), `cv` (today's procedure, out of fold),
    `cv_s=<s>` (offsets shrunk by a fixed s, out of fold) and `cv_nested` (s chosen inside each outer
    fold by an inner k-1-fold CV, out of fold). `folds` (0..k-1 per item) replaces the stratified ones."""
    everything = np.ones(len(values), dtype=bool)
    folds = stratified_folds(values.dataset, values.gold, k, seed) if folds is None else folds
    predictions: dict[str, np.ndarray] = {}
    if shipped is not None:
        predictions["shipped"] = predict(values, shipped)
    predictions["uncalibrated"] = predict(values, UNCALIBRATED)
    in_sample = choose_calibration(values, everything, grid)
    predictions["in_sample"] = predict(values, in_sample)
    outer = _calibrations_per_fold(values, everything, folds, k, grid)
    predictions["cv"] = out_of_fold_predictions(values, folds, outer)
    for s in shrinks:
        uniform = dict.fromkeys(SHRINK_HEADS, s)
        predictions[f"cv_s={s:g}"] = out_of_fold_predictions(values, folds, outer, uniform)
    nested: list[dict[str, float]] = []
    for fold in range(k):
        choosing = folds != fold
        inner_folds = np.full(len(values), -1, dtype=np.int64)
        inner_folds[choosing] = stratified_folds(values.dataset[choosing], values.gold[choosing], k - 1, seed)
        inner = _calibrations_per_fold(values, choosing, inner_folds, k - 1, grid)
        nested.append(choose_shrink(values, choosing, inner_folds, inner, shrinks))
    predictions["cv_nested"] = out_of_fold_predictions(values, folds, outer, nested)
    shrink = choose_shrink(values, everything, folds, outer, shrinks)
    return CvReport(
        k=k,
        seed=seed,
        columns={column: scores_by_dataset(values, pred) for column, pred in predictions.items()},
        predictions=predictions,
        folds=folds,
        in_sample=in_sample,
        shrink=shrink,
        shipped_candidate=in_sample.shrunk(shrink),
        nested_shrinks=nested,
    )


def format_report(report: CvReport) -> str:
    """Primary metric per dataset (percent) per column, the means, and what CV chose."""
    columns = list(report.columns)
    names = list(report.columns["uncalibrated"])
    width = max(len(name) for name in [*names, "mean primary"])
    lines = [f"{'dataset':<{width}} " + " ".join(f"{column:>12}" for column in columns)]
    for name in names:
        lines.append(
            f"{name:<{width}} " + " ".join(f"{100 * report.columns[c][name]:>12.1f}" for c in columns)
        )
    lines.append(f"{'mean primary':<{width}} " + " ".join(f"{100 * report.mean(c):>12.2f}" for c in columns))
    shrinks = ", ".join(f"{head} {s:g}" for head, s in report.shrink.items())
    lines.append(f"CV-chosen shrink (k={report.k}, seed {report.seed}): {shrinks}")
    for fold, chosen in enumerate(report.nested_shrinks):
        lines.append(f"  outer fold {fold} chose: " + ", ".join(f"{h} {s:g}" for h, s in chosen.items()))
    lines.append(f"in-sample settings: {report.in_sample.as_metadata()}")
    lines.append(f"chosen on all val with the CV shrink: {report.shipped_candidate.as_metadata()}")
    return "\n".join(lines)


def improves(report: CvReport, margin: float = 0.0) -> bool:
    """Whether choosing the shrink by CV beats today's procedure out of fold (never the in-sample figure)."""
    return report.mean("cv_nested") > report.mean("cv") + margin


def metadata_with(
    metadata: Mapping[str, Any], report: CvReport, version: str, grid_step: float
) -> dict[str, Any]:
    """The adapter's metadata with the CV-shrunk calibration, the figures behind it and what it replaced."""
    return {
        **metadata,
        "version": version,
        "calibration": report.shipped_candidate.as_metadata(),
        "calibration_cv": {
            "chosen": f"on all val logits of the int8 model, offsets shrunk by the {report.k}-fold CV choice",
            "k": report.k,
            "seed": report.seed,
            "grid_step": grid_step,
            "shrink": report.shrink,
            "mean_primary": {column: round(report.mean(column), 4) for column in report.columns},
            "previous_version": metadata.get("version"),
            "previous_calibration": metadata.get("calibration"),
        },
    }
