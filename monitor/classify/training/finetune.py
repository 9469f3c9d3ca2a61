"""Fine-tunes multilingual-e5-small with LoRA and three heads (post sentiment, review sentiment, complaint).

Needs torch (`pip install torch==2.13.0` first, then `pip install -e '.[train]'`). Runs on CPU or CUDA.
Trainable: LoRA factors on every Linear of the encoder, the encoder's biases and LayerNorms, and the
heads; the 250k-row word-embedding table and position embeddings stay frozen. The result is an adapter
of a few MB (see `encoder_weights.merge_adapter`) plus settings chosen on val (`calibrate`).

    python -m monitor.classify.training.finetune pack --data ../shared/data --out pack.npz
    python -m monitor.classify.training.finetune train --pack pack.npz --out monitor/classify/weights
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from monitor.classify.model_build import ADAPTER_JSON, ADAPTER_NPZ
from monitor.classify.training.calibrate import (
    choose_complaint_threshold,
    choose_sentiment_offsets,
    macro_f1_codes,
    primary_metric,
)
from monitor.classify.training.checkpoint import (
    Checkpoints,
    RunPosition,
    TrainingStopped,
    run_fingerprint,
)
from monitor.classify.training.datasets import CORRECTIONS_DATASET
from monitor.classify.training.lora_model import (
    adapter_tensors,
    build_lora_model,
    load_adapter_into,
    require_torch,
)
from monitor.classify.training.pack import TASKS, SplitArrays, TrainPack, load_pack
from monitor.classify.training.settings import TrainSettings

__all__ = ["TrainResult", "TrainSettings", "train"]


@dataclass(slots=True)
class TrainResult:
    adapter: dict[str, np.ndarray]
    metadata: dict[str, Any]


def _batches(
    split: SplitArrays, indices: np.ndarray, batch_size: int, rng: np.random.Generator, shuffle: bool
) -> Iterator[np.ndarray]:
    """Batches of similar length (little padding): shuffled, then sorted within windows of 50 batches."""
    order = rng.permutation(indices) if shuffle else np.asarray(indices)
    lengths = np.diff(split.offsets)[order]
    window = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[start : start + window], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    if shuffle:
        rng.shuffle(batches)  # type: ignore[arg-type]
    yield from batches


def _tensors(split: SplitArrays, batch: np.ndarray, pad: int, device: Any) -> tuple[Any, Any]:
    torch = require_torch()
    rows = [split.item_ids(i) for i in batch]
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.float32)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1.0
    return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)


def _item_weights(split: SplitArrays, power: float) -> np.ndarray:
    """Per-item loss weights balancing classes within each dataset, softened by `power` (0: none)."""
    weights = np.ones(len(split), dtype=np.float32)
    for dataset in np.unique(split.dataset):
        in_set = split.dataset == dataset
        labels, counts = np.unique(split.label[in_set], return_counts=True)
        for label, count in zip(labels, counts, strict=True):
            balanced = in_set.sum() / (len(labels) * count)
            weights[in_set & (split.label == label)] = balanced**power
    return weights


def _parse_caps(text: str) -> dict[str, int]:
    caps: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        if not count.isdigit():
            raise ValueError(f"dataset cap {part!r} is not name=count")
        caps[name.strip()] = int(count)
    return caps


def _cap_for(dataset: str, caps: dict[str, int]) -> int | None:
    if dataset in caps:
        return caps[dataset]
    return caps.get(dataset.split("/")[0])


def _training_indices(pack: TrainPack, settings: TrainSettings) -> np.ndarray:
    rng = np.random.default_rng(settings.seed)
    indices = np.arange(len(pack.train))
    caps = _parse_caps(settings.dataset_caps)
    if caps:
        kept = []
        for dataset_index, name in enumerate(pack.datasets):
            members = indices[pack.train.dataset == dataset_index]
            cap = _cap_for(name, caps)
            if cap is not None and cap < len(members):
                members = np.sort(rng.choice(members, cap, replace=False))
            kept.append(members)
        indices = np.concatenate(kept)
    if settings.max_train_items is not None and settings.max_train_items < len(indices):
        indices = np.sort(rng.choice(indices, settings.max_train_items, replace=False))
    complaint = TASKS.index("complaint")
    repeated = [indices[pack.train.task[indices] == complaint]] * max(settings.complaint_repeat - 1, 0)
    if CORRECTIONS_DATASET in pack.datasets:
        corrections = indices[pack.train.dataset[indices] == pack.datasets.index(CORRECTIONS_DATASET)]
        repeated += [corrections] * max(settings.corrections_repeat - 1, 0)
    return np.concatenate([indices, *repeated])


def predict_logits(
    model: Any, split: SplitArrays, pad: int, device: Any, batch_size: int = 128
) -> dict[str, np.ndarray]:
    """Every head's logits for every item of `split` (eval mode)."""
    torch = require_torch()
    model.eval()
    outputs = {
        task: np.zeros((len(split), 3 if task != "complaint" else 2), dtype=np.float32) for task in TASKS
    }
    rng = np.random.default_rng(0)
    with torch.inference_mode():
        for batch in _batches(split, np.arange(len(split)), batch_size, rng, shuffle=False):
            ids, mask = _tensors(split, batch, pad, device)
            for task, logits in model(ids, mask).items():
                outputs[task][batch] = logits.float().cpu().numpy()
    model.train()
    return outputs


