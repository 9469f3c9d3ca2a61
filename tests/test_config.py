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
        ({"alerts": {"email_to": ["a@example.com"]}}, {}, "smtp.host", "set smtp.host"),
        ({"scoring": {"segments": {"fan": 9, "ambassador": 3}}}, {}, "scoring.segments", "must not exceed"),
        ({"smtp": {"password": "hunter2"}}, {}, "smtp.password", "set WOM_SMTP_PASSWORD"),
    ],
)
def test_bad_config_names_key_and_fix(raw: dict, env: dict, key: str, fix: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw, environ=env)
    assert key in str(info.value)
    assert fix in info.value.fix


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
