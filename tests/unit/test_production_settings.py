"""Settings of webhook mode, the health endpoint and daily backups: defaults, and one clear
line naming a bad variable."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

NAMES = (
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_LISTEN_HOST",
    "WEBHOOK_LISTEN_PORT",
    "HEALTH_LISTEN",
    "BACKUP_DIR",
    "BACKUP_KEEP_DAYS",
    "BACKUP_TIME",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_are_off_and_local() -> None:
    settings = load_settings()
    assert settings.webhook_listen_host == "127.0.0.1"
    assert settings.webhook_listen_port == 8443
    assert settings.health_address is None
    assert settings.backup_dir is None
    assert (settings.backup_keep_days, settings.backup_at) == (14, time(3, 30))
    with pytest.raises(ConfigError, match="WEBHOOK_URL and WEBHOOK_SECRET"):
        settings.webhook()


def test_webhook_needs_https_and_a_strong_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "A" * 32
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.kz/telegram/hook")
    assert load_settings().webhook() == ("https://bot.example.kz/telegram/hook", secret)
    monkeypatch.setenv("WEBHOOK_URL", "http://127.0.0.1:8443/hook")  # tests, this machine
    assert load_settings().webhook()[0].startswith("http://127.0.0.1")
    monkeypatch.setenv("WEBHOOK_URL", "http://bot.example.kz/hook")
    with pytest.raises(ConfigError, match=r"^WEBHOOK_URL: must start with https://"):
        load_settings()
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.kz/hook")
    for weak in ("short", "has spaces in it, sixteen+", "ü" * 20):
        monkeypatch.setenv("WEBHOOK_SECRET", weak)
        with pytest.raises(ConfigError, match=r"^WEBHOOK_SECRET: must be 16 to 256") as caught:
            load_settings()
        assert weak not in str(caught.value)  # the secret is not echoed
    monkeypatch.delenv("WEBHOOK_SECRET")
    with pytest.raises(ConfigError, match="needs WEBHOOK_SECRET"):
        load_settings().webhook()


@pytest.mark.parametrize(
    ("value", "address"),
    [("127.0.0.1:8081", ("127.0.0.1", 8081)), ("[::1]:9000", ("::1", 9000)), ("", None)],
)
def test_health_listen(monkeypatch: pytest.MonkeyPatch, value: str, address: object) -> None:
    monkeypatch.setenv("HEALTH_LISTEN", value)
    assert load_settings().health_address == address


@pytest.mark.parametrize(
    ("name", "value"),
    [("HEALTH_LISTEN", "8081"), ("BACKUP_TIME", "25:00"), ("BACKUP_KEEP_DAYS", "0")],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name}:"):
        load_settings()


def test_backup_dir_empty_is_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BACKUP_DIR", "")
    assert load_settings().backup_dir is None
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "b"))
    monkeypatch.setenv("BACKUP_TIME", "4:05")
    settings = load_settings()
    assert settings.backup_dir == tmp_path / "b"
    assert settings.backup_at == time(4, 5)
