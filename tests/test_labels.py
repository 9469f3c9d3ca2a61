"""A person's label wins over the model in scores and alerts, scores follow at once and equal a rebuild,
and undoing a label restores exactly what the model gave. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.scoring.store import as_comparable, compute_profiles, rebuild_profiles, stored_profiles
from monitor.storage.models import Alert, InboxItemMention, Mention, NotificationDelivery
from monitor.storage.sentiment_hours import computed_sentiment_hours, stored_sentiment_hours
from monitor.storage.tables import table_of
from tests.label_world import NOW, World, build_world

_ALERT = table_of(Alert)
_DELIVERY = table_of(NotificationDelivery)
_ITEM_MENTION = table_of(InboxItemMention)


@pytest.fixture
def world(engine: Engine, database_url: str) -> World:
    return build_world(engine, database_url)


def _equals_rebuild(world: World) -> bool:
    with world.engine.connect() as conn:
        stored = as_comparable(stored_profiles(conn))
        rebuilt = as_comparable(compute_profiles(conn, author_ids=None, settings=world.settings))
        hours_equal = stored_sentiment_hours(conn) == computed_sentiment_hours(conn)
    return stored == rebuilt and hours_equal


def _snapshot(world: World) -> Any:
    with world.engine.connect() as conn:
        return as_comparable(stored_profiles(conn))


def _alerts(world: World, key: str) -> dict[str, str]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_ALERT.c.kind, _ALERT.c.status).where(_ALERT.c.mention_id == world.mentions[key])
        )
        return {kind: status for kind, status in rows}


def _deliveries(world: World, key: str) -> list[str]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            sa.select(_DELIVERY.c.status)
            .join(_ALERT, _ALERT.c.id == _DELIVERY.c.alert_id)
            .where(_ALERT.c.mention_id == world.mentions[key])
        )
        return sorted(rows.scalars())


def _in_item(world: World, key: str) -> bool:
    with world.engine.connect() as conn:
        found = conn.execute(
            sa.select(_ITEM_MENTION.c.item_id).where(_ITEM_MENTION.c.mention_id == world.mentions[key])
        ).first()
    return found is not None


def _old_complaint_alert(world: World, key: str) -> None:
    """A `complaint_to_answer` alert with its pending e-mail, as the alert stage stored them before complaints
    became the inbox's work (no new ones are raised; the old ones stay and are revised by labels)."""
    with world.engine.begin() as conn:
        alert_id = conn.execute(
            sa.insert(_ALERT)
            .values(
                brand_id=world.brand_id,
                kind="complaint_to_answer",
                dedupe_key=f"complaint:{world.mentions[key]}",
                severity="warning",
                title="Complaint to answer from ben on x",
                detail={},
                mention_id=world.mentions[key],
                status="open",
                event_at=NOW,
                created_at=NOW,
            )
            .returning(_ALERT.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(_DELIVERY).values(
                alert_id=alert_id,
                channel="email",
                recipient="owner@acme.example",
                status="pending",
                attempts=0,
                message_id="",
                last_error="",
                next_attempt_at=NOW,
            )
        )


def test_the_world_before_any_label(world: World) -> None:
    assert world.ranked("ambassador") == ["anna", "carl"]
    assert world.ranked("detractor") == ["ben"]
    assert world.stats_of("anna")["segment"] == "ambassador"
    # a complaint opens an inbox item and raises no alert of its own
    assert _alerts(world, "ben1") == {} and _in_item(world, "ben1")
    assert _equals_rebuild(world)


def test_an_influential_negative_in_an_inbox_item_folds_into_it(engine: Engine, database_url: str) -> None:
    world = build_world(engine, database_url, influential_min_reach=500)  # ben's 1,000 followers count
    # ben1 and ben2 are complaints, each in an item: no second alert; ben3 (a rant three days after ben2,
    # past fold_hours) opens no item and keeps its alert
    assert _in_item(world, "ben1") and _in_item(world, "ben2") and not _in_item(world, "ben3")
    assert "influential_negative" not in {**_alerts(world, "ben1"), **_alerts(world, "ben2")}
    assert _alerts(world, "ben3")["influential_negative"] == "open"


def test_relabelling_flips_an_ambassador_into_a_detractor(world: World) -> None:
    for key in ("anna1", "anna2", "anna3", "anna4"):
        effects = world.label(key, sentiment="negative")
        assert effects.profiles == 1  # anna and Acme, recomputed in the label's transaction
    assert world.ranked("ambassador") == ["carl"]
    assert world.ranked("detractor") == ["anna", "ben"]  # 2,000 followers outweigh ben's 1,000
    anna = world.stats_of("anna")
    assert (anna["positive"], anna["negative"], anna["segment"]) == (0, 4, "detractor")
    # a labelled sentiment counts with full confidence: three posts of mass 1 × engagement factor
    assert anna["score_terms"]["negative_mass"] > world.stats_of("ben")["score_terms"]["negative_mass"]
    assert _equals_rebuild(world)


def test_one_correction_changes_the_rank(world: World) -> None:
    assert world.ranked("ambassador") == ["anna", "carl"]
    world.label("anna4", sentiment="negative")  # the sarcastic one
    assert world.ranked("ambassador") == ["carl", "anna"]
    assert world.stats_of("anna")["evidence"] == [world.mentions[k] for k in ("anna3", "anna2", "anna1")]
    assert _equals_rebuild(world)


def test_rebuild_from_scratch_honours_labels(world: World) -> None:
    world.label("anna3", sentiment="negative")
    world.label("ben3", sentiment="positive", intent="praise")
    after_labels = _snapshot(world)
    with world.engine.begin() as conn:
        rebuild_profiles(conn, settings=world.settings)
    assert _snapshot(world) == after_labels


def test_undo_gives_back_exactly_the_model_scores(world: World) -> None:
    before = _snapshot(world)
    world.label("anna3", sentiment="negative", intent="complaint")
    assert _snapshot(world) != before
    effects = world.unlabel("anna3")
    assert effects is not None and effects.profiles == 1
    assert _snapshot(world) == before
    assert world.unlabel("anna3") is None  # nothing left to undo


def test_a_mention_relabelled_as_complaint_opens_an_inbox_item_not_an_alert(world: World) -> None:
    world.label("carl2", sentiment="negative", intent="complaint")
    assert not _in_item(world, "carl2")  # placed by the alert stage, not by the request
    world.pipeline.run_stage("alert")
    assert _in_item(world, "carl2")
    world.pipeline.run_stage("alert")
    assert "complaint_to_answer" not in _alerts(world, "carl2")


def test_an_old_mention_relabelled_as_negative_raises_nothing(engine: Engine, database_url: str) -> None:
    world = build_world(engine, database_url, max_age_days=3, influential_min_reach=100)
    world.label("carl2", sentiment="negative")  # eleven days old, from 300 followers
    world.pipeline.run_stage("alert")
    assert _alerts(world, "carl2") == {}
    world.label("carl3", sentiment="negative")  # six days old: still too old
    world.pipeline.run_stage("alert")
    assert _alerts(world, "carl3") == {}


def test_relabelled_away_withdraws_an_old_complaint_alert_and_undo_reopens_it(world: World) -> None:
    _old_complaint_alert(world, "ben1")
    assert _deliveries(world, "ben1") == ["pending"]
    effects = world.label("ben1", sentiment="neutral", intent="question")
    assert (effects.alerts_withdrawn, effects.alerts_reopened) == (0, 0)  # a question is still to answer
    effects = world.label("ben1", sentiment="neutral", intent="other")
    assert (effects.alerts_withdrawn, effects.alerts_reopened) == (1, 0)
    assert _alerts(world, "ben1") == {"complaint_to_answer": "withdrawn"}
    assert _deliveries(world, "ben1") == ["cancelled"]  # never e-mailed
    world.pipeline.run_stage("alert")
    assert _alerts(world, "ben1") == {"complaint_to_answer": "withdrawn"}  # the stage does not bring it back
    effects = world.unlabel("ben1")
    assert effects is not None and (effects.alerts_withdrawn, effects.alerts_reopened) == (0, 1)
    assert _alerts(world, "ben1") == {"complaint_to_answer": "open"}
    assert _deliveries(world, "ben1") == ["pending"]


def test_a_positive_correction_ends_a_complaint(world: World) -> None:
    _old_complaint_alert(world, "ben2")
    effects = world.label("ben2", sentiment="positive")  # intent follows: a positive complaint is praise
    assert effects.alerts_withdrawn == 1
    ben = world.stats_of("ben")
    assert (ben["positive"], ben["negative"], ben["complaints"]) == (1, 2, 1)


def test_an_ambassador_labelled_negative_is_at_risk(world: World) -> None:
    world.label("anna3", sentiment="negative")
    world.label("anna4", sentiment="negative")
    assert world.stats_of("anna")["segment"] == "detractor"
    world.pipeline.run_stage("alert")
    assert _alerts(world, "anna4") == {"ambassador_at_risk": "open"}


def test_a_worker_holding_the_old_label_cannot_stamp_the_mention(world: World) -> None:
    mention = table_of(Mention)
    with world.engine.begin() as conn:
        conn.execute(
            sa.update(mention)
            .where(mention.c.id == world.mentions["carl1"])
            .values(alerted_at=None, claimed_by="other-worker")
        )
    world.label("carl1", sentiment="negative", intent="complaint")
    with world.engine.connect() as conn:
        row = conn.execute(
            sa.select(mention.c.alerted_at, mention.c.claimed_by).where(
                mention.c.id == world.mentions["carl1"]
            )
        ).one()
    assert tuple(row) == (None, None)
    world.pipeline.run_stage("alert")
    assert _in_item(world, "carl1") and "complaint_to_answer" not in _alerts(world, "carl1")
