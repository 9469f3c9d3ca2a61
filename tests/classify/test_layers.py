"""The classifier's layers, checked in a fresh interpreter: serving (`monitor.classify`, what `wom process`
runs) never loads torch, transformers or the training package; no classifier module reads tables."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import monitor.classify
import monitor.classify.training

_PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
loaded = sorted(
    name
    for name in sys.modules
    if name.split(".")[0] in ("torch", "transformers", "sqlalchemy", "sqlmodel")
    or name.startswith(("monitor.classify.training", "monitor.storage"))
)
print(json.dumps(loaded))
"""


def _modules(package: object) -> list[str]:
    prefix = f"{package.__name__}."  # type: ignore[attr-defined]
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__, prefix))  # type: ignore[attr-defined]


def _loaded_after_importing(names: list[str]) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, *names], capture_output=True, text=True, check=True, timeout=300
    )
    return json.loads(completed.stdout)


def test_serving_modules_load_no_torch_and_no_training_code() -> None:
    serving = [name for name in _modules(monitor.classify) if name != "monitor.classify.training"]
    assert "monitor.classify.e5_onnx" in serving and "monitor.classify.factory" in serving
    assert _loaded_after_importing(serving) == []


def test_training_modules_read_no_tables() -> None:
    training = _modules(monitor.classify.training)
    assert "monitor.classify.training.corrections" in training
    loaded = _loaded_after_importing(training)
    assert [name for name in loaded if not name.startswith("monitor.classify.training")] == []
