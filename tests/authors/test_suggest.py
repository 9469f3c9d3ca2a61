"""Merge suggestions: the same handle on two platforms is proposed, never merged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from monitor.authors.merge import merge_authors
from monitor.authors.suggest import handle_key, merge_suggestions
from monitor.records import AuthorRecord, MentionRecord
from monitor.storage.mentions import store_mentions
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