def score_val(
    pack: TrainPack, logits: dict[str, np.ndarray], calibration: dict[str, Any] | None = None
) -> dict[str, float]:
    """Primary metric per val dataset (plus neg-vs-pos accuracy for sentiment sets)."""
    split = pack.val
    scores: dict[str, float] = {}
    for index, name in enumerate(pack.datasets):
        in_set = split.dataset == index
        if not in_set.any():
            continue
        task = TASKS[int(split.task[in_set][0])]
        gold = split.label[in_set].astype(np.int64)
        head = logits[task][in_set]
        if task == "complaint":
            probability = _softmax(head)[:, 1]
            threshold = 0.5 if calibration is None else calibration["complaint_threshold"]
            scores[name] = macro_f1_codes(gold, (probability >= threshold).astype(np.int64), 2)
            continue
        if calibration is not None:
            head = head + np.asarray(calibration["offsets"][task], dtype=np.float32)
        scores[name] = primary_metric(name, gold, np.argmax(head, axis=1), 3)
        polar = gold != 1
        if polar.any():
            scores[f"{name}:negpos"] = float(np.mean((head[polar, 2] > head[polar, 0]) == (gold[polar] == 2)))
    return scores


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def calibrate(pack: TrainPack, logits: dict[str, np.ndarray]) -> dict[str, Any]:
    split = pack.val
    offsets: dict[str, list[float]] = {}
    for task in ("sentiment_post", "sentiment_review"):
        in_task = split.task == TASKS.index(task)
        if not in_task.any():
            offsets[task] = [0.0, 0.0, 0.0]
            continue
        names = [pack.datasets[i] for i in split.dataset[in_task]]
        chosen = choose_sentiment_offsets(logits[task][in_task], split.label[in_task].astype(np.int64), names)
        offsets[task] = [float(v) for v in chosen]
    in_complaint = split.task == TASKS.index("complaint")
    threshold = 0.5
    if in_complaint.any():
        probability = _softmax(logits["complaint"][in_complaint])[:, 1]
        threshold = choose_complaint_threshold(probability, split.label[in_complaint].astype(np.int64))
    return {"offsets": offsets, "complaint_threshold": threshold}


def _mean_primary(scores: dict[str, float]) -> float:
    primary = [value for key, value in scores.items() if ":" not in key]
    return float(np.mean(primary)) if primary else 0.0


