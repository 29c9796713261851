"""Language choice order and Babel dates in Kazakh."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import create_i18n, format_datetime, pick_language


@pytest.mark.parametrize(
    ("saved", "telegram", "expected"),
    [
        ("ru", "en", "ru"),
        (None, "en-US", "en"),
        (None, "kk", "kk"),
        (None, "de", "kk"),
        (None, None, "kk"),
    ],
)
def test_pick_language(saved: str | None, telegram: str | None, expected: str) -> None:
    assert pick_language(saved, telegram, "kk") == expected


def test_kazakh_dates_use_kazakh_month_names_and_the_utc_plus_5_zone() -> None:
    moment = datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
    text = format_datetime(moment, "kk", ZoneInfo("Asia/Almaty"), "full")
    assert "наурыз" in text
    assert "15:30" in text  # UTC+5 since 2024-03-01, from tzdata


def test_catalogs_load_without_a_build_step() -> None:
    i18n = create_i18n("kk")
    assert set(i18n.available_locales) == {"kk", "ru", "en"}
