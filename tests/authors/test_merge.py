"""Merging and splitting authors: identities move, derived figures equal a rebuild from scratch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.authors.merge import merge_authors, split_author
from monitor.errors import AuthorError, UnknownAuthorError
from monitor.storage.models import Alert, Author, AuthorBrandStats, AuthorIdentity, SegmentChange
from monitor.storage.tables import table_of
from tests.authors.world import World, assert_equals_rebuild, build_world, table_rows


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path)


def _profiles(engine: Engine, author_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The author's stats and segment history without ids, comparable across authors."""
    stats, changes = table_of(AuthorBrandStats), table_of(SegmentChange)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(stats).where(stats.c.author_id == author_id).order_by(stats.c.brand_id)
        ).mappings()
        history = conn.execute(
            sa.select(changes).where(changes.c.author_id == author_id).order_by(changes.c.changed_at)
        ).mappings()
        return (
            [{k: v for k, v in row.items() if k != "author_id"} for row in rows],
            [{k: v for k, v in row.items() if k not in ("id", "author_id")} for row in history],
        )


def _identities(engine: Engine) -> dict[str, int]:
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        return {
            f"{source}:{key}": author
            for source, key, author in conn.execute(
                sa.select(identity.c.source, identity.c.identity_key, identity.c.author_id)
            )
        }


def test_merge_moves_every_identity_and_recomputes_as_a_rebuild(engine: Engine, world: World) -> None:
    anna_x, anna_reddit = world.authors["anna_x"], world.authors["anna_reddit"]
    with engine.begin() as conn:
        result = merge_authors(conn, into=anna_x, merged=anna_reddit, settings=world.settings)
    assert (result.author_id, result.merged_author_id, result.identities_moved) == (anna_x, anna_reddit, 1)
    assert result.profiles == 2  # Acme and Rival
    identities = _identities(engine)
    assert identities["x:x-100"] == identities["reddit:t2_anna"] == anna_x
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(table_of(Author)).where(table_of(Author).c.id == anna_reddit)).all() == []
        )
    stats, history = _profiles(engine, anna_x)
    acme, rival = stats
    assert (acme["mentions"], acme["positive"], acme["negative"]) == (5, 5, 0)
    assert (rival["mentions"], rival["positive"], rival["negative"]) == (1, 0, 1)
    assert acme["segment"] == "ambassador"
    assert [change["to_segment"] for change in history if change["brand_id"] == acme["brand_id"]] == [
        "ambassador"
    ]
    assert _profiles(engine, anna_reddit) == ([], [])
    assert_equals_rebuild(engine, world.settings)


def test_merged_author_outranks_each_half(engine: Engine, world: World) -> None:
    before_x, _ = _profiles(engine, world.authors["anna_x"])
    before_reddit, _ = _profiles(engine, world.authors["anna_reddit"])
    with engine.begin() as conn:
        merge_authors(
            conn, into=world.authors["anna_x"], merged=world.authors["anna_reddit"], settings=world.settings
        )
    after, _ = _profiles(engine, world.authors["anna_x"])
    assert after[0]["ambassador_score"] > max(
        before_x[0]["ambassador_score"], before_reddit[0]["ambassador_score"]
    )


def test_merge_moves_the_alerts_about_the_merged_author(engine: Engine, world: World) -> None:
    alert = table_of(Alert)
    bob_x, bob_mastodon = world.authors["bob_x"], world.authors["bob_mastodon"]
    with engine.connect() as conn:
        bobs = conn.execute(sa.select(alert.c.id).where(alert.c.author_id == bob_x)).scalars().all()
    with engine.begin() as conn:
        merge_authors(conn, into=bob_mastodon, merged=bob_x, settings=world.settings)
    with engine.connect() as conn:
        moved = conn.execute(sa.select(alert.c.author_id).where(alert.c.id.in_(bobs))).scalars().all()
    assert len(bobs) == 4  # three complaint alerts and his detractor_emerging
    assert moved == [bob_mastodon] * 4
    assert_equals_rebuild(engine, world.settings)


