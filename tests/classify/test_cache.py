from collections.abc import Sequence

from monitor.classify.base import Classification
from monitor.classify.cache import CachedClassifier


class _CountingClassifier:
    """A real (if trivial) classifier over text length, to count what reaches the inner model."""

    name = "length"
    version = "1"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def classify(
        self,
        texts: Sequence[str],
        *,
        hint_langs: Sequence[str | None] | None = None,
        hint_kinds: Sequence[str | None] | None = None,
    ) -> list[Classification]:
        self.seen.extend(texts)
        return [
            Classification("positive" if len(t) > 3 else "negative", 1.0, 1.0, hint or "und", "other", 0.5)
            for t, hint in zip(texts, hint_langs or [None] * len(texts), strict=True)
        ]


def test_repeated_texts_reach_the_model_once_and_results_keep_their_order() -> None:
    inner = _CountingClassifier()
    cached = CachedClassifier(inner, max_entries=10)
    first = cached.classify(["long text", "no", "long text"], hint_langs=["en", "nl", "en"])
    second = cached.classify(["no", "long text", "other"], hint_langs=["nl", "en", None])
    assert [r.sentiment for r in first] == ["positive", "negative", "positive"]
    assert [r.lang for r in second] == ["nl", "en", "und"]
    assert inner.seen == ["long text", "no", "other"]
    assert (cached.hits, cached.misses) == (3, 3)
    assert (cached.name, cached.version) == ("length", "1")


def test_same_text_with_another_language_hint_is_another_entry() -> None:
    inner = _CountingClassifier()
    cached = CachedClassifier(inner)
    cached.classify(["hallo daar"], hint_langs=["nl"])
    cached.classify(["hallo daar"], hint_langs=["en"])
    assert inner.seen == ["hallo daar", "hallo daar"]


def test_oldest_entries_are_evicted() -> None:
    inner = _CountingClassifier()
    cached = CachedClassifier(inner, max_entries=2)
    cached.classify(["aaaa", "bbbb", "cccc"])
    cached.classify(["aaaa"])
    assert inner.seen == ["aaaa", "bbbb", "cccc", "aaaa"]
