"""Retention: mentions older than `[privacy] retention_days` go with what was derived from them, and the
author figures left equal a rebuild from scratch."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.authors.retention import apply_retention
from monitor.scoring.store import recompute_authors
from monitor.storage.models import Mention, MentionLabel
from monitor.storage.tables import table_of
from tests.authors.world import LINES, NOW, assert_equals_rebuild, build_world, table_rows, world_settings


@pytest.mark.parametrize("days", [3, 50, 180])
def test_retention_deletes_old_mentions_and_recomputes_what_is_left(
    engine: Engine, tmp_path: Path, days: int
) -> None:
    world = build_world(engine, tmp_path, world_settings(retention_days=days))
    mention = table_of(Mention)
    with engine.begin() as conn:  # a person's label on an old mention goes with it
        labelled = conn.execute(sa.select(mention.c.id).where(mention.c.external_id == "x-c1")).scalar_one()
        conn.execute(
            sa.insert(table_of(MentionLabel)).values(mention_id=labelled, sentiment="neutral", labeled_at=NOW)
        )
        recompute_authors(conn, author_ids=[world.authors["carl"]], settings=world.settings)
    before = table_rows(engine)
    old = {line.external_id for line in LINES if line.days_ago > days}
    old_ids = {m["id"] for m in before["mention"] if m["external_id"] in old}
    old_alerts = {a["id"] for a in before["alert"] if a["mention_id"] in old_ids}
    result = apply_retention(engine, world.settings, now=NOW)
    after = table_rows(engine)
    assert result.cutoff == NOW - timedelta(days=days)
    assert result.erased.mentions == len(old) == len(old_ids)
    assert result.erased.classifications == result.erased.brand_links == len(old)
    assert result.erased.alerts == len(old_alerts)
    assert result.erased.labels == 1
    assert {m["external_id"] for m in after["mention"]} == {line.external_id for line in LINES} - old
    assert all(m["created_at"].replace(tzinfo=NOW.tzinfo) >= result.cutoff for m in after["mention"])
    assert not {a["id"] for a in after["alert"]} & old_alerts
    # an author left without mentions is gone with its identities; everyone else stays
    with_mentions = {
        i["author_id"]
        for i in after["authoridentity"]
        for m in after["mention"]
        if m["author_identity_id"] == i["id"]
    }
    assert {a["id"] for a in after["author"]} == with_mentions
    gone = {a["id"] for a in before["author"]} - with_mentions
    assert result.authors_removed == len(gone)
    assert not {i["author_id"] for i in after["authoridentity"]} & gone
    assert_equals_rebuild(engine, world.settings)
    if days == 180:  # dora wrote only long ago; carl keeps his recent post
        assert gone == {world.authors["dora"]}
        [carl] = [s for s in after["authorbrandstats"] if s["author_id"] == world.authors["carl"]]
        assert (carl["mentions"], carl["positive"], carl["neutral"]) == (1, 0, 1)
    again = apply_retention(engine, world.settings, now=NOW)
    assert (again.erased.mentions, again.batches) == (0, 0)
    assert table_rows(engine) == after


def test_retention_zero_keeps_everything(engine: Engine, tmp_path: Path) -> None:
    world = build_world(engine, tmp_path, world_settings(retention_days=0))
    before = table_rows(engine)
    result = apply_retention(engine, world.settings, now=NOW + timedelta(days=10_000))
    assert result.cutoff is None and result.erased.mentions == 0
    assert table_rows(engine) == before
