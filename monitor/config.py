"""Settings: one model, loaded from TOML, overridden from `WOM_*` environment variables.

Lookup order for the file: `--config`, then `WOM_CONFIG`, then `./wom.toml`. Every leaf key can be
overridden from the environment: `[database] url` is `WOM_DATABASE_URL`, `[alerts] email_to` is
`WOM_ALERTS_EMAIL_TO` (lists as JSON or comma-separated). Secrets are read only from the environment.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError
from monitor.matching import fold
from monitor.source_settings import BrandCollect, CollectorSettings, NonBlankText

__all__ = [
    "AlertSettings",
    "ApiSettings",
    "BrandSettings",
    "ClassifierSettings",
    "DashboardSettings",
    "DatabaseSettings",
    "InboxSettings",
    "PipelineSettings",
    "PrivacySettings",
    "ScoringSettings",
    "Settings",
    "SmtpSettings",
    "WebhookSettings",
    "find_config_path",
    "load_settings",
    "mask_url_password",
    "settings_from_mapping",
]

ENV_PREFIX = "WOM_"
# keys no environment variable may set: the private hosts collectors may reach (an API user or a
# compromised environment must not widen the SSRF allowlist)
CONFIG_FILE_ONLY = frozenset({("collectors", "allow_private_hosts")})
SECRET_ENV = {
    "smtp.password": "WOM_SMTP_PASSWORD",
}
# the secrets each source reads from the environment (a test checks them against the collectors' SPECs)
SOURCE_SECRET_ENV = {
    "x": ("WOM_X_BEARER_TOKEN",),
    "reddit": ("WOM_REDDIT_CLIENT_ID", "WOM_REDDIT_CLIENT_SECRET"),
    "mastodon": ("WOM_MASTODON_ACCESS_TOKEN",),
    "bluesky": ("WOM_BLUESKY_HANDLE", "WOM_BLUESKY_APP_PASSWORD"),
    "youtube": ("WOM_YOUTUBE_API_KEY",),
    "trustpilot": ("WOM_TRUSTPILOT_API_KEY",),
}
# a key whose name says secret is refused without echoing its value, wherever it is in the file
_SECRET_WORDS = re.compile(
    r"token|secret|passw|passphrase|pwd|webhook|credential|apikey|bearer|cookie|authorization|privatekey"
)
_SECRET_PARTS = frozenset({"key", "keys", "auth", "dsn"})
_HANDLE_SOURCES = (
    "x",
    "reddit",
    "mastodon",
    "bluesky",
    "youtube",
    "hackernews",
    "trustpilot",
    "appstore",
    "googleplay",
)


def _hashtag(value: str) -> str:
    if not re.search(r"\w", value.strip().lstrip("#")):
        raise ValueError("a hashtag needs a word after the #, like #acme; a lone # would match any text")
    return value


def _handle(value: str) -> str:
    if not re.search(r"\w", value.strip().lstrip("@")):
        raise ValueError("a handle needs a name after the @, like @acme; a lone @ would match any text")
    return value


def _staff_handle(value: str) -> str:
    if not re.search(r"\w", value.rpartition(":")[2].strip().lstrip("@")):
        raise ValueError("write a handle or source:handle, like x:@acme_support")
    return value


Hashtag = Annotated[str, AfterValidator(_hashtag)]
Handle = Annotated[str, AfterValidator(_handle)]


class _Section(BaseModel):
    # inf and nan pass gt/ge bounds (inf > 0) and are meaningless for every float setting
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DatabaseSettings(_Section):
    url: str = "sqlite:///wom.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not (value.startswith("sqlite://") or value.startswith("postgresql")):
            raise ValueError(
                "use sqlite:///path/to/wom.db (embedded default) or postgresql+psycopg://user@host/db"
            )
        return value


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = ""
    requests_per_minute: int = Field(default=600, ge=1, le=1_000_000)
    workers: int = Field(default=1, ge=1, le=64)
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1024, le=1024**3)
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network; list the addresses of the reverse proxies "
                    'in front of wom, e.g. ["127.0.0.1"] or ["10.0.0.0/8"], or leave it empty'
                ) from None
        return value


class DashboardSettings(_Section):
    # the address people open the dashboard at; links in digests and alert messages start with it
    public_url: str = ""

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError("use an http(s) address such as https://wom.example.com, or leave it empty")
        return value


class WebhookSettings(_Section):
    """One `[[webhooks]]` entry: a Slack incoming webhook, or generic JSON signed per Standard Webhooks."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["slack", "standard"] = "standard"
    url: str
    # the environment variable holding the signing secret (`whsec_<base64>`); standard webhooks only
    secret_env: str = ""
    min_severity: Literal["info", "warning", "critical"] = "warning"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "use the http(s) address the receiver gave you, e.g. https://hooks.slack.com/..."
            )
        return value

    @model_validator(mode="after")
    def _secret_for_standard(self) -> WebhookSettings:
        if self.kind == "standard" and not self.secret_env:
            raise ValueError(
                f"webhooks {self.name!r}: a standard webhook is signed; set secret_env to the name of the "
                "environment variable that holds its whsec_ secret"
            )
        return self

    @property
    def secret(self) -> str:
        return os.environ.get(self.secret_env, "") if self.secret_env else ""


