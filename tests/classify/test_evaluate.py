"""Metrics on hand-computed cases, and evaluate() on the real classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.classify.base import Intent
from monitor.classify.e5_onnx import E5Classifier
from monitor.classify.training.datasets import dataset_name, find_data_dirs
from monitor.classify.training.evaluate import (
    accuracy,
    binary_prf,
    evaluate,
    evaluate_intent,
    format_intent_scores,
    format_scores,
    macro_f1,
    macro_recall,
    neg_pos_accuracy,
    score_complaints,
    score_sentiment,
)
from monitor.classify.training.intent_set import IntentItem

GOLD = ["negative", "negative", "neutral", "positive", "positive", "positive"]
PRED = ["negative", "neutral", "neutral", "positive", "negative", "positive"]


def test_three_class_metrics_by_hand() -> None:
    # Recall: negative 1/2, neutral 1/1, positive 2/3. Precision: negative 1/2, neutral 1/2, positive 2/2.
    # F1: negative 1/2, neutral 2/3, positive 4/5.
    assert macro_recall(GOLD, PRED) == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    assert macro_recall(GOLD, PRED) == pytest.approx(13 / 18)
    assert macro_f1(GOLD, PRED) == pytest.approx(59 / 90)
    assert accuracy(GOLD, PRED) == pytest.approx(4 / 6)


def test_label_only_predicted_counts_with_zero_recall() -> None:
    # Labels are the union of gold and predicted, as scikit-learn's default: b has no gold item.
    assert macro_recall(["a", "a"], ["a", "b"]) == pytest.approx(0.25)
    assert macro_f1(["a", "a"], ["a", "b"]) == pytest.approx((2 / 3 + 0) / 2)
    assert accuracy(["a", "a"], ["a", "b"]) == pytest.approx(0.5)


def test_perfect_and_empty() -> None:
    assert macro_recall(GOLD, GOLD) == 1.0
    assert macro_f1(GOLD, GOLD) == 1.0
    assert accuracy(GOLD, GOLD) == 1.0
    assert macro_recall([], []) == 0.0
    assert macro_f1([], []) == 0.0
    assert accuracy([], []) == 0.0


def test_misaligned_inputs_raise() -> None:
    with pytest.raises(ValueError, match="3 gold labels but 2 predictions"):
        accuracy(["a", "b", "c"], ["a", "b"])


def test_binary_prf_by_hand() -> None:
    gold = ["complaint", "complaint", "not_complaint", "not_complaint", "complaint"]
    pred = ["complaint", "not_complaint", "complaint", "not_complaint", "complaint"]
    assert binary_prf(gold, pred, "complaint") == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert binary_prf(gold, ["not_complaint"] * 5, "complaint") == (0.0, 0.0, 0.0)
    assert binary_prf(
        ["complaint", "not_complaint"], ["complaint", "complaint"], "complaint"
    ) == pytest.approx((0.5, 1.0, 2 / 3))


def test_neg_pos_accuracy_by_hand() -> None:
    gold = ["negative", "positive", "neutral", "positive", "negative"]
    scores = [-0.5, 0.2, 0.9, 0.0, 0.1]
    # Neutral item ignored; a score of exactly 0 is wrong; the last item has the wrong sign.
    assert neg_pos_accuracy(gold, scores) == (4, 0.5)
    assert neg_pos_accuracy(["neutral"], [0.3]) == (0, None)


def test_metrics_agree_with_scikit_learn() -> None:
    sklearn_metrics = pytest.importorskip(
        "sklearn.metrics", reason="scikit-learn is in the [train]/[dev] extras"
    )
    rng = np.random.default_rng(0)
    labels = np.array(["negative", "neutral", "positive"])
    for _ in range(20):
        gold = labels[rng.integers(0, 3, 60)].tolist()
        pred = labels[rng.integers(0, 3, 60)].tolist()
        assert macro_recall(gold, pred) == pytest.approx(
            sklearn_metrics.recall_score(gold, pred, average="macro")
        )
        assert macro_f1(gold, pred) == pytest.approx(sklearn_metrics.f1_score(gold, pred, average="macro"))
        assert accuracy(gold, pred) == pytest.approx(sklearn_metrics.accuracy_score(gold, pred))


def test_score_rows() -> None:
    row = score_sentiment("set", "nl", "val", gold=GOLD, pred=PRED, scores=[-1, -0.2, 0, 0.5, -0.1, 0.3])
    assert (row.dataset, row.lang, row.split, row.n, row.neg_pos_n) == ("set", "nl", "val", 6, 5)
    assert (row.accuracy, row.macro_recall, row.macro_f1) == pytest.approx((4 / 6, 13 / 18, 59 / 90))
    assert row.neg_pos_accuracy == pytest.approx(4 / 5)
    assert (row.complaint_precision, row.complaint_recall, row.complaint_f1) == (None, None, None)
    complaints = score_complaints(
        "complaints", "en", "val", gold=["complaint", "not_complaint"], pred=["complaint", "complaint"]
    )
    assert (complaints.complaint_precision, complaints.complaint_recall) == (0.5, 1.0)
    assert complaints.neg_pos_accuracy is None
    table = format_scores([row, complaints])
    assert table.splitlines()[1].split() == [
        "set",
        "nl",
        "6",
        "72.2",
        "65.6",
        "66.7",
        "80.0",
        "-",
        "-",
        "-",
        "-",
    ]


def test_dataset_names(tmp_path: Path) -> None:
    assert dataset_name(Path("/data/xlmt_sentiment/de")) == "xlmt_sentiment/de"
    assert dataset_name(Path("/data/tweeteval_sentiment")) == "tweeteval_sentiment"
    for folder in ("b_set", "a_set", "x/de"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "val.jsonl").write_text("", encoding="utf-8")
    root = tmp_path.resolve()
    assert find_data_dirs([tmp_path], "val") == [root / "a_set", root / "b_set", root / "x" / "de"]
    assert find_data_dirs([tmp_path, tmp_path / "a_set"], "val") == [
        root / "a_set",
        root / "b_set",
        root / "x" / "de",
    ]
    assert find_data_dirs([tmp_path], "train") == []


def _write(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"text": text, "label": label, "lang": lang}, ensure_ascii=False)
        for text, label, lang in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def classifier() -> E5Classifier:
    return E5Classifier()


def test_evaluate_real_classifier_on_obvious_items(tmp_path: Path, classifier: E5Classifier) -> None:
    _write(
        tmp_path / "shop_reviews" / "val.jsonl",
        [
            ("I love this shop, fantastic service and super fast delivery!", "positive", "en"),
            ("Worst customer service ever, I am never ordering here again.", "negative", "en"),
            ("Geweldige winkel, snelle levering en vriendelijke service!", "positive", "nl"),
            ("Teleurgesteld, de kwaliteit is waardeloos en de levering te laat.", "negative", "nl"),
            ("Heel blij met mijn nieuwe jas, past perfect.", "positive", "nl"),
        ],
    )
    _write(
        tmp_path / "complaints" / "val.jsonl",
        [
            (
                "@AmazonHelp my package still hasn't arrived after two weeks and nobody answers my emails",
                "complaint",
                "en",
            ),
            ("Happy birthday to my best friend, have a great day!", "not_complaint", "en"),
        ],
    )
    scores = evaluate(classifier, [tmp_path / "shop_reviews", tmp_path / "complaints"])
    assert [s.lang_accuracy for s in scores] == [1.0, 1.0, 1.0]
    assert [(s.dataset, s.lang, s.n) for s in scores] == [
        ("shop_reviews", "en", 2),
        ("shop_reviews", "nl", 3),
        ("complaints", "en", 2),
    ]
    for row in scores[:2]:
        assert (row.accuracy, row.macro_recall, row.macro_f1, row.neg_pos_accuracy) == (1.0, 1.0, 1.0, 1.0)
        assert row.complaint_f1 is None
    assert (scores[2].complaint_precision, scores[2].complaint_recall, scores[2].complaint_f1) == (
        1.0,
        1.0,
        1.0,
    )
    assert scores[2].neg_pos_accuracy is None

    limited = evaluate(classifier, [tmp_path / "shop_reviews"], limit=2)
    assert [(s.lang, s.n) for s in limited] == [("en", 2)]


def test_evaluate_missing_split(tmp_path: Path, classifier: E5Classifier) -> None:
    with pytest.raises(FileNotFoundError, match=r"test\.jsonl does not exist"):
        evaluate(classifier, [tmp_path], split="test")


def test_evaluate_intent_on_a_labelled_set(classifier: E5Classifier) -> None:
    texts: list[tuple[str, Intent]] = [
        ("Al twee weken wacht ik op mijn pakket en niemand reageert op mijn mails. Waardeloos!", "complaint"),
        ("Wat een heerlijke koffie, de beste die ik ooit heb gehad!", "praise"),
        ("Weet iemand of jullie ook op zondag bezorgen?", "question"),
    ]
    items = [
        IntentItem(f"demo/X#{n}", text, intent, "nl", "post", "dev") for n, (text, intent) in enumerate(texts)
    ]
    scores = {s.intent: s for s in evaluate_intent(classifier, items) if s.lang == "nl"}
    assert (
        scores["complaint"].gold,
        scores["praise"].gold,
        scores["question"].gold,
        scores["other"].gold,
    ) == (1, 1, 1, 0)
    assert scores["question"].recall == 1.0 and scores["praise"].recall == 1.0
    table = format_intent_scores(list(scores.values()))
    assert table.splitlines()[0].split() == ["dev:", "lang", "intent", "gold", "pred", "P", "R", "F1"]
