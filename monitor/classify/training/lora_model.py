"""The model fine-tuning trains: e5-small as plain torch modules with LoRA factors and three heads.

Trainable: LoRA factors on every Linear of the encoder, the encoder's biases and LayerNorms, the heads;
frozen: the word-embedding table (only the rows of the training pack) and position embeddings.
`adapter_tensors` and `load_adapter_into` move the trained part to and from the adapter file's names.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from monitor.classify.encoder_weights import base_weights, embed_rows
from monitor.classify.training.pack import PackTensors, TrainPack
from monitor.classify.training.settings import TrainSettings

__all__ = ["adapter_tensors", "build_lora_model", "load_adapter_into", "require_torch"]


def require_torch() -> Any:
    try:
        import torch
    except ImportError as e:
        raise SystemExit(
            f"training needs torch ({e}): pip install torch==2.13.0, then pip install -e '.[train]'"
        ) from e
    return torch


def build_lora_model(pack: TrainPack, settings: TrainSettings, device: Any) -> Any:
    """BERT (plain torch, BertModel's math and names) with LoRA on every encoder Linear and three heads."""
    torch = require_torch()
    from torch import nn

    header = pack.e5_header
    word = torch.from_numpy(embed_rows(pack.word_q4, np.arange(len(pack.vocab_ids))))
    weights = {name: torch.from_numpy(values) for name, values in base_weights(PackTensors(pack)).items()}

    class LoRALinear(nn.Module):
        def __init__(self, base: nn.Linear) -> None:
            super().__init__()
            self.weight = nn.Parameter(base.weight.detach().clone(), requires_grad=False)
            self.bias = nn.Parameter(base.bias.detach().clone())
            self.lora_a = nn.Parameter(torch.empty(settings.lora_rank, base.in_features))
            self.lora_b = nn.Parameter(torch.zeros(base.out_features, settings.lora_rank))
            nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
            self.dropout = nn.Dropout(settings.lora_dropout)
            self.scale = settings.lora_alpha / settings.lora_rank

        def forward(self, x: Any) -> Any:
            base = nn.functional.linear(x, self.weight, self.bias)
            return base + (self.dropout(x) @ self.lora_a.t() @ self.lora_b.t()) * self.scale

    class Encoder(nn.Module):
        """BERT in plain torch (no transformers needed), matching BertModel's math and parameter names."""

        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Embedding.from_pretrained(word, freeze=True)
            self.position = nn.Parameter(
                weights["embeddings.position_embeddings.weight"], requires_grad=False
            )
            self.token_type = nn.Parameter(
                weights["embeddings.token_type_embeddings.weight"][0].clone(), requires_grad=False
            )
            self.ln = nn.LayerNorm(header.hidden, eps=header.eps)
            self.ln.weight.data = weights["embeddings.LayerNorm.weight"].clone()
            self.ln.bias.data = weights["embeddings.LayerNorm.bias"].clone()
            self.layers = nn.ModuleList(_Layer(i) for i in range(header.layers))

        def forward(self, ids: Any, mask: Any) -> Any:
            length = ids.shape[1]
            x = self.word(ids) + self.position[:length] + self.token_type
            x = self.ln(x)
            attention_bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            for layer in self.layers:
                x = layer(x, attention_bias)
            summed = (x * mask[..., None]).sum(dim=1)
            return summed / mask.sum(dim=1, keepdim=True).clamp(min=1)

    def linear(name: str, in_features: int, out_features: int) -> nn.Module:
        base = nn.Linear(in_features, out_features)
        base.weight.data = weights[f"{name}.weight"].clone()
        base.bias.data = weights[f"{name}.bias"].clone()
        return LoRALinear(base)

    def layer_norm(name: str) -> nn.LayerNorm:
        norm = nn.LayerNorm(header.hidden, eps=header.eps)
        norm.weight.data = weights[f"{name}.weight"].clone()
        norm.bias.data = weights[f"{name}.bias"].clone()
        return norm

    class _Layer(nn.Module):
        def __init__(self, index: int) -> None:
            super().__init__()
            prefix = f"encoder.layer.{index}"
            h, f = header.hidden, header.ffn
            self.query = linear(f"{prefix}.attention.self.query", h, h)
            self.key = linear(f"{prefix}.attention.self.key", h, h)
            self.value = linear(f"{prefix}.attention.self.value", h, h)
            self.attention_out = linear(f"{prefix}.attention.output.dense", h, h)
            self.attention_ln = layer_norm(f"{prefix}.attention.output.LayerNorm")
            self.intermediate = linear(f"{prefix}.intermediate.dense", h, f)
            self.output = linear(f"{prefix}.output.dense", f, h)
            self.output_ln = layer_norm(f"{prefix}.output.LayerNorm")
            self.heads = header.heads
            self.names = {
                "query": f"{prefix}.attention.self.query",
                "key": f"{prefix}.attention.self.key",
                "value": f"{prefix}.attention.self.value",
                "attention_out": f"{prefix}.attention.output.dense",
                "attention_ln": f"{prefix}.attention.output.LayerNorm",
                "intermediate": f"{prefix}.intermediate.dense",
                "output": f"{prefix}.output.dense",
                "output_ln": f"{prefix}.output.LayerNorm",
            }

        def _split(self, x: Any) -> Any:
            batch, length, hidden = x.shape
            return x.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        def forward(self, x: Any, attention_bias: Any) -> Any:
            q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
            context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attention_bias)
            context = context.transpose(1, 2).reshape(x.shape)
            x = self.attention_ln(x + self.attention_out(context))
            hidden = nn.functional.gelu(self.intermediate(x))
            return self.output_ln(x + self.output(hidden))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.dropout = nn.Dropout(settings.head_dropout)
            self.heads = nn.ModuleDict(
                {
                    "sentiment_post": nn.Linear(header.hidden, 3),
                    "sentiment_review": nn.Linear(header.hidden, 3),
                    "complaint": nn.Linear(header.hidden, 2),
                }
            )

        def forward(self, ids: Any, mask: Any) -> dict[str, Any]:
            pooled = self.dropout(self.encoder(ids, mask))
            return {task: head(pooled) for task, head in self.heads.items()}

    torch.manual_seed(settings.seed)
    return Model().to(device)


