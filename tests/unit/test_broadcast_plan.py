"""Broadcasts' pure parts: each recipient's version and first moment, and «Send at…» times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from db.broadcasts import Recipient
from handlers.broadcast.compose import parse_when
from scheduler.settings import EngineSettings
from services.broadcasts import plan, preview

ALMATY = ZoneInfo("Asia/Almaty")  # UTC+5
RULES = EngineSettings()  # quiet hours 22:00-08:00


def person(client_id: int, language: str | None, *, unreachable: bool = False) -> Recipient:
    return Recipient(client_id, 1, language, "Asia/Almaty", unreachable)


def test_versions_quiet_hours_urgent_and_skipped() -> None:
    night = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 23:00 in Almaty
    people = [person(1, "kk"), person(2, "ru"), person(3, None), person(4, "en", unreachable=True)]
    news = plan(
        people,
        versions={"kk", "en"},
        main_language="en",
        urgent=False,
        send_at=night,
        rules=RULES,
        default_language="kk",
    )
    assert [p.language for p in news] == ["kk", "en", "kk", "en"]  # no ru: the main one
    morning = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # 08:00 in Almaty
    assert {p.not_before for p in news} == {morning}
    assert [p.skipped for p in news] == [None, None, None, "unreachable"]
    figures = preview(news)
    assert figures.per_language == {"kk": (2, "kk"), "ru": (1, "en")}
    assert (figures.total, figures.skipped) == (3, 1)
    urgent = plan(
        people,
        versions={"kk"},
        main_language="kk",
        urgent=True,
        send_at=night,
        rules=RULES,
        default_language="kk",
    )
    assert {p.not_before for p in urgent} == {night}


def test_send_at_times_are_read_in_the_senders_zone() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 15:00 in Almaty
    assert parse_when("18:30", now, ALMATY) == datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
    assert parse_when("09:00", now, ALMATY) == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # tomorrow
    assert parse_when("25.12 10:00", now, ALMATY) == datetime(2026, 12, 25, 5, 0, tzinfo=UTC)
    assert parse_when("02.01.2027 9:15", now, ALMATY) == datetime(2027, 1, 2, 4, 15, tzinfo=UTC)
    assert parse_when("01.12.2026 09:00", now, ALMATY) is None  # in the past
    for bad in ("", "tomorrow", "25:00", "31.02 10:00", "18-30"):
        assert parse_when(bad, now, ALMATY) is None, bad