class PrivacySettings(_Section):
    retention_days: int = Field(default=0, ge=0, le=36_500)


class PipelineSettings(_Section):
    batch_size: int = Field(default=256, ge=1, le=10_000)
    interval_seconds: int = Field(default=60, ge=5)
    claim_timeout_seconds: int = Field(default=300, ge=30)


# the languages the classifier tells apart (monitor.classify.language.SUPPORTED_LANGUAGES)
LanguageCode = Literal["en", "nl", "de", "fr", "es", "it", "pt", "ar"]


def _dutch_and_english() -> list[LanguageCode]:
    return ["nl", "en"]


class ClassifierSettings(_Section):
    backend: Literal["e5", "transformers"] = "e5"
    precision: Literal["int8", "fp32"] = "int8"
    adapter: str = ""
    model: str = ""
    label_map: dict[str, Literal["negative", "neutral", "positive", "ignore"]] = Field(default_factory=dict)
    batch_size: int = Field(default=16, ge=1, le=1024)
    threads: int = Field(default=2, ge=1, le=64)
    # the languages this installation mostly hears; others need more evidence (monitor.classify.language)
    expected_languages: list[LanguageCode] = Field(default_factory=_dutch_and_english, max_length=8)

    @model_validator(mode="after")
    def _model_for_transformers(self) -> ClassifierSettings:
        if self.backend == "transformers" and not self.model.strip():
            raise ValueError(
                'classifier.model must name a Hugging Face model id or a local folder when backend = "transformers"'
            )
        return self


