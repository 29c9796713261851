"""The bot's languages, in the order they are offered, and their names in themselves."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")
LANGUAGE_NAMES: dict[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
