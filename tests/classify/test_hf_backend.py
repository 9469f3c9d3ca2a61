"""The transformers backend on tiny BERT models built here, with weights set so every outcome is known.

Each model's output depends only on its first token: "good" pushes the labels by their `polarity`
(times tanh(2.83) ~ 0.993), "bad" pushes the opposite way, and any other first token leaves the logits
at the classifier bias exactly, so the probabilities of a text starting with "meh" are the softmax of
the bias.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the transformers backend needs torch: pip install torch==2.13.0")
pytest.importorskip(
    "transformers", reason="the transformers backend needs transformers: pip install transformers"
)

from tokenizers import Tokenizer  # noqa: E402
from tokenizers.models import WordLevel  # noqa: E402
from tokenizers.normalizers import Lowercase  # noqa: E402
from tokenizers.pre_tokenizers import Whitespace  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast  # noqa: E402

from monitor.classify.hf_backend import LabelTarget, TransformersClassifier, map_labels  # noqa: E402
from monitor.errors import ClassifierError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
VOCAB = ["[PAD]", "[UNK]", "[EOS]", "good", "bad", "meh", "service", "delivery", "was", "very", "slow", "the"]
HIDDEN = 16
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _logs(*probabilities: float) -> list[float]:
    return [math.log(p) for p in probabilities]


def _tokenizer(*, with_pad: bool) -> PreTrainedTokenizerFast:
    backend = Tokenizer(WordLevel(vocab={word: i for i, word in enumerate(VOCAB)}, unk_token="[UNK]"))
    backend.normalizer = Lowercase()
    backend.pre_tokenizer = Whitespace()
    special = {"unk_token": "[UNK]", "eos_token": "[EOS]"} | ({"pad_token": "[PAD]"} if with_pad else {})
    return PreTrainedTokenizerFast(tokenizer_object=backend, **special)  # type: ignore[no-untyped-call]


def save_tiny_model(
    directory: Path,
    labels: Sequence[str],
    *,
    bias: Sequence[float],
    polarity: Sequence[float],
    with_pad: bool = True,
) -> Path:
    """A 1-layer BERT whose attention and feed-forward add nothing, so logits = polarity * s + bias.

    s is tanh of the first token's normalised embedding: +0.993 for "good", -0.993 for "bad", 0 otherwise.
    """
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=HIDDEN,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.fill_(1.0)
        embeddings = model.bert.embeddings.word_embeddings.weight
        embeddings[VOCAB.index("good"), :2] = torch.tensor([1.0, -1.0])
        embeddings[VOCAB.index("bad"), :2] = torch.tensor([-1.0, 1.0])
        assert model.bert.pooler is not None
        model.bert.pooler.dense.weight.copy_(torch.eye(HIDDEN))
        model.classifier.weight[:, 0] = torch.tensor(polarity)
        model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(directory)
    _tokenizer(with_pad=with_pad).save_pretrained(directory)
    return directory


def save_three_class(directory: Path, *, with_pad: bool = True) -> Path:
    """negative, neutral, positive; "meh" gives (0.2, 0.5, 0.3)."""
    labels = ["negative", "neutral", "positive"]
    return save_tiny_model(
        directory, labels, bias=_logs(0.2, 0.5, 0.3), polarity=[-8, 0, 8], with_pad=with_pad
    )


# labels, bias, polarity, and the sentiment, confidence and score of "meh"
VARIANTS = {
    "generic-2": (["LABEL_0", "LABEL_1"], _logs(0.3, 0.7), [-8, 8], ("positive", 0.7, 0.4)),
    "NEG/POS": (["NEG", "POS"], _logs(0.6, 0.4), [-8, 8], ("negative", 0.6, -0.2)),
    "positive-first": (["positive", "negative"], _logs(0.7, 0.3), [8, -8], ("positive", 0.7, 0.4)),
    "Pos/Neg/Neu": (["Pos", "Neg", "Neu"], _logs(0.2, 0.3, 0.5), [8, -8, 0], ("neutral", 0.5, -0.1)),
    "generic-3": (
        ["LABEL_0", "LABEL_1", "LABEL_2"],
        _logs(0.25, 0.6, 0.15),
        [-8, 0, 8],
        ("neutral", 0.6, -0.1),
    ),
    "stars": (
        ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"],
        _logs(0.1, 0.2, 0.3, 0.25, 0.15),
        [-8, -4, 0, 4, 8],
        ("positive", 0.4, 0.1),
    ),
    "stars-reversed": (
        ["5 stars", "4 stars", "3 stars", "2 stars", "1 star"],
        _logs(0.15, 0.25, 0.3, 0.2, 0.1),
        [8, 4, 0, -4, -8],
        ("positive", 0.4, 0.1),
    ),
    "generic-5": (
        ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3", "LABEL_4"],
        _logs(0.3, 0.3, 0.1, 0.2, 0.1),
        [-8, -4, 0, 4, 8],
        ("negative", 0.6, -0.3),
    ),
    "very-negative..very-positive": (
        ["Very Negative", "Negative", "Neutral", "Positive", "Very Positive"],
        _logs(0.05, 0.1, 0.45, 0.2, 0.2),
        [-8, -4, 0, 4, 8],
        ("neutral", 0.45, 0.25),
    ),
}


@pytest.fixture(scope="module")
def three_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_three_class(tmp_path_factory.mktemp("three-class"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_labels_map_from_the_model_config(tmp_path: Path, variant: str) -> None:
    labels, bias, polarity, (sentiment, confidence, score) = VARIANTS[variant]
    classifier = TransformersClassifier(str(save_tiny_model(tmp_path, labels, bias=bias, polarity=polarity)))

    good, bad, meh = classifier.classify(["good service", "bad service", "meh"], hint_langs=["en"] * 3)

    assert (good.sentiment, bad.sentiment) == ("positive", "negative")
    assert good.score > 0.99 and bad.score < -0.99
    assert meh.sentiment == sentiment
    assert (meh.confidence, meh.score) == pytest.approx((confidence, score), abs=1e-6)


def test_classification_fields_and_intent(three_class: Path) -> None:
    texts = ["Good service, thanks", "bad delivery", "meh delivery was slow?", "meh", ""]
    classifier = TransformersClassifier(str(three_class))

    results = classifier.classify(texts, hint_langs=["en", "en", "en", "nl", None])

    assert [(r.sentiment, r.intent, r.lang) for r in results] == [
        ("positive", "praise", "en"),
        ("negative", "other", "en"),
        ("neutral", "question", "en"),
        ("neutral", "other", "nl"),
        ("neutral", "other", "und"),
    ]
    praise, negative, question, meh, empty = results
    p_positive = classifier.probabilities(texts)[:, 2]
    assert praise.intent_confidence == praise.confidence == p_positive[0]
    assert negative.intent_confidence == 1.0 - p_positive[1]
    assert question.intent_confidence == 1.0
    assert (meh.confidence, meh.score, meh.intent_confidence) == pytest.approx((0.5, 0.1, 0.7), abs=1e-6)
    assert (empty.confidence, empty.score) == (1.0, 0.0)
    for result in results:
        assert 0.0 <= result.confidence <= 1.0 and 0.0 <= result.intent_confidence <= 1.0
        assert -1.0 <= result.score <= 1.0


def test_batches_sorted_by_length_keep_the_input_order(three_class: Path) -> None:
    texts = [
        "good",
        "bad service was very slow",
        "meh",
        "good delivery very good",
        "bad",
        "the service",
        "good good good good good good",
        "bad bad",
    ]
    expected = ["positive", "negative", "neutral", "positive", "negative", "neutral", "positive", "negative"]
    batched = TransformersClassifier(str(three_class), batch_size=3).probabilities(texts)
    one_by_one = TransformersClassifier(str(three_class), batch_size=1).probabilities(texts)

    assert [("negative", "neutral", "positive")[row.argmax()] for row in batched] == expected
    assert batched.tolist() == [pytest.approx(row, abs=1e-6) for row in one_by_one.tolist()]


def test_a_tokenizer_without_pad_token_pads_with_its_end_token(tmp_path: Path) -> None:
    classifier = TransformersClassifier(str(save_three_class(tmp_path, with_pad=False)))

    sentiments = [
        r.sentiment for r in classifier.classify(["good", "bad service was slow"], hint_langs=["en"] * 2)
    ]

    assert sentiments == ["positive", "negative"]


def test_one_instance_serves_threads(three_class: Path) -> None:
    classifier = TransformersClassifier(str(three_class), batch_size=2, threads=1)
    texts = ["good service", "bad", "meh", "the delivery was very slow"]
    torch_threads = torch.get_num_threads()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: classifier.probabilities(texts).tolist(), range(4)))
    results.append(classifier.probabilities(texts).tolist())

    assert all(result == results[0] for result in results)
    assert torch.get_num_threads() == torch_threads  # `threads` applies while the model runs, then no more


def test_unknown_labels_name_the_labels_and_the_label_map_fix(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path, ["joy", "anger"], bias=[0.0, 0.0], polarity=[8, -8])

    with pytest.raises(ClassifierError) as raised:
        TransformersClassifier(str(model)).classify(["good"])

    message = str(raised.value)
    assert "['joy', 'anger']" in message
    assert '[classifier] label_map = { "joy" = "negative|neutral|positive|ignore"' in message


def test_label_map_maps_any_labels_and_ignores_some(tmp_path: Path) -> None:
    labels = ["joy", "anger", "spam"]
    model = save_tiny_model(tmp_path, labels, bias=_logs(0.3, 0.2, 0.5), polarity=[8, -8, 0])
    label_map = {"joy": "positive", "anger": "negative", "spam": "ignore"}

    good, meh = TransformersClassifier(str(model), label_map=label_map).classify(
        ["good service", "meh"], hint_langs=["en", "en"]
    )

    assert good.sentiment == "positive"
    # spam's 0.5 is dropped: positive 0.3 / 0.5, negative 0.2 / 0.5
    assert meh.sentiment == "positive"
    assert (meh.confidence, meh.score) == pytest.approx((0.6, 0.2), abs=1e-6)


@pytest.mark.parametrize(
    ("labels", "label_map", "expected"),
    [
        (["a", "b"], {"a": "negative", "b": "positive"}, ("negative", "positive")),
        (["neg", "NEU", "Pos"], None, ("negative", "neutral", "positive")),
        (["LABEL_0", "LABEL_1"], None, ("negative", "positive")),
        (
            ["x", "LABEL_1", "y"],
            {"x": "positive", "LABEL_1": "ignore", "y": "negative"},
            ("positive", None, "negative"),
        ),
    ],
)
def test_map_labels(
    labels: list[str], label_map: dict[str, LabelTarget] | None, expected: tuple[str | None, ...]
) -> None:
    assert map_labels(labels, label_map=label_map) == expected


@pytest.mark.parametrize(
    ("labels", "label_map", "message"),
    [
        (
            ["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"],
            None,
            "wom cannot tell what ['LABEL_0', 'LABEL_1', 'LABEL_2'",
        ),
        (["LABEL_1", "LABEL_0"], None, "wom cannot tell what ['LABEL_1', 'LABEL_0'] mean"),
        (["1 star", "2 stars", "3 stars", "4 stars", "other"], None, "wom cannot tell what ['1 star'"),
        (["neutral", "positive"], None, "needs at least one negative and one positive label"),
        (["a", "b"], {"a": "negative"}, "missing ['b'], not a label of the model []"),
        (
            ["a", "b"],
            {"a": "negative", "b": "positive", "c": "ignore"},
            "missing [], not a label of the model ['c']",
        ),
    ],
)
def test_map_labels_refuses_what_it_cannot_know(
    labels: list[str], label_map: dict[str, LabelTarget] | None, message: str
) -> None:
    with pytest.raises(ClassifierError, match="label_map") as raised:
        map_labels(labels, label_map=label_map, model="m")
    assert message in str(raised.value)


def test_label_map_targets_are_checked_at_construction() -> None:
    with pytest.raises(ClassifierError, match=r"label_map maps \{'a': 'good'\} to unknown targets"):
        TransformersClassifier("owner/model", label_map={"a": "good", "b": "positive"})


def test_name_and_version_of_a_local_directory(tmp_path: Path) -> None:
    copy = save_three_class(tmp_path / "copy")
    classifier = TransformersClassifier(str(copy))
    version = classifier.version

    assert classifier.name == f"transformers:{copy}"
    assert version.startswith("local-") and len(version) == len("local-") + 12
    assert TransformersClassifier(str(copy)).version == version
    weights = copy / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1_000_000_000))
    assert TransformersClassifier(str(copy)).version != version


@pytest.mark.parametrize("path", ["{tmp}/missing", "./missing", "models/a/b"])
def test_missing_local_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ClassifierError, match="does not exist; point \\[classifier\\] model at a directory"):
        TransformersClassifier(path.format(tmp=tmp_path)).classify(["good"])


def test_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match=r"has no config\.json"):
        _ = TransformersClassifier(str(tmp_path)).version


def test_missing_torch_or_transformers_says_what_to_install(
    three_class: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)

    with pytest.raises(ClassifierError) as raised:
        TransformersClassifier(str(three_class)).classify(["good"])

    assert "pip install torch==2.13.0 first (the CPU build), then pip install transformers" in str(
        raised.value
    )


_OFFLINE_SCRIPT = """
import json, sys
from monitor.classify.hf_backend import TransformersClassifier
from monitor.errors import ClassifierError

