"""What the demo's sample file contains on purpose, so tests and `wom demo` can check what the pipeline found.

The sample (monitor/demo/sample_mentions.jsonl, built by benchmarks/demo_sample/build_sample.py) follows an
example Dutch web shop, Koffiekoning, and its competitor BonenBaas over six weeks ending on 2026-11-20.
Handles are as they appear in `author.handle`; `source` says on which platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["DEMO_STORY", "DemoStory", "StoryAccount"]


@dataclass(frozen=True, slots=True)
class StoryAccount:
    """One account of a story character: the platform and the handle as imported."""

    source: str
    handle: str


@dataclass(frozen=True, slots=True)
class DemoStory:
    brand: str = "Koffiekoning"
    competitor: str = "BonenBaas"
    # high reach (25.4k followers on X), clearly positive on X, Bluesky and Mastodon over all six weeks
    ambassador: StoryAccount = StoryAccount("x", "lotte_brouwt")
    ambassador_elsewhere: tuple[StoryAccount, ...] = (
        StoryAccount("bluesky", "lottebrouwt.bsky.social"),
        StoryAccount("mastodon", "lottebrouwt@mastodon.nl"),
    )
    # a broken grinder and a refund that never comes: clearly negative, again and again
    detractor: StoryAccount = StoryAccount("x", "gj_bakker")
    # praises the shop in weeks 1-4, then turns angry in the last week after a lost order
    turning_ambassador: StoryAccount = StoryAccount("bluesky", "sannevisser.bsky.social")
    turned_at: datetime = datetime(2026, 11, 14, tzinfo=UTC)
    # posts near-identical "WIN / WINACTIE" texts
    spammer: StoryAccount = StoryAccount("x", "winactie_winnie")
    # posts price-drop messages on the hour
    bot: StoryAccount = StoryAccount("x", "koffiedeals_bot")
    # the brand's own accounts and its support staff: they reply a lot, nicely, and must never rank as fans
    own_accounts: tuple[StoryAccount, ...] = (
        StoryAccount("x", "koffiekoning"),
        StoryAccount("bluesky", "koffiekoning.nl"),
    )
    staff_accounts: tuple[StoryAccount, ...] = (StoryAccount("x", "koffiekoning_support"),)
    # ~20 complaints about delayed deliveries (a warehouse fault, PostNL never got the parcels), all within
    # these six hours on 2026-11-18, each from a different author
    burst_start: datetime = datetime(2026, 11, 18, 7, 30, tzinfo=UTC)
    burst_end: datetime = datetime(2026, 11, 18, 13, 30, tzinfo=UTC)
    # the phrase of a barista contest ("de koffiekoning van Utrecht") that must not count as the brand
    exclusion: str = "koffiekoning van"
    first_day: datetime = datetime(2026, 10, 10, tzinfo=UTC)
    # the newest mention is on 2026-11-20: score and alert the sample as of the end of that day, not today
    as_of: datetime = datetime(2026, 11, 21, tzinfo=UTC)

    @property
    def not_fan_handles(self) -> tuple[str, ...]:
        """The brand's own and staff handles: never ambassadors, whatever they post."""
        return tuple(account.handle for account in (*self.own_accounts, *self.staff_accounts))


DEMO_STORY = DemoStory()
