"""Builds the demo's sample mentions from hand-written texts (texts.py) and story lines.

`python -m benchmarks.demo_sample.build_sample` rewrites monitor/demo/sample_mentions.jsonl. The seed is
fixed, so the same code gives the same bytes. Six weeks (2026-10-10 .. 2026-11-20) of mentions of the Dutch
online coffee shop Koffiekoning and its competitor BonenBaas on X, Reddit, Trustpilot, Mastodon, Bluesky and
the App Store, about 60 % Dutch and 40 % English; monitor/demo/story.py names the characters the pipeline
should find. A tool for whoever edits the sample, kept out of the runtime package: `wom demo` only reads
the committed file.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.demo_sample.texts import (
    AMBASSADOR,
    APPSTORE_NICKS,
    BB_APPSTORE,
    BB_POSTS,
    BB_REDDIT,
    BB_TRUSTPILOT,
    BLUESKY_REPLIES,
    BOT,
    BOTH_POSTS,
    BOTH_REDDIT,
    BOTH_TRUSTPILOT,
    BURST,
    BURST_REPLIES,
    DETRACTOR,
    EN_FIRST,
    EN_LAST,
    EXCLUDED_POSTS,
    KK_APPSTORE,
    KK_POSTS,
    KK_REDDIT,
    KK_TRUSTPILOT,
    NL_FIRST,
    NL_LAST,
    OWN_POSTS,
    REDDIT_LEFT,
    REDDIT_RIGHT,
    SPAM,
    SUPPORT_REPLIES,
    THREADS,
    TURNING,
)
from monitor.demo.story import DEMO_STORY, DemoStory

__all__ = ["SAMPLE_PATH", "SEED", "SampleMention", "build_sample", "main", "write_sample"]

SEED = 20261120
SAMPLE_PATH = Path(__file__).resolve().parents[2] / "monitor" / "demo" / "sample_mentions.jsonl"

_KK = DEMO_STORY.brand
_BB = DEMO_STORY.competitor
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_FIRST_DAY = DEMO_STORY.first_day.date()
_LAST_DAY = DEMO_STORY.as_of.date() - timedelta(days=1)
_KINDS = {"c": "complaint", "q": "question", "p": "praise", "n": "neutral"}
_SENTIMENT = {"complaint": "negative", "question": "neutral", "praise": "positive", "neutral": "neutral"}
_LANG_SOURCES = (
    "x",
    "mastodon",
    "bluesky",
    "trustpilot",
)  # the platforms that say which language a text is in
_HINT_SHARE = (
    0.36  # share of X/Reddit/Mastodon/Bluesky items whose collector says which brand it searched for
)
_MICRO_SOURCES = (("x", 0.58), ("bluesky", 0.23), ("mastodon", 0.19))
_APPS = {_KK: ("koffiekoning", "6447183920"), _BB: ("bonenbaas-koffie", "1623498751")}
_MASTODON_INSTANCES = ("mastodon.social", "mastodon.nl", "mstdn.social", "toot.community", "mastodon.online")
_BASE32_SORT = "234567abcdefghijklmnopqrstuvwxyz"
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_X_EPOCH_MS = 1288834974657


@dataclass(frozen=True, slots=True)
class _Persona:
    source: str
    handle: str
    name: str
    followers: int | None
    platform_id: str


@dataclass(frozen=True, slots=True)
class SampleMention:
    """One generated mention: the import record written to the file, and what it is meant to be."""

    record: dict[str, Any]
    story: str  # ambassador, detractor, turning, burst, own, staff, spam, bot, chatter, competitor, comparison, excluded
    kind: str  # complaint, question, praise, neutral
    sentiment: str  # negative, neutral, positive
    lang: str  # the language it is written in: nl or en
    brands: tuple[str, ...]  # the brands it is about; empty for the excluded contest posts

    @property
    def source(self) -> str:
        return str(self.record["source"])

    @property
    def handle(self) -> str:
        return str(self.record["author"]["handle"])

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(str(self.record["created_at"]).replace("Z", "+00:00"))


def _rows(block: str) -> Iterator[tuple[list[str], list[str]]]:
    """(head words, cells) per row of a text table; the head is the first cell split on spaces."""
    for line in block.strip().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, *cells = (cell.strip().replace("¶", "\n\n") for cell in line.split(" | "))
        yield head.split(), cells


def _words(block: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(word.strip() for word in block.split(sep) if word.strip())


def _ascii_word(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _adapt(text: str, source: str) -> str:
    """An X-style @-mention of a shop written the way it is written on Bluesky or Mastodon."""
    if source == "x":
        return text
    at_shop = r"@(koffiekoning|bonenbaas)(?=$|[^\w.@]|\.(?!\w))"
    if source == "bluesky":
        return re.sub(at_shop, r"@\1.nl", text)
    return re.sub(at_shop, r"#\1", text)  # hashtags are what brands follow on Mastodon


class _Builder:
    def __init__(self, story: DemoStory, seed: int) -> None:
        self.story = story
        self.rng = Random(seed)
        self.mentions: list[SampleMention] = []
        self.handles: set[tuple[str, str]] = set()
        self.external_ids: set[tuple[str, str]] = set()
        self.regulars: list[
            tuple[str, _Persona]
        ] = []  # (lang, persona) of one-off posters who may post again
        self.personas: dict[tuple[str, str], _Persona] = {}

    # --- time ---------------------------------------------------------------------------------------------

    def local_time(self, day: date) -> datetime:
        """A plausible Amsterdam posting time on `day`, in UTC."""
        hours = (7, 8, 8, 9, 10, 11, 12, 12, 13, 14, 15, 16, 17, 18, 19, 20, 20, 21, 21, 22, 23)
        local = datetime.combine(
            day, time(self.rng.choice(hours), self.rng.randrange(60), self.rng.randrange(60))
        )
        return local.replace(tzinfo=_AMSTERDAM).astimezone(UTC)

    def any_time(self) -> datetime:
        """A time in the six weeks, away from the burst so that the burst stays a clean signal."""
        while True:
            day = _FIRST_DAY + timedelta(days=self.rng.randrange((_LAST_DAY - _FIRST_DAY).days + 1))
            moment = self.local_time(day)
            if not self._near_burst(moment):
                return moment

    def _near_burst(self, moment: datetime) -> bool:
        return (
            self.story.burst_start - timedelta(hours=2) <= moment <= self.story.burst_end + timedelta(hours=1)
        )

    def time_for(self, kind: str, day: str | None = None) -> datetime:
        """`any_time`, or a time on `day`; a complaint never makes a fourth negative mention within six hours,
        so that the only spike is the burst."""
        while True:
            moment = self.any_time() if day is None else self.local_time(date.fromisoformat(day))
            if self._near_burst(moment):
                continue
            near = [
                m
                for m in self.mentions
                if m.sentiment == "negative" and abs(m.created_at - moment) < timedelta(hours=6)
            ]
            if kind != "complaint" or len(near) < 3:
                return moment

    def on_day(self, day: str) -> datetime:
        """A local posting time on a day such as 2026-11-18, or exactly 2026-11-18T19:40 Amsterdam time."""
        if "T" in day:
            return datetime.fromisoformat(day).replace(tzinfo=_AMSTERDAM).astimezone(UTC)
        return self.local_time(date.fromisoformat(day))

    # --- people -------------------------------------------------------------------------------------------

    def account(self, source: str, handle: str) -> _Persona:
        return self.personas[(source, handle)]

    def _unique(self, source: str, handle: str) -> bool:
        if (source, handle.casefold()) in self.handles:
            return False
        self.handles.add((source, handle.casefold()))
        return True

    def persona(
        self, source: str, handle: str, name: str, followers: int | None, platform_id: str = ""
    ) -> _Persona:
        """A named character; the same handle on the same platform is always the same persona."""
        key = (source, handle)
        if key not in self.personas:
            self._unique(source, handle)
            self.personas[key] = _Persona(
                source, handle, name, followers, platform_id or self._platform_id(source, handle)
            )
        return self.personas[key]

    def one_off(self, source: str, lang: str, *, repeat_share: float = 0.12) -> _Persona:
        """A new poster, or now and then a returning one of the same platform and language."""
        returning = [p for lg, p in self.regulars if lg == lang and p.source == source]
        if returning and self.rng.random() < repeat_share:
            return self.rng.choice(returning)
        while True:
            persona = self._new_persona(source, lang)
            if self._unique(source, persona.handle):
                self.regulars.append((lang, persona))
                return persona

    def _name(self, lang: str) -> tuple[str, str]:
        dutch = lang == "nl" or self.rng.random() < 0.15
        first = self.rng.choice(_words(NL_FIRST) if dutch else _words(EN_FIRST))
        last = self.rng.choice(_words(NL_LAST, ",") if dutch else _words(EN_LAST))
        return first, last

    def _new_persona(self, source: str, lang: str) -> _Persona:
        rng = self.rng
        first, last = self._name(lang)
        fw, lw = _ascii_word(first), _ascii_word(last)
        digits = str(rng.randrange(10, 100))
        followers: int | None
        if source == "x":
            handle = rng.choice(
                (
                    fw + lw,
                    f"{fw}_{lw}",
                    fw + lw[:1] + digits,
                    f"{fw}{digits}",
                    f"{fw}_{lw[:3]}",
                    f"{lw}{fw[:1]}",
                )
            )[:15]
            name = rng.choice((f"{first} {last}", first, f"{first} {last[:1]}.", f"{first} ☕"))
            followers = self._followers(40, 4000)
        elif source == "bluesky":
            handle = (
                rng.choice((f"{fw}{lw}", f"{fw}-{lw}", f"{fw}{digits}", f"{fw}{lw[:1]}")) + ".bsky.social"
            )
            name, followers = f"{first} {last}", self._followers(20, 2500)
        elif source == "mastodon":
            user = rng.choice((f"{fw}{lw}", f"{fw}_{lw[:1]}", fw, f"{fw}{digits}"))
            handle = f"{user}@{rng.choice(_MASTODON_INSTANCES)}"
            name, followers = (
                rng.choice((f"{first} {last}", first, f"{first} :coffee:")),
                self._followers(15, 1500),
            )
        elif source == "reddit":
            left, right = rng.choice(_words(REDDIT_LEFT)), rng.choice(_words(REDDIT_RIGHT))
            handle = rng.choice(
                (
                    f"{left}{right}{rng.randrange(10, 9999)}",
                    f"{left}_{right}",
                    f"{left}-{right}-{rng.randrange(1, 99)}",
                )
            )
            name, followers = handle, self._followers(30, 60000)  # karma stands in for reach on Reddit
        elif source == "trustpilot":
            handle = name = rng.choice((f"{first} {last}", f"{first} {last[:1]}.", first))
            followers = rng.randrange(1, 40)  # the number of reviews the consumer wrote
        else:
            nick = rng.choice(
                (
                    f"{rng.choice(_words(APPSTORE_NICKS))}{rng.randrange(1, 99)}",
                    f"{fw}{rng.randrange(1970, 2005)}",
                    f"{fw}_{lw[:1]}",
                    first,
                )
            )
            handle = name = nick
            followers = None  # the App Store says nothing about reach
        return _Persona(source, handle, name, followers, self._platform_id(source, handle))

    def _followers(self, low: int, high: int) -> int:
        # most accounts are small, a few are large: a log-uniform draw
        return round(low * math.pow(high / low, self.rng.random()))

    def _platform_id(self, source: str, handle: str) -> str:
        rng = self.rng
        if source == "x":
            return str(rng.randrange(10**8, 2 * 10**18))
        if source == "bluesky":
            return "did:plc:" + "".join(rng.choice(_BASE32) for _ in range(24))
        if source == "mastodon":
            user, instance = handle.split("@")
            return f"https://{instance}/@{user}"
        if source == "reddit":
            return "t2_" + "".join(rng.choice(_BASE36) for _ in range(rng.choice((8, 9, 10))))
        if source == "trustpilot":
            return "".join(rng.choice("0123456789abcdef") for _ in range(24))
        return str(rng.randrange(10**8, 2 * 10**9))

    # --- ids, urls, engagement ----------------------------------------------------------------------------

    def _ids(
        self, source: str, persona: _Persona, moment: datetime, *, brand: str, reddit: tuple[str, str] | None
    ) -> tuple[str, str]:
        rng = self.rng
        ms = int(moment.timestamp() * 1000)
        if source == "x":
            tweet = str(((ms - _X_EPOCH_MS) << 22) | rng.getrandbits(22))
            return tweet, f"https://x.com/{persona.handle}/status/{tweet}"
        if source == "bluesky":
            tid_value = ((ms * 1000 + rng.randrange(1000)) << 10) | rng.getrandbits(10)
            rkey = "".join(_BASE32_SORT[(tid_value >> (60 - 5 * i)) & 31] for i in range(13))
            return (
                f"at://{persona.platform_id}/app.bsky.feed.post/{rkey}",
                f"https://bsky.app/profile/{persona.handle}/post/{rkey}",
            )
        if source == "mastodon":
            user, instance = persona.handle.split("@")
            status = str((ms << 16) | rng.getrandbits(16))
            return (
                f"https://{instance}/users/{user}/statuses/{status}",
                f"https://{instance}/@{user}/{status}",
            )
        if source == "reddit":
            assert reddit is not None
            subreddit, title = reddit
            post = "1" + "".join(rng.choice(_BASE36) for _ in range(6))
            slug = "_".join(re.findall(r"[a-z0-9]+", _ascii_title(title or self.rng.choice(_THREAD_TITLES))))[
                :50
            ]
            url = f"https://www.reddit.com/{subreddit}/comments/{post}/{slug}/"
            if title:
                return f"t3_{post}", url
            comment = "".join(rng.choice(_BASE36) for _ in range(7))
            return f"t1_{comment}", f"{url}{comment}/"
        if source == "trustpilot":
            review = f"{int(moment.timestamp()):08x}" + "".join(
                rng.choice("0123456789abcdef") for _ in range(16)
            )
            return review, f"https://www.trustpilot.com/reviews/{review}"
        slug, app_id = _APPS[brand]
        country = "nl" if rng.random() < 0.85 else "be"
        review = str(11_800_000_000 + (ms // 1000 - 1_790_000_000) * 3 + rng.randrange(3))
        return (
            f"{country}:{review}",
            f"https://apps.apple.com/{country}/app/{slug}/id{app_id}?see-all=reviews",
        )

    def _engagement(self, source: str, persona: _Persona, story: str) -> dict[str, int]:
        rng = self.rng
        reach = persona.followers or 0
        quiet = story in ("bot", "spam")
        if source == "x":
            views = (
                3
                if quiet and story == "bot"
                else int(reach * rng.uniform(0.08, 0.7)) + rng.randrange(20, 400)
            )
            likes = 0 if quiet else int(views * rng.uniform(0.004, 0.04))
            return {
                "likes": likes,
                "shares": int(likes * rng.uniform(0.05, 0.3)) if not quiet else rng.randrange(0, 3),
                "replies": rng.randrange(0, 3 + likes // 10),
                "quotes": int(likes * rng.uniform(0, 0.05)),
                "views": views,
            }
        if source in ("bluesky", "mastodon"):
            likes = int(reach * rng.uniform(0.003, 0.03)) + rng.randrange(0, 6)
            counts = {
                "likes": likes,
                "shares": int(likes * rng.uniform(0, 0.3)),
                "replies": rng.randrange(0, 2 + likes // 8),
            }
            if source == "bluesky":
                counts["quotes"] = int(likes * rng.uniform(0, 0.06))
            return counts
        if source == "reddit":
            return {
                "score": rng.randrange(0, 60) if rng.random() < 0.85 else rng.randrange(60, 480),
                "replies": rng.randrange(0, 40),
            }
        return {"helpful": rng.randrange(0, 6) if rng.random() < 0.8 else rng.randrange(6, 30)}

    # --- mentions -----------------------------------------------------------------------------------------

    def add(
        self,
        *,
        story: str,
        source: str,
        lang: str,
        kind: str,
        text: str,
        moment: datetime,
        persona: _Persona,
        brands: tuple[str, ...],
        rating: int | None = None,
        hint: str | None = None,
        in_reply_to: str | None = None,
        reddit: tuple[str, str] | None = None,
        page_brand: str | None = None,
    ) -> SampleMention:
        text = _adapt(text, source)
        if hint is None and brands and story not in ("excluded",):
            if source in ("trustpilot", "appstore") or story in ("own", "staff"):
                hint = page_brand or brands[0]  # a review page or a shop account belongs to one brand
            elif self.rng.random() < _HINT_SHARE:
                hint = self.rng.choice(brands)
        while True:
            external_id, url = self._ids(
                source, persona, moment, brand=page_brand or (brands[0] if brands else _KK), reddit=reddit
            )
            if (source, external_id) not in self.external_ids:
                self.external_ids.add((source, external_id))
                break
        record: dict[str, Any] = {
            "source": source,
            "external_id": external_id,
            "url": url,
            "created_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "author": {
                "id": persona.platform_id or None,
                "handle": persona.handle,
                "name": persona.name,
                "followers": persona.followers,
            },
            "text": text,
        }
        if source in _LANG_SOURCES:
            record["lang"] = lang
        if rating is not None:
            record["rating"] = rating
        record["engagement"] = self._engagement(source, persona, story)
        if in_reply_to is not None:
            record["in_reply_to"] = in_reply_to
        if hint is not None:
            record["brand"] = hint
        mention = SampleMention(record, story, kind, _SENTIMENT[kind], lang, brands)
        self.mentions.append(mention)
        return mention

    def micro_source(self, text: str) -> str:
        if "_support" in text:
            return "x"  # the staff handle exists on X only
        roll, total = self.rng.random(), 0.0
        for source, share in _MICRO_SOURCES:
            total += share
            if roll < total:
                return source
        return "x"


_THREAD_TITLES = (
    "Where do you buy your coffee beans online?",
    "Beste online koffiebranderij?",
    "Coffee subscriptions in the Netherlands, worth it?",
    "Welke bonen voor een volautomaat?",
    "Weekly espresso discussion thread",
    "Klantenservice van webshops, jullie ervaringen",
)


def _ascii_title(title: str) -> str:
    return unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()


def _general(
    builder: _Builder,
    story: str,
    brands: tuple[str, ...],
    posts: str,
    reddit: str,
    trustpilot: str,
    appstore: str,
) -> None:
    for (lang, code, *pinned), (text,) in _rows(posts):
        source = builder.micro_source(text)
        builder.add(
            story=story,
            source=source,
            lang=lang,
            kind=_KINDS[code],
            text=text,
            moment=builder.time_for(_KINDS[code], *pinned),
            persona=builder.one_off(source, lang),
            brands=brands,
        )
    for (lang, code, subreddit), (title, body) in _rows(reddit):
        title = "" if title == "-" else title
        text = f"{title}\n\n{body}" if title else body
        builder.add(
            story=story,
            source="reddit",
            lang=lang,
            kind=_KINDS[code],
            text=text,
            moment=builder.time_for(_KINDS[code]),
            persona=builder.one_off("reddit", lang),
            brands=brands,
            reddit=(subreddit, title),
        )
    for source, block in (("trustpilot", trustpilot), ("appstore", appstore)):
        for head, (title, body) in _rows(block):
            lang, code, rating = head[0], head[1], int(head[2])
            page = head[3] if len(head) > 3 else brands[0]
            builder.add(
                story=story,
                source=source,
                lang=lang,
                kind=_KINDS[code],
                text=f"{title}\n{body}",
                moment=builder.time_for(_KINDS[code]),
                persona=builder.one_off(source, lang),
                brands=brands,
                rating=rating,
                page_brand=page,
            )


def _story_lines(builder: _Builder, story: DemoStory) -> None:
    own_x = builder.persona("x", story.own_accounts[0].handle, "Koffiekoning ☕👑", 18_300)
    own_bsky = builder.persona("bluesky", story.own_accounts[1].handle, "Koffiekoning", 2_140)
    staff = builder.persona("x", story.staff_accounts[0].handle, "Koffiekoning Klantenservice", 540)
    own_by_source = {"x": own_x, "bluesky": own_bsky}
    kk = (_KK,)

    for (when, source, lang, code), (text,) in _rows(OWN_POSTS):
        moment = datetime.fromisoformat(when).replace(tzinfo=_AMSTERDAM).astimezone(UTC)
        builder.add(
            story="own",
            source=source,
            lang=lang,
            kind=_KINDS[code],
            text=text,
            moment=moment,
            persona=own_by_source[source],
            brands=kk,
        )

    ambassador = {
        "x": builder.persona("x", story.ambassador.handle, "Lotte Brouwt ☕", 25_400),
        "bluesky": builder.persona("bluesky", story.ambassador_elsewhere[0].handle, "Lotte de Vries", 9_100),
        "mastodon": builder.persona("mastodon", story.ambassador_elsewhere[1].handle, "Lotte Brouwt", 3_250),
    }
    for (day, source, lang, code), (text,) in _rows(AMBASSADOR):
        builder.add(
            story="ambassador",
            source=source,
            lang=lang,
            kind=_KINDS[code],
            text=text,
            moment=builder.on_day(day),
            persona=ambassador[source],
            brands=kk,
        )

    detractor_x = builder.persona("x", story.detractor.handle, "Gert-Jan Bakker", 1_850)
    detractor_tp = builder.persona("trustpilot", "Gert-Jan B.", "Gert-Jan B.", 7)
    detractor_posts: list[SampleMention] = []
    for head, cells in _rows(DETRACTOR):
        day, source, lang, code = head[:4]
        persona = detractor_x if source == "x" else detractor_tp
        rating = int(head[4]) if len(head) > 4 else None
        text = f"{cells[0]}\n{cells[1]}" if len(cells) > 1 else cells[0]
        detractor_posts.append(
            builder.add(
                story="detractor",
                source=source,
                lang=lang,
                kind=_KINDS[code],
                text=text,
                moment=builder.on_day(day),
                persona=persona,
                brands=kk,
                rating=rating,
            )
        )

    turning = builder.persona("bluesky", story.turning_ambassador.handle, "Sanne Visser", 6_800)
    turning_posts: dict[str, SampleMention] = {}
    for (day, source, lang, code), (text,) in _rows(TURNING):
        turning_posts[day[:10]] = builder.add(
            story="turning",
            source=source,
            lang=lang,
            kind=_KINDS[code],
            text=text,
            moment=builder.on_day(day),
            persona=turning,
            brands=kk,
        )
    for (day, lang), (text,) in _rows(BLUESKY_REPLIES):
        parent = turning_posts[day]
        moment = parent.created_at + timedelta(minutes=builder.rng.randrange(25, 140))
        builder.add(
            story="own",
            source="bluesky",
            lang=lang,
            kind="neutral",
            text=text,
            moment=moment,
            persona=own_bsky,
            brands=kk,
            in_reply_to=str(parent.record["external_id"]),
        )

    burst_x: list[SampleMention] = []
    for head, cells in _rows(BURST):
        clock, source, lang, code = head[:4]
        moment = datetime.combine(story.burst_start.date(), time.fromisoformat(clock), UTC) + timedelta(
            seconds=builder.rng.randrange(60)
        )
        rating = int(head[4]) if len(head) > 4 else None
        text = f"{cells[0]}\n{cells[1]}" if len(cells) > 1 else cells[0]
        persona = builder.one_off(source, lang, repeat_share=0.0)
        mention = builder.add(
            story="burst",
            source=source,
            lang=lang,
            kind=_KINDS[code],
            text=text,
            moment=moment,
            persona=persona,
            brands=kk,
            rating=rating,
        )
        if source == "x":
            burst_x.append(mention)
    by_clock = {m.created_at.strftime("%H:%M"): m for m in burst_x}
    for (clock, lang, who), (text,) in _rows(BURST_REPLIES):
        _reply(
            builder,
            by_clock[clock],
            own_x if who == "own" else staff,
            story="own" if who == "own" else "staff",
            lang=lang,
            text=text,
            minutes=(20, 95),
        )

    spammer = builder.persona("x", story.spammer.handle, "Winactie Winnie 🎁🎉", 4_120)
    for (day, source, lang), (text,) in _rows(SPAM):
        builder.add(
            story="spam",
            source=source,
            lang=lang,
            kind="neutral",
            text=text,
            moment=builder.on_day(day),
            persona=spammer,
            brands=kk,
        )

    bot = builder.persona("x", story.bot.handle, "Koffie Deals 🤖", 37)
    for (when, source, lang), (text,) in _rows(BOT):
        moment = datetime.fromisoformat(when).replace(tzinfo=_AMSTERDAM).astimezone(UTC)
        builder.add(
            story="bot",
            source=source,
            lang=lang,
            kind="neutral",
            text=text,
            moment=moment,
            persona=bot,
            brands=kk,
        )

    for (lang, code, who, *pinned), (question, answer) in _rows(THREADS):
        moment = builder.time_for(_KINDS[code], *pinned)
        if moment.date() == _LAST_DAY:
            moment -= timedelta(days=3)  # leave room for the answer before the sample ends
        asker = builder.one_off("x", lang)
        parent = builder.add(
            story="chatter",
            source="x",
            lang=lang,
            kind=_KINDS[code],
            text=question,
            moment=moment,
            persona=asker,
            brands=kk,
        )
        _reply(
            builder,
            parent,
            own_x if who == "own" else staff,
            story="own" if who == "own" else "staff",
            lang=lang,
            text=answer,
            minutes=(8, 240),
        )

    # two staff answers to the detractor, which do not help
    for parent, text in zip(
        [m for m in detractor_posts if m.source == "x"][:2],
        (
            "Vervelend dat je molen het niet goed doet. Wil je je ordernummer via DM sturen? Dan kijken we naar een oplossing. ^Lisa",
            "Sorry voor het wachten! Je mail is doorgezet naar onze technische dienst, je hoort binnen 3 werkdagen van ons. ^Mirjam",
        ),
        strict=True,
    ):
        _reply(builder, parent, staff, story="staff", lang="nl", text=text, minutes=(40, 300))


def _reply(
    builder: _Builder,
    parent: SampleMention,
    persona: _Persona,
    *,
    story: str,
    lang: str,
    text: str,
    minutes: tuple[int, int],
) -> SampleMention:
    moment = parent.created_at + timedelta(minutes=builder.rng.randrange(*minutes))
    local = moment.astimezone(_AMSTERDAM)
    if not 8 <= local.hour < 22:  # support works 08:00-22:00; a late message is answered the next morning
        morning = local.date() + timedelta(days=1 if local.hour >= 22 else 0)
        moment = datetime.combine(morning, time(8, builder.rng.randrange(50)), _AMSTERDAM).astimezone(UTC)
    assert moment.date() <= _LAST_DAY, (
        f"a reply to {parent.record['external_id']} would fall after the sample ends"
    )
    prefix = f"@{parent.handle} " if parent.source == "x" else ""
    return builder.add(
        story=story,
        source=parent.source,
        lang=lang,
        kind="neutral",
        text=prefix + text,
        moment=moment,
        persona=persona,
        brands=(_KK,),
        in_reply_to=str(parent.record["external_id"]),
    )


def _support_replies(builder: _Builder, story: DemoStory) -> None:
    """The shop answering some of the ordinary complaints on X."""
    own_x = builder.account("x", story.own_accounts[0].handle)
    staff = builder.account("x", story.staff_accounts[0].handle)
    latest_parent = datetime.combine(_LAST_DAY, time(6), UTC)
    for (lang, who), (text,) in _rows(SUPPORT_REPLIES):
        candidates = [
            m
            for m in builder.mentions
            if m.story == "chatter"
            and m.source == "x"
            and m.kind == "complaint"
            and m.lang == lang
            and m.created_at < latest_parent
            and not any(r.record.get("in_reply_to") == m.record["external_id"] for r in builder.mentions)
        ]
        parent = builder.rng.choice(candidates)
        _reply(
            builder,
            parent,
            own_x if who == "own" else staff,
            story="own" if who == "own" else "staff",
            lang=lang,
            text=text,
            minutes=(20, 400),
        )


def build_sample(*, seed: int = SEED, story: DemoStory = DEMO_STORY) -> list[SampleMention]:
    """Every sample mention with what it is meant to be, oldest first."""
    builder = _Builder(story, seed)
    _story_lines(builder, story)
    _general(builder, "chatter", (_KK,), KK_POSTS, KK_REDDIT, KK_TRUSTPILOT, KK_APPSTORE)
    _general(builder, "competitor", (_BB,), BB_POSTS, BB_REDDIT, BB_TRUSTPILOT, BB_APPSTORE)
    _general(builder, "comparison", (_KK, _BB), BOTH_POSTS, BOTH_REDDIT, BOTH_TRUSTPILOT, "")
    for (lang, code), (text,) in _rows(EXCLUDED_POSTS):
        source = builder.micro_source(text)
        builder.add(
            story="excluded",
            source=source,
            lang=lang,
            kind=_KINDS[code],
            text=text,
            moment=builder.any_time(),
            persona=builder.one_off(source, lang),
            brands=(),
        )
    _support_replies(builder, story)
    return sorted(builder.mentions, key=lambda m: (m.record["created_at"], m.source, m.record["external_id"]))


def write_sample(path: Path = SAMPLE_PATH, *, seed: int = SEED) -> int:
    """Writes the sample as JSON lines to `path`; returns the number of lines."""
    mentions = build_sample(seed=seed)
    lines = [json.dumps(m.record, ensure_ascii=False, separators=(", ", ": ")) for m in mentions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main() -> None:
    count = write_sample()
    print(f"wrote {count} mentions to {SAMPLE_PATH}")


if __name__ == "__main__":
    main()
