"""Fine-tuning end to end on a tiny dataset: pack, train on CPU, adapter, build, classify."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="fine-tuning needs torch: pip install torch==2.13.0")

from monitor.classify.e5_onnx import E5Classifier
from monitor.classify.model_build import load_adapter
from monitor.classify.training.data import pack_from_folders
from monitor.classify.training.finetune import TrainSettings, save_result, train
from monitor.classify.training.pack import TASKS, load_pack, save_pack

POSITIVE = ["Heerlijke koffie, snel geleverd!", "I love this shop, great service", "Top bestelling, dank je"]
NEGATIVE = [
    "Nog steeds niets ontvangen, waardeloos",
    "Terrible, the package arrived broken",
    "Nooit meer hier",
]
NEUTRAL = ["Bestelling geplaatst op maandag", "The shop opens at nine", "Ik drink koffie"]


def _write(folder: Path, split: str, rows: list[dict[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    sentiment = (
        [{"text": t, "label": "positive"} for t in POSITIVE]
        + [{"text": t, "label": "negative"} for t in NEGATIVE]
        + [{"text": t, "label": "neutral"} for t in NEUTRAL]
    )
    for name in ("tweets", "nl_bol_product_reviews"):
        _write(root / name, "train", sentiment * 4)
        _write(root / name, "val", sentiment)
        _write(root / name, "test", [{"text": "never read", "label": "bogus"}])
    complaints = [{"text": t, "label": "complaint"} for t in NEGATIVE] + [
        {"text": t, "label": "not_complaint"} for t in POSITIVE + NEUTRAL
    ]
    _write(root / "complaints", "train", complaints * 4)
    _write(root / "complaints", "val", complaints)
    return root


def test_pack_holds_train_and_val_never_test(data: Path, tmp_path: Path) -> None:
    pack = pack_from_folders([data], max_length=32)
    assert len(pack.train) == 36 * 2 + 36 and len(pack.val) == 9 * 2 + 9
    review = TASKS.index("sentiment_review")
    in_reviews = pack.train.dataset == pack.datasets.index("nl_bol_product_reviews")
    assert set(pack.train.task[in_reviews]) == {review}
    save_pack(pack, tmp_path / "pack.npz")
    again = load_pack(tmp_path / "pack.npz")
    np.testing.assert_array_equal(again.train.ids, pack.train.ids)
    assert again.datasets == pack.datasets and again.header == pack.header


def test_training_is_seeded_learns_and_serves(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = pack_from_folders([data], max_length=32)
    settings = TrainSettings(
        epochs=3, batch_size=8, learning_rate=3e-3, head_learning_rate=1e-2, lora_rank=4, lora_alpha=8
    )
    first = train(pack, settings, "cpu", progress=lambda _: None)
    second = train(pack, settings, "cpu", progress=lambda _: None)
    for key, value in first.adapter.items():
        np.testing.assert_array_equal(value, second.adapter[key], err_msg=key)
    assert first.metadata["settings"]["seed"] == 0 and first.metadata["best_epoch"] >= 1
    assert first.metadata["val_mean_primary_calibrated"] > 0.6
    save_result(first, tmp_path / "adapter", "test-1")
    monkeypatch.setenv("WOM_MODEL_CACHE", str(tmp_path / "cache"))
    classifier = E5Classifier(adapter=load_adapter(tmp_path / "adapter"), threads=1)
    assert classifier.version == "test-1"
    results = classifier.classify(POSITIVE[:1] + NEGATIVE[:1], hint_kinds=["post", "review"])
    assert results[0].score > results[1].score


def test_training_can_continue_from_an_adapter(data: Path) -> None:
    from monitor.classify.training.lora_model import adapter_tensors, build_lora_model, load_adapter_into

    pack = pack_from_folders([data], max_length=32)
    settings = TrainSettings(lora_rank=4, lora_alpha=8, seed=3)
    model = build_lora_model(pack, settings, "cpu")
    rng = np.random.default_rng(1)
    adapter = {k: rng.normal(size=v.shape).astype(v.dtype) for k, v in adapter_tensors(model).items()}
    load_adapter_into(model, adapter)
    for key, value in adapter_tensors(model).items():
        np.testing.assert_allclose(value, adapter[key], rtol=1e-3, err_msg=key)
    with pytest.raises(ValueError, match="lacks"):
        load_adapter_into(model, {})


def test_model_train_command_writes_an_adapter_and_can_continue(data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app

    runner = CliRunner()
    common = [
        "--data",
        str(data),
        "--epochs",
        "1",
        "--max-length",
        "32",
        "--batch-size",
        "8",
        "--lora-rank",
        "4",
    ]
    first = runner.invoke(app, ["model", "train", *common, "--out", str(tmp_path / "a"), "--version", "t1"])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "a" / "e5_adapter.npz").exists()
    second = runner.invoke(
        app, ["model", "train", *common, "--out", str(tmp_path / "b"), "--init-adapter", str(tmp_path / "a")]
    )
    assert second.exit_code == 0, second.output
    assert "continuing from adapter t1" in second.output
    metadata = json.loads((tmp_path / "b" / "e5_adapter.json").read_text(encoding="utf-8"))
    assert metadata["initial_adapter"]["version"] == "t1"
    assert metadata["settings"]["lora_rank"] == 4
