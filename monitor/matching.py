"""Which configured brands a mention concerns: keywords, hashtags and handles, whole words, accents ignored."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["BrandMatcher", "BrandRules", "fold"]


def fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Café KÖNIG' -> 'cafe konig'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@dataclass(frozen=True, slots=True)
class BrandRules:
    brand_id: int
    name: str
    keywords: tuple[str, ...]
    hashtags: tuple[str, ...]
    handles: tuple[str, ...]
    exclusions: tuple[str, ...]
    competitor_of: int | None = None  # the brand id this one is a competitor of


def _alternation(terms: Iterable[str]) -> str:
    # longest first, so "acme shop" wins over "acme" in the reported term
    unique = sorted({fold(t).strip() for t in terms if t.strip()}, key=len, reverse=True)
    return "|".join(re.escape(t) for t in unique)


def _whole_words(alternation: str) -> re.Pattern[str] | None:
    if not alternation:
        return None
    return re.compile(rf"(?<![\w])(?:{alternation})(?![\w])")


class BrandMatcher:
    """Compiled once per config; `match` is pure and cheap."""

    def __init__(self, rules: Sequence[BrandRules]) -> None:
        self._rules = list(rules)
        self._by_name = {fold(r.name): r.brand_id for r in rules}
        self._competitors: dict[int, set[int]] = {}
        for r in rules:
            if r.competitor_of is not None:
                self._competitors.setdefault(r.competitor_of, set()).add(r.brand_id)
        self._compiled = [
            (
                r,
                _whole_words(_alternation(r.keywords)),
                re.compile(rf"(?:{_alternation(r.hashtags)})(?![\w])") if r.hashtags else None,
                re.compile(rf"(?<![\w])@(?:{_alternation(h.lstrip('@') for h in r.handles)})(?![\w])")
                if r.handles
                else None,
                _whole_words(_alternation(r.exclusions)),
            )
            for r in rules
        ]

    def brand_id_for_name(self, name: str) -> int | None:
        return self._by_name.get(fold(name).strip())

    def scope(self, brand_id: int) -> frozenset[int]:
        """`brand_id` and its competitors: what a mention stored through a key limited to it may concern."""
        return frozenset({brand_id, *self._competitors.get(brand_id, ())})

    def match(
        self, text: str, *, brand_hint: str | None = None, scope_brand_id: int | None = None
    ) -> dict[int, str]:
        """Brand id -> how it matched ('import', 'keyword', 'hashtag', 'handle'). Exclusions win over terms.

        With `scope_brand_id` (the mention came through a key limited to that brand) only that brand and
        its competitors are considered, the hint included."""
        allowed = None if scope_brand_id is None else self.scope(scope_brand_id)
        found: dict[int, str] = {}
        if brand_hint:
            hinted = self.brand_id_for_name(brand_hint)
            if hinted is not None and (allowed is None or hinted in allowed):
                found[hinted] = "import"
        folded = fold(text)
        for rules, keywords, hashtags, handles, exclusions in self._compiled:
            if rules.brand_id in found or (allowed is not None and rules.brand_id not in allowed):
                continue
            if exclusions is not None and exclusions.search(folded):
                continue
            if hashtags is not None and hashtags.search(folded):
                found[rules.brand_id] = "hashtag"
            elif handles is not None and handles.search(folded):
                found[rules.brand_id] = "handle"
            elif keywords is not None and keywords.search(folded):
                found[rules.brand_id] = "keyword"
        return found
