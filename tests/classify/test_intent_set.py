"""Intent sets that point at texts: the loader resolves refs, skips what is not there, refuses what must
not be stored; the evaluator's per-half, per-language figures on a set with known answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from monitor.classify.base import Classification, Intent, TextKind
from monitor.classify.training.evaluate import IntentScore, evaluate_intent, format_intent_scores
from monitor.classify.training.intent_set import IntentItem, half_of, load_intent_set

REPO = Path(__file__).resolve().parents[2]
SETS = [REPO / "benchmarks/data/nl_intent_eval.jsonl", REPO / "benchmarks/data/social_intent_eval.jsonl"]
SHARED_DATA = REPO.parent / "shared" / "data"


def _write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _write_jsonl(
        root / "shop_tweets" / "val.jsonl",
        [
            {"text": "@shop where is my parcel?", "label": "negative", "lang": "en"},
            {"text": "Love the new blend", "label": "positive", "lang": "en"},
        ],
    )
    _write_jsonl(
        root / "nl_thuisbezorgd_reviews" / "train.jsonl",
        [{"text": "Eten was koud.", "label": "negative", "lang": "nl"}],
    )
    return root


def test_refs_resolve_by_line_and_by_sha256(tmp_path: Path, data_root: Path) -> None:
    sha = hashlib.sha256(b"Love the new blend").hexdigest()
    path = _write_jsonl(
        tmp_path / "set.jsonl",
        [
            {"ref": "shop_tweets/val#1", "intent": "question", "lang": "en", "note": "asks"},
            {"ref": f"shop_tweets/val#{sha}", "intent": "praise", "lang": "en"},
            {"ref": "nl_thuisbezorgd_reviews/train#1", "intent": "complaint", "lang": "nl"},
            {"ref": "demo/KK_POSTS#3", "text": "Top koffie!", "intent": "praise", "lang": "nl"},
        ],
    )
    loaded = load_intent_set([path], [tmp_path / "elsewhere", data_root])
    assert loaded.skipped == []
    assert [(i.text, i.intent, i.lang, i.kind) for i in loaded.items] == [
        ("@shop where is my parcel?", "question", "en", "post"),
        ("Love the new blend", "praise", "en", "post"),
        ("Eten was koud.", "complaint", "nl", "review"),
        ("Top koffie!", "praise", "nl", "post"),
    ]
    assert [i.half for i in loaded.items] == [half_of(i.ref) for i in loaded.items]


def test_half_is_fixed_by_the_ref_and_splits_roughly_evenly() -> None:
    refs = [f"complaints/train#{n}" for n in range(1, 1001)]
    assert [half_of(ref) for ref in refs] == [half_of(ref) for ref in refs]
    dev = sum(half_of(ref) == "dev" for ref in refs)
    assert 400 < dev < 600
    # sha256("complaints/train#1") starts with an odd or even byte; pinned so the rule cannot drift.
    first = hashlib.sha256(b"complaints/train#1").digest()[0]
    assert half_of("complaints/train#1") == ("dev" if first % 2 == 0 else "test")


def test_missing_data_is_skipped_with_a_reason(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "set.jsonl",
        [
            {"ref": "shop_tweets/val#1", "intent": "question", "lang": "en"},
            {"ref": "shop_tweets/val#2", "intent": "praise", "lang": "en"},
            {"ref": "demo/BB_POSTS#1", "text": "Snel geleverd", "intent": "praise", "lang": "nl"},
        ],
    )
    loaded = load_intent_set([path], [tmp_path / "no-shared"])
    assert [i.ref for i in loaded.items] == ["demo/BB_POSTS#1"]
    assert loaded.skipped == [
        f"2 items skipped: shop_tweets/val.jsonl not found under {tmp_path / 'no-shared'}"
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"ref": "shop_tweets/test#1", "intent": "other", "lang": "en"}, "test split refused"),
        ({"ref": "shop_tweets/val#1", "text": "copied", "intent": "other", "lang": "en"}, "only demo items"),
        ({"ref": "shop_tweets/val#3", "intent": "other", "lang": "en"}, "has no line 3"),
        ({"ref": f"shop_tweets/val#{'0' * 64}", "intent": "other", "lang": "en"}, "has sha256"),
        ({"ref": "shop_tweets/val#1", "intent": "rant", "lang": "en"}, "intent must be one of"),
        ({"ref": "shop_tweets/val", "intent": "other", "lang": "en"}, "ref must look like"),
        ({"ref": "demo/KK_POSTS#1", "intent": "other", "lang": "nl"}, "carries its text"),
        ({"ref": "shop_tweets/val#1", "intent": "other"}, "lang is missing"),
    ],
)
def test_malformed_or_forbidden_lines_are_refused(
    tmp_path: Path, data_root: Path, row: dict[str, object], message: str
) -> None:
    path = _write_jsonl(tmp_path / "set.jsonl", [row])
    with pytest.raises(ValueError, match=message):
        load_intent_set([path], [data_root])


def test_a_ref_twice_is_refused(tmp_path: Path, data_root: Path) -> None:
    row = {"ref": "shop_tweets/val#1", "intent": "question", "lang": "en"}
    first = _write_jsonl(tmp_path / "a.jsonl", [row])
    second = _write_jsonl(tmp_path / "b.jsonl", [row])
    with pytest.raises(ValueError, match="occurs twice"):
        load_intent_set([first, second], [data_root])


class _AnswerKey:
    """Answers each text with the intent written after its '=>' (a set with known answers)."""

    name = "answer-key"
    version = "1"

    def classify(
        self,
        texts: Sequence[str],
        *,
        hint_langs: Sequence[str | None] | None = None,
        hint_kinds: Sequence[TextKind | None] | None = None,
    ) -> list[Classification]:
        intents: list[Intent] = [text.split("=>")[1] for text in texts]  # type: ignore[misc]
        return [Classification("neutral", 1.0, 0.0, "und", intent, 1.0) for intent in intents]


def _item(n: int, lang: str, gold: Intent, predicted: str, half: str) -> IntentItem:
    return IntentItem(f"x/val#{n}", f"text {n} =>{predicted}", gold, lang, "post", half)  # type: ignore[arg-type]


def test_evaluator_reports_each_half_and_language() -> None:
    items = [
        # dev, en: complaints 2 gold, predicted complaint for 1 of them and for 1 praise.
        _item(1, "en", "complaint", "complaint", "dev"),
        _item(2, "en", "complaint", "other", "dev"),
        _item(3, "en", "praise", "complaint", "dev"),
        _item(4, "en", "question", "question", "dev"),
        # dev, nl: all right.
        _item(5, "nl", "complaint", "complaint", "dev"),
        _item(6, "nl", "praise", "praise", "dev"),
        # test, nl only.
        _item(7, "nl", "question", "other", "test"),
        _item(8, "nl", "other", "other", "test"),
    ]
    scores = evaluate_intent(_AnswerKey(), items)
    by_key: dict[tuple[str, str, str], IntentScore] = {(s.half, s.lang, s.intent): s for s in scores}
    assert sorted({(s.half, s.lang) for s in scores}) == [
        ("dev", "all"),
        ("dev", "en"),
        ("dev", "nl"),
        ("test", "nl"),
    ]
    en = by_key["dev", "en", "complaint"]
    assert (en.gold, en.predicted, en.precision, en.recall, en.praise_as_complaint) == (2, 2, 0.5, 0.5, 1)
    nl = by_key["dev", "nl", "complaint"]
    assert (nl.gold, nl.predicted, nl.precision, nl.recall, nl.praise_as_complaint) == (1, 1, 1.0, 1.0, 0)
    both = by_key["dev", "all", "complaint"]
    assert (both.gold, both.predicted, both.precision, both.recall) == (
        3,
        3,
        pytest.approx(2 / 3),
        pytest.approx(2 / 3),
    )
    assert by_key["dev", "all", "praise"].recall == 0.5
    assert by_key["dev", "en", "question"].precision == 1.0
    question = by_key["test", "nl", "question"]
    assert (question.gold, question.predicted, question.recall) == (1, 0, 0.0)
    assert by_key["test", "nl", "other"].precision == 0.5

    table = format_intent_scores(scores).splitlines()
    assert table[0].split() == ["dev:", "lang", "intent", "gold", "pred", "P", "R", "F1"]
    assert "dev: en   complaint      2     2  50.0  50.0  50.0" in table
    assert "dev: en   praise read as complaint: 1 of 1" in table
    assert "test: nl   question       1     0     -   0.0   0.0" in table


def test_committed_sets_hold_references_only() -> None:
    """The loader's rules hold for the committed files: third-party texts are references, never copies."""
    loaded = load_intent_set(SETS, [])
    assert loaded.items and all(item.ref.startswith("demo/") for item in loaded.items)
    rows = [json.loads(line) for path in SETS for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(("text" in row) == row["ref"].startswith("demo/") for row in rows)
    questions = sum(row["intent"] == "question" for row in rows)
    assert questions >= 0.15 * len(rows)
    assert {row["lang"] for row in rows} == {"en", "nl"}


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not here")
def test_committed_sets_resolve_against_shared_data() -> None:
    loaded = load_intent_set(SETS, [SHARED_DATA])
    assert loaded.skipped == []
    assert len({item.text for item in loaded.items}) == len(loaded.items)
