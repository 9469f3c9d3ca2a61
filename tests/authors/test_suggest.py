"""Merge suggestions: the same handle on two platforms is proposed, never merged."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.authors.merge import merge_authors
from monitor.authors.suggest import handle_key, merge_suggestions, suggestions_naming
from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.mentions import store_mentions
from monitor.storage.models import AuthorIdentity
from monitor.storage.tables import table_of
from tests.authors.world import NOW, World, build_world, table_rows


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path)


@pytest.mark.parametrize(
    ("handle", "key"),
    [
        ("@Anna", "anna"),
        ("u/Anna", "anna"),
        ("/u/anna", "anna"),
        ("anna@mastodon.social", "anna"),
        ("@anna@mastodon.social", "anna"),
        ("Anna.bsky.social", "anna"),
        ("  ANNA ", "anna"),
        ("anna.dev", "anna.dev"),
    ],
)
def test_handle_key(handle: str, key: str) -> None:
    assert handle_key(handle) == key


def _summary(engine: Engine) -> list[tuple[str, int, tuple[int, ...], list[tuple[int, str, str]]]]:
    with engine.connect() as conn:
        return [
            (s.handle, s.into, s.others, [(i.author_id, i.source, i.handle) for i in s.identities])
            for s in merge_suggestions(conn)
        ]


def test_same_handle_on_two_platforms_is_suggested_and_nothing_is_merged(
    engine: Engine, world: World
) -> None:
    before = table_rows(engine)
    a = world.authors
    assert _summary(engine) == [
        (
            "anna",
            a["anna_x"],
            (a["anna_reddit"],),
            [(a["anna_x"], "x", "anna"), (a["anna_reddit"], "reddit", "Anna")],
        ),
        (
            "bob",
            a["bob_x"],
            (a["bob_mastodon"],),
            [(a["bob_x"], "x", "bob"), (a["bob_mastodon"], "mastodon", "bob@mastodon.social")],
        ),
    ]
    assert table_rows(engine) == before  # a suggestion writes nothing


def test_merged_authors_are_no_longer_suggested(engine: Engine, world: World) -> None:
    with engine.begin() as conn:
        merge_authors(
            conn, into=world.authors["anna_x"], merged=world.authors["anna_reddit"], settings=world.settings
        )
    assert [handle for handle, *_ in _summary(engine)] == ["bob"]


def test_display_names_and_placeholders_are_not_suggested(engine: Engine, world: World) -> None:
    records = [
        # app store "handles" are display names: many people are called Carl
        MentionRecord("appstore", "nl:1", "Acme app ok", NOW, AuthorRecord("carl", platform_id="9001")),
        MentionRecord("reddit", "rd-x1", "Acme?", NOW, AuthorRecord("[deleted]")),
        MentionRecord("x", "x-x1", "Acme!", NOW, AuthorRecord("[deleted]", platform_id="x-777")),
    ]
    assert store_mentions(engine, records).new == 3
    assert [handle for handle, *_ in _summary(engine)] == ["anna", "bob"]


def test_the_suggestions_naming_an_author_are_those_of_the_full_list(engine: Engine, world: World) -> None:
    # the author page reads only the identities sharing a stored handle key with the author's; the same
    # suggestions as the full list's, filtered, for every author, also for handles only the key makes equal
    records = [
        MentionRecord("bluesky", "bs-1", "Acme", NOW, AuthorRecord("Anna.bsky.social", platform_id="did:1")),
        MentionRecord("mastodon", "md-1", "Acme", NOW, AuthorRecord("@ANNA@fosstodon.org")),
        MentionRecord("x", "x-s1", "Acme", NOW, AuthorRecord("  Straße ", platform_id="x-9")),
        MentionRecord("reddit", "rd-s1", "Acme", NOW, AuthorRecord("u/STRASSE")),
    ]
    assert store_mentions(engine, records).new == 4
    identity = table_of(AuthorIdentity)
    with engine.begin() as conn:  # an identity written outside store_mentions gets its key too
        author_id = conn.execute(sa.select(sa.func.max(identity.c.author_id))).scalar_one()
        conn.execute(
            sa.insert(identity).values(
                author_id=author_id, source="hackernews", identity_key="@anna", handle="Anna", updated_at=NOW
            )
        )
    with engine.connect() as conn:
        stored = conn.execute(sa.select(identity.c.handle, identity.c.handle_key)).all()
        assert stored and all(key == handle_key(handle) for handle, key in stored)
        full = merge_suggestions(conn)
        assert {s.handle for s in full} >= {"anna", "bob", "strasse"}
        authors = conn.execute(sa.select(identity.c.author_id).distinct()).scalars().all()
        for author in authors:
            assert suggestions_naming(conn, author) == [
                s for s in full if author == s.into or author in s.others
            ], author
