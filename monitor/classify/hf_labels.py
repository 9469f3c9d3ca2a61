"""Maps a Hugging Face model's own labels (`id2label`) onto wom's sentiments.

Recognised: negative/neutral/positive in any case or order, abbreviated (neg/neu/pos), and "very
negative"/"very positive"; star ratings "1 star".."5 stars" (1-2 negative, 3 neutral, 4-5 positive);
generic LABEL_0..LABEL_n by position for 2, 3 or 5 labels. Anything else needs an explicit `label_map`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

import numpy as np

from monitor.classify.base import Sentiment
from monitor.errors import ClassifierError

__all__ = [
    "LABEL_TARGETS",
    "SENTIMENTS",
    "LabelTarget",
    "map_labels",
    "sentiment_matrix",
    "validated_label_map",
]

LabelTarget = Literal["negative", "neutral", "positive", "ignore"]
LABEL_TARGETS: tuple[LabelTarget, ...] = get_args(LabelTarget)
SENTIMENTS: tuple[Sentiment, Sentiment, Sentiment] = ("negative", "neutral", "positive")

_NAMED_LABELS: dict[str, Sentiment] = {
    "negative": "negative",
    "neg": "negative",
    "very negative": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
    "very positive": "positive",
}
_STAR_SENTIMENTS: dict[int, Sentiment] = {
    1: "negative",
    2: "negative",
    3: "neutral",
    4: "positive",
    5: "positive",
}
_GENERIC_ORDERS: dict[int, tuple[Sentiment, ...]] = {
    2: ("negative", "positive"),
    3: ("negative", "neutral", "positive"),
    5: tuple(_STAR_SENTIMENTS.values()),
}
_GENERIC_LABEL = re.compile(r"label (\d+)")
_STAR_LABEL = re.compile(r"([1-5]) stars?")
_TARGETS: dict[str, LabelTarget] = {target: target for target in LABEL_TARGETS}
_TARGET_SENTIMENT: dict[LabelTarget, Sentiment | None] = {
    "negative": "negative",
    "neutral": "neutral",
    "positive": "positive",
    "ignore": None,
}


def _normalized_label(name: str) -> str:
    """ "Very_Negative" -> "very negative", "LABEL_0" -> "label 0", "5 Stars" -> "5 stars"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name.lower()).split())


def _generic_mapping(normalized: Sequence[str]) -> tuple[Sentiment, ...] | None:
    matches = [_GENERIC_LABEL.fullmatch(name) for name in normalized]
    if not all(match is not None and int(match.group(1)) == i for i, match in enumerate(matches)):
        return None
    return _GENERIC_ORDERS.get(len(normalized))


def _star_mapping(normalized: Sequence[str]) -> tuple[Sentiment, ...] | None:
    matches = [_STAR_LABEL.fullmatch(name) for name in normalized]
    stars = [int(match.group(1)) for match in matches if match is not None]
    if len(stars) != len(normalized) or sorted(stars) != list(_STAR_SENTIMENTS):
        return None
    return tuple(_STAR_SENTIMENTS[star] for star in stars)


def _label_map_template(labels: Sequence[str]) -> str:
    pairs = ", ".join(f'{json.dumps(label)} = "negative|neutral|positive|ignore"' for label in labels)
    return f"[classifier] label_map = {{ {pairs} }}"


def _explicit_mapping(
    labels: Sequence[str], label_map: Mapping[str, LabelTarget], model: str
) -> tuple[Sentiment | None, ...]:
    missing = [label for label in labels if label not in label_map]
    unknown = sorted(set(label_map) - set(labels))
    if missing or unknown:
        raise ClassifierError(
            f"label_map does not fit the labels of model {model!r} {list(labels)}: "
            f"missing {missing}, not a label of the model {unknown}; map every label: "
            f"{_label_map_template(labels)}"
        )
    return tuple(_TARGET_SENTIMENT[label_map[label]] for label in labels)


def map_labels(
    labels: Sequence[str], *, label_map: Mapping[str, LabelTarget] | None = None, model: str = "the model"
) -> tuple[Sentiment | None, ...]:
    """The wom sentiment of each label of a model (None: ignored), in the model's label order.

    `labels` are the model's `id2label` names by id; `label_map`, when given, decides alone. Raises
    ClassifierError naming the labels and the `label_map` to write when the names are not recognised or
    when no label means negative or none means positive.
    """
    if label_map is not None:
        mapping = _explicit_mapping(labels, label_map, model)
    else:
        normalized = [_normalized_label(label) for label in labels]
        found = _generic_mapping(normalized) or _star_mapping(normalized)
        if found is None:
            unrecognised = [
                label for label, name in zip(labels, normalized, strict=True) if name not in _NAMED_LABELS
            ]
            if unrecognised:
                raise ClassifierError(
                    f"model {model!r} has labels {list(labels)}; wom cannot tell what {unrecognised} mean. "
                    "It knows negative/neutral/positive (or neg/neu/pos), '1 star'..'5 stars' and generic "
                    "LABEL_0..LABEL_n for 2, 3 or 5 labels. Say what each label means in the config: "
                    f"{_label_map_template(labels)}"
                )
            found = tuple(_NAMED_LABELS[name] for name in normalized)
        mapping = found
    if "negative" not in mapping or "positive" not in mapping:
        raise ClassifierError(
            f"model {model!r} labels {list(labels)} map to {list(mapping)}; a sentiment model needs at least "
            f"one negative and one positive label: {_label_map_template(labels)}"
        )
    return mapping


def validated_label_map(label_map: Mapping[str, str]) -> dict[str, LabelTarget]:
    bad = {label: target for label, target in label_map.items() if target not in LABEL_TARGETS}
    if bad:
        raise ClassifierError(
            f"label_map maps {bad} to unknown targets; map each label to one of {', '.join(LABEL_TARGETS)}"
        )
    return {label: _TARGETS[target] for label, target in label_map.items()}


def sentiment_matrix(mapping: Sequence[Sentiment | None]) -> np.ndarray:
    """(labels, 3): row i is one-hot on the sentiment of label i, all zero for an ignored label."""
    matrix = np.zeros((len(mapping), len(SENTIMENTS)))
    for row, sentiment in enumerate(mapping):
        if sentiment is not None:
            matrix[row, SENTIMENTS.index(sentiment)] = 1.0
    return matrix
