"""An in-process cache in front of a classifier: copy-paste waves (retweets, giveaway spam, bots) are
classified once. Keyed by the exact text, language hint and kind, so it never changes a result."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from monitor.classify.base import Classification, Classifier, TextKind

__all__ = ["CachedClassifier"]


class CachedClassifier:
    def __init__(self, inner: Classifier, *, max_entries: int = 20_000) -> None:
        self.inner = inner
        self.name = inner.name
        self.version = inner.version
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str | None, TextKind | None], Classification] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def classify(
        self,
        texts: Sequence[str],
        *,
        hint_langs: Sequence[str | None] | None = None,
        hint_kinds: Sequence[TextKind | None] | None = None,
    ) -> list[Classification]:
        hints = list(hint_langs) if hint_langs is not None else [None] * len(texts)
        kinds = list(hint_kinds) if hint_kinds is not None else [None] * len(texts)
        keys = list(zip(texts, hints, kinds, strict=True))
        with self._lock:
            known = {key: self._entries[key] for key in keys if key in self._entries}
            for key in known:
                self._entries.move_to_end(key)
        missing = list(dict.fromkeys(key for key in keys if key not in known))
        if missing:
            fresh = self.inner.classify(
                [t for t, _, _ in missing],
                hint_langs=[h for _, h, _ in missing],
                hint_kinds=[k for _, _, k in missing],
            )
            with self._lock:
                for key, result in zip(missing, fresh, strict=True):
                    self._entries[key] = result
                    known[key] = result
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        return [known[key] for key in keys]
