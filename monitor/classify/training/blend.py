"""Two adapters of one lineage blended in weight space (WiSE-FT, Wortsman et al. 2022): every tensor is
(1 − w)·first + w·second, and so is each LoRA delta B·A.

A long run on the large sets can trade the small sets' skills for theirs; a blend of the run's start and
its end can keep much of both. The blended delta is exact: its factors are the parents' side by side,
B = [(1 − w)·B₁, w·B₂] and A = [A₁; A₂], so its rank is the sum of theirs (16 + 16 = 32 for wom's
adapters). Serving does not mind; to train on from a blend, pass `wom model train --lora-rank 32`
(its scale, alpha / rank = 2, is the parents').
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["blend_adapters"]

_LORA_A, _LORA_B = ".lora_a", ".lora_b"


def blend_adapters(
    first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray], weight: float
) -> dict[str, np.ndarray]:
    """(1 − weight)·first + weight·second. Raises ValueError when the adapters do not match tensor for
    tensor (other keys or shapes) or `weight` is outside [0, 1]."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"blend weight {weight} must be between 0 (the first adapter) and 1 (the second)")
    if set(first) != set(second):
        only = sorted(set(first) ^ set(second))[:3]
        raise ValueError(f"the adapters hold different tensors (e.g. {only}); blend two runs of one model")
    for key in first:
        if first[key].shape != second[key].shape:
            raise ValueError(
                f"{key} is {first[key].shape} in one adapter and {second[key].shape} in the other"
            )
    blended: dict[str, np.ndarray] = {}
    for key in sorted(first):
        if key.endswith(_LORA_A):
            blended[key] = np.concatenate([first[key], second[key]], axis=0)
        elif key.endswith(_LORA_B):
            blended[key] = np.concatenate([(1.0 - weight) * first[key], weight * second[key]], axis=1)
        else:
            mixed = (1.0 - weight) * first[key].astype(np.float64) + weight * second[key].astype(np.float64)
            blended[key] = mixed.astype(first[key].dtype)
    return {key: value.astype(first[key].dtype) for key, value in blended.items()}
