"""One person's data as JSON (GDPR/AVG art. 15 and 20): `wom authors export ID`, the API's export.

All of it and only it: the author, its identities, every mention of those identities (with the
platform's original item, every classification and the person's label), the per-brand stats with
scores, terms and evidence, the segment history, and the alerts about the author or its mentions.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.read.authors import author_overview
from monitor.storage.models import (
    Alert,
    Brand,
    Classification,
    Mention,
    MentionBrand,
    MentionLabel,
    utcnow,
)
from monitor.storage.tables import table_of

__all__ = ["EXPORT_FORMAT", "author_export", "export_json"]

EXPORT_FORMAT = "wom-author-export/1"
_MENTION = table_of(Mention)
_CLASSIFICATION = table_of(Classification)
_LABEL = table_of(MentionLabel)
_LINK = table_of(MentionBrand)
_BRAND = table_of(Brand)
_ALERT = table_of(Alert)
# how a pipeline worker claimed the row: about wom's processing, not about the person
_BOOKKEEPING = ("claimed_by", "claim_expires_at")


def _by_mention(rows: Any, *, drop: tuple[str, ...] = ()) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        item = {k: v for k, v in row.items() if k not in drop}
        grouped.setdefault(row["mention_id"], []).append(item)
    return grouped


def _mentions(conn: Connection, identity_ids: list[int]) -> list[dict[str, Any]]:
    ids = sa.select(_MENTION.c.id).where(_MENTION.c.author_identity_id.in_(identity_ids))
    brands: dict[int, list[str]] = {}
    for mention_id, name in conn.execute(
        sa.select(_LINK.c.mention_id, _BRAND.c.name)
        .join(_BRAND, _BRAND.c.id == _LINK.c.brand_id)
        .where(_LINK.c.mention_id.in_(ids))
        .order_by(_BRAND.c.name)
    ):
        brands.setdefault(mention_id, []).append(name)
    classifications = _by_mention(
        conn.execute(
            sa.select(_CLASSIFICATION)
            .where(_CLASSIFICATION.c.mention_id.in_(ids))
            .order_by(_CLASSIFICATION.c.id)
        ).mappings(),
        drop=("mention_id", "worker"),
    )
    labels = _by_mention(
        conn.execute(sa.select(_LABEL).where(_LABEL.c.mention_id.in_(ids))).mappings(), drop=("mention_id",)
    )
    mentions = []
    for row in conn.execute(
        sa.select(_MENTION)
        .where(_MENTION.c.author_identity_id.in_(identity_ids))
        .order_by(_MENTION.c.created_at, _MENTION.c.id)
    ).mappings():
        item = {k: v for k, v in row.items() if k not in _BOOKKEEPING}
        item["brands"] = brands.get(row["id"], [])
        # the last one is current; a label (a person's correction) wins over every model
        item["classifications"] = classifications.get(row["id"], [])
        label = labels.get(row["id"])
        item["label"] = label[0] if label else None
        mentions.append(item)
    return mentions


def _alerts(conn: Connection, author_id: int, identity_ids: list[int]) -> list[dict[str, Any]]:
    about_mentions = _ALERT.c.mention_id.in_(
        sa.select(_MENTION.c.id).where(_MENTION.c.author_identity_id.in_(identity_ids))
    )
    return [
        dict(row)
        for row in conn.execute(
            sa.select(_ALERT, _BRAND.c.name.label("brand"))
            .join(_BRAND, _BRAND.c.id == _ALERT.c.brand_id)
            .where(sa.or_(_ALERT.c.author_id == author_id, about_mentions))
            .order_by(_ALERT.c.event_at, _ALERT.c.id)
        ).mappings()
    ]


def author_export(conn: Connection, author_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """The export as plain data (datetimes as aware UTC). Raises UnknownAuthorError."""
    overview = author_overview(conn, author_id)
    identity_ids = [identity.id for identity in overview.identities]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now or utcnow(),
        "author": {
            "id": overview.id,
            "display_name": overview.display_name,
            "created_at": overview.created_at,
        },
        "identities": [asdict(identity) for identity in overview.identities],
        "brands": [asdict(profile) for profile in overview.brands],
        "segment_history": [asdict(change) for change in overview.segment_history],
        "mentions": _mentions(conn, identity_ids),
        "alerts": _alerts(conn, author_id, identity_ids),
    }


def export_json(data: dict[str, Any]) -> bytes:
    """`author_export`'s data as indented UTF-8 JSON (times in ISO 8601 with their offset)."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
