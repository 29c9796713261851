"""Local-time arithmetic: fixed cases (day boundaries, Kazakhstan's 2024 change, DST) and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.timecalc import (
    QuietHours,
    in_quiet_hours,
    local_instant,
    next_every_n_days,
    next_local_time,
    outside_quiet_hours,
    parse_hhmm,
    zone_or_default,
)

ALMATY = ZoneInfo("Asia/Almaty")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(time(22), time(8))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type, misc]


def test_next_local_time_on_the_same_day_and_strictly_after() -> None:
    # 08:30 in Almaty (UTC+5): 09:00 is half an hour away.
    assert next_local_time(utc(2025, 3, 14, 3, 30), time(9), ALMATY) == utc(2025, 3, 14, 4, 0)
    # Exactly at 09:00 means the next day's 09:00.
    assert next_local_time(utc(2025, 3, 14, 4, 0), time(9), ALMATY) == utc(2025, 3, 15, 4, 0)


def test_next_local_time_across_the_day_boundary() -> None:
    # 23:30 local on the 14th is 18:30 UTC; 08:00 local next is the 15th, 03:00 UTC.
    assert next_local_time(utc(2025, 3, 14, 18, 30), time(8), ALMATY) == utc(2025, 3, 15, 3, 0)
    # 00:30 local on the 15th is still the 14th in UTC: 00:45 is the same local day.
    assert next_local_time(utc(2025, 3, 14, 19, 30), time(0, 45), ALMATY) == utc(
        2025, 3, 14, 19, 45
    )


def test_kazakhstan_moved_to_utc_plus_5_on_1_march_2024() -> None:
    before = next_local_time(utc(2024, 2, 29, 0, 0), time(9), ALMATY)
    after = next_local_time(utc(2024, 3, 1, 0, 0), time(9), ALMATY)
    assert before == utc(2024, 2, 29, 3, 0)  # UTC+6
    assert after == utc(2024, 3, 1, 4, 0)  # UTC+5


def test_dst_gap_and_fold() -> None:
    # Berlin skips 02:00-03:00 on 2025-03-30: 02:30 resolves to 03:30 CEST (01:30 UTC).
    assert next_local_time(utc(2025, 3, 29, 12), time(2, 30), BERLIN) == utc(2025, 3, 30, 1, 30)
    # New York repeats 01:00-02:00 on 2025-11-02: the first 01:30 (EDT, 05:30 UTC) counts,
    # and the next one is a day later, not an hour later.
    first = next_local_time(utc(2025, 11, 2, 0), time(1, 30), NEW_YORK)
    assert first == utc(2025, 11, 2, 5, 30)
    assert next_local_time(first, time(1, 30), NEW_YORK) == utc(2025, 11, 3, 6, 30)


def test_weekdays_and_every_n_days() -> None:
    friday = utc(2025, 3, 14, 6)  # 11:00 local, a Friday
    # Mondays and Wednesdays at 10:00 -> Monday the 17th.
    assert next_local_time(friday, time(10), ALMATY, weekdays={0, 2}) == utc(2025, 3, 17, 5, 0)
    # Fridays at 12:00 -> today.
    assert next_local_time(friday, time(12), ALMATY, weekdays={4}) == utc(2025, 3, 14, 7, 0)
    with pytest.raises(ValueError, match="weekdays"):
        next_local_time(friday, time(12), ALMATY, weekdays=set())
    # Every 3 days from the 10th at 09:00: the 10th, 13th, 16th ... -> the 16th.
    anchor = date(2025, 3, 10)
    assert next_every_n_days(friday, time(9), ALMATY, anchor, 3) == utc(2025, 3, 16, 4, 0)
    # Before the anchor: the anchor itself.
    assert next_every_n_days(friday, time(9), ALMATY, date(2025, 4, 1), 3) == utc(2025, 4, 1, 4)


def test_quiet_hours_across_midnight() -> None:
    evening = utc(2025, 3, 14, 17, 30)  # 22:30 local
    small_hours = utc(2025, 3, 14, 22, 0)  # 03:00 local on the 15th
    noon = utc(2025, 3, 14, 7, 0)
    assert in_quiet_hours(evening, ALMATY, NIGHT)
    assert outside_quiet_hours(evening, ALMATY, NIGHT) == utc(2025, 3, 15, 3, 0)
    assert outside_quiet_hours(small_hours, ALMATY, NIGHT) == utc(2025, 3, 15, 3, 0)
    assert outside_quiet_hours(noon, ALMATY, NIGHT) == noon
    assert outside_quiet_hours(evening, ALMATY, None) == evening
    # 08:00 exactly is outside; 22:00 exactly is inside.
    assert not NIGHT.contains(time(8))
    assert NIGHT.contains(time(22))
    lunch = QuietHours(time(13), time(14))  # a window within one day works too
    assert lunch.contains(time(13, 30))
    assert not lunch.contains(time(23))


def test_parsing_settings_values() -> None:
    assert QuietHours.parse("22:00-08:00") == NIGHT
    assert str(NIGHT) == "22:00-08:00"
    assert QuietHours.parse(" off ") is None
    for bad in ("22:00", "22-08", "22:00-22:00", "24:00-08:00"):
        with pytest.raises(ValueError):  # noqa: PT011 - each has its own message
            QuietHours.parse(bad)
    assert parse_hhmm("7:05") == time(7, 5)
    assert zone_or_default("Nowhere/City", "Asia/Almaty") == ALMATY
    assert zone_or_default(None, "Asia/Almaty") == ALMATY
    assert zone_or_default("Europe/Berlin", "Asia/Almaty") == BERLIN
    with pytest.raises(ValueError, match="naive"):
        next_local_time(datetime(2025, 1, 1), time(9), ALMATY)  # noqa: DTZ001 - naive on purpose


# -- properties over zones with and without DST, odd offsets and 30-minute DST ---------------

ZONES = [
    ZoneInfo(name)
    for name in (
        "Asia/Almaty",
        "Asia/Aqtobe",
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "America/Santiago",
    )
]
# Hypothesis takes naive bounds and adds the zone itself.
instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


def exists(day: date, at: time, zone: ZoneInfo) -> bool:
    """Does wall-clock `at` happen on `day` in `zone` (not skipped by a gap)?"""
    return local_instant(day, at, zone).astimezone(zone).time() == at


@settings(max_examples=300, deadline=None)
@given(after=instants, at=clock_times, zone=st.sampled_from(ZONES))
def test_next_local_time_is_the_first_matching_instant(
    after: datetime, at: time, zone: ZoneInfo
) -> None:
    result = next_local_time(after, at, zone)
    assert result.tzinfo is UTC
    assert result > after
    assert result - after <= timedelta(days=1, hours=3)  # one day, plus at most a DST shift
    local = result.astimezone(zone)
    if exists(local.date(), at, zone):
        assert local.time() == at
    # Nothing earlier qualifies: the previous day's occurrence was not after `after`.
    assert local_instant(local.date() - timedelta(days=1), at, zone) <= after


@settings(max_examples=300, deadline=None)
@given(
    moment=instants,
    zone=st.sampled_from(ZONES),
    start=st.integers(min_value=0, max_value=23),
    length=st.integers(min_value=1, max_value=12),
)
def test_outside_quiet_hours_never_lands_inside_and_never_moves_back(
    moment: datetime, zone: ZoneInfo, start: int, length: int
) -> None:
    quiet = QuietHours(time(start), time((start + length) % 24))
    result = outside_quiet_hours(moment, zone, quiet)
    assert result >= moment
    assert not in_quiet_hours(result, zone, quiet)
    assert result - moment <= timedelta(hours=length + 3)
    if not in_quiet_hours(moment, zone, quiet):
        assert result == moment


@settings(max_examples=200, deadline=None)
@given(
    after=instants,
    at=clock_times,
    zone=st.sampled_from(ZONES),
    anchor=st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 1, 1)),
    n=st.integers(min_value=1, max_value=30),
)
def test_every_n_days_lands_on_the_cycle(
    after: datetime, at: time, zone: ZoneInfo, anchor: date, n: int
) -> None:
    result = next_every_n_days(after, at, zone, anchor, n)
    assert result > after
    day = result.astimezone(zone).date()
    # The gap case may roll the wall clock forward but never changes the date here.
    assert (day - anchor).days % n == 0 or not exists(day, at, zone)
    assert day >= anchor
    previous = day - timedelta(days=n)
    assert previous < anchor or local_instant(previous, at, zone) <= after
