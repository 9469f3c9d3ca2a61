"""Settings: one model, loaded from TOML, overridden from `WOM_*` environment variables.

Lookup order for the file: `--config`, then `WOM_CONFIG`, then `./wom.toml`. Every leaf key can be
overridden from the environment: `[database] url` is `WOM_DATABASE_URL`, `[alerts] email_to` is
`WOM_ALERTS_EMAIL_TO` (lists as JSON or comma-separated). Secrets are read only from the environment.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.collectors.options import BrandCollect, CollectorSettings
from monitor.errors import ConfigError

__all__ = [
    "AlertSettings",
    "ApiSettings",
    "BrandSettings",
    "ClassifierSettings",
    "DatabaseSettings",
    "PipelineSettings",
    "PrivacySettings",
    "ScoringSettings",
    "Settings",
    "SmtpSettings",
    "find_config_path",
    "load_settings",
    "settings_from_mapping",
]

ENV_PREFIX = "WOM_"
SECRET_ENV = {
    "smtp.password": "WOM_SMTP_PASSWORD",
}
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


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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


class PrivacySettings(_Section):
    retention_days: int = Field(default=0, ge=0, le=36_500)


class PipelineSettings(_Section):
    batch_size: int = Field(default=256, ge=1, le=10_000)
    interval_seconds: int = Field(default=60, ge=5)
    claim_timeout_seconds: int = Field(default=300, ge=30)


class ClassifierSettings(_Section):
    backend: Literal["e5", "transformers"] = "e5"
    precision: Literal["int8", "fp32"] = "int8"
    adapter: str = ""
    model: str = ""
    label_map: dict[str, Literal["negative", "neutral", "positive", "ignore"]] = Field(default_factory=dict)
    batch_size: int = Field(default=16, ge=1, le=1024)
    threads: int = Field(default=2, ge=1, le=64)

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
    staff_handles: list[str] = Field(default_factory=list)
    segments: SegmentThresholds = Field(default_factory=SegmentThresholds)


class AlertSettings(_Section):
    influential_min_reach: int = Field(default=5000, ge=0)
    spike_window_hours: int = Field(default=6, ge=1, le=168)
    spike_baseline_days: int = Field(default=14, ge=1, le=365)
    spike_min_count: int = Field(default=5, ge=1)
    spike_factor: float = Field(default=3.0, gt=1)
    max_age_days: int = Field(default=14, ge=1)
    email_to: list[str] = Field(default_factory=list)

    @field_validator("email_to")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s\r\n]+@[^@\s\r\n]+\.[^@\s\r\n]+", address):
                raise ValueError(f"{address!r} is not an e-mail address like owner@example.com")
        return value


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
    keywords: list[str] = Field(default_factory=list)
    exclusions: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    handles: dict[str, list[str]] = Field(default_factory=dict)
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
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    collectors: CollectorSettings = Field(default_factory=CollectorSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    brands: list[BrandSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_brand_names(self) -> Settings:
        seen: set[str] = set()
        for brand in self.brands:
            for name in [brand.name, *(c.name for c in brand.competitors)]:
                if name.casefold() in seen:
                    raise ValueError(f"brand name {name!r} is used twice in brands; each name must be unique")
                seen.add(name.casefold())
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


def _reject_secrets_in_file(data: dict[str, Any]) -> None:
    for dotted, env_name in SECRET_ENV.items():
        section, key = dotted.split(".")
        if isinstance(data.get(section), dict) and key in data[section]:
            raise ConfigError(
                dotted, "***", f"secrets are never read from the config file; remove it and set {env_name}"
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
        if part.isdigit() and isinstance(node, list):
            index = int(part)
            item = node[index] if index < len(node) else None
            label = item.get("name") if isinstance(item, Mapping) else None
            parts[-1] = f"{parts[-1]}[{index}{' ' + repr(label) if label else ''}]"
            node = item
            continue
        parts.append(part)
        node = node.get(part) if isinstance(node, Mapping) else None
    return ".".join(parts)
