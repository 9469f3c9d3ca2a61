import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from monitor.config import Settings, load_settings, settings_from_mapping
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
BRAND = {"name": "Acme", "keywords": ["acme"]}


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _leaf_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_example_config_is_valid_and_documents_every_key() -> None:
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    settings = settings_from_mapping(tomllib.loads(text))
    assert settings.brands[0].competitors[0].name == "Globex"
    for key in _leaf_keys(Settings):
        if key == "brands":
            continue
        if key == "webhooks":  # a list of tables: its example entry is commented out, every key shown
            from monitor.config import WebhookSettings

            assert "# [[webhooks]]" in text
            for leaf in WebhookSettings.model_fields:
                assert f"\n# {leaf} = " in text, (
                    f"key webhooks.{leaf} is not documented in config.example.toml"
                )
            continue
        section, _, leaf = key.rpartition(".")
        assert f"[{section}]" in text, f"section [{section}] is not in config.example.toml"
        assert f"\n{leaf} = " in text, f"key {key} is not documented in config.example.toml"


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None)
    assert settings.database.url == "sqlite:///wom.db"
    assert settings.brands == []


def test_lookup_order_explicit_then_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wom.toml").write_text("[api]\nport = 8001\n")
    (tmp_path / "env.toml").write_text("[api]\nport = 8002\n")
    (tmp_path / "cli.toml").write_text("[api]\nport = 8003\n")
    assert load_settings(None).api.port == 8001
    monkeypatch.setenv("WOM_CONFIG", str(tmp_path / "env.toml"))
    assert load_settings(None).api.port == 8002
    assert load_settings(tmp_path / "cli.toml").api.port == 8003


def test_environment_overrides_any_key() -> None:
    env = {
        "WOM_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "WOM_API_PORT": "9000",
        "WOM_SCORING_SEGMENTS_AMBASSADOR": "5",
        "WOM_ALERTS_EMAIL_TO": "a@example.com, b@example.com",
        "WOM_SMTP_HOST": "mail.example.com",
        "WOM_SMTP_STARTTLS": "false",
    }
    settings = settings_from_mapping({"brands": [BRAND]}, environ=env)
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert settings.api.port == 9000
    assert settings.scoring.segments.ambassador == 5.0
    assert settings.alerts.email_to == ["a@example.com", "b@example.com"]
    assert settings.smtp.starttls is False


@pytest.mark.parametrize(
    ("raw", "env", "key", "fix"),
    [
        ({"api": {"port": 70000}}, {}, "api.port", "less than or equal to 65535"),
        ({}, {"WOM_API_PORT": "eighty"}, "api.port", "WOM_API_PORT"),
        ({"database": {"url": "mysql://x"}}, {}, "database.url", "postgresql+psycopg"),
        ({"databse": {"url": "x"}}, {}, "databse", "check the spelling"),
        (
            {"brands": [{"name": "Acme", "keywords": ["a"], "timezone": "Mars/Base"}]},
            {},
            "brands[0 'Acme'].timezone",
            "IANA",
        ),
        ({"brands": [{"name": "Acme"}]}, {}, "brands[0 'Acme']", "at least one keyword"),
        ({"brands": [BRAND, BRAND]}, {}, "in brands", "used twice"),
        (
            {"brands": [{"name": "A", "keywords": ["a"], "handles": {"myspace": "a"}}]},
            {},
            "handles",
            "unknown platform",
        ),
        ({"alerts": {"email_to": ["not-an-address"]}}, {}, "alerts.email_to", "e-mail address"),
        (
            {"alerts": {"email_to": ["ops,victim@example.com"]}},
            {},
            "alerts.email_to",
            "one address per entry",
        ),
        (
            {"alerts": {"email_to": ["ops:victim@example.com"]}},
            {},
            "alerts.email_to",
            "one address per entry",
        ),
        ({"alerts": {"email_to": ["=?utf-8?q?a?=@example.com"]}}, {}, "alerts.email_to", "one address"),
        ({"alerts": {"email_to": ["<v@example.com>"]}}, {}, "alerts.email_to", "one address per entry"),
        ({"alerts": {"email_to": ["a@example.com"]}}, {}, "smtp.host", "set smtp.host"),
        ({"scoring": {"segments": {"fan": 9, "ambassador": 3}}}, {}, "scoring.segments", "must not exceed"),
        ({"smtp": {"password": "hunter2"}}, {}, "smtp.password", "environment variable WOM_SMTP_PASSWORD"),
    ],
)
def test_bad_config_names_key_and_fix(raw: dict, env: dict, key: str, fix: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw, environ=env)
    assert key in str(info.value)
    assert fix in info.value.fix


