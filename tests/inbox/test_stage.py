"""The inbox stage on SQLite and PostgreSQL: which mentions open items, threading, the fold window, the
brand's reply, the author writing again, and running it again or in another order."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.inbox.rules import priority
from monitor.storage.models import AuthorBrandStats
from monitor.storage.tables import table_of
from tests.inbox.world import EVENT, ITEM, ITEM_MENTION, T0, InboxWorld, inbox_settings


def test_a_complaint_or_question_to_the_brand_opens_an_item_and_nothing_else_does(engine: Engine) -> None:
    world = InboxWorld(engine)
    world.post("ann", hours=0, intent="complaint", reach=1000)
    world.post("bob", hours=1, intent="question", sentiment="neutral")
    world.post("cat", hours=2, intent="praise", sentiment="positive")
    world.post("dan", hours=3, intent="complaint", brand="Globex")  # a competitor is not answered
    world.post("acme", hours=4, intent="complaint")  # the brand's own account
    world.post("acme_anna", hours=5, intent="question")  # staff
    counts = world.run()
    assert counts.opened == 2
    first, second = world.items()
    assert (first["intent"], first["status"], first["version"]) == ("complaint", "open", 1)
    assert first["opened_at"] == T0
    assert first["due_at"] == T0 + timedelta(hours=24)
    # reach 1000: 40 * 3.0004 / 5; negative 25; no profile: 5; collected at once: 15
    assert first["priority"] == round(40 * 0.60009 + 25 + 5 + 15, 1) == 69.0
    assert second["intent"] == "question"
    assert second["priority"] == priority(
        reach=100, sentiment="neutral", segment=None, created_at=T0, seen_at=T0
    )
    assert world.events(first["id"]) == [("opened", None, "open", "pipeline")]


def test_a_brand_target_overrides_the_default_and_a_late_find_lowers_priority(engine: Engine) -> None:
    settings = inbox_settings(first_response_hours=12)
    world = InboxWorld(engine, settings)
    world.post("ann", hours=0, late_hours=168)
    world.run()
    (item,) = world.items()
    assert item["due_at"] == T0 + timedelta(hours=12)
    assert item["priority"] == round(40 * 0.40086 + 25 + 5 + 0, 1)


def test_replies_in_the_thread_join_its_item(engine: Engine) -> None:
    world = InboxWorld(engine)
    root = world.post("ann", hours=0)
    reply = world.post("bob", hours=1, intent="other", sentiment="neutral", reply_to=root, thread=root)
    world.post("cat", hours=2, intent="complaint", reply_to=reply)  # a reply to the reply, no thread id
    world.post("dan", hours=3, intent="complaint", thread=root)
    world.run()
    (item,) = world.items()
    assert world.thread_of(item["id"]) == ["p1", "p2", "p3", "p4"]
    assert item["last_mention_id"] == world.ids["p4"]
    with engine.connect() as conn:
        roles = dict(conn.execute(sa.select(ITEM_MENTION.c.mention_id, ITEM_MENTION.c.role)).all())
    assert [roles[world.ids[p]] for p in ("p1", "p2", "p3", "p4")] == ["author", "other", "other", "other"]


def test_the_same_authors_messages_fold_within_the_window_and_open_a_new_item_after(engine: Engine) -> None:
    world = InboxWorld(engine, inbox_settings(fold_hours=48))
    world.post("ann", hours=0)
    world.post("ann", hours=47, intent="other", sentiment="neutral")  # folds: 47 h after the first
    world.post("ann", hours=94, intent="question")  # folds: 47 h after the last
    world.post("ann", hours=143, intent="complaint")  # 49 h later: a new conversation
    world.run()
    first, second = world.items()
    assert world.thread_of(first["id"]) == ["p1", "p2", "p3"]
    assert world.thread_of(second["id"]) == ["p4"]
    assert first["last_mention_at"] == T0 + timedelta(hours=94)


def test_the_brands_reply_answers_and_the_author_writing_again_reopens(engine: Engine) -> None:
    world = InboxWorld(engine)
    root = world.post("ann", hours=0)
    world.post("acme", hours=3, intent="other", sentiment="neutral", reply_to=root, thread=root)
    world.run()
    (item,) = world.items()
    assert item["status"] == "answered"
    assert item["first_response_at"] == item["answered_at"] == T0 + timedelta(hours=3)
    world.post("ann", hours=5, reply_to=root, thread=root)
    world.run()
    (item,) = world.items()
    assert item["status"] == "open"
    assert item["first_response_at"] == T0 + timedelta(hours=3)
    world.post("acme_anna", hours=6, intent="other", sentiment="neutral", thread=root)
    world.run()
    (item,) = world.items()
    assert (item["status"], item["answered_at"]) == ("answered", T0 + timedelta(hours=6))
    assert item["first_response_at"] == T0 + timedelta(hours=3)
    assert world.events(item["id"]) == [
        ("opened", None, "open", "pipeline"),
        ("answered", "open", "answered", "own:x:acme"),
        ("reopened", "answered", "open", "pipeline"),
        ("answered", "open", "answered", "own:x:acme_anna"),
    ]


def test_running_the_stage_again_changes_nothing(engine: Engine) -> None:
    world = InboxWorld(engine)
    root = world.post("ann", hours=0)
    world.post("acme", hours=2, intent="other", reply_to=root, thread=root)
    world.post("ann", hours=4, thread=root)
    world.post("bob", hours=5, intent="question")
    everything = list(world.pending)
    world.run()
    before = world.dump()
    counts = world.run(everything)
    assert (counts.opened, counts.joined, counts.answered, counts.reopened) == (0, 0, 0, 0)
    assert world.dump() == before


def test_one_by_one_out_of_order_equals_all_at_once(engine: Engine) -> None:
    """A reply stored (and through the stage) before the post it answers: the item ends the same."""
    world = InboxWorld(engine)
    root = world.post("ann", hours=0)
    world.post("acme", hours=2, intent="other", sentiment="neutral", reply_to=root, thread=root)
    world.post("bob", hours=3, intent="other", sentiment="neutral", reply_to=root)
    world.post("ann", hours=4, thread=root)
    world.post("cat", hours=30, intent="question")
    ids = list(world.pending)
    for mention_id in reversed(ids):
        world.run([mention_id])
    scattered = world.dump()
    with engine.begin() as conn:
        for table in (EVENT, ITEM_MENTION, ITEM):
            conn.execute(sa.delete(table))
    world.run(ids)
    assert world.dump() == scattered
    assert len(scattered["items"]) == 2


def test_an_author_the_profile_calls_a_bot_or_spammer_opens_no_item(engine: Engine) -> None:
    world = InboxWorld(engine)
    stats = table_of(AuthorBrandStats)
    for handle, discount in (
        ("dealbot", "bot"),
        ("winnie", "spam"),
        ("ann", "none"),
        ("bea", "dismissed as x"),
    ):
        author_id = world.author(handle)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(stats).values(
                    author_id=author_id,
                    brand_id=world.brands["Acme"],
                    mentions=1,
                    positive=0,
                    neutral=0,
                    negative=1,
                    complaints=1,
                    questions=0,
                    reach=100,
                    engagement=0,
                    ambassador_score=0.0,
                    detractor_score=0.0,
                    segment="neutral",
                    score_terms={"discount": discount},
                    evidence=[],
                )
            )
        world.post(handle, hours=0)
    world.post("cat", hours=0)  # no profile yet
    world.run()
    by_id = {mention_id: external_id for external_id, mention_id in world.ids.items()}
    opened_by = sorted(by_id[item["first_mention_id"]] for item in world.items())
    assert opened_by == ["p3", "p4", "p5"]  # ann, bea (a label no heuristic gave) and cat


def test_a_positive_message_opens_no_item_whatever_intent_the_model_reads(engine: Engine) -> None:
    # praise the model also reads as a complaint or a question is not work; a neutral or negative one is
    world = InboxWorld(engine)
    world.post("ann", hours=0, intent="complaint", sentiment="positive")
    world.post("bob", hours=1, intent="question", sentiment="positive")
    kept = [
        world.post("cat", hours=2, intent="complaint", sentiment="neutral"),
        world.post("dan", hours=3, intent="question", sentiment="negative"),
    ]
    assert world.run().opened == 2
    assert [world.item_of(external_id)["intent"] for external_id in kept] == ["complaint", "question"]
    # a positive message in a conversation that has an item still joins it (it may be the author's thanks)
    world.post("cat", hours=4, intent="complaint", sentiment="positive", reply_to=kept[0])
    counts = world.run()
    assert (counts.opened, counts.joined) == (0, 1)


def test_a_review_rated_above_the_limit_opens_no_item_unless_a_person_labels_it(engine: Engine) -> None:
    # the stars are the reviewer's verdict: by default 1 and 2 stars open an item, 3 to 5 do not
    world = InboxWorld(engine)
    opening = [
        world.post("ann", hours=0, rating=1),
        world.post("bob", hours=1, rating=2),
        world.post("eve", hours=2),  # a post has no stars: the rule does not apply
    ]
    for n, stars in enumerate((3, 4, 5)):
        world.post(f"mixed{n}", hours=3 + n, intent="complaint", sentiment="neutral", rating=stars)
    labeled = world.post("fay", hours=7, sentiment="neutral", rating=4)
    world.label(labeled, intent="complaint")  # a person's label wins over the stars
    assert world.run().opened == 4
    by_id = {mention_id: external_id for external_id, mention_id in world.ids.items()}
    assert sorted(by_id[item["first_mention_id"]] for item in world.items()) == sorted([*opening, labeled])


def test_the_star_limit_is_a_setting(engine: Engine) -> None:
    world = InboxWorld(engine, inbox_settings(complaint_max_rating=3))
    kept = world.post("ann", hours=0, sentiment="neutral", rating=3)
    world.post("bob", hours=1, sentiment="neutral", rating=4)
    assert world.run().opened == 1
    assert world.item_of(kept)["intent"] == "complaint"


def test_a_neutral_complaint_the_model_is_unsure_of_opens_no_item(engine: Engine) -> None:
    # under [inbox] min_complaint_confidence (0.3) in a neutral message: news or chatter, not work
    world = InboxWorld(engine)
    world.post("ann", hours=0, sentiment="neutral", confidence=0.25)
    opening = [
        world.post("bob", hours=1, sentiment="neutral", confidence=0.5),
        world.post("cat", hours=2, sentiment="negative", confidence=0.25),  # a negative one stays work
        world.post("dan", hours=3, intent="question", sentiment="neutral", confidence=0.1),
    ]
    labeled = world.post("eve", hours=4, sentiment="neutral", confidence=0.25)
    world.label(labeled, intent="complaint")  # a person's label wins over the model's doubt
    assert world.run().opened == 4
    by_id = {mention_id: external_id for external_id, mention_id in world.ids.items()}
    assert sorted(by_id[item["first_mention_id"]] for item in world.items()) == sorted([*opening, labeled])


def test_the_complaint_confidence_floor_is_a_setting(engine: Engine) -> None:
    world = InboxWorld(engine, inbox_settings(min_complaint_confidence=0))
    kept = world.post("ann", hours=0, sentiment="neutral", confidence=0.22)
    assert world.run().opened == 1
    assert world.item_of(kept)["intent"] == "complaint"
