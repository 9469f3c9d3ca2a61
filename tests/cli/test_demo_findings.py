"""`wom demo`'s findings: the top authors it prints are the API's rankings (monitor.read.rankings)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from monitor.cli.demo import top_authors
from tests.api.conftest import seed


def test_top_ambassadors_rank_by_decayed_score_without_forgotten_authors(engine: Engine) -> None:
    # alice has the highest raw score (4.0) but her last mention is one half-life older than bob's and
    # carol's; dan (10.0) is forgotten. Decay keeps the order whatever the clock says.
    seed(engine)
    found = top_authors(engine, brand="Acme", score="ambassador", half_life_days=90.0)
    assert [(item["author"], item["segment"], item["positive"], item["negative"]) for item in found] == [
        ("x:@bob", "critic", 2, 3),
        ("mastodon:@carol@social.example", "ambassador", 2, 0),
        ("reddit:u/alice, x:@alice_x", "ambassador", 2, 3),
    ]
    assert found[0]["score"] > found[1]["score"] > found[2]["score"] > 0


def test_top_detractors_leave_out_zero_scores_and_honour_the_limit(engine: Engine) -> None:
    seed(engine)
    found = top_authors(engine, brand="Acme", score="detractor", half_life_days=90.0, limit=2)
    assert [item["author"] for item in found] == ["x:@bob", "reddit:u/erin"]


def test_an_unknown_brand_has_no_top_authors(engine: Engine) -> None:
    seed(engine)
    assert top_authors(engine, brand="Nobody", score="ambassador", half_life_days=90.0) == []
