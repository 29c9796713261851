"""Pure rules behind the screens: natural order, a query safe to repeat, when a digest goes
out, and which commands a menu offers."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.commands import COMMANDS, CommandMenus, audience
from db.directory_text import natural_key
from db.users import Role, User
from db.working_hours import WorkingHours
from handlers.checkins.timed import digest_time
from handlers.directory import MAX_QUERY, clean_query

ALMATY = ZoneInfo("Asia/Almaty")


def test_natural_order_compares_numbers_as_numbers_and_ignores_case() -> None:
    names = ["№25", "№4", "пункт 10", "Пункт 9", "№20", "ЖҰМЫС", "жұмыс 2", "Абай", "Ёлка"]
    assert sorted(names, key=natural_key) == [
        "№4",  # «№» folds to «No», before Cyrillic letters
        "№20",
        "№25",
        "Абай",
        "Ёлка",
        "ЖҰМЫС",
        "жұмыс 2",
        "Пункт 9",
        "пункт 10",
    ]


def test_a_query_loses_bidi_and_invisible_characters_and_is_clipped() -> None:
    assert clean_query("\u202eabc\u202c") == "abc"
    assert clean_query("\u2066a\u2069 \u2067b\u2069 \u2068c\u2069\u200e\u200f\u061c") == "a b c"
    assert clean_query("a\u202a\u202b\u202db") == "ab"
    assert clean_query(" \t\n\u200b\ufeff ") == ""
    assert clean_query("line\nbreak\x07bell") == "line break bell"
    assert clean_query("жұмыс Қандыағаш") == "жұмыс Қандыағаш"
    assert len(clean_query("я" * 1000)) == MAX_QUERY


def local(day: int, hour: int, minute: int = 0) -> datetime:
    # December 2026: the 7th is a Monday.
    return datetime(2026, 12, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


def test_a_digest_goes_out_in_the_caseworkers_working_hours() -> None:
    hours = WorkingHours()  # Monday to Friday, 09:00-18:00
    # During working time: at the top of the next hour.
    assert digest_time(local(7, 10, 20), hours, ALMATY) == local(7, 11)
    # The working day ends within the hour: at its end.
    late = WorkingHours(closes=time(17, 30))
    assert digest_time(local(7, 17, 10), late, ALMATY) == local(7, 17, 30)
    assert digest_time(local(7, 17, 10), hours, ALMATY) == local(7, 18)
    # In the evening or at night: the next morning's opening, one time for all of them.
    assert digest_time(local(7, 21), hours, ALMATY) == local(8, 9)
    assert digest_time(local(8, 0, 30), hours, ALMATY) == local(8, 9)
    assert digest_time(local(8, 8, 20), hours, ALMATY) == local(8, 9)
    # Friday evening: Monday morning.
    assert digest_time(local(11, 22), hours, ALMATY) == local(14, 9)
    # No working days at all: the top of the next hour, as before.
    assert digest_time(local(7, 21, 5), WorkingHours(weekdays=frozenset()), ALMATY) == local(7, 22)


def person(role: Role, caseworker_id: int | None = None, language: str | None = "en") -> User:
    return User(1, role, language, None, None, None, caseworker_id=caseworker_id)


def offered(user: User) -> set[str]:
    return {c.name for c in COMMANDS if c.offered_to(user)}


def test_client_commands_need_an_officer_and_the_marker_says_so() -> None:
    newcomer, client = person(Role.CLIENT), person(Role.CLIENT, caseworker_id=7)
    assert not {"checkin", "message", "delete_me"} & offered(newcomer)
    assert {"checkin", "message", "delete_me"} <= offered(client)
    assert not {"checkin", "message", "delete_me"} & offered(person(Role.CASEWORKER))
    assert "staff" in offered(person(Role.ADMIN))
    # A chat's menu is rebuilt when joining or leaving an officer changes what it offers.
    assert CommandMenus.marker(newcomer) != CommandMenus.marker(client)
    assert audience(newcomer) == "newcomer"
    assert CommandMenus.marker(client) == "client:en"  # unchanged for linked clients
