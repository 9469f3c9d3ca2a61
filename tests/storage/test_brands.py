"""The brand table follows the config; a brand keeps its row when renamed by case or accents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.config import Settings, settings_from_mapping
from monitor.storage.brands import sync_brands
from monitor.storage.db import session_scope
from monitor.storage.models import Brand, Mention, MentionBrand

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _settings(name: str, competitor: str = "Globex") -> Settings:
    return settings_from_mapping(
        {
            "brands": [
                {"name": name, "keywords": ["acme"], "competitors": [{"name": competitor, "keywords": ["g"]}]}
            ]
        }
    )


def _link_a_mention(engine: Engine, brand_id: int) -> int:
    with session_scope(engine) as session:
        mention = Mention(source="x", external_id="1", text="acme rocks", created_at=T0)
        session.add(mention)
        session.flush()
        assert mention.id is not None
        session.add(MentionBrand(mention_id=mention.id, brand_id=brand_id, created_at=T0, source="x"))
        return mention.id


def _brands(engine: Engine) -> list[tuple[int, str, bool]]:
    with Session(engine) as session:
        rows = session.exec(select(Brand).order_by(sa.asc(Brand.id))).all()  # type: ignore[arg-type]
        return [(row.id or 0, row.name, row.active) for row in rows]


@pytest.mark.parametrize(("before", "after"), [("Acme", "ACME"), ("Café", "Cafe"), ("acme", "Acmé")])
def test_a_brand_renamed_by_case_or_accents_keeps_its_row_and_mentions(
    engine: Engine, before: str, after: str
) -> None:
    ids = sync_brands(engine, _settings(before, competitor="Globex"))
    mention_id = _link_a_mention(engine, ids[before])
    renamed = sync_brands(engine, _settings(after, competitor="GLOBEX"))
    assert renamed == {after: ids[before], "GLOBEX": ids["Globex"]}
    assert _brands(engine) == [(ids[before], after, True), (ids["Globex"], "GLOBEX", True)]
    with Session(engine) as session:
        link = session.exec(select(MentionBrand).where(MentionBrand.mention_id == mention_id)).one()
        assert link.brand_id == ids[before]


def test_a_brand_no_longer_configured_becomes_inactive_and_returns_when_configured_again(
    engine: Engine,
) -> None:
    ids = sync_brands(engine, _settings("Acme"))
    moved = sync_brands(engine, _settings("Initech"))
    assert moved["Globex"] == ids["Globex"] and moved["Initech"] not in ids.values()
    assert [(name, active) for _, name, active in _brands(engine)] == [
        ("Acme", False),
        ("Globex", True),
        ("Initech", True),
    ]
    assert sync_brands(engine, _settings("acme")) == {"acme": ids["Acme"], "Globex": ids["Globex"]}
    assert [(name, active) for _, name, active in _brands(engine)] == [
        ("acme", True),
        ("Globex", True),
        ("Initech", False),
    ]


def test_rows_named_alike_before_the_fold_rule_keep_their_names(engine: Engine) -> None:
    # "Café" and "Cafe" could both be configured before names were compared ignoring accents
    with session_scope(engine) as session:
        session.add_all([Brand(name="Cafe"), Brand(name="Café")])
    before = {name: id_ for id_, name, _ in _brands(engine)}
    assert sync_brands(engine, _settings("Café")) == {"Café": before["Café"], "Globex": before["Café"] + 1}
    assert [(name, active) for _, name, active in _brands(engine)] == [
        ("Cafe", False),
        ("Café", True),
        ("Globex", True),
    ]
