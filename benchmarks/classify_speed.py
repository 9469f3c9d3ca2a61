"""Classifier speed, memory and the quality cost of int8, side by side in one run.

    python -m benchmarks.classify_speed [--data ../shared/data] [--texts 2000] [--naive-texts 300]

Each variant runs in a fresh process (so peak memory is its own) on the same texts, end to end: tokenise,
model, heads, language, JSON lines out.
- `wom int8`: the default (ONNX Runtime, int8 weights per channel and activations per token, length-sorted
  batches).
- `wom fp32`: the same graph unquantised.
- `int8 dynamic (old)`: wom's builder-2 model, ONNX Runtime's `quantize_dynamic` of the fp32 graph (one
  activation scale per batch), built here in a temporary folder for comparison.
- `naive`: `transformers.pipeline("feature-extraction")` on the same merged fp32 model in torch, called
  one text at a time, + mean pooling and the same heads (needs torch).
Quality: TweetEval val macro-recall of fp32 and int8 on the texts used (the whole val split by default).
Batch independence (`label moves`): the first `--batch-texts` texts (default 512) classified alone, in
calls of 16 (batch size 16) and in calls of 256 (batch size 256): the share of texts whose sentiment is not
the same in all three, and the largest difference of score or confidence. Peak RSS is taken before this
part (batches of 256 long texts need more memory than serving does).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TWEETS = Path("tweeteval_sentiment") / "val.jsonl"
DEMO = Path(__file__).resolve().parents[1] / "monitor" / "demo" / "sample_mentions.jsonl"


def _texts(data: Path | None, count: int) -> tuple[list[str], list[str] | None]:
    if data is not None and (data / TWEETS).exists():
        rows = [json.loads(line) for line in (data / TWEETS).read_text(encoding="utf-8").splitlines() if line]
        rows = rows[:count]
        return [r["text"] for r in rows], [r["label"] for r in rows]
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line]
    texts = [r["text"] for r in rows]
    return (texts * (count // len(texts) + 1))[:count], None


def _json_lines(texts: list[str], results: list[Any]) -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "text": t,
                "sentiment": r.sentiment,
                "confidence": round(r.confidence, 4),
                "score": round(r.score, 4),
                "lang": r.lang,
                "intent": r.intent,
            }
        )
        + b"\n"
        for t, r in zip(texts, results, strict=True)
    )


def _dynamic_model(folder: Path) -> Path:
    """wom's builder-2 int8 model: ONNX Runtime's dynamic quantisation of the fp32 graph."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from monitor.classify.model_build import build_model, load_adapter
    from monitor.classify.onnx_graph import ATTENTION_MATMUL_PREFIX

    fp32 = build_model(load_adapter(), "fp32").path
    graph = onnx.load(fp32)
    target = folder / "encoder.int8-dynamic.onnx"
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser's pre-processing hint
    quantize_dynamic(
        fp32,
        target,
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_exclude=[n.name for n in graph.graph.node if n.name.startswith(ATTENTION_MATMUL_PREFIX)],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return target


def _batch_independence(classifier: Any, texts: list[str]) -> dict[str, float]:
    runs = []
    for size in (1, 16, 256):
        classifier.batch_size = size
        runs.append([r for i in range(0, len(texts), size) for r in classifier.classify(texts[i : i + size])])
    moved = [len({r.sentiment for r in rs}) > 1 for rs in zip(*runs, strict=True)]
    largest = max(
        max(abs(a.score - b.score), abs(a.confidence - b.confidence))
        for other in runs[1:]
        for a, b in zip(runs[0], other, strict=True)
    )
    return {"moved": float(np.mean(moved)), "largest_difference": largest}


def _run_wom(variant: str, texts: list[str], threads: int, batch_texts: int) -> dict[str, Any]:
    from monitor.classify.e5_onnx import E5Classifier

    with tempfile.TemporaryDirectory() as scratch:
        if variant == "int8-dynamic":
            classifier = E5Classifier(threads=threads, model_path=_dynamic_model(Path(scratch)))
        else:
            classifier = E5Classifier(precision=variant, threads=threads)  # type: ignore[arg-type]
        classifier.classify(texts[:8])  # loads (and, the first time, builds) the model
        best = 0.0
        results: list[Any] = []
        for _ in range(2):
            started = time.perf_counter()
            results = classifier.classify(texts)
            _json_lines(texts, results)
            best = max(best, len(texts) / (time.perf_counter() - started))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        batches = _batch_independence(classifier, texts[:batch_texts])
    return {"texts_per_s": best, "sentiment": [r.sentiment for r in results], "peak_rss_mb": peak} | batches


def _run_naive(texts: list[str], threads: int) -> dict[str, Any]:
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast, pipeline

    from monitor.classify.e5_file import open_e5_file
    from monitor.classify.e5_onnx import E5Classifier
    from monitor.classify.encoder_weights import base_weights, embed_rows, merge_adapter
    from monitor.classify.language import detect_languages
    from monitor.classify.preprocess import normalize_for_model
    from monitor.classify.tokenizer import QUERY_PREFIX, E5Tokenizer

    torch.set_num_threads(threads)
    model_file = open_e5_file()
    classifier = E5Classifier(threads=threads)  # only for its adapter, heads and decision rule
    adapter = classifier.adapter
    weights = merge_adapter(base_weights(model_file), adapter.tensors, adapter.scale)
    header = model_file.header
    config = BertConfig(
        vocab_size=header.vocab_rows,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.token_types,
        layer_norm_eps=header.eps,
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in weights.items()}
    state["embeddings.word_embeddings.weight"] = torch.from_numpy(
        embed_rows(model_file.word_blocks(), np.arange(header.vocab_rows))
    )
    model.load_state_dict(state)
    e5_tokenizer = E5Tokenizer(model_file)
    hf_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=e5_tokenizer._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=256,
    )
    from tokenizers.processors import TemplateProcessing

    hf_tokenizer._tokenizer.post_processor = TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", model_file.bos), ("</s>", model_file.eos)]
    )
    extract = pipeline(
        "feature-extraction", model=model, tokenizer=hf_tokenizer, framework="pt", device="cpu"
    )
    started = time.perf_counter()
    results = []
    for text in texts:
        normalized = normalize_for_model(text)
        hidden = np.asarray(extract(e5_tokenizer.normalize(QUERY_PREFIX + normalized), truncation=True)[0])
        pooled = hidden.mean(axis=0, keepdims=True).astype(np.float32)
        outputs = classifier.heads(pooled, ["post"])
        (lang,) = detect_languages([normalized])
        results.append(
            classifier._decide(normalized, outputs.sentiment[0], float(outputs.complaint[0]), lang)
        )
        _json_lines([text], results[-1:])
    return {
        "texts_per_s": len(texts) / (time.perf_counter() - started),
        "sentiment": [r.sentiment for r in results],
    }


