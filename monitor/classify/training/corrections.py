"""People's corrections (mention labels) as labelled training items, in the format of ../shared/data.

A label that sets a sentiment gives a sentiment item (a review when the mention has a star rating, else a
post: the head the classifier used); a label that sets an intent gives a complaint item (`complaint` for
complaint, `not_complaint` for any other intent a person chose). Copies of one text with the same task keep
the newest label (per head: a post and a review of one text are separate items). Written as JSON Lines `{"text", "label", "lang", "kind"}`, such a file is a split that
`wom model train --data` and `wom model eval --data` read like any dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import orjson

from monitor.classify.base import TextKind
from monitor.classify.training.datasets import CORRECTIONS_DATASET, LabelledItem

__all__ = ["CORRECTIONS_DATASET", "LabelledText", "correction_items", "write_corrections"]


class LabelledText(Protocol):
    """One person's label with its mention's text: what `monitor.storage.labels.labelled_mentions` reads."""

    @property
    def text(self) -> str: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def rating(self) -> float | None: ...
    @property
    def sentiment(self) -> str | None: ...
    @property
    def intent(self) -> str | None: ...


def correction_items(labels: Iterable[LabelledText]) -> list[LabelledItem]:
    """Items from labels, oldest label first (the caller reads them; the classifier knows no tables)."""
    newest: dict[tuple[str, ...], LabelledItem] = {}
    for row in labels:
        kind: TextKind = "review" if row.rating is not None else "post"
        if row.sentiment is not None:
            item = LabelledItem(row.text, row.sentiment, row.lang, kind, CORRECTIONS_DATASET)
            newest[(row.text, f"sentiment_{kind}")] = item
        if row.intent is not None:
            label = "complaint" if row.intent == "complaint" else "not_complaint"
            newest[(row.text, "complaint", kind)] = LabelledItem(
                row.text, label, row.lang, kind, CORRECTIONS_DATASET
            )
    return list(newest.values())


def write_corrections(items: Sequence[LabelledItem], path: Path) -> int:
    """Write `items` as JSON Lines to `path` (replacing it); returns the number written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for item in items:
            row = {"text": item.text, "label": item.label, "lang": item.lang, "kind": item.kind}
            handle.write(orjson.dumps(row) + b"\n")
    return len(items)
