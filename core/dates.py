"""Dates and times in a person's language and zone (Babel; never strftime month names).

The patterns are catalog strings, so each language orders day, month and weekday its own
way (kk «1 желтоқсан, сейсенбі, 10:30», ru «вторник, 1 декабря, 10:30»). Times are 24-hour
in every language and no pattern shows seconds. The functions take a `translate` callable
(gettext for the person's language) so handlers and timed jobs share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_day_names

from core.text import N_

Translate = Callable[[str], str]

# Translators: a Babel/CLDR date pattern, not text: keep the letters (d day, MMMM month
# name, y year, HH:mm 24-hour time) and order them as your language writes a full date.
DATE_TIME = N_("d MMMM y, HH:mm")
# Translators: a Babel/CLDR date pattern, not text (d day, MMMM month name, y year).
DATE = N_("d MMMM y")
# Translators: a Babel/CLDR date pattern, not text: EEEE is the weekday's full name, d the
# day, MMMM the month name, HH:mm the 24-hour time. Order them as your language does.
DAY_TIME = N_("EEEE d MMMM, HH:mm")
# Translators: a Babel/CLDR date pattern, not text (d day, MMMM month name, HH:mm time).
DAY_MONTH_TIME = N_("d MMMM, HH:mm")
TIME = "HH:mm"  # the same in every language: 24-hour

TODAY_AT = N_("today at {time}")
TOMORROW_AT = N_("tomorrow at {time}")
YESTERDAY_AT = N_("yesterday at {time}")

# Beyond this many days away, a date carries its year.
_WITHOUT_YEAR_DAYS = 180


def format_datetime(moment: datetime, locale: str, zone: ZoneInfo, fmt: str) -> str:
    """`moment` in `zone` with a Babel pattern (already translated) or "HH:mm"."""
    return str(babel_format_datetime(moment, fmt, tzinfo=zone, locale=locale))


def format_day(day: date, locale: str, translate: Translate) -> str:
    """A calendar date in words: «1 желтоқсан 2026», «1 декабря 2026», "1 December 2026"."""
    return str(babel_format_date(day, translate(DATE), locale=locale))


def format_full(moment: datetime, locale: str, zone: ZoneInfo, translate: Translate) -> str:
    """Date with year and time: «1 желтоқсан 2026, 10:30», "1 December 2026, 10:30"."""
    return format_datetime(moment, locale, zone, translate(DATE_TIME))


def format_when(
    moment: datetime,
    locale: str,
    zone: ZoneInfo,
    now: datetime,
    translate: Translate,
    *,
    weekday: bool = True,
) -> str:
    """A moment as a person reads it: "today at 22:00", "tomorrow at 10:30", a date otherwise.

    Yesterday, today and tomorrow are said in words (in the person's zone). Other moments
    within half a year show day, month (and the weekday, unless `weekday=False`) and time;
    further ones add the year. The result is meant for a label («Мерзімі: {when}»), never
    for a case ending or a preposition.
    """
    local = moment.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    time = format_datetime(moment, locale, zone, TIME)
    if days == 0:
        return translate(TODAY_AT).format(time=time)
    if days == 1:
        return translate(TOMORROW_AT).format(time=time)
    if days == -1:
        return translate(YESTERDAY_AT).format(time=time)
    if abs(days) > _WITHOUT_YEAR_DAYS:
        return format_full(moment, locale, zone, translate)
    pattern = DAY_TIME if weekday else DAY_MONTH_TIME
    return format_datetime(moment, locale, zone, translate(pattern))


def weekday_names(days: Iterable[int], locale: str) -> str:
    """Weekdays (0 = Monday) in full, runs of three or more as a range.

    «дүйсенбі–жұма», «понедельник, среда, пятница», "Monday–Friday, Sunday".
    """
    names = get_day_names("wide", locale=locale)
    chosen = sorted(set(days))
    parts: list[str] = []
    start = 0
    while start < len(chosen):
        end = start
        while end + 1 < len(chosen) and chosen[end + 1] == chosen[end] + 1:
            end += 1
        first, last = chosen[start], chosen[end]
        if end - start >= 2:
            parts.append(f"{names[first]}–{names[last]}")
        else:
            parts.extend(str(names[d]) for d in chosen[start : end + 1])
        start = end + 1
    return ", ".join(parts)
