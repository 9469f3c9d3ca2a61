"""The default classifier with the committed adapter: behaviour on texts whose answer is not in doubt."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from monitor.classify.base import Classification
from monitor.classify.e5_onnx import MODEL_NAME, E5Classifier
from monitor.classify.model_build import load_adapter
from monitor.classify.training.evaluate import evaluate
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def classifier() -> E5Classifier:
    return E5Classifier(threads=1)


def _one(classifier: E5Classifier, text: str, **hints: str) -> Classification:
    return classifier.classify(
        [text],
        hint_langs=[hints["lang"]] if "lang" in hints else None,
        hint_kinds=[hints["kind"]] if "kind" in hints else None,  # type: ignore[list-item]
    )[0]


def test_name_and_version_come_from_the_adapter(classifier: E5Classifier) -> None:
    assert classifier.name == MODEL_NAME
    assert classifier.version == load_adapter().version


@pytest.mark.parametrize(
    ("text", "lang", "sentiment", "intent"),
    [
        ("I absolutely love this coffee, best beans I ever had!", "en", "positive", "praise"),
        (
            "@KoffieKoning my order never arrived and support ignores my emails. Worst shop ever",
            "en",
            "negative",
            "complaint",
        ),
        ("Wat een heerlijke koffie, super snel geleverd. Aanrader!", "nl", "positive", "praise"),
        (
            "Al twee weken wacht ik op mijn pakket en niemand reageert. Waardeloze klantenservice!",
            "nl",
            "negative",
            "complaint",
        ),
        ("Weet iemand of jullie ook op zondag bezorgen?", "nl", "neutral", "question"),
    ],
)
def test_obvious_texts(classifier: E5Classifier, text: str, lang: str, sentiment: str, intent: str) -> None:
    result = _one(classifier, text)
    assert (result.sentiment, result.lang, result.intent) == (sentiment, lang, intent)


def test_reviews_use_the_review_head(classifier: E5Classifier) -> None:
    text = "Prima product, doet wat het moet doen."
    as_review, as_post = _one(classifier, text, kind="review"), _one(classifier, text, kind="post")
    assert as_review.score != as_post.score
    assert as_review.sentiment == "positive"


def test_fields_are_consistent(classifier: E5Classifier) -> None:
    texts = ["Geweldig!", "Vreselijk slecht", "De winkel is open", "Heel fijn", "Nooit meer"]
    for result in classifier.classify(texts):
        assert 1 / 3 <= result.confidence <= 1.0
        assert -1.0 <= result.score <= 1.0
        assert 0.0 <= result.intent_confidence <= 1.0
        if result.sentiment == "positive":
            assert result.score > 0


def test_order_duplicates_and_empty_texts(classifier: E5Classifier) -> None:
    texts = ["Great service", "", "Terrible service, never again", "Great service", "😀😀", "   "]
    results = classifier.classify(texts)
    assert len(results) == len(texts)
    assert results[0] == results[3]
    assert results[0].sentiment == "positive" and results[2].sentiment == "negative"
    for empty in (results[1], results[5]):
        assert (empty.sentiment, empty.score, empty.intent, empty.lang) == ("neutral", 0.0, "other", "und")
    assert classifier.classify([]) == []


def test_batching_changes_nothing_beyond_rounding(classifier: E5Classifier) -> None:
    texts = [
        "Super snelle levering, top!",
        "The package was damaged and support never answered",
        "Love it, best purchase ever",
        "Vreselijk slechte service, nooit meer",
        "Heerlijke koffie",
    ] * 3
    together = classifier.classify(texts)
    alone = [classifier.classify([t])[0] for t in texts[:5]]
    for a, b in zip(together[:5], alone, strict=True):
        assert a.sentiment == b.sentiment and a.intent == b.intent
        assert abs(a.score - b.score) < 0.05


def test_one_answer_per_text_whatever_its_batch() -> None:
    """Alone, in a batch of 16 and in one of 256 (texts of 3 to 100+ tokens, so short texts sit beside much
    padding): the same label and scores within 1e-3. The dynamically quantised int8 model of builder 2
    failed this: activation scales taken over the whole padded batch moved about 5 % of labels."""
    demo = Path(__file__).resolve().parents[2] / "monitor" / "demo" / "sample_mentions.jsonl"
    lines = demo.read_text(encoding="utf-8").splitlines()
    short = [
        "Top!",
        "Nooit meer",
        "Great service",
        "Waardeloos",
        "meh",
        "Love it",
        "Waar blijft mijn pakket?",
    ]
    texts = (short + list(dict.fromkeys(json.loads(line)["text"] for line in lines if line)))[:256]
    assert len(set(texts)) == 256 and min(map(len, texts)) < 10 and max(map(len, texts)) > 200
    alone = E5Classifier(threads=1, batch_size=1)
    by_16 = E5Classifier(threads=2, batch_size=16)
    by_256 = E5Classifier(threads=1, batch_size=256)
    runs = [
        [alone.classify([text])[0] for text in texts],
        [r for start in range(0, 256, 16) for r in by_16.classify(texts[start : start + 16])],
        by_256.classify(texts),
    ]
    for other in runs[1:]:
        for text, a, b in zip(texts, runs[0], other, strict=True):
            assert (a.sentiment, a.intent, a.lang) == (b.sentiment, b.intent, b.lang), text
            assert abs(a.score - b.score) < 1e-3 and abs(a.confidence - b.confidence) < 1e-3, text
            assert abs(a.intent_confidence - b.intent_confidence) < 1e-3, text


def test_language_hint_is_used_when_plausible(classifier: E5Classifier) -> None:
    assert _one(classifier, "Top!", lang="nl").lang == "nl"
    assert _one(classifier, "Where is my order? I paid a week ago", lang="nl").lang == "en"


def test_bad_arguments(classifier: E5Classifier) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        classifier.classify("one text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hint_langs"):
        classifier.classify(["a", "b"], hint_langs=["en"])
    with pytest.raises(ValueError, match="hint_kinds"):
        classifier.classify(["a", "b"], hint_kinds=["post"])
    with pytest.raises(ValueError, match="at least 1"):
        E5Classifier(batch_size=0)


def test_one_instance_shared_between_threads() -> None:
    fresh = E5Classifier(threads=1)  # the session is not loaded yet: threads race to load it
    texts = ["Heerlijk!", "Waardeloos", "Prima"]
    results: list[list[Classification]] = []
    workers = [threading.Thread(target=lambda: results.append(fresh.classify(texts))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 3 and results[0] == results[1] == results[2]


# Floors a few points under what the shipped adapter measures on these val slices (shown after each
# assertion), so that a broken build, tokenizer or quantisation fails here rather than in production.
def test_quality_floor_tweeteval(classifier: E5Classifier) -> None:
    (score,) = evaluate(classifier, [shared_path("data", "tweeteval_sentiment")], limit=400)
    assert score.macro_recall >= 0.71  # measured 0.744


def test_quality_floor_dutch_reviews(classifier: E5Classifier) -> None:
    bol, thuisbezorgd = evaluate(
        classifier,
        [shared_path("data", "nl_bol_product_reviews"), shared_path("data", "nl_thuisbezorgd_reviews")],
        limit=300,
    )
    assert bol.neg_pos_accuracy is not None and bol.neg_pos_accuracy >= 0.85  # measured 0.885
    assert thuisbezorgd.neg_pos_accuracy is not None and thuisbezorgd.neg_pos_accuracy >= 0.88


def test_quality_floor_complaints(classifier: E5Classifier) -> None:
    (score,) = evaluate(classifier, [shared_path("data", "complaints")])
    assert score.macro_f1 >= 0.87  # measured 0.908
