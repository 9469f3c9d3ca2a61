"""Forgetting a person: nothing of theirs is left but tombstones, and imports and collectors cannot bring
them back, while everyone else's data goes in as before."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.authors.forget import forget_author
from monitor.collectors.base import BrandQuery, Page, collect
from monitor.errors import UnknownAuthorError
from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.mentions import store_mentions
from monitor.storage.models import AuthorTombstone, Mention, MentionLabel
from monitor.storage.tables import table_of
from monitor.storage.tombstones import identity_digest
from tests.authors.world import (
    LINES,
    NOW,
    Line,
    World,
    assert_equals_rebuild,
    author_of,
    build_world,
    import_lines,
    process,
    table_rows,
)

ERIN = [line for line in LINES if line.handle == "erin"]
BOB_X = [line for line in LINES if line.platform_id == "x-200"]


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path)


def _label(engine: Engine, external_id: str) -> None:
    mention = table_of(Mention)
    with engine.begin() as conn:
        mention_id = conn.execute(
            sa.select(mention.c.id).where(mention.c.external_id == external_id)
        ).scalar_one()
        conn.execute(
            sa.insert(table_of(MentionLabel)).values(
                mention_id=mention_id, sentiment="negative", labeled_by="apikey:1", labeled_at=NOW
            )
        )


def _without(rows: dict[str, list[dict[str, Any]]], *, author_id: int, mention_ids: set[int]) -> str:
    """Every row not about the author or its mentions, as one comparable text."""
    alerts = {a["id"] for a in rows["alert"] if a["author_id"] == author_id or a["mention_id"] in mention_ids}
    kept: dict[str, list[dict[str, Any]]] = {}
    for table, items in rows.items():
        kept[table] = [
            row
            for row in items
            if row.get("author_id") != author_id
            and row.get("mention_id") not in mention_ids
            and not (table == "mention" and row["id"] in mention_ids)
            and not (table == "author" and row["id"] == author_id)
            and not (table == "notificationdelivery" and row["alert_id"] in alerts)
            # derived counts: checked by assert_equals_rebuild
            and table not in ("authortombstone", "sentimenthour", "sourcehour", "brandvolume")
        ]
    return repr(kept)


def _mention_ids(engine: Engine, lines: list[Line]) -> set[int]:
    mention = table_of(Mention)
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(mention.c.id).where(mention.c.external_id.in_([line.external_id for line in lines]))
            ).scalars()
        )


def test_forget_erases_everything_of_the_person_and_nothing_else(engine: Engine, world: World) -> None:
    erin = world.authors["erin"]
    _label(engine, "x-e5")
    erin_mentions = _mention_ids(engine, ERIN)
    before = table_rows(engine)
    her_alerts = {
        a["id"] for a in before["alert"] if a["author_id"] == erin or a["mention_id"] in erin_mentions
    }
    assert {a["kind"] for a in before["alert"] if a["id"] in her_alerts} >= {"ambassador_at_risk"}
    her_changes = [c for c in before["segmentchange"] if c["author_id"] == erin]
    with engine.begin() as conn:
        result = forget_author(conn, erin)
    after = table_rows(engine)
    erased = result.erased
    assert (result.identities, erased.mentions, erased.classifications, erased.labels) == (1, 6, 6, 1)
    assert erased.brand_links == 6
    assert erased.alerts == len(her_alerts) > 0
    assert erased.deliveries == len(
        [d for d in before["notificationdelivery"] if d["alert_id"] in her_alerts]
    )
    assert (result.profiles, result.segment_changes) == (1, len(her_changes))
    # a scan of every table: no id, handle, platform id or text of hers is left anywhere
    dump = repr(after)
    for trace in ("erin", "x-500", *(line.text for line in ERIN), *(line.external_id for line in ERIN)):
        assert trace not in dump
    assert all(row["author_id"] != erin for table in after.values() for row in table if "author_id" in row)
    assert not any(
        row.get("mention_id") in erin_mentions or (row.get("id") in erin_mentions and name == "mention")
        for name, table in after.items()
        for row in table
    )
    assert all(not set(row["evidence"]) & erin_mentions for row in after["authorbrandstats"])
    # only a tombstone remains, and it holds a digest, not the identity
    assert [row["identity_digest"] for row in after["authortombstone"]] == [identity_digest("x", "x-500")]
    # everyone else's rows are exactly as they were
    assert _without(after, author_id=erin, mention_ids=erin_mentions) == _without(
        before, author_id=erin, mention_ids=erin_mentions
    )
    assert_equals_rebuild(engine, world.settings)


def test_reimport_is_refused_for_the_forgotten_and_others_go_in(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        forget_author(conn, world.authors["erin"])
    again = import_lines(engine, tmp_path / "again.jsonl", LINES)
    assert (again.new, again.duplicate, again.forgotten, again.rejected) == (0, len(LINES) - 6, 6, [])
    fresh = [
        Line("x-e7", "x", "ERIN", "x-500", 4200, 0.5, "Acme, me again", "negative", "complaint"),
        Line("x-c3", "x", "carl", "x-300", 60, 0.5, "Acme cold brew is nice", "positive", "praise"),
        Line("x-f1", "x", "fay", "x-600", 70, 0.5, "First time Acme", "positive", "praise"),
    ]
    summary = import_lines(engine, tmp_path / "fresh.jsonl", fresh)
    assert (summary.new, summary.duplicate, summary.forgotten) == (2, 0, 1)
    mention = table_of(Mention)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(mention.c.external_id)).scalars())
    assert "x-c3" in stored and "x-f1" in stored
    assert not stored & {line.external_id for line in [*ERIN, fresh[0]]}
    process(engine, world.settings, lines=LINES + fresh)
    assert_equals_rebuild(engine, world.settings)


class _ReplayCollector:
    """A source that answers with fixed pages (the records a platform would give)."""

    source = "x"

    def __init__(self, records: list[MentionRecord]) -> None:
        self.records = records

    def pages(self, query: BrandQuery, cursor: Mapping[str, Any]) -> Iterator[Page]:
        yield Page(records=self.records, cursor={"since_id": "x-e9"})


def test_a_collector_cannot_bring_the_forgotten_back(engine: Engine, world: World) -> None:
    with engine.begin() as conn:
        forget_author(conn, world.authors["bob_x"])
    records = [
        MentionRecord(
            "x", line.external_id, line.text, NOW, AuthorRecord(line.handle, platform_id=line.platform_id)
        )
        for line in BOB_X
    ] + [MentionRecord("x", "x-g1", "Acme latte", NOW, AuthorRecord("gus", platform_id="x-700"))]
    result = collect(
        engine, _ReplayCollector(records), BrandQuery(brand_id=1, brand="Acme", query_key="acme")
    )
    assert (result.read, result.new, result.duplicate, result.forgotten) == (4, 1, 0, 3)
    assert result.cursor == {"since_id": "x-e9"}  # the page was handled, not failed
    mention = table_of(Mention)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(mention.c.external_id).where(mention.c.source == "x")).scalars())
    assert "x-g1" in stored and not stored & {line.external_id for line in BOB_X}


def test_a_handle_only_identity_is_refused_in_any_letter_case(engine: Engine, world: World) -> None:
    record = MentionRecord("rss", "feed-1", "Acme in the news", NOW, AuthorRecord("Zed"))
    assert store_mentions(engine, [record]).new == 1
    identity_key = record.author.identity_key
    assert identity_key == "@zed"
    zed = author_of(engine, "rss", identity_key)
    with engine.begin() as conn:
        forget_author(conn, zed)
    again = MentionRecord("rss", "feed-2", "Acme again", NOW, AuthorRecord("ZED"))
    other = MentionRecord("rss", "feed-3", "Acme too", NOW, AuthorRecord("Zoe"))
    result = store_mentions(engine, [again, other])
    assert (result.new, result.duplicate, result.forgotten) == (1, 0, 1)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(table_of(AuthorTombstone))).scalar_one() == 1
        )


def test_forget_an_unknown_author_names_it_and_changes_nothing(engine: Engine, world: World) -> None:
    before = table_rows(engine)
    with pytest.raises(UnknownAuthorError) as raised, engine.begin() as conn:
        forget_author(conn, 424_242)
    assert "there is no author 424242" in str(raised.value)
    assert table_rows(engine) == before
