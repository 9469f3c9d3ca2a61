"""Why an incident happened: what its mentions say, where and by whom, next to the brand's usual mentions.

Pure. Terms come from a small tokenizer (words of two letters or more, lower-cased, English and Dutch
stopwords and the brand's own name left out); a term ranks by how much more often incident mentions use
it than the baseline's mentions do (add-one smoothed), so "delivery" in a delivery outage ranks above
"order", which every complaint uses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["WhyMention", "incident_why", "terms"]

_URL_RE = re.compile(r"\b(?:https?://|www\.)\S+|\S+\.[a-z]{2,6}/\S*", re.IGNORECASE)
_WORD_RE = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]{2,}", re.UNICODE)
_EN_WORDS = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves im i'm it's don't didn't can't won't isn't wasn't aren't
    ive i've you're get got still even also really one two amp https http www com via rt like just
"""
_NL_WORDS = """
    aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een eens
    en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in is ja je
    jij jou jullie kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om
    omdat onder ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren was wat
    we wel werd wezen wie wij wil worden wordt zal ze zelf zich zij zijn zo zonder zou weer echt gewoon
    heel even nou nee
"""
STOPWORDS = frozenset(_EN_WORDS.split()) | frozenset(_NL_WORDS.split())
TOP_N = 5
EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class WhyMention:
    mention_id: int
    text: str
    source: str
    author_handle: str
    reach: int | None = None


def terms(text: str, *, skip: frozenset[str] = frozenset()) -> set[str]:
    """The distinct terms of `text` worth counting (each counts once per mention)."""
    words = {m.group(0).lower().replace("’", "'") for m in _WORD_RE.finditer(_URL_RE.sub(" ", text))}
    return {w for w in words if w not in STOPWORDS and w not in skip}


def _ranked(
    incident: Sequence[WhyMention],
    baseline: Sequence[WhyMention],
    key: Callable[[WhyMention], Iterable[str]],
    *,
    name: str,
    min_count: int,
) -> list[dict[str, Any]]:
    inside = Counter(k for m in incident for k in key(m))
    usual = Counter(k for m in baseline for k in key(m))
    n_in, n_usual = max(1, len(incident)), max(1, len(baseline))

    def lift(item: str) -> float:
        return ((inside[item] + 1) / (n_in + 2)) / ((usual[item] + 1) / (n_usual + 2))

    ranked = sorted(
        (item for item, count in inside.items() if count >= min_count),
        key=lambda item: (-lift(item) * inside[item], item),
    )
    return [
        {
            name: item,
            "count": inside[item],
            "share": round(inside[item] / n_in, 3),
            "baseline_share": round(usual[item] / n_usual, 3),
        }
        for item in ranked[:TOP_N]
    ]


def incident_why(
    incident: Sequence[WhyMention], baseline: Sequence[WhyMention], *, brand_words: Iterable[str] = ()
) -> dict[str, Any]:
    """Top terms, sources and authors of the incident's mentions against the baseline's, and examples.

    Each entry: the item, its count in the incident, its share of the incident's mentions and its share of
    the baseline's. Examples are the incident's mentions from the widest-reaching authors first.
    """
    skip = frozenset(w for word in brand_words for w in terms(word))
    min_terms = 2 if len(incident) >= 4 else 1
    examples = sorted(incident, key=lambda m: (-(m.reach or 0), m.mention_id))[:EXAMPLES]
    return {
        "top_terms": _ranked(
            incident, baseline, lambda m: terms(m.text, skip=skip), name="term", min_count=min_terms
        ),
        "top_sources": _ranked(incident, baseline, lambda m: [m.source], name="source", min_count=1),
        "top_authors": _ranked(
            incident,
            baseline,
            lambda m: [f"{m.source}:{m.author_handle}"],
            name="author",
            min_count=1,
        ),
        "example_mention_ids": [m.mention_id for m in examples],
        "baseline_mentions": len(baseline),
    }