cached = TransformersClassifier("wom-test/tiny-sentiment")
out = {"version": cached.version, "good": cached.probabilities(["good service"]).tolist()[0]}
try:
    TransformersClassifier("wom-test/not-downloaded").probabilities(["good"])
except ClassifierError as e:
    out["error"] = str(e)
print(json.dumps(out))
"""


def test_hub_model_offline_uses_the_cache_or_says_how_to_pre_download(tmp_path: Path) -> None:
    # HF_HUB_OFFLINE and HF_HOME are read when huggingface_hub is imported, hence a fresh process.
    hf_home = tmp_path / "hf-home"
    repo = hf_home / "hub" / "models--wom-test--tiny-sentiment"
    save_three_class(repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "TRANSFORMERS_"))}
    env |= {"HF_HUB_OFFLINE": "1", "HF_HOME": str(hf_home), "PYTHONWARNINGS": "error"}

    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["version"] == COMMIT
    assert out["good"][2] > 0.99
    assert out["error"].startswith(
        "model 'wom-test/not-downloaded' is not in the local Hugging Face cache and cannot be fetched from the Hub"
    )
    assert "pre-download it with `hf download wom-test/not-downloaded`" in out["error"]
    assert "`huggingface-cli download wom-test/not-downloaded`" in out["error"]
    assert f"set HF_HOME to the copy (models are read from {hf_home / 'hub'} now)" in out["error"]
    assert "set [classifier] model to that directory" in out["error"]
