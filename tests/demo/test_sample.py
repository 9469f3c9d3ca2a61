"""The demo's sample file: every line imports, each story line is there in the stated numbers, it rebuilds the same."""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lingua import Language, LanguageDetectorBuilder

from benchmarks.demo_sample.build_sample import SAMPLE_PATH, SampleMention, build_sample, write_sample
from monitor.config import BrandBase, Settings, settings_from_mapping
from monitor.demo.config import demo_config_toml
from monitor.demo.story import DEMO_STORY
from monitor.records import ENGAGEMENT_KEYS, MentionRecord, parse_mention

STORY = DEMO_STORY
SOURCES = {"x", "reddit", "trustpilot", "mastodon", "bluesky", "appstore"}
LANG_SOURCES = {"x", "mastodon", "bluesky", "trustpilot"}
RATING_SOURCES = {"trustpilot", "appstore"}


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE_PATH.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def records(lines: list[dict[str, Any]]) -> list[MentionRecord]:
    return [parse_mention(line) for line in lines]


@pytest.fixture(scope="module")
def sample() -> list[SampleMention]:
    return build_sample()


@pytest.fixture(scope="module")
def settings() -> Settings:
    return settings_from_mapping(tomllib.loads(demo_config_toml("sqlite:///demo.db")))


def _of(sample: list[SampleMention], story: str) -> list[SampleMention]:
    return [m for m in sample if m.story == story]


def _matches(brand: BrandBase, mention: SampleMention) -> bool:
    """A plain reading of a brand's match rules: keyword, #hashtag or @handle in the text, or its own account."""
    text = mention.record["text"].casefold()
    if any(exclusion.casefold() in text for exclusion in brand.exclusions):
        return False
    keyword = any(re.search(rf"(?<![\w@#]){re.escape(k.casefold())}(?!\w)", text) for k in brand.keywords)
    hashtag = any(re.search(rf"{re.escape(tag.casefold())}(?!\w)", text) for tag in brand.hashtags)
    handles = [h.casefold() for h in brand.handles.get(mention.source, [])]
    at_handle = any(
        re.search(rf"@{re.escape(h)}(?![\w.]\w|\w)", text) for hs in brand.handles.values() for h in hs
    )
    return keyword or hashtag or at_handle or mention.handle.casefold() in handles


def _brands_found(settings: Settings, mention: SampleMention) -> set[str]:
    brand = settings.brands[0]
    found = {b.name for b in (brand, *brand.competitors) if _matches(b, mention)}
    hint = mention.record.get("brand")
    return found | ({hint} if hint else set())


def test_every_line_parses_as_an_import_record(
    lines: list[dict[str, Any]], records: list[MentionRecord]
) -> None:
    assert 300 <= len(records) <= 400
    assert not any(record.text_sanitized for record in records)
    keys = Counter((record.source, record.external_id) for record in records)
    assert keys.most_common(1)[0][1] == 1, "external_id must be unique per source"
    allowed = {"source", "external_id", "text", "created_at", "author", "url", "lang", "rating", "engagement"}
    assert all(set(line) <= allowed | {"in_reply_to", "brand"} for line in lines)


def test_the_file_is_what_the_generator_builds(
    lines: list[dict[str, Any]], sample: list[SampleMention]
) -> None:
    assert [m.record for m in sample] == lines


def test_the_generator_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert write_sample(first) == write_sample(second)
    assert first.read_bytes() == second.read_bytes() == SAMPLE_PATH.read_bytes()


def test_fields_are_as_each_platform_gives_them(
    lines: list[dict[str, Any]], records: list[MentionRecord]
) -> None:
    assert {record.source for record in records} == SOURCES
    for line, record in zip(lines, records, strict=True):
        assert ("lang" in line) == (record.source in LANG_SOURCES), line
        assert (record.rating is not None) == (record.source in RATING_SOURCES), line
        assert set(line["author"]) == {"id", "handle", "name", "followers"}
        assert record.author.platform_id and record.author.name
        assert record.url is not None and record.url.startswith("https://")
        assert record.engagement and set(record.engagement) <= set(ENGAGEMENT_KEYS)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line["created_at"])
    ratings = Counter(int(r.rating) for r in records if r.rating is not None)
    assert set(ratings) == {1, 2, 3, 4, 5}


def test_six_weeks_ending_on_2026_11_20(records: list[MentionRecord]) -> None:
    newest = max(r.created_at for r in records)
    oldest = min(r.created_at for r in records)
    assert newest.date() == date(2026, 11, 20)
    assert oldest.date() >= STORY.first_day.date()
    assert (newest - oldest).days >= 40
    assert newest < STORY.as_of


