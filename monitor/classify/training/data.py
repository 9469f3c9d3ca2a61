"""Collects the labelled items a training run uses: the train and val splits of every folder given."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from monitor.classify.e5_file import open_e5_file
from monitor.classify.training.datasets import LabelledItem, find_data_dirs, load_folder
from monitor.classify.training.pack import TrainPack, build_pack

__all__ = ["pack_from_folders"]


def pack_from_folders(
    roots: Sequence[Path], max_length: int, *, extra_train: Sequence[LabelledItem] = ()
) -> TrainPack:
    """A training pack from `train.jsonl` (and `val.jsonl`, where present) under each root, plus
    `extra_train` items (people's corrections: monitor.classify.training.corrections) in the train split only, so
    settings are still chosen on the public val splits.

    Test splits are never read. Raises ValueError when no folder holds a train split.
    """
    train_dirs = find_data_dirs(roots, "train")
    if not train_dirs:
        raise ValueError(f"no train.jsonl under {', '.join(str(r) for r in roots)}")
    train = [item for data_dir in train_dirs for item in load_folder(data_dir, "train")]
    train.extend(extra_train)
    val = [
        item
        for data_dir in train_dirs
        if (data_dir / "val.jsonl").exists()
        for item in load_folder(data_dir, "val")
    ]
    return build_pack(open_e5_file(), train, val, max_length)
