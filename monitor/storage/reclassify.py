"""Marks mentions for a new classification after the model changed (`wom process --reclassify`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.storage.models import Classification, Mention
from monitor.storage.tables import table_of

__all__ = ["queue_reclassification"]

_MENTION = table_of(Mention)
_CLASSIFICATION = table_of(Classification)


def queue_reclassification(engine: Engine, *, model_name: str, model_version: str) -> int:
    """Sends every classified mention that `model_name` `model_version` has not classified back through
    classify, profile and alert; returns how many. Older classifications stay as history; the newest one
    is the current one, so profiles follow the new model once the pipeline has run."""
    by_current_model = (
        sa.select(_CLASSIFICATION.c.id)
        .where(
            _CLASSIFICATION.c.mention_id == _MENTION.c.id,
            _CLASSIFICATION.c.model_name == model_name,
            _CLASSIFICATION.c.model_version == model_version,
        )
        .exists()
    )
    with engine.begin() as conn:
        result = conn.execute(
            sa.update(_MENTION)
            .where(_MENTION.c.classified_at.is_not(None), ~by_current_model)
            .values(classified_at=None, profiled_at=None, alerted_at=None)
        )
    return int(result.rowcount or 0)
