"""Translations: catalogs compiled in memory at start, the locale of each update, Babel dates."""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser
from aiogram.utils.i18n import I18n, I18nMiddleware, get_i18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core import dates
from core.dates import format_datetime
from core.languages import LANGUAGE_NAMES, LANGUAGES
from core.text import N_
from db.clock import utcnow
from db.users import User
from locales import DOMAIN, LOCALES_DIR

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "N_", "format_datetime"]


class CatalogI18n(I18n):
    """Loads the .po catalogs directly (compiled in memory), so no build step can be forgotten."""

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram's context mixin gives every subclass its own ContextVar, but `gettext()`
        # looks the instance up on I18n itself: register there.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for po_path in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po")):
            locale = po_path.parent.parent.name
            with po_path.open("rb") as source:
                catalog = read_po(source, locale=locale)
            compiled = io.BytesIO()
            write_mo(compiled, catalog)
            compiled.seek(0)
            translations[locale] = gettext.GNUTranslations(compiled)
        return translations


def create_i18n(default_locale: str) -> CatalogI18n:
    return CatalogI18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def pick_language(saved: str | None, telegram_code: str | None, default: str) -> str:
    """The user's saved choice, else Telegram's language when we have it, else the default."""
    if saved in LANGUAGES:
        return str(saved)
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return default


class UserI18nMiddleware(I18nMiddleware):
    """Runs after UserMiddleware (which puts our `user` row into data)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        from_user: TelegramUser | None = data.get("event_from_user")
        return pick_language(
            user.language if user else None,
            from_user.language_code if from_user else None,
            self.i18n.default_locale,
        )


def translations_of(i18n: I18n, message: str) -> frozenset[str]:
    """The message in every language, to match a button label whichever language it was sent in."""
    return frozenset(i18n.gettext(message, locale=lang) for lang in LANGUAGES) | {message}


# Dates in the current update's language (core/dates.py does the work; these add gettext).


def _translate(message: str) -> str:
    return get_i18n().gettext(message)


def current_locale() -> str:
    """The language of the update being handled (kk, ru or en): for Babel's numbers."""
    return str(get_i18n().current_locale)


def say_when(
    moment: datetime, zone: ZoneInfo, now: datetime | None = None, *, weekday: bool = True
) -> str:
    """A moment as "today at 22:00", "tomorrow at 10:30" or a date, for a label («Мерзімі: {when}»)."""
    return dates.format_when(
        moment,
        get_i18n().current_locale,
        zone,
        now or utcnow(),
        _translate,
        weekday=weekday,
    )


def say_datetime(moment: datetime, zone: ZoneInfo) -> str:
    """Date with year and time, no seconds: "1 December 2026, 10:30"."""
    return dates.format_full(moment, get_i18n().current_locale, zone, _translate)


def say_date(day: date) -> str:
    """A calendar date: "1 December 2026"."""
    return dates.format_day(day, get_i18n().current_locale, _translate)


def say_weekdays(days: Iterable[int]) -> str:
    """Full weekday names, runs as ranges: «дүйсенбі–жұма»."""
    return dates.weekday_names(days, get_i18n().current_locale)
