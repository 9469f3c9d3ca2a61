"""Weight-space blending of two adapters (monitor.classify.training.blend, `wom model blend`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from monitor.classify.encoder_weights import merge_adapter
from monitor.classify.model_build import ADAPTER_JSON, ADAPTER_NPZ, DEFAULT_ADAPTER_DIR, load_adapter
from monitor.classify.training.blend import blend_adapters
from monitor.cli import app


def _adapter(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "layer.0.query.lora_a": rng.normal(size=(4, 12)).astype(np.float32),
        "layer.0.query.lora_b": rng.normal(size=(12, 4)).astype(np.float32),
        "layer.0.query.bias": rng.normal(size=12).astype(np.float32),
        "layer.0.output.lora_a": rng.normal(size=(4, 12)).astype(np.float32),
        "layer.0.output.lora_b": rng.normal(size=(20, 4)).astype(np.float32),
        "layer.0.LayerNorm.weight": rng.normal(size=12).astype(np.float32),
        "head.sentiment_post.weight": rng.normal(size=(3, 12)).astype(np.float32),
    }


def _encoder() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(9)
    return {
        "layer.0.query.weight": rng.normal(size=(12, 12)).astype(np.float32),
        "layer.0.query.bias": np.zeros(12, dtype=np.float32),
        "layer.0.output.weight": rng.normal(size=(20, 12)).astype(np.float32),
        "layer.0.LayerNorm.weight": np.ones(12, dtype=np.float32),
    }


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 1.0])
def test_the_served_weights_of_a_blend_are_the_blend_of_the_served_weights(weight: float) -> None:
    first, second = _adapter(1), _adapter(2)
    blended = blend_adapters(first, second, weight)
    merged = merge_adapter(_encoder(), blended, scale=2.0)
    expected_first = merge_adapter(_encoder(), first, scale=2.0)
    expected_second = merge_adapter(_encoder(), second, scale=2.0)
    for key, value in merged.items():
        np.testing.assert_allclose(
            value, (1 - weight) * expected_first[key] + weight * expected_second[key], rtol=1e-5, atol=1e-5
        )
    head = blended["head.sentiment_post.weight"]
    np.testing.assert_allclose(
        head,
        (1 - weight) * first["head.sentiment_post.weight"] + weight * second["head.sentiment_post.weight"],
        rtol=1e-6,
        atol=1e-6,
    )
    assert blended["layer.0.query.lora_a"].shape == (8, 12)  # the parents' ranks side by side
    assert all(value.dtype == np.float32 for value in blended.values())


def test_adapters_that_do_not_match_are_refused() -> None:
    first = _adapter(1)
    with pytest.raises(ValueError, match="between 0"):
        blend_adapters(first, _adapter(2), 1.5)
    with pytest.raises(ValueError, match="different tensors"):
        blend_adapters(first, {k: v for k, v in _adapter(2).items() if "output" not in k}, 0.5)
    other_rank = _adapter(2) | {"layer.0.query.lora_a": np.zeros((8, 12), dtype=np.float32)}
    with pytest.raises(ValueError, match=r"layer.0.query.lora_a is \(4, 12\) in one adapter"):
        blend_adapters(first, other_rank, 0.5)


def _blend(other: Path, out: Path, version: str, weight: str) -> Result:
    """`wom model blend` of the shipped adapter and `other` into `out`."""
    arguments = ["--first", str(DEFAULT_ADAPTER_DIR), "--second", str(other), "--out", str(out)]
    return CliRunner().invoke(app, ["model", "blend", *arguments, "--version", version, "--weight", weight])


def test_wom_model_blend_writes_an_adapter_wom_loads(tmp_path: Path) -> None:
    shipped = load_adapter(DEFAULT_ADAPTER_DIR)
    other = tmp_path / "other"
    other.mkdir()
    nudged = {key: value + np.float32(0.01) for key, value in shipped.tensors.items()}
    np.savez(other / ADAPTER_NPZ, **nudged)  # type: ignore[arg-type]
    (other / ADAPTER_JSON).write_text(json.dumps({"version": "nudged", "lora_scale": shipped.scale}))

    out = tmp_path / "blend"
    result = _blend(other, out, "test-blend", "0.25")
    assert result.exit_code == 0, result.output
    assert "wom model calibrate --write test-blend" in result.output
    blended = load_adapter(out)
    assert blended.version == "test-blend" and blended.scale == shipped.scale
    assert blended.metadata["blend"] == {
        "weight": 0.25,
        "first": {"version": shipped.version, "sha256": shipped.fingerprint},
        "second": {"version": "nudged", "sha256": load_adapter(other).fingerprint},
    }
    bias = "encoder.layer.0.attention.self.query.bias"
    np.testing.assert_allclose(blended.tensors[bias], shipped.tensors[bias] + 0.0025, rtol=1e-5, atol=1e-6)

    refused = _blend(other, out, "v", "2")
    assert refused.exit_code != 0