def adapter_tensors(model: Any) -> dict[str, np.ndarray]:
    """LoRA factors (fp16), trained biases and LayerNorms (fp32), heads (fp32), under BertModel names.

    Copies: on CPU `.float().cpu().numpy()` of an fp32 tensor shares its memory, and the best epoch's
    adapter must not follow the parameters as later epochs train them.
    """
    adapter: dict[str, np.ndarray] = {}
    encoder = model.encoder
    adapter["embeddings.LayerNorm.weight"] = _copy(encoder.ln.weight)
    adapter["embeddings.LayerNorm.bias"] = _copy(encoder.ln.bias)
    for layer in encoder.layers:
        for attribute, name in layer.names.items():
            module = getattr(layer, attribute)
            adapter[f"{name}.bias"] = _copy(module.bias)
            if hasattr(module, "lora_a"):
                adapter[f"{name}.lora_a"] = module.lora_a.detach().cpu().numpy().astype(np.float16)
                adapter[f"{name}.lora_b"] = module.lora_b.detach().cpu().numpy().astype(np.float16)
            else:
                adapter[f"{name}.weight"] = _copy(module.weight)
    for task, head in model.heads.items():
        adapter[f"head.{task}.weight"] = _copy(head.weight)
        adapter[f"head.{task}.bias"] = _copy(head.bias)
    return adapter


def _copy(parameter: Any) -> np.ndarray:
    return np.array(parameter.detach().float().cpu().numpy(), dtype=np.float32, copy=True)


def load_adapter_into(model: Any, adapter: dict[str, np.ndarray]) -> None:
    """Starts training from an earlier adapter (same rank): its LoRA factors, biases, LayerNorms, heads."""
    torch = require_torch()
    encoder = model.encoder
    targets: dict[str, Any] = {
        "embeddings.LayerNorm.weight": encoder.ln.weight,
        "embeddings.LayerNorm.bias": encoder.ln.bias,
    }
    for layer in encoder.layers:
        for attribute, name in layer.names.items():
            module = getattr(layer, attribute)
            targets[f"{name}.bias"] = module.bias
            targets[f"{name}.weight" if not hasattr(module, "lora_a") else f"{name}.lora_a"] = getattr(
                module, "lora_a", module.weight
            )
            if hasattr(module, "lora_b"):
                targets[f"{name}.lora_b"] = module.lora_b
    for task, head in model.heads.items():
        targets[f"head.{task}.weight"] = head.weight
        targets[f"head.{task}.bias"] = head.bias
    missing = sorted(set(targets) - set(adapter))
    if missing:
        raise ValueError(
            f"the initial adapter lacks {len(missing)} tensors, e.g. {missing[0]} (another LoRA rank?)"
        )
    with torch.no_grad():
        for name, parameter in targets.items():
            value = torch.from_numpy(np.asarray(adapter[name], dtype=np.float32))
            if value.shape != parameter.shape:
                raise ValueError(
                    f"initial adapter tensor {name} has shape {tuple(value.shape)}, not {tuple(parameter.shape)}"
                )
            parameter.copy_(value)
