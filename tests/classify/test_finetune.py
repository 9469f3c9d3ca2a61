"""Fine-tuning end to end on a tiny dataset: pack, train on CPU, adapter, build, classify."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="fine-tuning needs torch: pip install torch==2.13.0")

from monitor.classify.e5_onnx import E5Classifier
from monitor.classify.model_build import load_adapter
from monitor.classify.training.checkpoint import CheckpointError, Checkpoints, TrainingStopped
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
    common = _small_cli_options(data)
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


def _small_cli_options(data: Path) -> list[str]:
    """`wom model train` options for a run of seconds on the tiny data."""
    return [
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


def _small_settings(**changes: object) -> TrainSettings:
    values: dict[str, object] = {
        "epochs": 2,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "head_learning_rate": 1e-2,
        "lora_rank": 4,
        "lora_alpha": 8,
    }
    values.update(changes)
    return TrainSettings(**values)  # type: ignore[arg-type]


def _stop_at(call: int) -> Callable[[], bool]:
    calls = iter(range(1, 10_000))
    return lambda: next(calls) == call


@pytest.mark.parametrize("stop_after_steps", [5, 23, 25])
def test_a_stopped_run_continues_to_the_adapter_of_a_run_never_stopped(
    data: Path, tmp_path: Path, stop_after_steps: int
) -> None:
    pack = pack_from_folders([data], max_length=32)
    settings = _small_settings()
    whole = train(pack, settings, "cpu", progress=lambda _: None)
    checkpoints = Checkpoints(tmp_path / "run", every=3)
    with pytest.raises(TrainingStopped) as stopped:
        train(
            pack,
            settings,
            "cpu",
            progress=lambda _: None,
            checkpoints=checkpoints,
            should_stop=_stop_at(stop_after_steps),
        )
    assert checkpoints.exists()
    # 180 training indices at batch size 8: 23 steps per epoch, so 25 stops in epoch 2
    assert (stopped.value.epoch, stopped.value.step) == (
        1 + (stop_after_steps - 1) // 23,
        (stop_after_steps - 1) % 23 + 1,
    )
    messages: list[str] = []
    continued = train(pack, settings, "cpu", progress=messages.append, checkpoints=checkpoints)
    assert any(m.startswith("continuing from") for m in messages)
    assert continued.adapter.keys() == whole.adapter.keys()
    for key, value in whole.adapter.items():
        np.testing.assert_allclose(continued.adapter[key], value, atol=1e-6, err_msg=key)
    assert continued.metadata["history"] == whole.metadata["history"]
    assert continued.metadata["calibration"] == whole.metadata["calibration"]


def test_a_checkpoint_is_not_continued_with_other_settings_or_data(data: Path, tmp_path: Path) -> None:
    pack = pack_from_folders([data], max_length=32)
    checkpoints = Checkpoints(tmp_path / "run", every=100)
    with pytest.raises(TrainingStopped):
        train(
            pack,
            _small_settings(),
            "cpu",
            progress=lambda _: None,
            checkpoints=checkpoints,
            should_stop=_stop_at(2),
        )
    with pytest.raises(CheckpointError, match="other settings"):
        train(pack, _small_settings(seed=4), "cpu", progress=lambda _: None, checkpoints=checkpoints)
    shorter = pack_from_folders([data], max_length=8)
    with pytest.raises(CheckpointError, match="other data"):
        train(shorter, _small_settings(), "cpu", progress=lambda _: None, checkpoints=checkpoints)


def test_model_train_stops_on_request_and_resumes(data: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app

    runner = CliRunner()
    command = [
        "model",
        "train",
        *_small_cli_options(data),
        "--out",
        str(tmp_path / "a"),
        "--version",
        "t1",
    ]
    stopped = runner.invoke(app, [*command, "--stop-after-minutes", "0"])
    assert stopped.exit_code == 3, stopped.output
    assert "--resume" in stopped.output and (tmp_path / "a" / "checkpoint" / "checkpoint.pt").exists()
    assert not (tmp_path / "a" / "e5_adapter.npz").exists()
    again = runner.invoke(app, command)
    assert again.exit_code != 0 and "--resume" in again.output
    resumed = runner.invoke(app, [*command, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "continuing from" in resumed.output and (tmp_path / "a" / "e5_adapter.npz").exists()


def test_sigterm_saves_a_checkpoint_and_the_run_continues(data: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "a"
    command = [
        sys.executable,
        "-m",
        "monitor.cli",
        "model",
        "train",
        "--data",
        str(data),
        "--epochs",
        "40",
        "--max-length",
        "32",
        "--batch-size",
        "8",
        "--lora-rank",
        "4",
        "--out",
        str(out),
        "--checkpoint-every",
        "5",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while not (out / "checkpoint" / "checkpoint.pt").exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 3, output
    assert "stopped at epoch" in output and not (out / "e5_adapter.npz").exists()
    before = _position(out)
    resumed = subprocess.run(
        [*command, "--resume", "--stop-after-minutes", "0"], capture_output=True, text=True, timeout=240
    )
    assert resumed.returncode == 3, resumed.stdout + resumed.stderr
    assert "continuing from" in resumed.stdout
    after = _position(out)
    steps_per_epoch = 23
    assert (after["epoch"] - 1) * steps_per_epoch + after["steps_done"] == (
        before["epoch"] - 1
    ) * steps_per_epoch + before["steps_done"] + 1


def _position(out: Path) -> dict[str, int]:
    import torch

    state = torch.load(out / "checkpoint" / "checkpoint.pt", weights_only=True)
    position = json.loads(state["position"])
    return {"epoch": position["epoch"], "steps_done": position["steps_done"]}


def test_keep_last_takes_the_last_epoch_not_the_one_val_scores_best(data: Path) -> None:
    pack = pack_from_folders([data], max_length=32)
    best = train(pack, _small_settings(), "cpu", progress=lambda _: None)
    last = train(pack, _small_settings(), "cpu", progress=lambda _: None, keep="last")
    # on this tiny set both epochs score 1.0 on val, so "best" keeps the first
    assert [h["mean_primary"] for h in best.metadata["history"]] == [1.0, 1.0]
    assert (best.metadata["kept_epoch"], last.metadata["kept_epoch"]) == (1, 2)
    assert last.metadata["history"] == best.metadata["history"]
    moved = [k for k in best.adapter if not np.array_equal(best.adapter[k], last.adapter[k])]
    assert "head.complaint.weight" in moved


def test_an_unreadable_checkpoint_names_the_fix(data: Path, tmp_path: Path) -> None:
    pack = pack_from_folders([data], max_length=32)
    checkpoints = Checkpoints(tmp_path / "run")
    checkpoints.folder.mkdir()
    checkpoints.path.write_bytes(b"PK\x03\x04 not a whole checkpoint")
    with pytest.raises(CheckpointError, match=r"cannot be read.*delete it"):
        train(pack, _small_settings(), "cpu", progress=lambda _: None, checkpoints=checkpoints)
