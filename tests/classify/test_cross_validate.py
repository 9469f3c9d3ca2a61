"""Cross-validating the settings chosen on val: folds, leakage, shrink, and predictions that mirror the
classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.classify.training.calibrate import (
    _mean_primary_by_dataset,
    choose_sentiment_offsets,
    primary_metric,
)
from monitor.classify.training.cross_validate import (
    SHRINK_HEADS,
    UNCALIBRATED,
    Calibration,
    choose_calibration,
    cross_validate,
    metadata_with,
    predict,
    stratified_folds,
)
from monitor.classify.training.val_logits import ValLogits

SENTIMENT_SETS = ("tweeteval_sentiment", "xlmt_sentiment/de", "nl_bol_product_reviews")
GRID = np.round(np.arange(-1.0, 1.01, 0.25), 2)


def _synthetic(seed: int = 0, per_set: int = 60) -> ValLogits:
    """Logits that lean to the gold class with noise, plus a bias per head that an offset can correct."""
    rng = np.random.default_rng(seed)
    datasets, kinds, gold, rows = [], [], [], []
    for name in SENTIMENT_SETS:
        labels = rng.integers(0, 3, per_set)
        datasets += [name] * per_set
        kinds += ["review" if name.startswith("nl_bol") else "post"] * per_set
        gold += labels.tolist()
        rows.append(labels)
    complaint_gold = rng.integers(0, 2, per_set)
    datasets += ["complaints"] * per_set
    kinds += ["post"] * per_set
    gold += complaint_gold.tolist()
    n = len(gold)
    gold_array = np.array(gold, dtype=np.int64)
    is_complaint = np.array([d == "complaints" for d in datasets])
    sentiment = rng.normal(0.0, 1.0, (n, 3)).astype(np.float32)
    sentiment[~is_complaint, gold_array[~is_complaint]] += 1.2
    sentiment[:, 1] += 0.6  # a neutral bias for the offsets to remove
    complaint = rng.normal(0.0, 1.0, (n, 2)).astype(np.float32)
    complaint[is_complaint, 1] += 1.5 * gold_array[is_complaint] - 0.8
    return ValLogits(
        dataset=np.array(datasets),
        kind=np.array(kinds),
        gold=gold_array,
        empty=np.zeros(n, dtype=bool),
        logits={"sentiment_post": sentiment, "sentiment_review": sentiment.copy(), "complaint": complaint},
    )


def test_folds_are_stratified_by_dataset_and_label_and_fixed_by_the_seed() -> None:
    values = _synthetic()
    folds = stratified_folds(values.dataset, values.gold, 5, seed=3)
    assert set(folds.tolist()) == set(range(5))
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
    for name in set(values.dataset.tolist()):
        for label in set(values.gold[values.dataset == name].tolist()):
            counts = np.bincount(folds[(values.dataset == name) & (values.gold == label)], minlength=5)
            assert counts.max() - counts.min() <= 1
    assert np.array_equal(folds, stratified_folds(values.dataset, values.gold, 5, seed=3))
    assert not np.array_equal(folds, stratified_folds(values.dataset, values.gold, 5, seed=4))


def test_held_out_items_never_choose_their_own_settings() -> None:
    """Relabelling one fold's items must not move any prediction for that fold out of fold (the
    settings that score it were chosen without it), while it does move the in-sample choice."""
    values = _synthetic()
    report = cross_validate(values, k=4, seed=0, grid=GRID)
    held_out = report.folds == 0
    relabelled = ValLogits(
        dataset=values.dataset,
        kind=values.kind,
        gold=np.where(held_out & ~values.is_complaint, 2, np.where(held_out, 1, values.gold)),
        empty=values.empty,
        logits=values.logits,
    )
    again = cross_validate(relabelled, k=4, seed=0, grid=GRID, folds=report.folds)
    for column in ("cv", "cv_s=0.5", "cv_nested"):
        assert np.array_equal(again.predictions[column][held_out], report.predictions[column][held_out])
    assert not np.array_equal(again.predictions["in_sample"], report.predictions["in_sample"])


def test_a_shrink_of_zero_is_the_uncalibrated_model() -> None:
    values = _synthetic()
    chosen = choose_calibration(values, np.ones(len(values), dtype=bool), GRID)
    assert any(np.abs(offsets).sum() > 0 for offsets in chosen.offsets.values())
    zero = chosen.shrunk(dict.fromkeys(SHRINK_HEADS, 0.0))
    assert zero.complaint_threshold == pytest.approx(0.5)
    assert all(not np.any(offsets) for offsets in zero.offsets.values())
    assert np.array_equal(predict(values, zero), predict(values, UNCALIBRATED))
    report = cross_validate(values, k=4, seed=0, grid=GRID)
    assert report.columns["cv_s=0"] == report.columns["uncalibrated"]
    assert report.columns["cv_s=1"] == report.columns["cv"]


def test_the_offsets_remove_a_bias_and_the_in_sample_figure_is_the_optimistic_one() -> None:
    values = _synthetic(per_set=90)
    report = cross_validate(values, k=5, seed=0, grid=GRID)
    assert report.in_sample.offsets["sentiment_post"][1] == 0.0
    assert report.mean("in_sample") > report.mean("uncalibrated")
    assert report.mean("in_sample") >= report.mean("cv")
    assert set(report.shrink) == set(SHRINK_HEADS)
    metadata = metadata_with({"version": "old", "lora_scale": 2.0}, report, "new", 0.25)
    assert metadata["version"] == "new" and metadata["lora_scale"] == 2.0
    assert metadata["calibration"] == report.shipped_candidate.as_metadata()
    assert metadata["calibration_cv"]["previous_version"] == "old"


def test_the_counted_score_equals_the_per_dataset_metric() -> None:
    rng = np.random.default_rng(1)
    names = ["a_set", "tweeteval_sentiment", "z_set"]
    datasets = rng.choice(names, 300)
    gold = rng.integers(0, 3, 300)
    gold[datasets == "z_set"] = np.minimum(gold[datasets == "z_set"], 1)  # a class absent from gold
    for _ in range(5):
        pred = rng.integers(0, 3, 300)
        expected = np.mean([primary_metric(n, gold[datasets == n], pred[datasets == n], 3) for n in names])
        codes = np.array([names.index(d) for d in datasets])
        by_recall = np.array([n.startswith("tweeteval") for n in names])
        assert _mean_primary_by_dataset(gold, pred, codes, by_recall) == pytest.approx(expected, abs=1e-12)
    logits = rng.normal(0, 1, (300, 3)).astype(np.float32)
    assert choose_sentiment_offsets(logits, gold, list(datasets), GRID).shape == (3,)


def test_shrinking_the_threshold_moves_its_log_odds() -> None:
    calibration = Calibration({"sentiment_post": np.array([0.4, 0.0, -0.2], np.float32)}, 0.2)
    half = calibration.shrunk({"sentiment_post": 0.5, "complaint": 0.5})
    assert half.offsets["sentiment_post"] == pytest.approx([0.2, 0.0, -0.1])
    assert half.complaint_threshold == pytest.approx(1 / (1 + np.sqrt(4.0)))


def _write(folder: Path, rows: list[dict[str, str]]) -> None:
    folder.mkdir(parents=True)
    (folder / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_predictions_on_real_logits_are_the_classifiers_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's val logits, cached, and `predict` give the sentiment and complaint answers of
    `E5Classifier.classify` with the same calibration."""
    from monitor.classify.e5_onnx import E5Classifier
    from monitor.classify.model_build import Adapter, load_adapter
    from monitor.classify.training.val_logits import load_val_logits

    monkeypatch.setenv("WOM_MODEL_CACHE", str(tmp_path / "cache"))
    texts = [
        "Still waiting for my refund, third time I ask @shop",
        "Love the new app, works great",
        "The store opens at nine",
        "Nooit meer hier bestellen, alles kapot aangekomen",
        "   ",
        "Wat een topservice, morgen al in huis!",
        "Is my order shipped yet?",
        "Meh. It's fine I guess",
    ]
    labels = ["negative", "positive", "neutral", "negative", "neutral", "positive", "neutral", "neutral"]
    _write(
        tmp_path / "data" / "tweets",
        [{"text": t, "label": lab} for t, lab in zip(texts, labels, strict=True)],
    )
    _write(
        tmp_path / "data" / "nl_bol_product_reviews",
        [{"text": t, "label": lab} for t, lab in zip(texts, labels, strict=True)],
    )
    complaint_labels = ["complaint", "not_complaint", "not_complaint", "complaint"] * 2
    _write(
        tmp_path / "data" / "complaints",
        [{"text": t, "label": c} for t, c in zip(texts, complaint_labels, strict=True)],
    )
    folders = sorted((tmp_path / "data").iterdir())
    calibration = Calibration(
        {
            "sentiment_post": np.array([0.8, 0.0, -0.6], np.float32),
            "sentiment_review": np.array([-0.5, 0.0, 0.3], np.float32),
        },
        0.3,
    )
    shipped = load_adapter()
    adapter = Adapter(
        shipped.tensors, {**shipped.metadata, "calibration": calibration.as_metadata()}, shipped.fingerprint
    )
    classifier = E5Classifier(adapter=adapter, threads=1)
    values, cached = load_val_logits(classifier, folders)
    assert not cached and load_val_logits(classifier, folders)[1]
    assert values.empty.sum() == len(folders)
    predicted = predict(values, calibration)
    for index, folder in enumerate(folders):
        kind = "review" if folder.name == "nl_bol_product_reviews" else "post"
        answers = classifier.classify(texts, hint_kinds=[kind] * len(texts))
        rows = predicted[index * len(texts) : (index + 1) * len(texts)]
        if folder.name == "complaints":
            assert rows.tolist() == [int(a.intent == "complaint") for a in answers]
        else:
            assert rows.tolist() == [("negative", "neutral", "positive").index(a.sentiment) for a in answers]
