"""Any Hugging Face sequence-classification model as a wom classifier (the `transformers` backend).

The model is named by a Hub id ("cardiffnlp/twitter-xlm-roberta-base-sentiment") or by a local directory
written by `save_pretrained`. Its labels are read from its own config (`id2label`) and mapped onto wom's
sentiments by `map_labels`:
  * names: negative/neutral/positive in any case or order, abbreviated (neg/neu/pos), and
    "very negative"/"very positive";
  * star ratings "1 star".."5 stars": 1-2 stars negative, 3 neutral, 4-5 positive;
  * generic names LABEL_0..LABEL_n, by position only: 2 labels negative, positive; 3 labels negative,
    neutral, positive; 5 labels as the five stars.
Anything else raises ClassifierError; an explicit `label_map` (label name -> negative, neutral, positive
or ignore) maps any model. Probabilities of labels that map to one sentiment are summed; ignored labels
are dropped and the rest renormalised. A 2-label model never says neutral.

`version` is the Hub commit the files come from, or for a local directory a short hash of its
config.json and the names, sizes and mtimes of its other files: a changed model gets a new version, so
the pipeline does not reuse classifications of the old one.

Intent: the model has no complaint head, so `monitor.classify.intent.decide_intent` runs without one: a
text is a question by its rule (English and Dutch), else praise when its sentiment is positive, else
other. It never says complaint: complaint detection needs the default model's intent head
(`[classifier] backend = "e5"`).

torch and transformers are imported on first use, so this module imports without them. Runs on CPU.
Models that need custom code (`trust_remote_code`) are not run.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from monitor.classify.base import Classification, TextKind, check_batch
from monitor.classify.hf_labels import (
    LABEL_TARGETS,
    SENTIMENTS,
    LabelTarget,
    map_labels,
    sentiment_matrix,
    validated_label_map,
)
from monitor.classify.intent import decide_intent
from monitor.classify.language import DEFAULT_EXPECTED_LANGUAGES, detect_languages
from monitor.classify.preprocess import normalize_for_model
from monitor.errors import ClassifierError

__all__ = [
    "INSTALL_HINT",
    "LABEL_TARGETS",
    "SENTIMENTS",
    "LabelTarget",
    "TransformersClassifier",
    "map_labels",
]

INSTALL_HINT = "pip install torch==2.13.0 first (the CPU build), then pip install transformers"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_NEUTRAL = np.array([0.0, 1.0, 0.0])


# --- Where the model comes from -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Source:
    location: str  # what from_pretrained gets: a local directory or a Hub id
    revision: str | None  # the Hub commit every file is loaded from; None for a local directory
    local_files_only: bool | None
    version: str
    fix: str  # what to do when a file of the model cannot be loaded


def _looks_like_path(model: str) -> bool:
    # A Hub id is "name" or "owner/name"; anything else can only be meant as a path.
    return (
        model.startswith((".", "~", "/"))
        or "\\" in model
        or model.count("/") > 1
        or Path(model).is_absolute()
    )


def _fingerprint(directory: Path) -> str:
    """A short hash of config.json and the name, size and mtime of every other file in `directory`."""
    digest = hashlib.sha256((directory / "config.json").read_bytes())
    for entry in sorted(directory.iterdir()):
        if entry.name != "config.json" and not entry.name.startswith(".") and entry.is_file():
            stat = entry.stat()
            digest.update(f"\0{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return f"local-{digest.hexdigest()[:12]}"


def _local_source(model: str, directory: Path) -> _Source:
    save_hint = (
        "point [classifier] model at a directory holding model.save_pretrained(DIR) and "
        "tokenizer.save_pretrained(DIR), or at a Hugging Face model id"
    )
    if not directory.is_dir():
        problem = "is not a directory" if directory.exists() else "does not exist"
        raise ClassifierError(f"model path {str(directory.absolute())!r} {problem}; {save_hint}")
    if not (directory / "config.json").is_file():
        raise ClassifierError(
            f"model directory {str(directory.absolute())!r} has no config.json; {save_hint}"
        )
    fix = (
        f"check that {str(directory)!r} holds a complete save_pretrained output (config, tokenizer, weights)"
    )
    return _Source(str(directory), None, True, _fingerprint(directory), fix)


def _download_hint(model: str) -> str:
    from huggingface_hub import constants

    return (
        f"on a machine with network, pre-download it with `hf download {model}` (older huggingface_hub: "
        f"`huggingface-cli download {model}`), copy that machine's cache (~/.cache/huggingface) here and set "
        f"HF_HOME to the copy (models are read from {constants.HF_HUB_CACHE} now); or save the model and its "
        "tokenizer with save_pretrained into a directory and set [classifier] model to that directory"
    )


def _hub_source(model: str, local_files_only: bool | None) -> _Source:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError

    try:
        config_path = hf_hub_download(model, "config.json", local_files_only=bool(local_files_only))
    except (RepositoryNotFoundError, HFValidationError) as e:
        raise ClassifierError(
            f"model {model!r} is neither an existing directory nor a model on the Hugging Face Hub ({e}); "
            "check the id (a private or gated model needs `hf auth login` or HF_TOKEN), or point "
            "[classifier] model at a local directory written by save_pretrained"
        ) from e
    except OSError as e:  # not cached and the Hub is unreachable, offline mode, or an HTTP error
        raise ClassifierError(
            f"model {model!r} is not in the local Hugging Face cache and cannot be fetched from the Hub "
            f"({e}); {_download_hint(model)}"
        ) from e
    snapshot = Path(config_path).parent
    revision = snapshot.name if _COMMIT.fullmatch(snapshot.name) else None
    fix = f"the cached copy may be incomplete; {_download_hint(model)}"
    return _Source(model, revision, local_files_only, revision or _fingerprint(snapshot), fix)


def _source(model: str, local_files_only: bool | None) -> _Source:
    directory = Path(model).expanduser()
    if directory.exists() or _looks_like_path(model):
        return _local_source(model, directory)
    return _hub_source(model, local_files_only)


# --- Loading ----------------------------------------------------------------------------------------------


def _import_runtime() -> tuple[ModuleType, ModuleType]:
    """(torch, transformers), or ClassifierError saying how to install them."""
    try:
        import torch
        import transformers
    except (ImportError, OSError) as e:  # OSError: a torch install whose shared libraries do not load
        raise ClassifierError(
            f"the transformers backend needs torch and transformers ({e}); {INSTALL_HINT}"
        ) from e
    return torch, transformers


def _from_pretrained(factory: Any, source: _Source, what: str, **kwargs: Any) -> Any:
    if source.revision is not None:
        kwargs["revision"] = source.revision
    if source.local_files_only is not None:
        kwargs["local_files_only"] = source.local_files_only
    try:
        return factory.from_pretrained(source.location, **kwargs)
    # ImportError: a tokenizer that needs an optional library (sentencepiece, tiktoken) names it
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as e:
        raise ClassifierError(
            f"cannot load the {what} of model {source.location!r} ({e}); {source.fix}"
        ) from e


def _label_names(config: Any, model: str) -> list[str]:
    id2label: dict[int, str] = dict(config.id2label)
    if sorted(id2label) != list(range(len(id2label))):
        raise ClassifierError(
            f"model {model!r} has label ids {sorted(id2label)} in its config (id2label); expected 0..n-1"
        )
    return [str(id2label[i]) for i in range(len(id2label))]


def _ensure_pad_token(tokenizer: Any, model: Any, name: str) -> None:
    """Batches need padding; decoder-style classifiers (GPT-2, Llama) often ship without a pad token."""
    if tokenizer.pad_token is not None:
        return
    if tokenizer.eos_token is None:
        raise ClassifierError(
            f"the tokenizer of model {name!r} has neither a pad nor an end-of-sequence token, so texts cannot "
            "be batched; set tokenizer.pad_token and save the tokenizer again with save_pretrained"
        )
    tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.eos_token_id


@dataclass(frozen=True, slots=True)
class _Resolved:
    source: _Source
    config: Any
    sentiment_matrix: np.ndarray  # (labels, 3)


@dataclass(frozen=True, slots=True)
class _Loaded:
    torch: ModuleType
    tokenizer: Any
    model: Any
    max_length: int


@contextmanager
def _torch_threads(torch: ModuleType, threads: int | None) -> Iterator[None]:
    """Runs with `threads` intra-op threads, then gives the calling thread its own setting back.

    Under OpenMP the setting belongs to the calling thread, so it is made on every call, not once at load.
    """
    if threads is None:
        yield
        return
    caller_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(caller_threads)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return probs


def _sentiment_probabilities(label_probs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(n, 3) from (n, labels): summed per sentiment, renormalised over the labels that are not ignored."""
    mapped = label_probs @ matrix
    total = mapped.sum(axis=1, keepdims=True)
    # all mass on ignored labels is no evidence either way: neutral
    return np.where(total > 0, mapped / np.where(total > 0, total, 1.0), _NEUTRAL)