class SegmentThresholds(_Section):
    ambassador: float = Field(default=3.0, ge=0)
    fan: float = Field(default=1.0, ge=0)
    critic: float = Field(default=1.0, ge=0)
    detractor: float = Field(default=3.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SegmentThresholds:
        if self.fan > self.ambassador:
            raise ValueError("scoring.segments.fan must not exceed scoring.segments.ambassador")
        if self.critic > self.detractor:
            raise ValueError("scoring.segments.critic must not exceed scoring.segments.detractor")
        return self


class ScoringSettings(_Section):
    half_life_days: float = Field(default=90.0, gt=0)
    recent_half_life_days: float = Field(default=14.0, gt=0)
    min_mentions: int = Field(default=2, ge=1)
    staff_handles: list[Annotated[str, AfterValidator(_staff_handle)]] = Field(default_factory=list)
    segments: SegmentThresholds = Field(default_factory=SegmentThresholds)


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


class AlertSettings(_Section):
    influential_min_reach: int = Field(default=5000, ge=0)
    # spike detection (monitor/alerts/spikes.py)
    spike_windows_minutes: list[int] = Field(default_factory=lambda: [60, 360])
    spike_step_minutes: int = Field(default=10, ge=1, le=60)
    spike_history_weeks: int = Field(default=4, ge=1, le=52)
    spike_min_history_weeks: int = Field(default=2, ge=1, le=52)
    spike_p_value: float = Field(default=1e-3, gt=0, lt=0.5)
    spike_keep_p_value: float = Field(default=0.05, gt=0, lt=1)
    spike_share_p_value: float = Field(default=1e-3, gt=0, lt=1)
    spike_dispersion: float = Field(default=0.05, ge=0, le=10)
    spike_quiet_minutes: int = Field(default=60, ge=0, le=1440)
    spike_min_count: int = Field(default=5, ge=1)
    volume_spike_min_count: int = Field(default=20, ge=1)
    # replaced by the sliding-window detector; still accepted so that older configs load, and unused
    spike_window_hours: int = Field(default=6, ge=1, le=168)
    spike_baseline_days: int = Field(default=14, ge=1, le=365)
    spike_factor: float = Field(default=3.0, gt=1)
    max_age_days: int = Field(default=14, ge=1)
    email_to: list[str] = Field(default_factory=list)
    # delivery to users (monitor/service/notify.py): immediate e-mails per user per hour, the rest go to the
    # digest; a spike resolved within group_wait_minutes is recorded, not pushed; reminders of an open,
    # unchanged alert every repeat_hours (0: none), at most max_reminders times, and only in the half of each
    # hour's cap that new alerts leave free (monitor/alerts/routing.py)
    max_immediate_per_hour: int = Field(default=5, ge=0, le=1000)
    group_wait_minutes: int = Field(default=5, ge=0, le=1440)
    repeat_hours: float = Field(default=4.0, ge=0, le=24 * 30)
    max_reminders: int = Field(default=3, ge=0, le=100)
    # the kinds watched over time (monitor/service/watch.py; monitor/alerts/{overdue,source_health,
    # segment_alerts,rating_drop}.py): one open alert per brand listing its inbox items past their due time
    first_response_missed: bool = True
    # a source failing for this many hours, or delivering nothing for source_silent_factor x its usual
    # longest gap (and at least source_silent_min_hours), learnt from source_history_days of deliveries
    # with at least source_silent_min_deliveries of them
    source_down_hours: float = Field(default=6.0, gt=0, le=24 * 30)
    source_silent_factor: float = Field(default=2.0, ge=1, le=100)
    source_silent_min_hours: float = Field(default=6.0, gt=0, le=24 * 90)
    source_history_days: int = Field(default=14, ge=1, le=365)
    source_silent_min_deliveries: int = Field(default=10, ge=2)
    # an author entering the detractor segment alerts when they wrote at least this many negative mentions
    # or complaints within detractor_recent_days; warning from influential_min_reach, critical from 10 x
    detractor_recent_days: int = Field(default=14, ge=1, le=365)
    detractor_min_negative: int = Field(default=2, ge=1)
    # star ratings (app stores, Google Play, Trustpilot): the mean of the last rating_window_days against
    # the rating_baseline_days before it, Welch's one-sided t-test at rating_p_value, both periods with at
    # least rating_min_count ratings and a drop of at least rating_min_drop stars
    rating_window_days: int = Field(default=7, ge=1, le=90)
    rating_baseline_days: int = Field(default=56, ge=7, le=730)
    rating_min_count: int = Field(default=10, ge=3)
    rating_min_drop: float = Field(default=0.3, gt=0, le=4)
    rating_p_value: float = Field(default=0.01, gt=0, lt=0.5)

    @field_validator("email_to")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            # one plain addr-spec: a To header would read "a,b@x", "a:b@x" or an encoded word as other
            # or several addresses (see monitor/alerts/email.py)
            if "=?" in address or not _PLAIN_ADDRESS.fullmatch(address):
                raise ValueError(
                    f"{address!r} is not one e-mail address like owner@example.com; give one address per entry"
                )
        return value

    @field_validator("spike_windows_minutes")
    @classmethod
    def _spike_windows(cls, value: list[int]) -> list[int]:
        if not value or any(not 10 <= minutes <= 1440 for minutes in value):
            raise ValueError(
                f"{value!r}: give one or more window widths in minutes, each from 10 to 1440, e.g. [60, 360]"
            )
        return sorted(set(value))

    @model_validator(mode="after")
    def _spike_bars(self) -> AlertSettings:
        if self.spike_keep_p_value < self.spike_p_value:
            raise ValueError(
                f"alerts.spike_keep_p_value ({self.spike_keep_p_value}) is below alerts.spike_p_value "
                f"({self.spike_p_value}): the bar that keeps an incident open must be the lower one; "
                "raise spike_keep_p_value or lower spike_p_value"
            )
        if self.spike_min_history_weeks > self.spike_history_weeks:
            raise ValueError(
                f"alerts.spike_min_history_weeks ({self.spike_min_history_weeks}) is more than "
                f"alerts.spike_history_weeks ({self.spike_history_weeks}); the baseline never reads that "
                "many weeks: lower spike_min_history_weeks or raise spike_history_weeks"
            )
        if self.rating_window_days >= self.rating_baseline_days:
            raise ValueError(
                f"alerts.rating_window_days ({self.rating_window_days}) is not shorter than "
                f"alerts.rating_baseline_days ({self.rating_baseline_days}): the baseline must be the longer "
                "period; lower rating_window_days or raise rating_baseline_days"
            )
        if self.source_silent_min_hours > 24 * self.source_history_days:
            raise ValueError(
                f"alerts.source_silent_min_hours ({self.source_silent_min_hours}) is longer than the "
                f"alerts.source_history_days ({self.source_history_days}) a source's usual gap is learnt "
                "from; lower source_silent_min_hours or raise source_history_days"
            )
        return self


class InboxSettings(_Section):
    fold_hours: float = Field(default=48.0, gt=0, le=24 * 365)
    first_response_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    # a review rated above this many stars opens no item (monitor.inbox.rules.opens_item, rule 4); 5: the
    # stars decide nothing
    complaint_max_rating: float = Field(default=2.0, ge=1, le=5)
    # a complaint in a neutral message whose P(complaint) is under this opens no item (opens_item, rule 5)
    min_complaint_confidence: float = Field(default=0.3, ge=0, le=1)


class SmtpSettings(_Section):
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    sender: str = "wom@localhost"
    username: str = ""
    starttls: bool = True
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @property
    def password(self) -> str:
        return os.environ.get(SECRET_ENV["smtp.password"], "")


class BrandBase(_Section):
    name: str = Field(min_length=1, max_length=200)
    keywords: list[NonBlankText] = Field(default_factory=list)
    exclusions: list[NonBlankText] = Field(default_factory=list)
    hashtags: list[Hashtag] = Field(default_factory=list)
    handles: dict[str, list[Handle]] = Field(default_factory=dict)
    collect: BrandCollect = Field(default_factory=BrandCollect)

    @field_validator("handles", mode="before")
    @classmethod
    def _handles_as_lists(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("handles")
    @classmethod
    def _known_sources(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for source in value:
            if source not in _HANDLE_SOURCES:
                raise ValueError(
                    f"unknown platform {source!r} in handles; use one of {', '.join(_HANDLE_SOURCES)}"
                )
        return value

    @field_validator("hashtags")
    @classmethod
    def _hash_prefix(cls, value: list[str]) -> list[str]:
        return [tag if tag.startswith("#") else f"#{tag}" for tag in value]

    @model_validator(mode="after")
    def _something_to_match(self) -> BrandBase:
        if not (self.keywords or self.hashtags or any(self.handles.values())):
            raise ValueError(
                f"brand {self.name!r} needs at least one keyword, hashtag or handle to match mentions"
            )
        return self


class BrandSettings(BrandBase):
    timezone: str = "UTC"
    # this brand's first-response target in hours; None: [inbox] first_response_hours
    first_response_hours: float | None = Field(default=None, gt=0, le=24 * 365)
    competitors: list[BrandBase] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError("use an IANA time zone name such as Europe/Amsterdam or UTC") from e
        return value


class Settings(_Section):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    inbox: InboxSettings = Field(default_factory=InboxSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    collectors: CollectorSettings = Field(default_factory=CollectorSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    brands: list[BrandSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_brand_names(self) -> Settings:
        # one equality for brand names everywhere: the matcher's, case and accents ignored
        seen: dict[str, str] = {}
        for brand in self.brands:
            for name in [brand.name, *(c.name for c in brand.competitors)]:
                first = seen.get(fold(name))
                if first is not None:
                    raise ValueError(
                        f"brand name {name!r} is used twice in brands (as {first!r}: names are compared "
                        "ignoring case and accents); each name must be unique"
                    )
                seen[fold(name)] = name
        return self

    @model_validator(mode="after")
    def _smtp_when_emailing(self) -> Settings:
        if self.alerts.email_to and not self.smtp.host:
            raise ValueError(
                "alerts.email_to is set but smtp.host is empty; set smtp.host or empty alerts.email_to"
            )
        return self


def find_config_path(explicit: Path | None = None) -> Path | None:
    """The config file to read: `explicit`, else `WOM_CONFIG`, else `./wom.toml` if it exists."""
    if explicit is not None:
        return explicit
    env_path = os.environ.get("WOM_CONFIG")
    if env_path:
        return Path(env_path)
    default = Path("wom.toml")
    return default if default.exists() else None


def load_settings(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override from the environment and validate. Raises ConfigError naming key, value and fix."""
    config_path = find_config_path(path)
    raw: dict[str, Any] = {}
    if config_path is not None:
        if not config_path.exists():
            raise ConfigError(
                "--config", str(config_path), "the file does not exist; run `wom init` to write one"
            )
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(str(config_path), "(file)", f"not valid TOML: {e}") from e
        except UnicodeDecodeError as e:
            raise ConfigError(str(config_path), "(file)", "the file is not UTF-8; save it as UTF-8") from e
    return settings_from_mapping(raw, environ=os.environ if environ is None else environ)


def settings_from_mapping(raw: Mapping[str, Any], *, environ: Mapping[str, str] | None = None) -> Settings:
    data = json.loads(json.dumps(raw, default=str))
    _reject_secrets_in_file(data)
    if environ:
        _apply_env_overrides(data, Settings, (), environ)
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        raise _config_error_from(e, data, environ or {}) from None


def mask_url_password(url: str) -> str:
    """`url` with its password shown as ***: in user:password@host and in password= parameters.

    Works on strings no URL parser accepts, which are the ones that end up in error messages."""
    masked = re.sub(r"(?i)(passw(?:or)?d\s*=\s*)('[^']*'|[^\s&;]+)", r"\1***", url)
    scheme, sep, rest = masked.partition("://")
    if not sep:
        scheme, rest = "", masked
    userinfo, at, host = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.split(':', 1)[0]}:***@{host}"
    return f"{scheme}{sep}{rest}"


def _looks_secret(name: str) -> bool:
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()  # apiKey -> api_key
    parts = re.split(r"[^a-z0-9]+", snake)
    return bool(_SECRET_WORDS.search("".join(parts))) or not _SECRET_PARTS.isdisjoint(parts)


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        stack: list[Any] = [field.annotation]
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                if annotation not in seen:
                    names |= _field_names(annotation, seen)
            else:
                stack.extend(typing.get_args(annotation))
    return names


def _secret_keys(node: Any, path: tuple[str, ...], declared: set[str]) -> Iterator[tuple[str, ...]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            sub = (*path, str(key))
            if _looks_secret(str(key)) and str(key) not in declared:
                yield sub
            else:
                yield from _secret_keys(value, sub, declared)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _secret_keys(item, (*path, str(index)), declared)


def _secret_variable(path: Sequence[str]) -> str:
    """The environment variable that holds the secret written at `path`, or the list wom reads."""
    named = [part for part in path if not part.isdigit()]
    if (dotted := ".".join(named)) in SECRET_ENV:
        return SECRET_ENV[dotted]
    source = next((part for part in reversed(named) if part in SOURCE_SECRET_ENV), None)
    if source is not None:
        variables = SOURCE_SECRET_ENV[source]
        leaf = re.sub(r"[^a-z0-9]", "", named[-1].lower())
        exact = [v for v in variables if re.sub(r"[^a-z0-9]", "", v.lower()).endswith(leaf)]
        secret = exact or [v for v in variables if _looks_secret(v)]
        return " or ".join(secret)
    every = [*SECRET_ENV.values(), *(v for vs in SOURCE_SECRET_ENV.values() for v in vs if _looks_secret(v))]
    return f"wom reads for it: one of {', '.join(every)}; wom reads no other secret"


def _reject_secrets_in_file(data: dict[str, Any]) -> None:
    for path in _secret_keys(data, (), _field_names(Settings)):
        raise ConfigError(
            _dotted_key(list(path), data),
            "***",
            "secrets are never read from the config file; remove it and set it in the environment variable "
            + _secret_variable(path),
        )


def _env_name(path: tuple[str, ...]) -> str:
    return ENV_PREFIX + "_".join(path).upper()


def _apply_env_overrides(
    data: dict[str, Any], model: type[BaseModel], path: tuple[str, ...], environ: Mapping[str, str]
) -> None:
    for name, field in model.model_fields.items():
        sub_path = (*path, name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            section = data.setdefault(name, {})
            if isinstance(section, dict):
                _apply_env_overrides(section, annotation, sub_path, environ)
            continue
        env_value = environ.get(_env_name(sub_path))
        if env_value is None or _is_model_list(annotation):
            continue
        if sub_path in CONFIG_FILE_ONLY:
            raise ConfigError(
                ".".join(sub_path),
                env_value,
                f"{_env_name(sub_path)} is not read: this key widens what wom may connect to, so it is set "
                f"in the config file only ([{sub_path[0]}] {sub_path[-1]}); unset the variable",
            )
        data[name] = _parse_env_value(env_value, annotation)


def _is_model_list(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    return (
        typing.get_origin(annotation) is list
        and bool(args)
        and isinstance(args[0], type)
        and issubclass(args[0], BaseModel)
    )


def _parse_env_value(value: str, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (list, dict) or annotation in (list, dict):
        stripped = value.strip()
        if stripped.startswith(("[", "{")):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                return value
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(annotation, types.UnionType):
        return value
    return value


def _config_error_from(
    error: ValidationError, data: Mapping[str, Any], environ: Mapping[str, str]
) -> ConfigError:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    key = _dotted_key(loc, data)
    value: Any = first.get("input")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "finite_number":
        message = f"use a finite number (inf and nan mean nothing here); the default is {_default(loc)}"
    if any(_looks_secret(part) for part in loc if not part.isdigit()):
        value = "***"
    elif loc[:2] == ["database", "url"] and isinstance(value, str):
        value = mask_url_password(value)
    if first["type"] == "extra_forbidden":
        fix = "unknown key; check the spelling against config.example.toml or remove it"
    else:
        env_name = _env_name(tuple(loc))
        if key.startswith("brands"):
            env_hint = ""
        elif env_name in environ:
            env_hint = f" (the value comes from the environment variable {env_name}; fix or unset it)"
        else:
            env_hint = f" (or set {env_name})"
        fix = f"{message}{env_hint}"
    if isinstance(value, Mapping):
        value = "{...}"
    return ConfigError(key, value, fix)


def _dotted_key(loc: list[str], data: Mapping[str, Any]) -> str:
    parts: list[str] = []
    node: Any = data
    for part in loc:
        if part.isdigit() and parts and not isinstance(node, Mapping):
            index = int(part)
            item = node[index] if isinstance(node, list) and index < len(node) else None
            label = item.get("name") if isinstance(item, Mapping) else None
            parts[-1] = f"{parts[-1]}[{index}{' ' + repr(label) if label else ''}]"
            node = item
            continue
        parts.append(part)
        node = node.get(part) if isinstance(node, Mapping) else None
    return ".".join(parts)


def _default(loc: Sequence[str]) -> Any:
    """The default of the setting at `loc` (model fields only), or '?' when there is none."""
    model: Any = Settings
    default: Any = "?"
    for part in loc:
        field = (
            model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        )
        if field is None:
            return "?"
        default = field.get_default(call_default_factory=True)
        model = field.annotation
    return default