@pytest.mark.parametrize(
    ("first", "second"),
    [("Café", "Cafe"), ("Acme", "ACME"), ("Straße", "STRASSE")],
)
def test_brand_names_equal_ignoring_case_and_accents_are_a_config_error_naming_both(
    first: str, second: str
) -> None:
    # the matcher folds accents, so "Café" and "Cafe" would be merged into one brand's mentions
    raw = {
        "brands": [{"name": first, "keywords": ["a"], "competitors": [{"name": second, "keywords": ["b"]}]}]
    }
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw)
    assert f"{second!r}" in info.value.fix and f"{first!r}" in info.value.fix
    assert "used twice" in info.value.fix


def test_secret_value_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"smtp": {"password": "hunter2"}})
    assert "hunter2" not in str(info.value)


def test_smtp_password_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOM_SMTP_PASSWORD", "s3cret")
    assert settings_from_mapping({}).smtp.password == "s3cret"


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; run `wom init`"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[api\nport = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


_SECRET = "hunter2-do-not-print"


@pytest.mark.parametrize(
    ("raw", "key", "variable"),
    [
        ({"collectors": {"x": {"bearer_token": _SECRET}}}, "collectors.x.bearer_token", "WOM_X_BEARER_TOKEN"),
        (
            {"collectors": {"reddit": {"client_secret": _SECRET}}},
            "collectors.reddit.client_secret",
            "WOM_REDDIT_CLIENT_SECRET",
        ),
        (
            {"collectors": {"bluesky": {"password": _SECRET}}},
            "collectors.bluesky.password",
            "WOM_BLUESKY_APP_PASSWORD",
        ),
        (
            {"collectors": {"youtube": {"api_key": _SECRET}}},
            "collectors.youtube.api_key",
            "WOM_YOUTUBE_API_KEY",
        ),
        (
            {"collectors": {"mastodon": {"access_token": _SECRET}}},
            "collectors.mastodon.access_token",
            "WOM_MASTODON_ACCESS_TOKEN",
        ),
        (
            {
                "brands": [
                    {**BRAND, "collect": {"trustpilot": {"business_unit_ids": ["1"], "apiKey": _SECRET}}}
                ]
            },
            "brands[0 'Acme'].collect.trustpilot.apiKey",
            "WOM_TRUSTPILOT_API_KEY",
        ),
        ({"smtp": {"password": _SECRET}}, "smtp.password", "WOM_SMTP_PASSWORD"),
        ({"smtp": {"password": {"value": _SECRET}}}, "smtp.password", "WOM_SMTP_PASSWORD"),
        # no variable of wom's own: the message lists the ones there are
        ({"alerts": {"slack_webhook": _SECRET}}, "alerts.slack_webhook", "WOM_SMTP_PASSWORD"),
        ({"database": {"credentials": [_SECRET]}}, "database.credentials", "WOM_X_BEARER_TOKEN"),
    ],
)
def test_secret_looking_key_names_the_variable_not_the_value(raw: dict, key: str, variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw)
    assert _SECRET not in str(info.value)
    assert _SECRET not in repr(info.value.value)
    assert info.value.key == key
    assert "set it in the environment variable" in info.value.fix
    assert variable in info.value.fix


def test_secret_variables_are_the_ones_the_collectors_read() -> None:
    from monitor.collectors.mastodon import TOKEN_VARIABLE
    from monitor.collectors.registry import load_spec
    from monitor.config import SOURCE_SECRET_ENV

    for source, variables in SOURCE_SECRET_ENV.items():
        needed = set(load_spec(source).credentials) | ({TOKEN_VARIABLE} if source == "mastodon" else set())
        assert set(variables) == needed, source


def test_keys_that_only_look_like_secrets_still_load() -> None:
    settings = settings_from_mapping(
        {"collectors": {"reddit": {"token_url": "https://auth.example.com"}}, "brands": [BRAND]}
    )
    assert settings.collectors.reddit.token_url == "https://auth.example.com"
    assert settings.brands[0].keywords == ["acme"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://wom:hunter2@db/wom", "mysql://wom:***@db/wom"),
        ("mysql://wom:hun@ter2/x@db/wom", "mysql://wom:***@db/wom"),
        ("wom:hunter2@db/wom", "wom:***@db/wom"),
        ("host=db user=wom password=hunter2 dbname=wom", "host=db user=wom password=*** dbname=wom"),
        ("mysql://db/wom?user=wom&password=hunter2", "mysql://db/wom?user=wom&password=***"),
    ],
)
@pytest.mark.parametrize("from_env", [False, True])
def test_refused_database_url_masks_its_password(url: str, shown: str, from_env: bool) -> None:
    raw, env = ({}, {"WOM_DATABASE_URL": url}) if from_env else ({"database": {"url": url}}, {})
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw, environ=env)
    assert "hunter2" not in str(info.value)
    assert "ter2" not in str(info.value)
    assert info.value.value == shown
    assert "postgresql+psycopg://" in info.value.fix


