"""Settings: defaults, and one clear line naming a bad variable."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (
        "BOT_TOKEN",
        "TELEGRAM_API_URL",
        "DATABASE_PATH",
        "ADMIN_IDS",
        "DEFAULT_LANGUAGE",
        "TIMEZONE",
        "LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.default_language == "kk"
    assert settings.timezone == "Asia/Almaty"
    assert settings.admin_ids == ()


def test_admin_ids_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 22,333")
    assert load_settings().admin_ids == (1, 22, 333)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE"),
        ("BOT_TOKEN", "not a token", "BOT_TOKEN"),
        ("TELEGRAM_API_URL", "nowhere", "TELEGRAM_API_URL"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_token_is_reported_when_running() -> None:
    with pytest.raises(ConfigError, match="BOT_TOKEN"):
        load_settings().token()


@pytest.mark.parametrize(
    "url",
    [
        "https://api.telegram.org",
        "https://bot-api.example.kz:8443/",
        "http://localhost:8081",
        "http://127.0.0.1:8081",
        "http://[::1]:8081",
    ],
)
def test_api_url_is_https_or_this_machine(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TELEGRAM_API_URL", url)
    assert load_settings().telegram_api_url is not None


@pytest.mark.parametrize(
    "url", ["http://bot-api.example.kz", "http://10.0.0.5:8081", "http://127.0.0.2:8081"]
)
def test_plain_http_to_another_host_is_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    # The token is part of every request's URL: it would cross the network in plain text.
    monkeypatch.setenv("TELEGRAM_API_URL", url)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("TELEGRAM_API_URL: must start with https://")
    assert "\n" not in message


def test_the_engine_gets_its_own_settings_from_these() -> None:
    from bot.app import engine_settings
    from scheduler.settings import EngineSettings

    defaults = load_settings()
    assert engine_settings(defaults) == EngineSettings()  # the two sets of defaults agree
    chosen = engine_settings(
        load_settings(
            default_language="ru",
            timezone="Asia/Aqtobe",
            scheduler_late_after_seconds=60,
            quiet_hours="off",
        )
    )
    assert (chosen.default_language, chosen.quiet, chosen.late_after.total_seconds()) == (
        "ru",
        None,
        60,
    )
    assert chosen.zone_for(None).key == "Asia/Aqtobe"
    assert chosen.zone_for("Europe/Moscow").key == "Europe/Moscow"
    assert chosen.zone_for("Nowhere/City").key == "Asia/Aqtobe"