def _classification(text: str, probs: np.ndarray, lang: str) -> Classification:
    index = int(np.argmax(probs))
    sentiment = SENTIMENTS[index]
    # no complaint head: P(complaint) 0 under a threshold nothing reaches, so question > praise > other
    intent, intent_confidence = decide_intent(
        text, sentiment, float(probs[0]), float(probs[2]), p_complaint=0.0, complaint_threshold=math.inf
    )
    return Classification(
        sentiment=sentiment,
        confidence=float(probs[index]),
        score=float(np.clip(probs[2] - probs[0], -1.0, 1.0)),
        lang=lang,
        intent=intent,
        intent_confidence=float(intent_confidence),
    )


# --- Classifier -------------------------------------------------------------------------------------------


class TransformersClassifier:
    """Sentiment from a Hugging Face sequence-classification model; language by lingua; intent by rule.

    Nothing is loaded at construction. The first `version` read resolves the model (its config and, for a
    Hub id, the commit) and checks its labels; the first `classify` also loads tokenizer and weights. Both
    happen once per instance under a lock, and calls into the model are serialised, so one instance can be
    shared between threads. `threads` is torch's intra-op thread count while the model runs; None keeps
    the calling thread's setting. `local_files_only` applies to Hub ids: True never touches the
    network, None leaves it to HF_HUB_OFFLINE. Raises ClassifierError when the model cannot be used.
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        max_length: int = 256,
        local_files_only: bool | None = None,
        label_map: Mapping[str, str] | None = None,
        expected_languages: Sequence[str] = DEFAULT_EXPECTED_LANGUAGES,
    ) -> None:
        if not model.strip():
            raise ClassifierError(
                "[classifier] model is empty; set it to a Hugging Face model id or a directory"
            )
        if batch_size < 1 or max_length < 1 or (threads is not None and threads < 1):
            raise ValueError(
                f"batch_size ({batch_size}), max_length ({max_length}) and threads ({threads}) must be at least 1"
            )
        self.model = model
        self.name = f"transformers:{model}"
        self.batch_size = batch_size
        self.threads = threads
        self.max_length = max_length
        self.expected_languages = tuple(expected_languages)
        self.local_files_only = local_files_only
        self.label_map = None if label_map is None else validated_label_map(label_map)
        self._lock = threading.Lock()
        self._resolved: _Resolved | None = None
        self._loaded: _Loaded | None = None

    @property
    def version(self) -> str:
        """The Hub commit of the model, or `local-<hash>` for a local directory. Resolves the model."""
        resolved = self._resolved
        if resolved is None:
            with self._lock:
                resolved = self._resolve_locked()
        return resolved.source.version

    def _resolve_locked(self) -> _Resolved:
        if self._resolved is None:
            _, transformers = _import_runtime()
            source = _source(self.model, self.local_files_only)
            config = _from_pretrained(transformers.AutoConfig, source, "config")
            mapping = map_labels(_label_names(config, self.model), label_map=self.label_map, model=self.model)
            self._resolved = _Resolved(source, config, sentiment_matrix(mapping))
        return self._resolved

    def _load_locked(self) -> _Loaded:
        if self._loaded is None:
            resolved = self._resolve_locked()
            torch, transformers = _import_runtime()
            tokenizer = _from_pretrained(transformers.AutoTokenizer, resolved.source, "tokenizer")
            # float32: half-precision checkpoints are slow or unsupported on CPU
            model = _from_pretrained(
                transformers.AutoModelForSequenceClassification,
                resolved.source,
                "weights",
                config=resolved.config,
                dtype=torch.float32,
            )
            model.eval()
            _ensure_pad_token(tokenizer, model, self.model)
            max_length = min(self.max_length, int(tokenizer.model_max_length))
            self._loaded = _Loaded(torch, tokenizer, model, max_length)
        return self._loaded

    def _label_probabilities(self, loaded: _Loaded, texts: list[str]) -> np.ndarray:
        try:
            encoded = loaded.tokenizer(
                texts, padding=True, truncation=True, max_length=loaded.max_length, return_tensors="pt"
            )
            with loaded.torch.inference_mode():
                logits = loaded.model(**encoded).logits
        except (RuntimeError, ValueError, IndexError, TypeError) as e:
            raise ClassifierError(
                f"model {self.model!r} failed on a batch of {len(texts)} texts ({e!r})"
            ) from e
        return _softmax(logits.double().numpy())

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 3) probabilities (negative, neutral, positive); texts empty after normalisation get (0, 1, 0)."""
        return self._probabilities([normalize_for_model(text) for text in texts])

    def _probabilities(self, normalized: list[str]) -> np.ndarray:
        sentiment = np.tile(_NEUTRAL, (len(normalized), 1))
        # batches of similar length need less padding; results go back to their input positions
        todo = sorted((i for i, text in enumerate(normalized) if text), key=lambda i: len(normalized[i]))
        if not todo:
            return sentiment
        with self._lock:
            loaded = self._load_locked()
            matrix = self._resolve_locked().sentiment_matrix
            with _torch_threads(loaded.torch, self.threads):
                for start in range(0, len(todo), self.batch_size):
                    batch = todo[start : start + self.batch_size]
                    label_probs = self._label_probabilities(loaded, [normalized[i] for i in batch])
                    sentiment[batch] = _sentiment_probabilities(label_probs, matrix)
        return sentiment

    def classify(
        self,
        texts: Sequence[str],
        *,
        hint_langs: Sequence[str | None] | None = None,
        hint_kinds: Sequence[TextKind | None] | None = None,
    ) -> list[Classification]:
        """One Classification per text, in order. `hint_kinds` is accepted and ignored (one head for all).

        Raises ClassifierError when the model cannot be loaded or run.
        """
        check_batch(texts, hint_langs, hint_kinds)
        if not texts:
            return []
        normalized = [normalize_for_model(text) for text in texts]
        sentiment = self._probabilities(normalized)
        langs = detect_languages(normalized, hint_langs, self.expected_languages)
        return [
            _classification(text, probs, lang)
            for text, probs, lang in zip(normalized, sentiment, langs, strict=True)
        ]
