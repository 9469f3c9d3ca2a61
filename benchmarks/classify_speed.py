"""Classifier speed, memory and the quality cost of int8, side by side in one run.

    python -m benchmarks.classify_speed [--data ../shared/data] [--texts 2000] [--naive-texts 300]

Each variant runs in a fresh process (so peak memory is its own) on the same texts, end to end: tokenise,
model, heads, language, JSON lines out.
- `wom int8`: the default (ONNX Runtime, int8 per-channel, length-sorted batches).
- `wom fp32`: the same graph unquantised.
- `naive`: `transformers.pipeline("feature-extraction")` on the same merged fp32 model in torch, called
  one text at a time, + mean pooling and the same heads (needs torch).
Quality: TweetEval val macro-recall of fp32 and int8 on the texts used (the whole val split by default).
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


def _run_wom(precision: str, texts: list[str], threads: int) -> dict[str, Any]:
    from monitor.classify.e5_onnx import E5Classifier

    classifier = E5Classifier(precision=precision, threads=threads)  # type: ignore[arg-type]
    classifier.classify(texts[:8])  # loads (and, the first time, builds) the model
    best = 0.0
    results: list[Any] = []
    for _ in range(2):
        started = time.perf_counter()
        results = classifier.classify(texts)
        _json_lines(texts, results)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return {"texts_per_s": best, "sentiment": [r.sentiment for r in results]}


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


def _child(variant: str, texts_file: Path, threads: int) -> None:
    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    outcome = _run_naive(texts, threads) if variant == "naive" else _run_wom(variant, texts, threads)
    outcome["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(outcome))


def _spawn(variant: str, texts: list[str], threads: int) -> dict[str, Any]:
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
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--child", choices=["int8", "fp32", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.texts_file, args.threads)
        return 0
    texts, gold = _texts(args.data, args.texts)
    print(f"{len(texts)} texts ({'TweetEval val' if gold else 'demo sample'}), {args.threads} threads")
    rows = {variant: _spawn(variant, texts, args.threads) for variant in ("int8", "fp32")}
    if not args.skip_naive:
        rows["naive"] = _spawn("naive", texts[: args.naive_texts], args.threads)
    reference = rows.get("naive", rows["fp32"])["texts_per_s"]
    print(f"{'variant':<32} {'texts/s':>8} {'vs naive':>9} {'peak RSS MB':>12} {'TweetEval mRec':>15}")
    labels = {"int8": "wom int8 (default)", "fp32": "wom fp32 (ONNX)", "naive": "naive pipeline, 1 text/call"}
    for variant, row in rows.items():
        quality = "-"
        if gold is not None and variant != "naive":
            quality = f"{100 * _macro_recall(gold, row['sentiment']):.1f}"
        ratio = row["texts_per_s"] / reference
        print(
            f"{labels[variant]:<32} {row['texts_per_s']:>8.1f} {ratio:>8.2f}x {row['peak_rss_mb']:>12.0f} {quality:>15}"
        )
    if gold is not None:
        agree = np.mean(
            [a == b for a, b in zip(rows["int8"]["sentiment"], rows["fp32"]["sentiment"], strict=True)]
        )
        print(f"int8 and fp32 agree on {100 * agree:.1f}% of texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