def _parameter_groups(model: Any, settings: TrainSettings) -> list[dict[str, Any]]:
    heads, lora, others = [], [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("heads."):
            heads.append(parameter)
        elif name.endswith(("lora_a", "lora_b")):
            lora.append(parameter)
        else:
            others.append(parameter)
    return [
        {"params": lora, "lr": settings.learning_rate, "weight_decay": settings.weight_decay},
        {"params": others, "lr": settings.learning_rate, "weight_decay": 0.0},
        {"params": heads, "lr": settings.head_learning_rate, "weight_decay": settings.weight_decay},
    ]


def train(
    pack: TrainPack,
    settings: TrainSettings,
    device_name: str | None = None,
    progress: Callable[[str], None] = lambda message: print(message, flush=True),
    initial_adapter: dict[str, np.ndarray] | None = None,
    checkpoints: Checkpoints | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    keep: Literal["best", "last"] = "best",
) -> TrainResult:
    """Trains, scores every epoch on val, keeps the best epoch (mean primary val metric), calibrates on val.

    With `initial_adapter`, training continues from it (e.g. on another sample of the large sets).
    With `checkpoints`, the run's state is saved every `checkpoints.every` steps and at each epoch's end,
    and a run whose checkpoint exists continues from it (the result equals a run never stopped). When
    `should_stop()` turns true the run saves a checkpoint and raises `TrainingStopped`.
    `keep="last"` keeps the last epoch (a stopping point fixed in advance) instead of the one val scores
    best, so that val is not also used to choose when to stop.
    """
    torch = require_torch()
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    device = torch.device(device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = build_lora_model(pack, settings, device)
    if initial_adapter is not None:
        load_adapter_into(model, initial_adapter)
    pad = int(pack.header["pad"])
    indices = _training_indices(pack, settings)
    item_weights = torch.from_numpy(_item_weights(pack.train, settings.class_weight_power)).to(device)
    steps_per_epoch = math.ceil(len(indices) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    warmup = max(1, int(total_steps * settings.warmup_share))
    optimizer = torch.optim.AdamW(_parameter_groups(model, settings))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup))),
    )
    tasks = torch.from_numpy(pack.train.task.astype(np.int64)).to(device)
    labels = torch.from_numpy(pack.train.label.astype(np.int64)).to(device)
    rng = np.random.default_rng(settings.seed)
    use_bf16 = device.type == "cuda"
    fingerprint = run_fingerprint(pack, settings) if checkpoints is not None else ""
    if checkpoints is not None and checkpoints.exists():
        position = checkpoints.restore(fingerprint, model, optimizer, schedule, device)
        progress(
            f"continuing from {checkpoints.path}: epoch {position.epoch}, "
            f"{position.steps_done}/{steps_per_epoch} steps done"
        )
    else:
        position = RunPosition(epoch=1, steps_done=0, epoch_rng_state=dict(rng.bit_generator.state))
    started = time.monotonic() - position.elapsed_seconds

    def save() -> Path:
        assert checkpoints is not None
        position.elapsed_seconds = time.monotonic() - started
        return checkpoints.save(fingerprint, model, optimizer, schedule, position)

    while position.epoch <= settings.epochs:
        epoch = position.epoch
        model.train()
        rng.bit_generator.state = position.epoch_rng_state
        batches = list(_batches(pack.train, indices, settings.batch_size, rng, shuffle=True))
        for step, batch in enumerate(batches, 1):
            if step <= position.steps_done:
                continue
            ids, mask = _tensors(pack.train, batch, pad, device)
            index = torch.from_numpy(batch.astype(np.int64)).to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                outputs = model(ids, mask)
            loss = torch.zeros((), device=device)
            for task_index, task in enumerate(TASKS):
                selected = tasks[index] == task_index
                if selected.any():
                    losses = torch.nn.functional.cross_entropy(
                        outputs[task][selected].float(), labels[index][selected], reduction="none"
                    )
                    loss = loss + (losses * item_weights[index][selected]).sum()
            loss = loss / len(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            position.steps_done = step
            position.running_loss += float(loss.detach())
            if step % 200 == 0:
                progress(
                    f"epoch {epoch} step {step}/{steps_per_epoch} loss {position.running_loss / 200:.4f} "
                    f"({time.monotonic() - started:.0f}s)"
                )
                position.running_loss = 0.0
            if checkpoints is not None:
                stopping = should_stop()
                if stopping or step % checkpoints.every == 0:
                    path = save()
                if stopping:
                    raise TrainingStopped(path, epoch, step)
        logits = predict_logits(model, pack.val, pad, device)
        scores = score_val(pack, logits)
        mean = _mean_primary(scores)
        position.history.append({"epoch": epoch, "mean_primary": mean, "scores": scores})
        progress(
            f"epoch {epoch}: val mean primary {mean:.4f} {json.dumps({k: round(v, 4) for k, v in scores.items()})}"
        )
        if position.best_mean is None or mean > position.best_mean:
            position.best_mean, position.best_epoch = mean, epoch
            position.best_adapter, position.best_logits = adapter_tensors(model), logits
        position.epoch, position.steps_done, position.running_loss = epoch + 1, 0, 0.0
        position.epoch_rng_state = dict(rng.bit_generator.state)
        if checkpoints is not None:
            save()
    adapter, kept_logits, kept_epoch = position.best_adapter, position.best_logits, position.best_epoch
    if keep == "last":
        adapter, kept_logits, kept_epoch = (
            adapter_tensors(model),
            predict_logits(model, pack.val, pad, device),
            settings.epochs,
        )
    calibration = calibrate(pack, kept_logits)
    calibrated = score_val(pack, kept_logits, calibration)
    metadata = {
        "settings": asdict(settings),
        "lora_scale": settings.lora_alpha / settings.lora_rank,
        "best_epoch": position.best_epoch,
        "kept": keep,
        "kept_epoch": kept_epoch,
        "history": position.history,
        "calibration": calibration,
        "val_calibrated": calibrated,
        "val_mean_primary_calibrated": _mean_primary(calibrated),
        "datasets": pack.datasets,
        "train_items": len(pack.train),
        "val_items": len(pack.val),
        "max_length": pack.max_length,
        "device": str(device),
        "train_seconds": round(time.monotonic() - started, 1),
        "torch": torch.__version__,
    }
    return TrainResult(adapter, metadata)


def save_result(result: TrainResult, out_dir: Path, version: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    npz_path, json_path = out_dir / ADAPTER_NPZ, out_dir / ADAPTER_JSON
    np.savez_compressed(npz_path, **result.adapter)  # type: ignore[arg-type]  # mypy reads **arrays as a possible allow_pickle=
    json_path.write_text(
        json.dumps({"version": version, **result.metadata}, indent=2) + "\n", encoding="utf-8"
    )
    return npz_path, json_path


def _settings_from(args: argparse.Namespace) -> TrainSettings:
    defaults = TrainSettings()
    values = {name: getattr(args, name) for name in asdict(defaults) if getattr(args, name, None) is not None}
    return TrainSettings(**values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pack_parser = commands.add_parser("pack", help="tokenise train+val folders into a training pack")
    pack_parser.add_argument("--data", type=Path, nargs="+", required=True)
    pack_parser.add_argument("--out", type=Path, required=True)
    pack_parser.add_argument("--max-length", type=int, default=160)
    train_parser = commands.add_parser("train", help="fine-tune from a pack and write the adapter")
    train_parser.add_argument("--pack", type=Path, required=True)
    train_parser.add_argument("--out", type=Path, required=True)
    train_parser.add_argument("--version", default="dev")
    train_parser.add_argument("--device", default=None)
    train_parser.add_argument(
        "--init-adapter", type=Path, default=None, help="continue from this adapter folder"
    )
    for name, value in asdict(TrainSettings()).items():
        kind = type(value) if value is not None else int
        train_parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None)
    args = parser.parse_args(argv)
    if args.command == "pack":
        from monitor.classify.training.data import pack_from_folders

        pack = pack_from_folders(args.data, args.max_length)
        from monitor.classify.training.pack import save_pack

        save_pack(pack, args.out)
        print(f"{args.out}: {len(pack.train)} train, {len(pack.val)} val items, {len(pack.vocab_ids)} tokens")
        return 0
    initial = None
    if args.init_adapter is not None:
        with np.load(args.init_adapter / ADAPTER_NPZ) as data:
            initial = {key: data[key] for key in data.files}
    result = train(load_pack(args.pack), _settings_from(args), args.device, initial_adapter=initial)
    for path in save_result(result, args.out, args.version):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
