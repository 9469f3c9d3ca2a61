from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import ScoringSettings
from monitor.scoring.profile import (
    ScoredMention,
    SegmentChangeEvent,
    WordOfMouthDiscount,
    build_profile,
    classify_non_word_of_mouth,
    decay_to,
    is_own_account,
    normalise_text,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# half-life 90 d, min_mentions 2, segments: fan 1, ambassador 3, critic 1, detractor 3
SETTINGS = ScoringSettings()
NONE = WordOfMouthDiscount()


def mention(
    mention_id: int,
    day: float,
    sentiment: str = "positive",
    *,
    confidence: float = 1.0,
    intent: str = "praise",
    text: str | None = None,
    reach: int | None = None,
    engagement: int = 0,
    rating: float | None = None,
) -> ScoredMention:
    return ScoredMention(
        mention_id=mention_id,
        created_at=T0 + timedelta(days=day),
        source="x",
        text=f"mention number {mention_id}" if text is None else text,
        sentiment=sentiment,
        confidence=confidence,
        score={"positive": 0.8, "neutral": 0.0, "negative": -0.8}[sentiment],
        intent=intent,
        reach=reach,
        engagement_total=engagement,
        rating=rating,
    )


def turning_ambassador() -> list[ScoredMention]:
    praise = [mention(i, 10 * (i - 1), reach=99) for i in range(1, 5)]
    complaints = [mention(i, 35 + i, "negative", intent="complaint", reach=99) for i in (5, 6)]
    negatives = [mention(i, 35 + i, "negative", reach=99) for i in (7, 8, 9)]
    return praise + complaints + negatives


def test_hand_computed_ambassador_score() -> None:
    # 0.8 × 0.5 (one half-life old) + 0.9; two distinct positives → repetition 1; reach 99 → 1 + log10(100)/2 = 2
    profile = build_profile(
        [mention(1, 0, confidence=0.8, rating=4.0), mention(2, 90, confidence=0.9, reach=99, rating=5.0)],
        settings=SETTINGS,
        discount=NONE,
    )
    assert profile.ambassador_score == pytest.approx(2.6, rel=1e-12)
    assert profile.detractor_score == 0.0
    assert profile.segment == "fan"
    assert profile.evidence == [2, 1]
    assert (profile.mentions, profile.positive, profile.neutral, profile.negative) == (2, 2, 0, 0)
    assert (profile.reach, profile.engagement, profile.average_rating) == (99, 0, 4.5)
    assert (profile.first_mention_at, profile.last_mention_at) == (T0, T0 + timedelta(days=90))
    terms = profile.score_terms
    assert terms["positive_mass"] == pytest.approx(1.3, rel=1e-12)
    assert (terms["positive_repetition"], terms["reach_factor"], terms["negative_share"]) == (1.0, 2.0, 0.0)
    assert (terms["discount"], terms["discount_factor"], terms["dominant"]) == ("none", 1.0, "ambassador")
    assert terms["as_of"] == "2026-04-01T00:00:00+00:00"
    assert profile.segment_changes == [SegmentChangeEvent(T0 + timedelta(days=90), "occasional", "fan", 2)]


def test_hand_computed_engagement_negative_share_and_complaint_weight() -> None:
    mentions = [
        mention(1, 0, confidence=0.8),
        mention(2, 90, confidence=0.9, reach=99),
        mention(3, 90, "negative", confidence=0.6, engagement=10),
        mention(4, 90, "neutral", intent="complaint"),  # a complaint not called negative: weight 0.5
    ]
    profile = build_profile(mentions, settings=SETTINGS, discount=NONE)
    positive = 0.8 * 0.5 + 0.9
    negative = 0.6 * (1 + math.log1p(10) / 4) + 0.5
    negative_share = negative / (positive + negative)
    positive_share = positive / (positive + negative)
    terms = profile.score_terms
    # a critic now (two negatives on one day outweigh the recent praise): no ambassador score, whatever
    # the positive history gives
    ambassador_terms = ("positive_mass", "positive_repetition", "reach_factor", "discount_factor")
    raw_ambassador = math.prod(float(terms[k]) for k in ambassador_terms) * (
        1 - float(terms["negative_share"])
    )
    assert raw_ambassador == pytest.approx(positive * 1 * 2 * (1 - negative_share), rel=1e-12)
    assert (terms["ambassador_side"], terms["detractor_side"], profile.ambassador_score) == (0, 1, 0.0)
    assert profile.detractor_score == pytest.approx(negative * 1 * 2 * (1 - positive_share), rel=1e-12)
    assert terms["negative_mass"] == pytest.approx(negative, rel=1e-12)
    assert terms["turning_negative"] == 1
    assert (profile.complaints, profile.engagement, profile.neutral) == (1, 10, 1)
    assert profile.evidence == [3, 4]  # detractor dominates: 0.6 × 1.6 = 0.96 before 0.5
    assert profile.segment == "critic"


def test_one_post_is_not_an_ambassador() -> None:
    loud = mention(1, 0, reach=999_999, engagement=10_000)
    damped = build_profile([loud], settings=SETTINGS, discount=NONE)
    # repetition 1/2 damps a single post; reach factor 1 + 6/2 = 4
    assert damped.ambassador_score == pytest.approx((1 + math.log1p(10_000) / 4) * 0.5 * 4, rel=1e-12)
    assert damped.ambassador_score >= SETTINGS.segments.ambassador
    assert damped.segment == "occasional"
    undamped = build_profile([loud], settings=ScoringSettings(min_mentions=1), discount=NONE)
    assert undamped.segment == "occasional"
    angry = build_profile([replace(loud, sentiment="negative")], settings=SETTINGS, discount=NONE)
    assert angry.detractor_score >= SETTINGS.segments.detractor
    assert angry.segment == "critic"


def test_copy_paste_duplicates_count_once() -> None:
    copies = [
        mention(1, 0, text="Love @acme! https://t.co/aaa"),
        mention(2, 1, text="love @acme_nl!!  https://t.co/bbb"),
        mention(3, 2, text="LOVE @Acme https://t.co/ccc"),
    ]
    profile = build_profile(copies, settings=SETTINGS, discount=NONE)
    single = build_profile([copies[-1]], settings=SETTINGS, discount=NONE)
    assert normalise_text(copies[0].text) == normalise_text(copies[1].text) == "love"
    assert profile.ambassador_score == single.ambassador_score == 0.5  # 1.0 × repetition 1/2
    assert profile.score_terms["distinct_mentions"] == 1
    assert profile.score_terms["duplicates"] == 2
    assert profile.mentions == 3
    assert profile.evidence == [3]
    assert profile.segment == "occasional"


def test_own_and_staff_accounts_score_zero() -> None:
    profile = build_profile(
        turning_ambassador(), settings=SETTINGS, discount=WordOfMouthDiscount(is_own_account=True)
    )
    assert (profile.ambassador_score, profile.detractor_score) == (0.0, 0.0)
    assert profile.segment == "neutral"
    assert profile.score_terms["discount"] == "own account"
    assert profile.score_terms["discount_factor"] == 0.0
    assert profile.evidence == []
    assert profile.segment_changes == []
    assert profile.mentions == 9


def test_is_own_account_matches_brand_and_staff_handles() -> None:
    brand = {"x": ["@Acme"], "mastodon": ["@acme@mastodon.social"]}
    staff = ["jan_acme", "mastodon:@piet@acme.social"]
    assert is_own_account("acme", source="x", brand_handles=brand, staff_handles=staff)
    assert is_own_account(
        "@ACME@mastodon.social", source="mastodon", brand_handles=brand, staff_handles=staff
    )
    assert is_own_account("@Jan_Acme", source="reddit", brand_handles=brand, staff_handles=staff)
    assert is_own_account("piet@acme.social", source="mastodon", brand_handles=brand, staff_handles=staff)
    assert not is_own_account("piet@acme.social", source="x", brand_handles=brand, staff_handles=staff)
    assert not is_own_account("acme", source="reddit", brand_handles=brand, staff_handles=staff)
    assert not is_own_account("", source="x", brand_handles=brand, staff_handles=[""])


@pytest.mark.parametrize(
    ("handle", "texts", "per_day", "bot", "spam"),
    [
        ("dealsbot", ["great deal on acme"], 1.0, True, False),
        ("news_bot_nl", ["acme news"], 1.0, True, False),
        ("robotics_fan", ["acme rocks"], 1.0, False, False),
        ("mrrobot", ["acme rocks"], 1.0, False, False),
        ("jan", ["acme rocks"], 60.0, True, False),
        ("jan", [f"Acme deal #{i} https://t.co/{i}" for i in range(5)], 2.0, True, False),
        ("jan", [f"acme complaint {i}" for i in range(4)], 2.0, False, False),
        ("jan", ["WINACTIE! Maak kans op een Acme bon"], 1.0, False, True),
        ("jan", ["Retweet to win an Acme voucher!", "acme is fine"], 1.0, False, True),
        ("jan", ["Like en deel om te winnen", "a", "b"], 1.0, False, False),
        ("jan", ["Volg ons en maak kans op een Acme pakket", "Acme giveaway!"], 1.0, False, True),
        ("jan", ["Acme giveaway: follow us", "did we win the match?"], 1.0, False, True),
        ("jan", ["we win with acme", "acme rocks"], 1.0, False, False),
    ],
)
def test_classify_non_word_of_mouth(
    handle: str, texts: list[str], per_day: float, bot: bool, spam: bool
) -> None:
    discount = classify_non_word_of_mouth(handle, texts, per_day)
    assert (discount.is_bot, discount.is_spam, discount.is_own_account) == (bot, spam, False)


def test_bot_and_spammer_score_zero_and_say_why() -> None:
    mentions = turning_ambassador()[:4]
    full = build_profile(mentions, settings=SETTINGS, discount=NONE)
    bot = build_profile(mentions, settings=SETTINGS, discount=WordOfMouthDiscount(is_bot=True))
    both = build_profile(mentions, settings=SETTINGS, discount=WordOfMouthDiscount(is_bot=True, is_spam=True))
    assert full.ambassador_score > 0
    assert (bot.ambassador_score, bot.detractor_score, both.ambassador_score) == (0.0, 0.0, 0.0)
    assert (bot.score_terms["discount"], bot.score_terms["discount_factor"]) == ("bot", 0.0)
    assert both.score_terms["discount"] == "bot, spam"
    assert bot.score_terms["positive_mass"] == full.score_terms["positive_mass"]
    assert (full.segment, bot.segment, bot.segment_changes) == ("ambassador", "neutral", [])


def test_turning_ambassador_changes_segment_at_the_right_mention() -> None:
    profile = build_profile(turning_ambassador(), settings=SETTINGS, discount=NONE)
    assert profile.segment_changes == [
        SegmentChangeEvent(T0 + timedelta(days=10), "occasional", "ambassador", 2),
        # the second complaint tips the recent balance (recent_half_life_days): a critic at once,
        # before the slow scores have caught up; a detractor when they have
        SegmentChangeEvent(T0 + timedelta(days=41), "ambassador", "critic", 6),
        SegmentChangeEvent(T0 + timedelta(days=43), "critic", "detractor", 8),
    ]
    assert profile.segment == "detractor"
    assert profile.evidence == [9, 8, 7, 6, 5]


def test_one_bad_day_of_a_fan_is_not_a_turn() -> None:
    praise = [mention(i, 5 * i, reach=99) for i in range(1, 7)]
    profile = build_profile(
        [*praise, mention(7, 31, "negative", confidence=0.9, reach=99)], settings=SETTINGS, discount=NONE
    )
    assert profile.segment == "ambassador"
    assert profile.score_terms["turning_negative"] == 0
    assert [c.to_segment for c in profile.segment_changes] == ["ambassador"]


def test_one_well_liked_negative_post_is_not_a_turn_but_two_are() -> None:
    praise = [mention(i, 10 * i, reach=99) for i in range(1, 5)]
    loud = mention(5, 45, "negative", confidence=1.0, engagement=10_000, reach=99)
    one = build_profile([*praise, loud], settings=SETTINGS, discount=NONE)
    # the post alone outweighs the recent praise in mass (1 + ln(10001)/4 = 3.3), but it is one post
    assert one.score_terms["recent_negative_mass"] > one.score_terms["recent_positive_mass"]
    assert (one.score_terms["turning_negative"], one.segment) == (0, "ambassador")
    second = mention(6, 52, "negative", confidence=0.7, reach=99)
    two = build_profile([*praise, loud, second], settings=SETTINGS, discount=NONE)
    # two negative posts a week apart: 0.5^(7/14) + 1 = 1.71 recent negative posts ≥ 1.5
    assert two.score_terms["recent_negative_posts"] == pytest.approx(1 + 0.5**0.5, rel=1e-12)
    assert (two.score_terms["turning_negative"], two.segment) == (1, "detractor")
    assert two.segment_changes[-1] == SegmentChangeEvent(
        T0 + timedelta(days=52), "ambassador", "detractor", 6
    )
    assert two.ambassador_score == 0.0  # a detractor is not listed as an ambassador
    assert two.score_terms["ambassador_side"] == 0


def test_one_positive_post_is_not_a_fan_however_far_it_reaches() -> None:
    famous = [mention(1, 0, reach=1_000_000, engagement=5_000), mention(2, 1, "neutral", reach=1_000_000)]
    profile = build_profile(famous, settings=SETTINGS, discount=NONE)
    assert profile.ambassador_score >= SETTINGS.segments.ambassador
    assert profile.segment == "occasional"
    again = build_profile([*famous, mention(3, 2, reach=1_000_000)], settings=SETTINGS, discount=NONE)
    assert again.segment == "ambassador"


def test_segment_history_equals_rescoring_every_prefix() -> None:
    rng = random.Random(7)
    mentions = [
        mention(
            i,
            rng.choice([rng.uniform(0, 400), float(rng.randrange(0, 400, 10))]),  # some share an instant
            rng.choice(["positive", "positive", "neutral", "negative"]),
            confidence=rng.uniform(0.5, 1.0),
            intent=rng.choice(["praise", "other", "complaint", "question"]),
            text=f"text {rng.randrange(25)}",
            reach=rng.choice([None, 10, 1000]),
            engagement=rng.randrange(50),
        )
        for i in range(1, 120)
    ]
    ordered = sorted(mentions, key=lambda m: (m.created_at, m.mention_id))
    expected: list[SegmentChangeEvent] = []
    previous = None
    for k in range(1, len(ordered) + 1):
        if k < len(ordered) and ordered[k].created_at == ordered[k - 1].created_at:
            continue
        segment = build_profile(ordered[:k], settings=SETTINGS, discount=NONE).segment
        if previous is not None and segment != previous:
            last = ordered[k - 1]
            expected.append(SegmentChangeEvent(last.created_at, previous, segment, last.mention_id))
        previous = segment
    history = build_profile(mentions, settings=SETTINGS, discount=NONE).segment_changes
    assert history == expected
    assert len(expected) >= 3
    assert len({change.changed_at for change in history}) == len(history)


def test_simultaneous_mentions_are_one_step() -> None:
    # a day-granular review import: the four praises share one instant, then the complaints another
    mentions = [mention(i, 0, reach=99) for i in (4, 1, 3, 2)]
    mentions += [mention(i, 30, "negative", reach=99) for i in (5, 6, 7, 8, 9, 10)]
    profile = build_profile(mentions, settings=SETTINGS, discount=NONE)
    assert profile.segment_changes == [
        SegmentChangeEvent(T0 + timedelta(days=30), "ambassador", "detractor", 10)
    ]


def test_rebuild_from_shuffled_input_is_identical() -> None:
    mentions = [*turning_ambassador(), mention(10, 44, text="mention number 9"), mention(11, 44, "neutral")]
    first = build_profile(mentions, settings=SETTINGS, discount=NONE)
    for seed in range(5):
        shuffled = mentions[:]
        random.Random(seed).shuffle(shuffled)
        assert build_profile(shuffled, settings=SETTINGS, discount=NONE) == first


def test_mostly_neutral_author_is_neutral() -> None:
    mentions = [
        mention(1, 0, confidence=0.6),
        *(mention(i, i, "neutral", intent="question") for i in (2, 3, 4)),
    ]
    profile = build_profile(mentions, settings=SETTINGS, discount=NONE)
    assert profile.ambassador_score == pytest.approx(0.6 * math.pow(0.5, 4 / 90) * 0.5, rel=1e-12)
    assert (profile.segment, profile.questions) == ("neutral", 3)
    only_neutral = build_profile([mention(1, 0, "neutral")], settings=SETTINGS, discount=NONE)
    assert (only_neutral.segment, only_neutral.evidence, only_neutral.score_terms["dominant"]) == (
        "neutral",
        [],
        "none",
    )


def test_decay_to_applies_the_remaining_half_lives() -> None:
    last = T0 + timedelta(days=10)
    assert decay_to(4.0, last_mention_at=last, now=last + timedelta(days=180), half_life_days=90) == 1.0
    assert decay_to(4.0, last_mention_at=last, now=last - timedelta(days=5), half_life_days=90) == 4.0
    with pytest.raises(ValueError, match=r"scoring\.half_life_days"):
        decay_to(1.0, last_mention_at=last, now=last, half_life_days=0)


def test_decayed_score_equals_the_score_of_a_later_rebuild() -> None:
    # a neutral mention 45 days later moves "as of" without adding evidence: the same as decaying by 45 days
    base = turning_ambassador()
    later = build_profile([*base, mention(99, 89, "neutral")], settings=SETTINGS, discount=NONE)
    now = build_profile(base, settings=SETTINGS, discount=NONE)
    decayed = decay_to(
        now.ambassador_score,
        last_mention_at=now.last_mention_at,
        now=later.last_mention_at,
        half_life_days=90,
    )
    assert decayed == pytest.approx(later.ambassador_score, rel=1e-12)


def test_bad_input_raises_value_error() -> None:
    with pytest.raises(ValueError, match="at least one mention"):
        build_profile([], settings=SETTINGS, discount=NONE)
    with pytest.raises(ValueError, match="naive created_at"):
        build_profile(
            [replace(mention(1, 0), created_at=datetime(2026, 1, 1))], settings=SETTINGS, discount=NONE
        )