def _child(variant: str, texts_file: Path, threads: int, batch_texts: int) -> None:
    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    if variant == "naive":
        outcome = _run_naive(texts, threads)
        outcome["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    else:
        outcome = _run_wom(variant, texts, threads, batch_texts)
    print(json.dumps(outcome))


def _spawn(variant: str, texts: list[str], threads: int, batch_texts: int = 0) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(texts, handle)
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.classify_speed",
                "--child",
                variant,
                "--texts-file",
                handle.name,
                "--threads",
                str(threads),
                "--batch-texts",
                str(batch_texts),
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "OMP_NUM_THREADS": str(threads)},
        )
    finally:
        os.unlink(handle.name)
    if completed.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{completed.stderr[-3000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def _macro_recall(gold: list[str], pred: list[str]) -> float:
    from monitor.classify.training.evaluate import macro_recall

    return macro_recall(gold, pred)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA if SHARED_DATA.exists() else None)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--naive-texts", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-texts", type=int, default=512)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-dynamic", action="store_true", help="leave out the old dynamic int8 model")
    parser.add_argument("--child", choices=["int8", "fp32", "int8-dynamic", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.texts_file, args.threads, args.batch_texts)
        return 0
    texts, gold = _texts(args.data, args.texts)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{len(texts)} texts ({'TweetEval val' if gold else 'demo sample'}), {args.threads} threads, "
        f"{os.cpu_count()} CPUs, load average {load} before the run"
    )
    variants = ["int8", "fp32"] + ([] if args.skip_dynamic else ["int8-dynamic"])
    rows = {variant: _spawn(variant, texts, args.threads, args.batch_texts) for variant in variants}
    if not args.skip_naive:
        rows["naive"] = _spawn("naive", texts[: args.naive_texts], args.threads)
    reference = rows.get("naive", rows["fp32"])["texts_per_s"]
    print(
        f"{'variant':<32} {'texts/s':>8} {'vs naive':>9} {'peak RSS MB':>12} {'TweetEval mRec':>15}"
        f" {'label moves':>12} {'max diff':>9}"
    )
    labels = {
        "int8": "wom int8 (default)",
        "fp32": "wom fp32 (ONNX)",
        "int8-dynamic": "int8 dynamic (old default)",
        "naive": "naive pipeline, 1 text/call",
    }
    for variant, row in rows.items():
        quality = "-"
        if gold is not None and variant != "naive":
            quality = f"{100 * _macro_recall(gold, row['sentiment']):.1f}"
        ratio = row["texts_per_s"] / reference
        moved = f"{100 * row['moved']:.1f}%" if "moved" in row else "-"
        largest = f"{row['largest_difference']:.1e}" if "largest_difference" in row else "-"
        print(
            f"{labels[variant]:<32} {row['texts_per_s']:>8.1f} {ratio:>8.2f}x {row['peak_rss_mb']:>12.0f}"
            f" {quality:>15} {moved:>12} {largest:>9}"
        )
    print(
        f"label moves: share of the first {args.batch_texts} texts whose sentiment differs alone / 16 / 256"
    )
    print(f"load average after the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if gold is not None:
        agree = np.mean(
            [a == b for a, b in zip(rows["int8"]["sentiment"], rows["fp32"]["sentiment"], strict=True)]
        )
        print(f"int8 and fp32 agree on {100 * agree:.1f}% of texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