_BRAND_A = {"name": "Acme", "keywords": ["acme"]}
_INF = float("inf")


@pytest.mark.parametrize(
    ("raw", "env", "key", "value", "fix"),
    [
        ({"brands": [{"name": "Acme", "keywords": [""]}]}, {}, "brands[0 'Acme'].keywords[0]", "", "empty"),
        (
            {"brands": [{"name": "Acme", "keywords": ["acme", "  "]}]},
            {},
            "brands[0 'Acme'].keywords[1]",
            "  ",
            "empty",
        ),
        ({"brands": [{**_BRAND_A, "exclusions": [" "]}]}, {}, "brands[0 'Acme'].exclusions[0]", " ", "empty"),
        ({"brands": [{"name": "Acme", "hashtags": ["#"]}]}, {}, "brands[0 'Acme'].hashtags[0]", "#", "#acme"),
        ({"brands": [{"name": "Acme", "hashtags": [""]}]}, {}, "brands[0 'Acme'].hashtags[0]", "", "#acme"),
        (
            {"brands": [{"name": "Acme", "hashtags": ["## "]}]},
            {},
            "brands[0 'Acme'].hashtags[0]",
            "## ",
            "#acme",
        ),
        (
            {"brands": [{"name": "Acme", "handles": {"x": "@"}}]},
            {},
            "brands[0 'Acme'].handles.x[0]",
            "@",
            "@acme",
        ),
        (
            {"brands": [{"name": "Acme", "handles": {"x": ["acme", ""]}}]},
            {},
            "brands[0 'Acme'].handles.x[1]",
            "",
            "@acme",
        ),
        (
            {"brands": [{**_BRAND_A, "competitors": [{"name": "Globex", "hashtags": ["#"]}]}]},
            {},
            "brands[0 'Acme'].competitors[0 'Globex'].hashtags[0]",
            "#",
            "#acme",
        ),
        (
            {"brands": [{**_BRAND_A, "collect": {"mastodon": {"hashtags": ["#"]}}}]},
            {},
            "brands[0 'Acme'].collect.mastodon.hashtags[0]",
            "#",
            "'#acme'",
        ),
        (
            {"brands": [{**_BRAND_A, "collect": {"hackernews": {"queries": [" "]}}}]},
            {},
            "brands[0 'Acme'].collect.hackernews.queries[0]",
            " ",
            "empty",
        ),
        ({"scoring": {"staff_handles": ["x:@"]}}, {}, "scoring.staff_handles[0]", "x:@", "x:@acme_support"),
        ({"scoring": {"half_life_days": _INF}}, {}, "scoring.half_life_days", _INF, "the default is 90.0"),
        (
            {},
            {"WOM_SCORING_HALF_LIFE_DAYS": "inf"},
            "scoring.half_life_days",
            "inf",
            "WOM_SCORING_HALF_LIFE_DAYS",
        ),
        ({"scoring": {"recent_half_life_days": -_INF}}, {}, "scoring.recent_half_life_days", -_INF, "finite"),
        (
            {"scoring": {"segments": {"ambassador": _INF}}},
            {},
            "scoring.segments.ambassador",
            _INF,
            "default is 3.0",
        ),
        ({"alerts": {"spike_factor": _INF}}, {}, "alerts.spike_factor", _INF, "finite"),
        (
            {"collectors": {"silent_after_hours": _INF}},
            {},
            "collectors.silent_after_hours",
            _INF,
            "default is 72.0",
        ),
        (
            {"collectors": {"silent_after_hours": 0.0}},
            {},
            "collectors.silent_after_hours",
            0.0,
            "greater than 0",
        ),
        ({"smtp": {"timeout_seconds": float("nan")}}, {}, "smtp.timeout_seconds", "nan", "finite"),
    ],
)
def test_meaningless_value_names_key_value_and_fix(
    raw: dict, env: dict, key: str, value: object, fix: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw, environ=env)
    assert info.value.key == key
    shown = info.value.value
    assert (repr(shown) if value == "nan" else shown) == (repr(float("nan")) if value == "nan" else value)
    assert fix in info.value.fix
