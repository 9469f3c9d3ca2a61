"""A fine-tuning run's whole state in one file, so a run of hours can be stopped and continued exactly.

The file holds the trainable parameters (fp32), the optimiser and schedule, the position in the run
(epoch, steps done in it, the batch-order generator as it was when the epoch began, torch's dropout
generator), the val history and the best epoch so far. Continuing from it gives the same adapter as a
run that was never stopped. It is written to a temporary name and renamed, so a kill while saving
leaves the previous checkpoint whole. A fingerprint of the pack and the settings guards against
continuing a run on other data or with other settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monitor.classify.training.lora_model import require_torch
from monitor.classify.training.pack import TrainPack
from monitor.classify.training.settings import TrainSettings
from monitor.errors import CheckpointError, TrainingStopped

__all__ = [
    "CHECKPOINT_FILE",
    "CheckpointError",
    "Checkpoints",
    "RunPosition",
    "TrainingStopped",
    "run_fingerprint",
]

CHECKPOINT_FILE = "checkpoint.pt"
_FORMAT = 1


@dataclass(slots=True)
class RunPosition:
    """Where a run stands: `steps_done` batches of `epoch` are trained, the batch order of `epoch` is drawn
    from a generator in state `epoch_rng_state`."""

    epoch: int
    steps_done: int
    epoch_rng_state: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    running_loss: float = 0.0
    elapsed_seconds: float = 0.0
    best_mean: float | None = None
    best_epoch: int = 0
    best_adapter: dict[str, np.ndarray] = field(default_factory=dict)
    best_logits: dict[str, np.ndarray] = field(default_factory=dict)


def run_fingerprint(pack: TrainPack, settings: TrainSettings) -> str:
    """sha256 over the pack's items and labels, its dataset names and the run's settings."""
    digest = hashlib.sha256()
    for split in (pack.train, pack.val):
        for array in (split.ids, split.offsets, split.task, split.label, split.dataset):
            digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(json.dumps(pack.datasets).encode())
    digest.update(np.ascontiguousarray(pack.vocab_ids).tobytes())
    digest.update(json.dumps(asdict(settings), sort_keys=True).encode())
    return digest.hexdigest()


def _tensors(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    torch = require_torch()
    return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in arrays.items()}


def _arrays(tensors: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: value.numpy() for name, value in tensors.items()}


@dataclass(slots=True)
class Checkpoints:
    """Checkpoints of one run in `folder`: saved every `every` steps, at each epoch's end and on stop."""

    folder: Path
    every: int = 500

    @property
    def path(self) -> Path:
        return self.folder / CHECKPOINT_FILE

    def exists(self) -> bool:
        return self.path.exists()

    def save(
        self, fingerprint: str, model: Any, optimizer: Any, schedule: Any, position: RunPosition
    ) -> Path:
        torch = require_torch()
        self.folder.mkdir(parents=True, exist_ok=True)
        trainable = {
            name: parameter.detach().cpu().clone()
            for name, parameter in model.named_parameters()
            if parameter.requires_grad
        }
        state = {
            "format": _FORMAT,
            "fingerprint": fingerprint,
            "parameters": trainable,
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "position": json.dumps(
                {
                    "epoch": position.epoch,
                    "steps_done": position.steps_done,
                    "epoch_rng_state": position.epoch_rng_state,
                    "history": position.history,
                    "running_loss": position.running_loss,
                    "elapsed_seconds": position.elapsed_seconds,
                    "best_mean": position.best_mean,
                    "best_epoch": position.best_epoch,
                }
            ),
            "best_adapter": _tensors(position.best_adapter),
            "best_logits": _tensors(position.best_logits),
        }
        temporary = self.path.with_name(f".{CHECKPOINT_FILE}.{os.getpid()}.tmp")
        torch.save(state, temporary)
        os.replace(temporary, self.path)
        return self.path

    def restore(
        self, fingerprint: str, model: Any, optimizer: Any, schedule: Any, device: Any
    ) -> RunPosition:
        """Loads the checkpoint into model, optimiser and schedule; returns where the run stands."""
        torch = require_torch()
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
            raise CheckpointError(
                f"{self.path} cannot be read ({e}); delete it to start the run again"
            ) from e
        if state.get("format") != _FORMAT:
            raise CheckpointError(f"{self.path} has format {state.get('format')}, not {_FORMAT}")
        if state["fingerprint"] != fingerprint:
            raise CheckpointError(
                f"{self.path} belongs to a run on other data or with other settings: continue with the "
                "same --data and options, or delete the checkpoint folder to start a new run"
            )
        parameters = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in state["parameters"].items():
                parameters[name].copy_(value.to(device))
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        position = json.loads(state["position"])
        return RunPosition(
            epoch=position["epoch"],
            steps_done=position["steps_done"],
            epoch_rng_state=position["epoch_rng_state"],
            history=position["history"],
            running_loss=position["running_loss"],
            elapsed_seconds=position["elapsed_seconds"],
            best_mean=position["best_mean"],
            best_epoch=position["best_epoch"],
            best_adapter=_arrays(state["best_adapter"]),
            best_logits=_arrays(state["best_logits"]),
        )
