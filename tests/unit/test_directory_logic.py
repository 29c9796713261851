"""Pure logic of the directory: folding, query building, hours and open-now, distances, views."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from db.directory_geo import bounding_box, haversine_km
from db.directory_hours import (
    HoursError,
    Interval,
    always_open,
    clock,
    open_state,
    parse_hours,
    week_table,
)
from db.directory_text import MAX_TOKENS, match_expression, query_tokens, search_fold
from handlers.directory_ui import format_distance
from handlers.ui import paginate

# -- folding and queries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ЖҰМЫС", "жұмыс"),
        ("АҚТӨБЕ", "Ақтөбе"),
        ("Актобе", "Ақтөбе"),  # typed on a Russian keyboard
        ("ЦЕНТР", "центр"),
        ("ЁЛКА", "елка"),
        ("ІЗДЕУ", "іздеу"),
        ("ҮЙ", "үй"),
        ("ҺАУА", "һауа"),
        ("ＡＢＣ", "abc"),  # full-width letters (NFKC)
        ("STRASSE", "straße"),  # full casefold, not lower()
    ],
)
def test_search_fold_makes_typed_and_stored_text_meet(typed: str, stored: str) -> None:
    assert search_fold(typed) == search_fold(stored)


def test_query_tokens_keep_only_words_bounded_and_distinct() -> None:
    assert query_tokens('"; DROP TABLE x; --') == ["drop", "table", "x"]
    assert query_tokens("🙂 *** ^^^ ()") == []
    assert query_tokens("жұмыс ЖҰМЫС жумыс") == ["жумыс"]
    assert len(query_tokens(" ".join(f"w{i}" for i in range(50)))) == MAX_TOKENS
    assert query_tokens("x" * 4000) == ["x" * 40]
    assert query_tokens("a_b") == ["a", "b"]


def test_match_expression_quotes_every_token() -> None:
    assert match_expression(["жумыс", "a"]) == '"жумыс"* AND "a"'
    assert match_expression(["near", "or"], any_token=True) == '"near"* OR "or"*'
    assert match_expression(["x1"], column="name") == '{name} : ("x1"*)'
    with pytest.raises(ValueError, match="no tokens"):
        match_expression([])


# -- hours ---------------------------------------------------------------------------------------

# 2026-11-23 is a Monday.
MONDAY = datetime(2026, 11, 23)  # noqa: DTZ001 - a local wall-clock time, as the directory logic takes it


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY.replace(day=MONDAY.day + day_offset, hour=hour, minute=minute)


def test_parse_weekdays_with_a_break_and_a_short_saturday() -> None:
    intervals = parse_hours("Mo-Fr 09:00-13:00,14:00-18:00; Sa 10:00-14:00")
    assert Interval(0, 540, 780) in intervals
    assert Interval(0, 840, 1080) in intervals
    assert Interval(5, 600, 840) in intervals
    assert not [i for i in intervals if i.weekday == 6]
    assert len(intervals) == 11


def test_parse_24_7_overnight_off_and_wrapping_ranges() -> None:
    assert always_open(parse_hours("24/7"))
    assert parse_hours("") == []
    assert parse_hours("Fr 22:00-02:00") == [Interval(4, 1320, 1560)]
    assert [i.weekday for i in parse_hours("Sa-Mo 10:00-12:00")] == [0, 5, 6]
    week = parse_hours("Mo-Su 08:00-20:00; Su off")
    assert {i.weekday for i in week} == {0, 1, 2, 3, 4, 5}
    assert parse_hours("Mo,We 10:00-24:00") == [Interval(0, 600, 1440), Interval(2, 600, 1440)]


@pytest.mark.parametrize(
    "text",
    [
        "Mo-Zz 10:00-12:00",
        "Mo 10-12",
        "Mo 25:00-26:00",
        "Mo 10:00-10:00",
        "Mo 09:00-13:00,12:00-18:00",
        "Mo",
        "Mo 22:00-03:00; Tu 02:00-05:00",
        "09:00-18:00",
    ],
)
def test_bad_hours_are_rejected_with_a_reason(text: str) -> None:
    with pytest.raises(HoursError) as error:
        parse_hours(text)
    assert error.value.reason
    assert str(error.value)


def test_open_now_respects_the_lunch_break() -> None:
    week = parse_hours("Mo-Fr 09:00-13:00,14:00-18:00")
    state = open_state(week, at(0, 10))
    assert state is not None
    assert state.is_open
    assert state.change_at == at(0, 13)
    lunch = open_state(week, at(0, 13, 30))
    assert lunch is not None
    assert not lunch.is_open
    assert lunch.change_at == at(0, 14)
    closing = open_state(week, at(0, 18))
    assert closing is not None
    assert not closing.is_open  # closes at 18:00 sharp
    assert closing.change_at == at(1, 9)


def test_open_now_across_the_weekend_and_midnight() -> None:
    week = parse_hours("Mo-Fr 09:00-18:00")
    friday_night = open_state(week, at(4, 23))
    assert friday_night is not None
    assert not friday_night.is_open
    assert friday_night.change_at == at(7, 9)  # next Monday
    overnight = parse_hours("Fr-Sa 22:00-02:00")
    saturday_early = open_state(overnight, at(5, 1, 30))
    assert saturday_early is not None
    assert saturday_early.is_open  # Friday's hours run past midnight
    assert saturday_early.change_at == at(5, 2)
    sunday_early = open_state(overnight, at(6, 1))
    assert sunday_early is not None
    assert sunday_early.is_open  # Saturday's night, into Sunday
    monday_early = open_state(overnight, at(7, 1))
    assert monday_early is not None
    assert not monday_early.is_open
    # Sunday's late shift reaches Monday 01:00 (the week wraps).
    sunday_night = parse_hours("Su 20:00-02:00")
    wrapped = open_state(sunday_night, at(0, 1))
    assert wrapped is not None
    assert wrapped.is_open


def test_open_now_for_always_open_unknown_and_adjacent_hours() -> None:
    always = open_state(parse_hours("24/7"), at(2, 3))
    assert always is not None
    assert always.is_open
    assert always.change_at is None
    assert open_state([], at(0, 10)) is None
    # 20:00-24:00 then 00:00-08:00 the next day is one stretch.
    joined = parse_hours("Mo 20:00-24:00; Tu 00:00-08:00")
    state = open_state(joined, at(0, 23))
    assert state is not None
    assert state.change_at == at(1, 8)


def test_week_table_groups_days_with_the_same_hours() -> None:
    week = parse_hours("Mo-Fr 09:00-18:00; Sa 10:00-14:00")
    assert week_table(week) == [
        (0, 4, [(540, 1080)]),
        (5, 5, [(600, 840)]),
        (6, 6, []),
    ]
    assert clock(1440) == "24:00"
    assert clock(1560) == "02:00"
    assert clock(545) == "09:05"


# -- distance ------------------------------------------------------------------------------------


def test_haversine_matches_known_distances() -> None:
    assert haversine_km(51.1694, 71.4491, 43.2389, 76.8897) == pytest.approx(970, rel=0.02)
    assert haversine_km(50.2839, 57.167, 50.2839, 57.167) == 0
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015, rel=0.001)


@pytest.mark.parametrize(("lat", "lon", "km"), [(49.47, 57.42, 5), (50.0, 60.0, 400), (85, 0, 900)])
def test_bounding_box_contains_the_whole_circle(lat: float, lon: float, km: float) -> None:
    box = bounding_box(lat, lon, km)
    for bearing in range(0, 360, 15):
        # The point at distance km along this bearing (the direct geodesic formula on a sphere).
        d = km / 6371.0088
        b = math.radians(bearing)
        p1, l1 = math.radians(lat), math.radians(lon)
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
        l2 = l1 + math.atan2(
            math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
        )
        plat, plon = math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
        assert box.min_lat - 1e-9 <= plat <= box.max_lat + 1e-9
        assert box.min_lon - 1e-9 <= plon <= box.max_lon + 1e-9


def test_distance_is_formatted_for_the_language() -> None:
    assert format_distance(2.345, "ru") == "2,3 км"
    assert format_distance(2.345, "en") == "2.3 km"
    assert format_distance(0.347, "en") == "350 m"
    assert format_distance(1234.4, "en") == "1,234 km"
    assert "км" in format_distance(12, "kk")


# -- views ---------------------------------------------------------------------------------------


def test_paginate_clamps_pages() -> None:
    items = list(range(20))
    assert paginate(items, 0) == (list(range(8)), 0, 3)
    assert paginate(items, 99) == (list(range(16, 20)), 2, 3)
    assert paginate(items, -4)[1] == 0
    assert paginate([], 5) == ([], 0, 1)
