"""Settings from environment variables and an optional .env file."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.reception import AppointmentRules, parse_offsets
from core.timecalc import QuietHours, zone_or_default

Language = Literal["kk", "ru", "en"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram's rule for a webhook's secret_token is 1-256 of these; we ask for 16 at least.
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
_HOST_PORT_RE = re.compile(r"^(?P<host>\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
_CLOCK_RE = re.compile(r"^(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)$")
# The token is part of every request's URL: plain http only to this machine.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: AnyHttpUrl | None = None
    database_path: Path = Path("data/bot.sqlite3")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_language: Language = "kk"
    timezone: str = "Asia/Almaty"
    log_level: LogLevel = "INFO"
    # Seconds to let in-flight handlers finish after SIGTERM before closing the database.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # A timed message handled more than this many seconds after its time (the bot was
    # down, Telegram unreachable) carries a "sent late" note, or its feature drops it.
    scheduler_late_after_seconds: int = Field(default=300, ge=0)
    # Local time window when nothing non-urgent is sent to a client; "off" disables it.
    quiet_hours: str = "22:00-08:00"
    # Appointments (per office): reminders before one ("7d,3d,1d,2h"; d, h or m), how close
    # to it a client may still cancel or move it, and how long an assigned visit may wait
    # for the client's acknowledgement before the caseworker is told.
    appointment_reminders: str = "7d,3d,1d,2h"
    appointment_cutoff_minutes: int = Field(default=120, ge=0, le=7 * 24 * 60)
    appointment_ack_hours: int = Field(default=24, ge=1, le=14 * 24)
    # Webhook mode (`python -m bot webhook`): the public https URL Telegram posts updates
    # to, the secret it sends along, and where this process listens (behind a TLS proxy).
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen_host: str = "127.0.0.1"
    webhook_listen_port: int = Field(default=8443, ge=0, le=65535)
    # GET /health on "host:port" in either mode (empty: off; webhook mode also serves it
    # on the webhook's port).
    health_listen: str = ""
    # Daily backups made by the running bot (empty BACKUP_DIR: off).
    backup_dir: Path | None = None
    backup_keep_days: int = Field(default=14, ge=1, le=3650)
    backup_time: str = "03:30"

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("must look like 123456789:AA... (the token from @BotFather)")
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("telegram_api_url")
    @classmethod
    def _https_unless_local(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and value.scheme != "https" and value.host not in LOCAL_HOSTS:
            raise ValueError(
                "must start with https:// (the bot token is part of every request); "
                "http:// is allowed only for localhost, 127.0.0.1 or ::1"
            )
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and value.scheme != "https" and value.host not in LOCAL_HOSTS:
            raise ValueError(
                "must start with https:// (Telegram posts updates only to https); "
                "http:// is allowed only for localhost, 127.0.0.1 or ::1"
            )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        secret = value.get_secret_value().strip()
        if not _WEBHOOK_SECRET_RE.match(secret):
            raise ValueError(
                "must be 16 to 256 characters of A-Z, a-z, 0-9, _ and - (e.g. the output of "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return SecretStr(secret)

    @field_validator("health_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        value = value.strip()
        if value and not _HOST_PORT_RE.match(value):
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8081 (empty: no health endpoint)")
        return value

    @field_validator("backup_time")
    @classmethod
    def _clock_shape(cls, value: str) -> str:
        if not _CLOCK_RE.match(value.strip()):
            raise ValueError("must be a local time HH:MM, e.g. 03:30")
        return value.strip()

    @field_validator("backup_dir", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            bad = [p for p in parts if not p.isdigit()]
            if bad:
                raise ValueError(
                    f"must be comma-separated numeric Telegram user ids, got {bad[0]!r}"
                )
            return tuple(int(p) for p in parts)
        return value

    @field_validator("default_language", "log_level", mode="before")
    @classmethod
    def _normalise_case(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Almaty)"
            ) from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        QuietHours.parse(value)  # raises ValueError with the reason
        return value.strip()

    @field_validator("appointment_reminders")
    @classmethod
    def _reminders_shape(cls, value: str) -> str:
        parse_offsets(value)  # raises ValueError with the reason
        return value.strip()

    @property
    def appointment_rules(self) -> AppointmentRules:
        return AppointmentRules(
            reminders=parse_offsets(self.appointment_reminders),
            cutoff=timedelta(minutes=self.appointment_cutoff_minutes),
            ack_within=timedelta(hours=self.appointment_ack_hours),
        )

    @property
    def quiet(self) -> QuietHours | None:
        """Quiet hours in each person's own zone, or None when switched off."""
        return QuietHours.parse(self.quiet_hours)

    @property
    def health_address(self) -> tuple[str, int] | None:
        """(host, port) of HEALTH_LISTEN, None when off."""
        match = _HOST_PORT_RE.match(self.health_listen)
        if match is None:
            return None
        return match["host"].strip("[]"), int(match["port"])

    @property
    def backup_at(self) -> time:
        """BACKUP_TIME as a local time of day (in TIMEZONE)."""
        match = _CLOCK_RE.match(self.backup_time)
        assert match is not None  # checked by the validator
        return time(int(match["h"]), int(match["m"]))

    def webhook(self) -> tuple[str, str]:
        """(WEBHOOK_URL, WEBHOOK_SECRET) for webhook mode; ConfigError naming what is missing."""
        url, secret = self.webhook_url, self.webhook_secret
        if url is None or secret is None:
            missing = [
                n for n, v in (("WEBHOOK_URL", url), ("WEBHOOK_SECRET", secret)) if v is None
            ]
            raise ConfigError(
                f"webhook mode needs {' and '.join(missing)} (see README, Running in production)"
            )
        return str(url), secret.get_secret_value()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def zone_for(self, name: str | None) -> ZoneInfo:
        """A person's own zone when they have a valid one, else the default."""
        return zone_or_default(name, self.timezone)

    def token(self) -> str:
        if self.bot_token is None:
            raise ConfigError("BOT_TOKEN is not set: get a token from @BotFather and set BOT_TOKEN")
        return self.bot_token.get_secret_value()


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for the operator."""


def describe(error: ValidationError) -> str:
    """One line naming each bad variable and what is wrong with it."""
    parts = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