def test_about_half_the_items_name_their_brand(records: list[MentionRecord]) -> None:
    hinted = [r.brand for r in records if r.brand is not None]
    assert set(hinted) == {STORY.brand, STORY.competitor}
    assert 0.4 <= len(hinted) / len(records) <= 0.6


def test_the_rest_are_found_by_the_configured_keywords_hashtags_and_handles(
    sample: list[SampleMention], settings: Settings
) -> None:
    wrong = [(m.brands, m.record["text"]) for m in sample if _brands_found(settings, m) != set(m.brands)]
    assert wrong == []


def test_comparisons_and_competitor_only_shares(sample: list[SampleMention]) -> None:
    both = [m for m in sample if set(m.brands) == {STORY.brand, STORY.competitor}]
    competitor_only = [m for m in sample if m.brands == (STORY.competitor,)]
    assert 0.08 <= len(both) / len(sample) <= 0.13
    assert 0.12 <= len(competitor_only) / len(sample) <= 0.18


def test_the_contest_phrase_appears_only_where_no_brand_is_meant(
    sample: list[SampleMention], settings: Settings
) -> None:
    with_phrase = [m for m in sample if STORY.exclusion in m.record["text"].casefold()]
    assert 3 <= len(with_phrase) <= 5
    assert STORY.exclusion in settings.brands[0].exclusions
    for mention in with_phrase:
        assert mention.brands == () and "brand" not in mention.record
        assert _brands_found(settings, mention) == set()


def test_about_sixty_percent_dutch(sample: list[SampleMention]) -> None:
    langs = Counter(m.lang for m in sample)
    assert set(langs) == {"nl", "en"}
    assert 0.55 <= langs["nl"] / len(sample) <= 0.65
    assert all(m.record.get("lang", m.lang) == m.lang for m in sample)


def test_the_language_is_what_a_detector_finds(sample: list[SampleMention]) -> None:
    detector = LanguageDetectorBuilder.from_languages(Language.DUTCH, Language.ENGLISH).build()
    code: dict[Language | None, str] = {Language.DUTCH: "nl", Language.ENGLISH: "en"}
    disagree = [
        m.record["text"] for m in sample if code[detector.detect_language_of(m.record["text"])] != m.lang
    ]
    assert len(disagree) <= len(sample) * 0.03, disagree


def test_the_ambassador(sample: list[SampleMention]) -> None:
    posts = _of(sample, "ambassador")
    main = [m for m in posts if (m.source, m.handle) == (STORY.ambassador.source, STORY.ambassador.handle)]
    assert len(main) >= 8 and all(m.sentiment == "positive" for m in posts)
    assert all(m.record["author"]["followers"] >= 20_000 for m in main)
    assert len({m.created_at.isocalendar().week for m in posts}) >= 5
    assert {(m.source, m.handle) for m in posts} == {
        (a.source, a.handle) for a in (STORY.ambassador, *STORY.ambassador_elsewhere)
    }


def test_the_detractor(sample: list[SampleMention]) -> None:
    main = [m for m in _of(sample, "detractor") if m.handle == STORY.detractor.handle]
    assert len(main) >= 6
    assert all(m.sentiment == "negative" and m.kind == "complaint" for m in _of(sample, "detractor"))


def test_the_ambassador_who_turns(sample: list[SampleMention]) -> None:
    posts = _of(sample, "turning")
    assert {m.handle for m in posts} == {STORY.turning_ambassador.handle}
    before = [m for m in posts if m.created_at < STORY.turned_at]
    after = [m for m in posts if m.created_at >= STORY.turned_at]
    assert len(before) >= 5 and all(m.sentiment == "positive" for m in before)
    assert all(m.created_at < STORY.first_day + timedelta(weeks=4) for m in before)
    assert len(after) >= 3 and all(m.sentiment == "negative" for m in after)
    assert all(m.created_at >= datetime(2026, 11, 14, tzinfo=UTC) for m in after)


def test_the_burst_of_delivery_complaints(sample: list[SampleMention], settings: Settings) -> None:
    burst = _of(sample, "burst")
    assert STORY.burst_end - STORY.burst_start <= timedelta(hours=settings.alerts.spike_window_hours)
    assert 18 <= len(burst) <= 25
    assert all(m.kind == "complaint" and STORY.burst_start <= m.created_at <= STORY.burst_end for m in burst)
    assert len({(m.source, m.handle) for m in burst}) == len(burst)
    assert len({m.source for m in burst}) >= 3
    # only the shop's own answers share the window with it
    in_window = {m.story for m in sample if STORY.burst_start <= m.created_at <= STORY.burst_end}
    assert in_window == {"burst", "own", "staff"}


