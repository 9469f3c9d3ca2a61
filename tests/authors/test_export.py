"""Export of one person's data: all of it, and nothing of anybody else."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.authors.export import EXPORT_FORMAT, author_export, export_json
from monitor.errors import UnknownAuthorError
from monitor.storage.models import Alert, AuthorBrandStats, Mention, MentionLabel
from monitor.storage.tables import table_of
from tests.authors.world import LINES, NOW, World, build_world

BOB_X = [line for line in LINES if line.platform_id == "x-200"]


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path)


def test_export_holds_all_of_the_persons_data(engine: Engine, world: World) -> None:
    bob = world.authors["bob_x"]
    mention, alert, stats = table_of(Mention), table_of(Alert), table_of(AuthorBrandStats)
    with engine.begin() as conn:
        labelled = conn.execute(sa.select(mention.c.id).where(mention.c.external_id == "x-b3")).scalar_one()
        conn.execute(
            sa.insert(table_of(MentionLabel)).values(
                mention_id=labelled,
                sentiment="negative",
                intent="complaint",
                labeled_by="apikey:3",
                labeled_at=NOW,
            )
        )
    with engine.connect() as conn:
        data = orjson.loads(export_json(author_export(conn, bob, now=NOW)))
        his_alerts = conn.execute(sa.select(alert.c.id).where(alert.c.author_id == bob)).scalars().all()
        his_stats = conn.execute(sa.select(stats).where(stats.c.author_id == bob)).mappings().one()
    assert sorted(data) == [
        "alerts",
        "author",
        "brands",
        "exported_at",
        "format",
        "identities",
        "mentions",
        "segment_history",
    ]
    assert data["format"] == EXPORT_FORMAT
    assert data["exported_at"] == "2026-11-20T12:00:00+00:00"
    assert data["author"]["id"] == bob and data["author"]["display_name"] == "bob"
    assert [(i["source"], i["identity_key"], i["handle"], i["reach"]) for i in data["identities"]] == [
        ("x", "x-200", "bob", 800)
    ]
    by_id = {m["external_id"]: m for m in data["mentions"]}
    assert list(by_id) == [line.external_id for line in BOB_X]  # oldest first
    for line in BOB_X:
        item = by_id[line.external_id]
        assert (item["text"], item["author_handle"], item["brands"]) == (line.text, "bob", ["Acme"])
        assert item["raw"]["author"] == {"handle": "bob", "id": "x-200", "followers": 800}
        assert [(c["sentiment"], c["intent"], c["model_name"]) for c in item["classifications"]] == [
            (line.sentiment, line.intent, "test-lines")
        ]
        assert "claimed_by" not in item
    assert by_id["x-b3"]["label"] == {
        "sentiment": "negative",
        "intent": "complaint",
        "labeled_by": "apikey:3",
        "labeled_at": "2026-11-20T12:00:00+00:00",
    }
    assert by_id["x-b1"]["label"] is None
    [brand] = data["brands"]
    assert brand["brand"] == "Acme"
    for key in (
        "mentions",
        "positive",
        "negative",
        "complaints",
        "segment",
        "ambassador_score",
        "detractor_score",
    ):
        assert brand[key] == his_stats[key]
    assert brand["score_terms"] == his_stats["score_terms"] and brand["evidence"] == his_stats["evidence"]
    # his three complaints' alerts (stored as an older wom raised them) and his detractor_emerging
    assert sorted(a["id"] for a in data["alerts"]) == sorted(his_alerts) and len(his_alerts) == 4
    assert all(
        a["brand"] == "Acme" and a["mention_id"] in {m["id"] for m in data["mentions"]}
        for a in data["alerts"]
    )
    assert [c["brand"] for c in data["segment_history"]] == ["Acme"] * len(data["segment_history"])


def test_export_holds_nothing_of_anybody_else(engine: Engine, world: World) -> None:
    with engine.connect() as conn:
        raw = export_json(author_export(conn, world.authors["bob_x"])).decode()
    others = [line for line in LINES if line.platform_id != "x-200"]
    for line in others:  # bob's Mastodon account is another author until someone merges them
        assert line.text not in raw
        assert line.external_id not in raw
        assert f'"{line.platform_id}"' not in raw
    for handle in ("anna", "Anna", "carl", "dora", "erin", "bob@mastodon.social"):
        assert f'"{handle}"' not in raw


def test_export_of_an_unknown_author_names_it(engine: Engine, world: World) -> None:
    with pytest.raises(UnknownAuthorError) as raised, engine.connect() as conn:
        author_export(conn, 31_337)
    assert "there is no author 31337" in str(raised.value)
