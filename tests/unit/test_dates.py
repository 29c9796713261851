"""Dates as people read them, with the catalogs' own patterns (core/dates.py)."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import create_i18n
from core.dates import format_day, format_full, format_when, weekday_names
from core.languages import LANGUAGES

ALMATY = ZoneInfo("Asia/Almaty")  # UTC+5
# Tuesday 1 December 2026, 10:30 in Almaty.
MOMENT = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # Saturday, three days before


def translator(language: str) -> gettext.GNUTranslations:
    return create_i18n("en").locales[language]


def when(language: str, moment: datetime = MOMENT, now: datetime = NOW, **kw: bool) -> str:
    return format_when(moment, language, ALMATY, now, translator(language).gettext, **kw)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("kk", "1 желтоқсан, сейсенбі, 10:30"),
        ("ru", "вторник, 1 декабря, 10:30"),
        ("en", "Tuesday 1 December, 10:30"),
    ],
)
def test_a_day_this_season_has_its_weekday_and_no_year(language: str, expected: str) -> None:
    assert when(language) == expected


@pytest.mark.parametrize(
    ("language", "today", "tomorrow", "yesterday"),
    [
        ("kk", "бүгін сағат 22:00", "ертең сағат 22:00", "кеше сағат 22:00"),
        ("ru", "сегодня в 22:00", "завтра в 22:00", "вчера в 22:00"),
        ("en", "today at 22:00", "tomorrow at 22:00", "yesterday at 22:00"),
    ],
)
def test_today_tomorrow_and_yesterday_are_words(
    language: str, today: str, tomorrow: str, yesterday: str
) -> None:
    deadline = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 22:00 in Almaty
    now = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 09:00 the same local day
    assert when(language, deadline, now) == today
    assert when(language, deadline, now - timedelta(days=1)) == tomorrow
    assert when(language, deadline, now + timedelta(days=1)) == yesterday


def test_the_local_day_decides_not_the_utc_day() -> None:
    # 00:30 on 2 December in Almaty is still 1 December in UTC.
    just_after_midnight = datetime(2026, 12, 1, 19, 30, tzinfo=UTC)
    evening = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 19:00 on 1 December in Almaty
    assert when("en", just_after_midnight, evening) == "tomorrow at 00:30"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("kk", "2027 ж. 1 маусым, 10:30"),
        ("ru", "1 июня 2027 г., 10:30"),
        ("en", "1 June 2027, 10:30"),
    ],
)
def test_far_dates_carry_the_year(language: str, expected: str) -> None:
    far = datetime(2027, 6, 1, 5, 30, tzinfo=UTC)
    assert when(language, far) == expected
    assert format_full(far, language, ALMATY, translator(language).gettext) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("kk", "1 желтоқсан, 10:30"), ("ru", "1 декабря, 10:30"), ("en", "1 December, 10:30")],
)
def test_history_lines_can_leave_out_the_weekday(language: str, expected: str) -> None:
    assert when(language, weekday=False) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("kk", "2026 ж. 1 желтоқсан"), ("ru", "1 декабря 2026 г."), ("en", "1 December 2026")],
)
def test_a_calendar_day(language: str, expected: str) -> None:
    assert format_day(MOMENT.date(), language, translator(language).gettext) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_seconds_no_am_pm_no_us_dates(language: str) -> None:
    moments = [MOMENT, MOMENT + timedelta(hours=8), datetime(2027, 6, 1, 13, 5, tzinfo=UTC)]
    for moment in moments:
        for text in (when(language, moment), when(language, moment, weekday=False)):
            assert not re.search(r"\d:\d\d:\d\d", text), text
            assert not re.search(r"\b(AM|PM)\b", text), text
            assert not re.search(r"\d+/\d+/\d+", text), text
    assert "18:30" in when(language, MOMENT + timedelta(hours=8))


@pytest.mark.parametrize(
    ("language", "days", "expected"),
    [
        ("kk", [0, 1, 2, 3, 4], "дүйсенбі–жұма"),
        ("ru", [0, 2, 4], "понедельник, среда, пятница"),
        ("en", [0, 1, 3, 4, 5, 6], "Monday, Tuesday, Thursday–Sunday"),
        ("ru", [5, 6], "суббота, воскресенье"),
    ],
)
def test_weekdays_in_full_with_ranges(language: str, days: list[int], expected: str) -> None:
    assert weekday_names(days, language) == expected