def test_no_other_six_hours_look_like_a_spike(sample: list[SampleMention], settings: Settings) -> None:
    negative = sorted(m.created_at for m in sample if m.sentiment == "negative" and m.story != "burst")
    window = timedelta(hours=settings.alerts.spike_window_hours)
    busiest = max(sum(1 for t in negative if start <= t < start + window) for start in negative)
    assert busiest < settings.alerts.spike_min_count


def test_the_shop_and_its_staff_reply(sample: list[SampleMention], settings: Settings) -> None:
    shop = [m for m in sample if m.story in ("own", "staff")]
    assert {(m.source, m.handle) for m in shop} == {
        (a.source, a.handle) for a in (*STORY.own_accounts, *STORY.staff_accounts)
    }
    assert {a.handle for a in (*STORY.own_accounts, *STORY.staff_accounts)} <= set(
        settings.scoring.staff_handles
    )
    assert all(m.record.get("brand") == STORY.brand for m in shop)
    ids = {(m.source, m.record["external_id"]): m for m in sample}
    replies = [m for m in shop if "in_reply_to" in m.record]
    assert len(replies) >= 15
    for reply in replies:
        parent = ids[(reply.source, reply.record["in_reply_to"])]
        assert parent.created_at < reply.created_at
        assert parent.story not in ("own", "staff")
    assert len([m for m in shop if m.story == "staff"]) >= 8


def test_the_giveaway_spammer_repeats_itself(sample: list[SampleMention]) -> None:
    posts = _of(sample, "spam")
    assert {m.handle for m in posts} == {STORY.spammer.handle} and len(posts) >= 4
    assert all("WIN" in m.record["text"] for m in posts)
    for lang in ("nl", "en"):
        words = [set(re.findall(r"\w+", m.record["text"].casefold())) for m in posts if m.lang == lang]
        assert all(len(a & b) / len(a | b) >= 0.7 for a in words for b in words)


def test_the_bot_posts_on_the_hour(sample: list[SampleMention]) -> None:
    posts = _of(sample, "bot")
    assert {m.handle for m in posts} == {STORY.bot.handle} and len(posts) >= 5
    assert all(m.created_at.minute == 0 and m.created_at.second == 0 for m in posts)
    assert all(m.record["author"]["followers"] < 100 for m in posts)


def test_most_authors_post_once(sample: list[SampleMention]) -> None:
    per_author = Counter((m.source, m.handle) for m in sample)
    once = [a for a, n in per_author.items() if n == 1]
    assert len(once) >= 0.75 * len(per_author)


def test_texts_are_written_not_templated(sample: list[SampleMention]) -> None:
    texts = [m.record["text"] for m in sample if m.story not in ("spam", "bot")]
    assert len(set(texts)) == len(texts)
    words = [set(re.findall(r"\w+", t.casefold())) for t in texts]
    similar = [
        (texts[i], texts[j])
        for i in range(len(words))
        for j in range(i + 1, len(words))
        if len(words[i] & words[j]) / len(words[i] | words[j]) > 0.6
    ]
    assert similar == []


def test_every_kind_of_mention_is_there(sample: list[SampleMention]) -> None:
    kinds = Counter((m.kind, m.lang) for m in sample if m.story in ("chatter", "competitor", "comparison"))
    for kind in ("complaint", "question", "praise", "neutral"):
        assert kinds[(kind, "nl")] >= 10 and kinds[(kind, "en")] >= 8
    assert any("kan ik mijn abonnement pauzeren" in m.record["text"] for m in sample)
    assert any("do you ship to Belgium" in m.record["text"] for m in sample)


def test_the_demo_config_validates(settings: Settings) -> None:
    brand = settings.brands[0]
    assert brand.name == STORY.brand and brand.timezone == "Europe/Amsterdam"
    assert [c.name for c in brand.competitors] == [STORY.competitor]
    assert "#koffiekoning" in brand.hashtags and "#bonenbaas" in brand.competitors[0].hashtags
    assert brand.handles["x"] == ["koffiekoning", "koffiekoning_support"]
    assert settings.alerts.email_to == [] and settings.smtp.host == ""


@pytest.mark.parametrize("url", ["sqlite:///C:\\Users\\demo\\wom demo.db", 'sqlite:////tmp/"quoted"/wom.db'])
def test_the_demo_config_keeps_any_database_path(url: str) -> None:
    settings = settings_from_mapping(tomllib.loads(demo_config_toml(url)))
    assert settings.database.url == url
