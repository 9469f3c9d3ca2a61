"""What the config file says about collectors: source-wide settings and each brand's streams per source.

Source-wide: `[collectors.<source>]` (enabled, interval, base URL, source-specific limits). Per brand:
`[brands.collect.<source>]`; a brand is collected from a source only when that table is present.
Light on purpose (pydantic only): the config loader and the status report import it (the API process
loads no collector module); the client libraries are imported by the collectors themselves.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from monitor.config import Settings

__all__ = [
    "SOURCE_CREDENTIALS",
    "SOURCE_NAMES",
    "AppStoreBrand",
    "AppStoreSource",
    "BlueskyBrand",
    "BlueskySource",
    "BrandCollect",
    "CollectorSettings",
    "GooglePlayBrand",
    "GooglePlaySource",
    "HackerNewsBrand",
    "HackerNewsSource",
    "MastodonBrand",
    "MastodonSource",
    "NonBlankText",
    "RedditBrand",
    "RedditSource",
    "RssBrand",
    "RssSource",
    "SourceSettings",
    "TrustpilotBrand",
    "TrustpilotSource",
    "XBrand",
    "XSource",
    "YouTubeBrand",
    "YouTubeSource",
    "configured_sources",
]

SOURCE_NAMES = (
    "x",
    "reddit",
    "appstore",
    "googleplay",
    "mastodon",
    "bluesky",
    "hackernews",
    "youtube",
    "rss",
    "trustpilot",
)

# the environment variables each source needs (optional ones not listed); every collector's
# SourceSpec.credentials is this entry (tests/collectors/test_registry.py checks they agree)
SOURCE_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "x": ("WOM_X_BEARER_TOKEN",),
    "reddit": ("WOM_REDDIT_CLIENT_ID", "WOM_REDDIT_CLIENT_SECRET"),
    "appstore": (),
    "googleplay": (),
    "mastodon": (),
    "bluesky": ("WOM_BLUESKY_HANDLE", "WOM_BLUESKY_APP_PASSWORD"),
    "hackernews": (),
    "youtube": ("WOM_YOUTUBE_API_KEY",),
    "rss": (),
    "trustpilot": ("WOM_TRUSTPILOT_API_KEY",),
}


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("empty or only spaces; write the word to match or search for, or remove the entry")
    return value


def _bare_hashtag(value: str) -> str:
    if not re.search(r"\w", value.strip().lstrip("#")):
        raise ValueError("a hashtag needs a word after the #, like 'acme' or '#acme'")
    return value


# a search term or keyword: an empty one searches (or matches) everything
NonBlankText = Annotated[str, AfterValidator(_non_blank)]


class _Options(BaseModel):
    # inf and nan pass gt/ge bounds (inf > 0) and are meaningless for every float setting
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


# --- source-wide -------------------------------------------------------------------------------


class SourceSettings(_Options):
    """Settings every source has. `base_url` empty: the platform's own API."""

    enabled: bool = True
    interval_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    base_url: str = ""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("use an http(s) URL such as https://proxy.example.com/api, or leave it empty")
        return value.rstrip("/")


class XSource(SourceSettings):
    interval_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    max_pages: int = Field(default=5, ge=1, le=100)  # X bills per post read: bound each run


class RedditSource(SourceSettings):
    interval_minutes: int = Field(default=10, ge=1, le=7 * 24 * 60)
    token_url: str = ""  # empty: https://www.reddit.com (where praw gets its app-only token)
    user_agent: str = "linux:wom:0.1 (self-hosted word-of-mouth monitor)"


class AppStoreSource(SourceSettings):
    interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class GooglePlaySource(SourceSettings):
    interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    reviews_per_run: int = Field(default=200, ge=1, le=4500)


class MastodonSource(SourceSettings):
    interval_minutes: int = Field(default=10, ge=1, le=7 * 24 * 60)


class BlueskySource(SourceSettings):
    interval_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)


class HackerNewsSource(SourceSettings):
    interval_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)


class YouTubeSource(SourceSettings):
    interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    daily_quota: int = Field(default=10_000, ge=1)  # units per day, the project's default allowance


class RssSource(SourceSettings):
    interval_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)


class TrustpilotSource(SourceSettings):
    interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class CollectorSettings(_Options):
    # private hosts a base URL or feed may point at: "host" or "host:port"; config file only, never the API
    allow_private_hosts: list[str] = Field(default_factory=list)
    # a source that found items before and has found none for this long is flagged in `wom status`
    silent_after_hours: float = Field(default=72.0, gt=0)
    # attempts per stream in one run for timeouts, 5xx and garbage (bounded exponential backoff between)
    max_attempts: int = Field(default=3, ge=1, le=10)
    x: XSource = Field(default_factory=XSource)
    reddit: RedditSource = Field(default_factory=RedditSource)
    appstore: AppStoreSource = Field(default_factory=AppStoreSource)
    googleplay: GooglePlaySource = Field(default_factory=GooglePlaySource)
    mastodon: MastodonSource = Field(default_factory=MastodonSource)
    bluesky: BlueskySource = Field(default_factory=BlueskySource)
    hackernews: HackerNewsSource = Field(default_factory=HackerNewsSource)
    youtube: YouTubeSource = Field(default_factory=YouTubeSource)
    rss: RssSource = Field(default_factory=RssSource)
    trustpilot: TrustpilotSource = Field(default_factory=TrustpilotSource)

    def source(self, name: str) -> SourceSettings:
        settings = getattr(self, name, None)
        if not isinstance(settings, SourceSettings):
            raise KeyError(f"unknown source {name!r}; use one of {', '.join(SOURCE_NAMES)}")
        return settings


