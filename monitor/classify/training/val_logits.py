"""The shipped model's raw head logits (no offsets) for every item of the val splits, computed once and
cached: the encoder is the slow part, the settings chosen on top of it are numpy work.

Cache: `<model cache>/val-logits/<adapter fingerprint>-<precision>-<data fingerprint>.npz`, so a new adapter or a
changed data file computes them again. Only `val` is ever read here; the cache holds no texts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.classify.e5_onnx import E5Classifier
from monitor.classify.model_build import Adapter, model_cache_dir
from monitor.classify.preprocess import normalize_for_model
from monitor.classify.training.datasets import COMPLAINT_LABELS, SENTIMENT_LABELS, load_folder

__all__ = ["HEADS", "ValLogits", "compute_val_logits", "load_val_logits"]

HEADS = ("sentiment_post", "sentiment_review", "complaint")
SPLIT = "val"
_UNMOVABLE = 1e4


@dataclass(frozen=True, slots=True)
class ValLogits:
    """Per val item: its dataset, kind ("post"/"review"), gold code (index in SENTIMENT_LABELS or
    COMPLAINT_LABELS), whether its normalised text is empty (the classifier answers neutral, no
    complaint), and every head's raw logits."""

    dataset: np.ndarray  # str [n]
    kind: np.ndarray  # str [n]
    gold: np.ndarray  # int64 [n]
    empty: np.ndarray  # bool [n]
    logits: dict[str, np.ndarray]  # head -> float32 [n, classes]

    def __len__(self) -> int:
        return len(self.gold)

    @property
    def is_complaint(self) -> np.ndarray:
        return np.array([name.startswith("complaints") for name in self.dataset], dtype=bool)


def _data_fingerprint(data_dirs: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for data_dir in data_dirs:
        path = data_dir / f"{SPLIT}.jsonl"
        digest.update(str(data_dir.name).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_path(classifier: E5Classifier, data_dirs: Sequence[Path]) -> Path:
    name = f"{classifier.adapter.fingerprint[:16]}-{classifier.precision}-{_data_fingerprint(data_dirs)}.npz"
    return model_cache_dir() / "val-logits" / name


def head_logits(adapter: Adapter, pooled: np.ndarray) -> dict[str, np.ndarray]:
    """Each head's logits, without the calibration offsets."""
    return {
        head: (
            pooled @ adapter.tensors[f"head.{head}.weight"].T + adapter.tensors[f"head.{head}.bias"]
        ).astype(np.float32)
        for head in HEADS
    }


def compute_val_logits(classifier: E5Classifier, data_dirs: Sequence[Path]) -> ValLogits:
    """Runs the encoder once per distinct normalised val text (as `classify` does)."""
    items = [item for data_dir in data_dirs for item in load_folder(data_dir, SPLIT)]
    normalized = [normalize_for_model(item.text) for item in items]
    unique = list(dict.fromkeys(text for text in normalized if text))
    position = {text: i for i, text in enumerate(unique)}
    pooled = classifier.pooled(unique) if unique else np.zeros((0, 384), dtype=np.float32)
    rows = np.array([position.get(text, 0) for text in normalized], dtype=np.int64)
    per_unique = head_logits(classifier.adapter, pooled)
    labels = {label: i for i, label in enumerate(SENTIMENT_LABELS)} | {
        label: i for i, label in enumerate(COMPLAINT_LABELS)
    }
    empty = np.array([not text for text in normalized], dtype=bool)
    logits = {
        head: values[rows] if len(values) else np.zeros((len(items), values.shape[1]), np.float32)
        for head, values in per_unique.items()
    }
    return _pin_empty(
        ValLogits(
            dataset=np.array([item.dataset for item in items]),
            kind=np.array([item.kind for item in items]),
            gold=np.array([labels[item.label] for item in items], dtype=np.int64),
            empty=empty,
            logits=logits,
        )
    )


def _pin_empty(values: ValLogits) -> ValLogits:
    """The classifier answers an empty text with neutral and no complaint whatever the settings: logits
    that no offset or threshold in reach can move say the same."""
    for head in ("sentiment_post", "sentiment_review"):
        values.logits[head][values.empty] = [0.0, _UNMOVABLE, 0.0]
    values.logits["complaint"][values.empty] = [_UNMOVABLE, 0.0]
    return values


def load_val_logits(classifier: E5Classifier, data_dirs: Sequence[Path]) -> tuple[ValLogits, bool]:
    """The cached logits for this adapter and these val files, computing them when absent; and whether
    they came from the cache."""
    path = _cache_path(classifier, data_dirs)
    if path.is_file():
        with np.load(path) as data:
            loaded = ValLogits(
                dataset=data["dataset"],
                kind=data["kind"],
                gold=data["gold"],
                empty=data["empty"],
                logits={head: np.array(data[f"logits.{head}"]) for head in HEADS},
            )
        return _pin_empty(loaded), True
    computed = compute_val_logits(classifier, data_dirs)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(
        partial,
        dataset=computed.dataset,
        kind=computed.kind,
        gold=computed.gold,
        empty=computed.empty,
        **{f"logits.{head}": values for head, values in computed.logits.items()},  # type: ignore[arg-type]  # mypy reads **arrays as a possible allow_pickle=
    )
    partial.replace(path)
    return computed, False
