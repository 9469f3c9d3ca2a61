"""Writes the fine-tuned encoder as an ONNX graph, built directly from numpy weights (no torch).

Input `embeddings` [batch, tokens, hidden] is the sum of word, position and token-type embeddings (the
word rows come from the 4-bit table outside the graph, so the 250k-row table never enters it); input
`mask` [batch, tokens] is 1 for real tokens. Output `pooled` [batch, hidden] is the mask-weighted mean
of the last layer: what the heads were trained on. The math is BertModel's, operator for operator.

int8 (`int8=True`): every weight matrix is stored int8 per output channel (symmetric, scale max|w|/127),
and its input is quantised per token: each token's vector gets its own scale max|x|/127 and is rounded
to uint8 around a fixed zero point of 128 (`QuantizeLinear` along the token axis), multiplied with
`MatMulIntegerToFloat` (ONNX Runtime's u8 x s8 kernel, channel scales applied inside) and scaled back by
the token scale. A token's numbers thus depend on that token alone, never on the other texts of its batch
or on padding: one answer per text whatever its batch. (Dynamic quantisation, wom's builder 2, took one
scale per batch tensor, padding included, and about 5 % of labels moved with their batch mates; static
quantisation would need calibration texts shipped with wom, and the train splits' terms do not all allow
that.) Between attentions the int8 graph keeps tokens flat, [batch x tokens, hidden], since every other
operator works per token. The Q, K, V projections are one such product; attention itself is two fp32
batched products and a softmax in plain operators, which on two cores measured faster than ONNX Runtime's
`MultiHeadAttention`, as plain `Add` + `LayerNormalization` did against `SkipLayerNormalization`
(builder 4: 274 texts/s end to end against builder 3's 164, `python -m benchmarks.classify_speed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["ATTENTION_MATMUL_PREFIX", "OPSET", "build_encoder_graph"]

OPSET = 17
ATTENTION_MATMUL_PREFIX = "attention_matmul"  # activation x activation products, kept in fp32


@dataclass
class _Graph:
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    counter: int = 0

    def name(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def constant(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def scalar_index(self, value: int) -> str:
        """A 0-d int64 initializer (`constant` gives arrays at least 1-d), so `Gather` drops the axis."""
        name = self.name("index")
        self.initializers.append(numpy_helper.from_array(np.array(value, dtype=np.int64), name))
        return name

    def op(self, op_type: str, inputs: list[str], stem: str | None = None, **attributes: Any) -> str:
        output = self.name(stem or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output


def _int8_matmul(graph: _Graph, x: str, weight: np.ndarray, stem: str, zero_points: str) -> str:
    """x @ W^T for tokens x [tokens, in]: W int8 per output channel, x quantised per token (module docstring).

    `QuantizeLinear` along the token axis rounds each token with its own scale in one pass; ONNX Runtime's
    `MatMulIntegerToFloat` multiplies u8 x s8 and applies the channel scales in the same kernel; the token
    scales follow as one `Mul`.
    """
    transposed = weight.T.astype(np.float32)  # [in, out]
    channel_scale = np.abs(transposed).max(axis=0) / 127.0
    channel_scale[channel_scale == 0] = 1.0
    quantised = np.clip(np.rint(transposed / channel_scale), -127, 127).astype(np.int8)
    token_max = graph.op("ReduceMax", [graph.op("Abs", [x])], f"{stem}_token_max", axes=[1], keepdims=0)
    token_max = graph.op("Max", [token_max, graph.constant("tiny", np.array(1e-12, dtype=np.float32))])
    token_scale = graph.op(
        "Mul", [token_max, graph.constant("inverse_int8_max", np.array(1 / 127, dtype=np.float32))]
    )
    x_uint8 = graph.op("QuantizeLinear", [x, token_scale, zero_points], f"{stem}_x_uint8", axis=0)
    product = graph.name(f"{stem}_product")
    graph.nodes.append(
        helper.make_node(
            "MatMulIntegerToFloat",
            [
                x_uint8,
                graph.constant(f"{stem}_weight_int8", quantised),
                graph.constant("unit_scale", np.array(1.0, dtype=np.float32)),
                graph.constant(f"{stem}_channel_scale", channel_scale.astype(np.float32)),
                graph.constant("zero_point", np.array(128, dtype=np.uint8)),
            ],
            [product],
            name=product,
            domain="com.microsoft",
        )
    )
    token_axis = graph.constant("token_column", np.array([1], dtype=np.int64))
    return graph.op("Mul", [product, graph.op("Unsqueeze", [token_scale, token_axis])], stem)


def _linear(graph: _Graph, x: str, weight: np.ndarray, bias: np.ndarray, stem: str) -> str:
    """x @ W^T + b, with W stored [in, out] as MatMul expects."""
    product = graph.op(
        "MatMul", [x, graph.constant(f"{stem}_weight", weight.T.astype(np.float32))], f"{stem}_matmul"
    )
    return graph.op("Add", [product, graph.constant(f"{stem}_bias", bias.astype(np.float32))], stem)


def _layer_norm(graph: _Graph, x: str, weights: Mapping[str, np.ndarray], prefix: str, eps: float) -> str:
    return graph.op(
        "LayerNormalization",
        [
            x,
            graph.constant(f"{prefix}_gamma", weights[f"{prefix}.weight"]),
            graph.constant(f"{prefix}_beta", weights[f"{prefix}.bias"]),
        ],
        "layernorm",
        axis=-1,
        epsilon=eps,
    )


def _attention(
    graph: _Graph,
    x: str,
    weights: Mapping[str, np.ndarray],
    prefix: str,
    heads: int,
    hidden: int,
    mask_bias: str,
) -> str:
    p = f"{prefix}.attention.self"
    qkv_weight = np.concatenate([weights[f"{p}.{n}.weight"] for n in ("query", "key", "value")], axis=0)
    qkv_bias = np.concatenate([weights[f"{p}.{n}.bias"] for n in ("query", "key", "value")])
    qkv = _linear(graph, x, qkv_weight, qkv_bias, "qkv")
    split = graph.constant("qkv_split", np.array([hidden, hidden, hidden], dtype=np.int64))
    names = [graph.name("q"), graph.name("k"), graph.name("v")]
    graph.nodes.append(helper.make_node("Split", [qkv, split], names, name=graph.name("split"), axis=2))
    head_shape = graph.constant("head_shape", np.array([0, 0, heads, hidden // heads], dtype=np.int64))
    q, k, v = (graph.op("Reshape", [n, head_shape]) for n in names)
    q = graph.op("Transpose", [q], perm=[0, 2, 1, 3])
    k = graph.op("Transpose", [k], perm=[0, 2, 3, 1])
    v = graph.op("Transpose", [v], perm=[0, 2, 1, 3])
    scores = graph.op("MatMul", [q, k], ATTENTION_MATMUL_PREFIX)
    scale = graph.constant("scale", np.array(1.0 / np.sqrt(hidden // heads), dtype=np.float32))
    scores = graph.op("Add", [graph.op("Mul", [scores, scale]), mask_bias])
    probabilities = graph.op("Softmax", [scores], axis=-1)
    context = graph.op("MatMul", [probabilities, v], ATTENTION_MATMUL_PREFIX)
    context = graph.op("Transpose", [context], perm=[0, 2, 1, 3])
    merged_shape = graph.constant("merged_shape", np.array([0, 0, hidden], dtype=np.int64))
    context = graph.op("Reshape", [context, merged_shape])
    out = f"{prefix}.attention.output.dense"
    return _linear(graph, context, weights[f"{out}.weight"], weights[f"{out}.bias"], "attention_out")


def _fused_attention(
    graph: _Graph, x: str, weights: Mapping[str, np.ndarray], prefix: str, heads: int, mask_index: str
) -> str:
    """ONNX Runtime's fused `Attention` (com.microsoft): QKV projection, scaled softmax and context in one
    kernel; its quantiser turns it into `QAttention`."""
    p = f"{prefix}.attention.self"
    qkv_weight = np.concatenate([weights[f"{p}.{n}.weight"] for n in ("query", "key", "value")], axis=0)
    qkv_bias = np.concatenate([weights[f"{p}.{n}.bias"] for n in ("query", "key", "value")])
    context = graph.name("attention")
    graph.nodes.append(
        helper.make_node(
            "Attention",
            [
                x,
                graph.constant("qkv_weight", qkv_weight.T.astype(np.float32)),
                graph.constant("qkv_bias", qkv_bias.astype(np.float32)),
                mask_index,
            ],
            [context],
            name=context,
            domain="com.microsoft",
            num_heads=heads,
        )
    )
    out = f"{prefix}.attention.output.dense"
    return _linear(graph, context, weights[f"{out}.weight"], weights[f"{out}.bias"], "attention_out")


@dataclass(frozen=True)
class _TokenLayout:
    """Names of the shapes an int8 layer needs: tokens are kept flat, [batch x tokens, hidden], between
    attentions (every other operator works per token), and viewed as [batch, tokens, width] for them."""

    batched_hidden: str  # [batch, tokens, hidden]
    batched_qkv: str  # [batch, tokens, 3 x hidden]
    flat_hidden: str  # [-1, hidden]
    zero_points: str  # uint8 128 per token, for QuantizeLinear along the token axis
    mask_bias: str  # [batch, 1, 1, tokens]: 0 for real tokens, -10000 for padding


def _token_layout(graph: _Graph, mask_index: str, mask_bias: str, hidden: int, heads: int) -> _TokenLayout:
    batch_and_tokens = graph.op("Shape", [mask_index], "batch_and_tokens")
    tokens = graph.op("ReduceProd", [batch_and_tokens], "token_count", keepdims=1)

    def batched(width: int) -> str:
        return graph.op(
            "Concat", [batch_and_tokens, graph.constant("width", np.array([width], dtype=np.int64))], axis=0
        )

    return _TokenLayout(
        batched_hidden=batched(hidden),
        batched_qkv=graph.op(
            "Concat",
            [
                batch_and_tokens,
                graph.constant("qkv_heads", np.array([3, heads, hidden // heads], dtype=np.int64)),
            ],
            axis=0,
        ),
        flat_hidden=graph.constant("flat_hidden", np.array([-1, hidden], dtype=np.int64)),
        zero_points=graph.op(
            "ConstantOfShape",
            [tokens],
            "zero_points",
            value=helper.make_tensor("zero_point", TensorProto.UINT8, [1], [128]),
        ),
        mask_bias=mask_bias,
    )


def _residual_layer_norm(
    graph: _Graph,
    x: str,
    skip: str,
    weights: Mapping[str, np.ndarray],
    prefix: str,
    bias: np.ndarray,
    eps: float,
) -> str:
    """LayerNorm(x + bias + skip). Plain `Add`s and `LayerNormalization`: ONNX Runtime's fused
    `SkipLayerNormalization` measured about six times slower per element on CPU than these."""
    biased = graph.op("Add", [x, graph.constant(f"{prefix}_bias", bias.astype(np.float32))])
    return _layer_norm(graph, graph.op("Add", [biased, skip]), weights, f"{prefix}.LayerNorm", eps)


def _int8_layer(
    graph: _Graph,
    x: str,
    weights: Mapping[str, np.ndarray],
    prefix: str,
    heads: int,
    eps: float,
    layout: _TokenLayout,
) -> str:
    """One BERT layer on flat tokens [n, hidden]: per-token int8 Q, K, V in one product, ONNX Runtime's
    `MultiHeadAttention` (fp32 inside, the mask as key padding), per-token int8 output and FFN products,
    `BiasGelu` and `SkipLayerNormalization` (bias, residual and LayerNorm in one kernel)."""
    p = f"{prefix}.attention.self"
    qkv_weight = np.concatenate([weights[f"{p}.{n}.weight"] for n in ("query", "key", "value")], axis=0)
    qkv_bias = np.concatenate([weights[f"{p}.{n}.bias"] for n in ("query", "key", "value")])
    hidden = qkv_weight.shape[1]
    qkv = _int8_matmul(graph, x, qkv_weight, "qkv", layout.zero_points)
    qkv = graph.op("Add", [qkv, graph.constant("qkv_bias", qkv_bias.astype(np.float32))])
    # [tokens, 3 x hidden] -> [3, batch, heads, tokens, head size]: one copy, then q, k, v are views
    qkv = graph.op("Reshape", [qkv, layout.batched_qkv])
    qkv = graph.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
    q, k, v = (graph.op("Gather", [qkv, graph.scalar_index(i)], axis=0) for i in range(3))
    scores = graph.name("scores")
    graph.nodes.append(
        helper.make_node(
            "FusedMatMul",
            [q, k],
            [scores],
            name=scores,
            domain="com.microsoft",
            transB=1,
            alpha=float(1.0 / np.sqrt(hidden // heads)),
        )
    )
    probabilities = graph.op("Softmax", [graph.op("Add", [scores, layout.mask_bias])], axis=-1)
    context = graph.op("MatMul", [probabilities, v], ATTENTION_MATMUL_PREFIX)
    context = graph.op("Transpose", [context], perm=[0, 2, 1, 3])
    context = graph.op("Reshape", [context, layout.flat_hidden])
    out = f"{prefix}.attention.output"
    attention = _int8_matmul(
        graph, context, weights[f"{out}.dense.weight"], "attention_out", layout.zero_points
    )
    x = _residual_layer_norm(graph, attention, x, weights, out, weights[f"{out}.dense.bias"], eps)
    intermediate = _int8_matmul(
        graph, x, weights[f"{prefix}.intermediate.dense.weight"], "ffn_in", layout.zero_points
    )
    bias = graph.constant("ffn_in_bias", weights[f"{prefix}.intermediate.dense.bias"].astype(np.float32))
    gelu = graph.name("bias_gelu")
    graph.nodes.append(
        helper.make_node("BiasGelu", [intermediate, bias], [gelu], name=gelu, domain="com.microsoft")
    )
    output = _int8_matmul(
        graph, gelu, weights[f"{prefix}.output.dense.weight"], "ffn_out", layout.zero_points
    )
    out = f"{prefix}.output"
    return _residual_layer_norm(graph, output, x, weights, out, weights[f"{out}.dense.bias"], eps)


def _gelu(graph: _Graph, x: str) -> str:
    """Exact (erf) GELU, as BERT uses."""
    inverse_sqrt2 = graph.constant("inv_sqrt2", np.array(1 / np.sqrt(2.0), dtype=np.float32))
    one = graph.constant("one", np.array(1.0, dtype=np.float32))
    half = graph.constant("half", np.array(0.5, dtype=np.float32))
    erf = graph.op("Erf", [graph.op("Mul", [x, inverse_sqrt2])])
    return graph.op("Mul", [graph.op("Mul", [x, half]), graph.op("Add", [erf, one])], "gelu")


def build_encoder_graph(
    weights: Mapping[str, np.ndarray],
    *,
    layers: int,
    heads: int,
    hidden: int,
    eps: float,
    fused: bool = True,
    int8: bool = False,
) -> onnx.ModelProto:
    """The encoder as an ONNX model (opset 17) from BertModel-named fp32 weights.

    `fused` uses ONNX Runtime's fused attention kernel (faster on CPU, ONNX Runtime only); without it the
    graph has standard operators only. `int8` quantises every weight matrix, activations per token (the
    module's docstring); it implies ONNX Runtime's operators.
    """
    graph = _Graph()
    mask = "mask"
    mask_index = graph.op("Cast", [mask], "mask_index", to=TensorProto.INT32)
    # (1 - mask) * -10000 broadcast over heads and query positions, as BERT's extended attention mask.
    inverted = graph.op("Sub", [graph.constant("one", np.array(1.0, dtype=np.float32)), mask])
    mask_bias = graph.op("Mul", [inverted, graph.constant("neg", np.array(-1e4, dtype=np.float32))])
    mask_bias = graph.op("Unsqueeze", [mask_bias, graph.constant("axes", np.array([1, 2], dtype=np.int64))])
    x = _layer_norm(graph, "embeddings", weights, "embeddings.LayerNorm", eps)
    if int8:
        layout = _token_layout(graph, mask_index, mask_bias, hidden, heads)
        x = graph.op("Reshape", [x, layout.flat_hidden])
        for layer in range(layers):
            x = _int8_layer(graph, x, weights, f"encoder.layer.{layer}", heads, eps, layout)
        x = graph.op("Reshape", [x, layout.batched_hidden])
    for layer in range(0 if int8 else layers):
        prefix = f"encoder.layer.{layer}"
        if fused:
            attention = _fused_attention(graph, x, weights, prefix, heads, mask_index)
        else:
            attention = _attention(graph, x, weights, prefix, heads, hidden, mask_bias)
        x = _layer_norm(
            graph, graph.op("Add", [x, attention]), weights, f"{prefix}.attention.output.LayerNorm", eps
        )
        intermediate = _linear(
            graph,
            x,
            weights[f"{prefix}.intermediate.dense.weight"],
            weights[f"{prefix}.intermediate.dense.bias"],
            "ffn_in",
        )
        output = _linear(
            graph,
            _gelu(graph, intermediate),
            weights[f"{prefix}.output.dense.weight"],
            weights[f"{prefix}.output.dense.bias"],
            "ffn_out",
        )
        x = _layer_norm(graph, graph.op("Add", [x, output]), weights, f"{prefix}.output.LayerNorm", eps)
    expanded_mask = graph.op("Unsqueeze", [mask, graph.constant("axes", np.array([2], dtype=np.int64))])
    token_axis = graph.constant("axis", np.array([1], dtype=np.int64))
    summed = graph.op("ReduceSum", [graph.op("Mul", [x, expanded_mask]), token_axis], keepdims=0)
    count = graph.op("ReduceSum", [mask, token_axis], keepdims=1)
    count = graph.op("Max", [count, graph.constant("min_count", np.array(1.0, dtype=np.float32))])
    graph.nodes.append(helper.make_node("Div", [summed, count], ["pooled"], name="pooled"))
    onnx_graph = helper.make_graph(
        graph.nodes,
        "wom_e5_encoder",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        graph.initializers,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(onnx_graph, opset_imports=opsets, producer_name="wom")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