# --- per brand ---------------------------------------------------------------------------------


class XBrand(_Options):
    # X search query; empty: built from the brand's keywords, hashtags and handles, without retweets
    query: str = Field(default="", max_length=512)
    # also collect mentions of the brand's own account(s) from [brands.handles] x
    own_mentions: bool = True


class RedditBrand(_Options):
    # search all of Reddit for posts (empty query: the brand's keywords)
    search: bool = True
    query: str = Field(default="", max_length=512)
    # subreddits whose new comments are read and kept when they mention the brand
    subreddits: list[str] = Field(default_factory=list)

    @field_validator("subreddits")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [name.removeprefix("r/").removeprefix("/r/") for name in value]
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9_]{2,21}", name):
                raise ValueError(f"{name!r} is not a subreddit name like 'acme' or 'r/acme'")
        return names


class AppStoreBrand(_Options):
    app_ids: list[str] = Field(min_length=1)
    countries: list[str] = Field(default_factory=lambda: ["us"])

    @field_validator("app_ids")
    @classmethod
    def _numeric(cls, value: list[str]) -> list[str]:
        ids = [item.removeprefix("id") for item in value]
        for item in ids:
            if not item.isdigit():
                raise ValueError(f"{item!r} is not an App Store app id (the digits after 'id' in its URL)")
        return ids

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, value: list[str]) -> list[str]:
        codes = [code.lower() for code in value]
        for code in codes:
            if not re.fullmatch(r"[a-z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter storefront country code like 'nl'")
        return codes


class GooglePlayBrand(_Options):
    app_ids: list[str] = Field(min_length=1)
    # language-country pairs, e.g. "nl-nl", "en-us": Google Play filters reviews by language server-side
    locales: list[str] = Field(default_factory=lambda: ["en-us"])

    @field_validator("app_ids")
    @classmethod
    def _package_names(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+", item):
                raise ValueError(f"{item!r} is not an Android package name like 'com.acme.app'")
        return value

    @field_validator("locales")
    @classmethod
    def _locales(cls, value: list[str]) -> list[str]:
        locales = [item.lower().replace("_", "-") for item in value]
        for item in locales:
            if not re.fullmatch(r"[a-z]{2}-[a-z]{2}", item):
                raise ValueError(f"{item!r} is not a language-country pair like 'nl-nl' or 'en-us'")
        return locales


class MastodonBrand(_Options):
    instances: list[str] = Field(default_factory=lambda: ["https://mastodon.social"])
    # hashtags to follow (empty: the brand's hashtags); the # is optional
    hashtags: list[Annotated[str, AfterValidator(_bare_hashtag)]] = Field(default_factory=list)
    # full-text search as well (needs WOM_MASTODON_ACCESS_TOKEN; only finds opted-in posts)
    search: bool = False

    @field_validator("instances")
    @classmethod
    def _instance_urls(cls, value: list[str]) -> list[str]:
        urls = [item if "://" in item else f"https://{item}" for item in value]
        for url in urls:
            if not re.fullmatch(r"https?://[^/\s]+/?", url):
                raise ValueError(f"{url!r} is not an instance like 'mastodon.social' or https://mastodon.nl")
        return [url.rstrip("/") for url in urls]

    @field_validator("hashtags")
    @classmethod
    def _bare(cls, value: list[str]) -> list[str]:
        return [tag.lstrip("#") for tag in value]


class BlueskyBrand(_Options):
    # search query; empty: one search per brand keyword
    query: str = Field(default="", max_length=512)
    # only posts in this language (e.g. "nl"); empty: all
    lang: str = Field(default="", max_length=8)


class HackerNewsBrand(_Options):
    # search terms; empty: the brand's keywords
    queries: list[NonBlankText] = Field(default_factory=list)


class YouTubeBrand(_Options):
    # the brand's own channels: every comment thread on them
    channel_ids: list[str] = Field(default_factory=list)
    # other channels whose recent uploads (RSS, no quota) are searched for comments naming the brand
    watch_channel_ids: list[str] = Field(default_factory=list)
    # single videos whose comments are all collected
    video_ids: list[str] = Field(default_factory=list)


class RssBrand(_Options):
    # RSS/Atom feed URLs: Google Alerts "deliver to RSS feed", news searches, blogs
    feeds: list[str] = Field(min_length=1)

    @field_validator("feeds")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.match(r"https?://[^/\s]+", url):
                raise ValueError(f"{url!r} is not an http(s) feed URL")
        return value


class TrustpilotBrand(_Options):
    # your own business units (ids from Trustpilot's business-units/find); needs WOM_TRUSTPILOT_API_KEY
    business_unit_ids: list[str] = Field(min_length=1)


class BrandCollect(_Options):
    """`[brands.collect.<source>]`: the brand is collected from each source named here."""

    x: XBrand | None = None
    reddit: RedditBrand | None = None
    appstore: AppStoreBrand | None = None
    googleplay: GooglePlayBrand | None = None
    mastodon: MastodonBrand | None = None
    bluesky: BlueskyBrand | None = None
    hackernews: HackerNewsBrand | None = None
    youtube: YouTubeBrand | None = None
    rss: RssBrand | None = None
    trustpilot: TrustpilotBrand | None = None

    def configured(self) -> list[str]:
        return [name for name in SOURCE_NAMES if getattr(self, name) is not None]


def configured_sources(settings: Settings) -> list[str]:
    """Sources that at least one brand or competitor is collected from, in the registry's order."""
    wanted = {
        name
        for brand in settings.brands
        for entry in [brand, *brand.competitors]
        for name in entry.collect.configured()
    }
    return [name for name in SOURCE_NAMES if name in wanted]