def test_split_after_merge_gives_back_both_profiles(engine: Engine, world: World) -> None:
    anna_x, anna_reddit = world.authors["anna_x"], world.authors["anna_reddit"]
    x_before, reddit_before = _profiles(engine, anna_x), _profiles(engine, anna_reddit)
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        reddit_identity = conn.execute(
            sa.select(identity.c.id).where(identity.c.identity_key == "t2_anna")
        ).scalar_one()
    with engine.begin() as conn:
        merge_authors(conn, into=anna_x, merged=anna_reddit, settings=world.settings)
    with engine.begin() as conn:
        result = split_author(conn, author_id=anna_x, identity_ids=[reddit_identity], settings=world.settings)
    assert result.author_id == anna_x and result.identities_moved == 1
    assert result.new_author_id not in (anna_x, anna_reddit)
    assert _identities(engine)["reddit:t2_anna"] == result.new_author_id
    assert _profiles(engine, anna_x) == x_before
    assert _profiles(engine, result.new_author_id) == reddit_before
    with engine.connect() as conn:
        name = conn.execute(
            sa.select(table_of(Author).c.display_name).where(table_of(Author).c.id == result.new_author_id)
        ).scalar_one()
    assert name == "Anna"
    assert_equals_rebuild(engine, world.settings)


def test_split_moves_the_alerts_about_the_moved_mentions(engine: Engine, world: World) -> None:
    bob_x, bob_mastodon = world.authors["bob_x"], world.authors["bob_mastodon"]
    alert, identity = table_of(Alert), table_of(AuthorIdentity)
    with engine.begin() as conn:
        merge_authors(conn, into=bob_mastodon, merged=bob_x, settings=world.settings)
    with engine.connect() as conn:
        x_identity = conn.execute(
            sa.select(identity.c.id).where(identity.c.identity_key == "x-200")
        ).scalar_one()
    with engine.begin() as conn:
        result = split_author(
            conn, author_id=bob_mastodon, identity_ids=[x_identity], settings=world.settings
        )
    with engine.connect() as conn:
        owners = conn.execute(sa.select(alert.c.author_id).where(alert.c.kind == "complaint_to_answer"))
        assert sorted(owners.scalars()) == sorted([result.new_author_id] * 3 + [world.authors["erin"]] * 3)
    assert_equals_rebuild(engine, world.settings)


def test_merge_into_itself_is_refused_and_changes_nothing(engine: Engine, world: World) -> None:
    before = table_rows(engine)
    with pytest.raises(AuthorError) as raised, engine.begin() as conn:
        merge_authors(conn, into=world.authors["carl"], merged=world.authors["carl"], settings=world.settings)
    assert raised.value.code == "same_author"
    assert "cannot merge author" in str(raised.value) and "two different author ids" in str(raised.value)
    assert table_rows(engine) == before


def test_merge_with_an_unknown_author_names_it_and_changes_nothing(engine: Engine, world: World) -> None:
    before = table_rows(engine)
    with pytest.raises(UnknownAuthorError) as raised, engine.begin() as conn:
        merge_authors(conn, into=world.authors["carl"], merged=9_999, settings=world.settings)
    assert raised.value.code == "unknown_author"
    assert "there is no author 9999" in str(raised.value)
    assert table_rows(engine) == before


def test_split_refuses_every_identity_none_and_foreign_ones(engine: Engine, world: World) -> None:
    identity = table_of(AuthorIdentity)
    with engine.connect() as conn:
        ids = dict(conn.execute(sa.select(identity.c.identity_key, identity.c.id)).all())
    before = table_rows(engine)
    cases = [
        ([ids["x-300"]], "split_all_identities", "would leave it with none"),
        ([], "no_identities", "at least one identity"),
        ([ids["x-200"]], "unknown_identity", f"identities {ids['x-200']} are not author"),
    ]
    for identity_ids, code, message in cases:
        with pytest.raises(AuthorError) as raised, engine.begin() as conn:
            split_author(
                conn, author_id=world.authors["carl"], identity_ids=identity_ids, settings=world.settings
            )
        assert raised.value.code == code
        assert message in str(raised.value)
    assert table_rows(engine) == before
