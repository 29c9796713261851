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
