"""Screens tried as a new user would (issue 10): command menus, commands in any case or
addressed to another bot, /delete_me per situation, search replies, writing to the officer,
the missed-check-in digest and a reply refused with 403."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from db import checkins, users
from db.clock import from_db
from db.directory_csv import write_csv
from db.directory_import import import_file
from db.staff import add_caseworker, remove_caseworker
from db.working_hours import WorkingHours
from emulator import FakeUser
from tests.e2e.test_caseloads import join
from tests.e2e.test_checkins import ALMATY, at, planned, set_daily
from tests.e2e.test_directory import category_button, row, tri
from tests.harness import BotUnderTest

CLIENT_ONLY = {"checkin", "message", "delete_me"}
EVERYONE = {"start", "services", "language", "help", "privacy"}
GREETING = "«Society needs you!»"


def offered(app: BotUnderTest, person_id: int, language: str = "") -> set[str]:
    return {c["command"] for c in app.api.commands_for(person_id, language)}


async def open_card(officer: FakeUser, label: str = "Case 17/2026") -> None:
    [listing] = await officer.command("caseload")
    await officer.press(next(b for b in listing.button_texts if label in b))


# -- 1. command menus --------------------------------------------------------------------------


async def test_the_command_menu_follows_what_the_person_can_do(app: BotUnderTest) -> None:
    # Nobody without an officer is offered the client commands: not by default...
    for language in ("", "kk", "ru", "en"):
        assert not CLIENT_ONLY & offered(app, 999, language)
        assert offered(app, 999, language) >= EVERYONE
    # ...nor in their own chat's menu.
    await app.client(2001)
    assert ("chat:2001", "") in app.api.commands
    assert not CLIENT_ONLY & offered(app, 2001)
    assert offered(app, 2001) >= EVERYONE

    officer = await app.caseworker(2002)
    await join(app, officer, 2003)
    assert offered(app, 2003) >= CLIENT_ONLY  # at once on joining, before another message

    # Archived by the officer: the client's menu changes without a message from them.
    await open_card(officer)
    await officer.press("🗄 Archive")
    await app.settle()
    assert not CLIENT_ONLY & offered(app, 2003)
    assert offered(app, 2003) >= EVERYONE
    await officer.press("♻️ Restore")
    await app.settle()
    assert offered(app, 2003) >= CLIENT_ONLY

    # Reassigned: still a client with an officer.
    await app.caseworker(2004, "Second Officer")
    admin = await app.admin()
    await admin.command("staff")
    await admin.press("Aliya Sarsenova · 1")
    await admin.press("Case 17/2026")
    await admin.press("Second Officer · 0")
    await app.user(2003).wait_for("Your probation officer is now Second Officer.")
    await app.settle()
    assert offered(app, 2003) >= CLIENT_ONLY
    assert "caseload" not in offered(app, 2003)


async def test_a_menu_follows_a_role_given_or_taken_on_the_command_line(
    app: BotUnderTest,
) -> None:
    person = await app.client(2011)
    await add_caseworker(app.db, 2011, "New Officer", actor_id=None)
    await person.command("help")  # the next message rebuilds the chat's menu
    assert {"caseload", "invite", "hours"} <= offered(app, 2011)
    assert not CLIENT_ONLY & offered(app, 2011)
    await remove_caseworker(app.db, 2011, actor_id=None)
    await person.command("help")
    assert not {"caseload", "invite", "hours"} & offered(app, 2011)
    assert not CLIENT_ONLY & offered(app, 2011)
    assert offered(app, 2011) >= EVERYONE


# -- 2. commands in any case, with this bot's name, or another bot's ---------------------------


async def test_commands_work_in_any_case_and_with_this_bots_name(app: BotUnderTest) -> None:
    person = await app.client(2021)
    for text in ("/START", "/Start", "/start@jana_jol_test_bot", "/START@Jana_Jol_Test_Bot"):
        [reply] = await person.send(text)
        assert GREETING in reply.body, text
    [reply] = await person.send("/HELP")
    assert "To connect with your officer" in reply.body
    [reply] = await person.send("/Privacy@jana_jol_test_bot")
    assert "Your data" in reply.body
    officer = await app.caseworker(2022)
    client = await join(app, officer, 2023)
    [reply] = await client.send("/CheckIn")
    assert "This command is for clients" not in reply.body
    [reply] = await officer.send("/CASELOAD")
    assert "Case 17/2026" in " ".join(reply.button_texts)


async def test_a_command_for_another_bot_is_ignored(app: BotUnderTest) -> None:
    person = await app.client(2031)
    for text in ("/start@other_bot", "/help@OtherBot", "/whatever@other_bot", "/START@x_bot"):
        assert await person.send(text) == [], text
    # An unknown command for this bot still gets its hint.
    [reply] = await person.send("/whatever@jana_jol_test_bot")
    assert "I do not know this command" in reply.body


# -- 3. /delete_me says who is told --------------------------------------------------------------


async def test_delete_me_says_who_is_told_per_situation(app: BotUnderTest) -> None:
    newcomer = await app.client(2041)
    [ask] = await newcomer.command("delete_me")
    assert "officer" not in ask.body
    assert "your language" in ask.body

    officer = await app.caseworker(2042)
    person = await join(app, officer, 2043)
    [ask] = await person.command("delete_me")
    assert "Your officer is told that you left" in ask.body
    await person.press("✖ No, keep it")

    await open_card(officer)
    await officer.press("🗄 Archive")
    [ask] = await person.command("delete_me")
    assert "The officer who had your case is told" in ask.body
    assert "Your officer is told" not in ask.body
    await person.press("🗑 Yes, delete my data")
    await officer.wait_for("deleted their data")


# -- 4. search replies ----------------------------------------------------------------------------


async def test_search_repeats_the_query_without_bidi_controls(app: BotUnderTest) -> None:
    person = await app.client(2051)
    [reply] = await person.command("services", "\u202eabc\u202c \u2066def\u2069\u200f")
    text = reply.text or ""
    assert "«abc def»" in text
    for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f":
        assert control not in text
    [reply] = await person.command("services", "ж" * 200)
    assert "ж" * 59 + "…»" in reply.body  # clipped in the echo


async def test_a_blank_query_asks_for_words(app: BotUnderTest) -> None:
    person = await app.client(2052)
    for blank in ("\u200f", "\u202e \u2066", "\u200b\u200b"):
        [reply] = await person.command("services", blank)
        assert "Type what you are looking for" in reply.body, repr(blank)
        assert "Nothing found" not in reply.body
    # The next words are the search.
    [reply] = await person.send("qwertyuiop")
    assert "Nothing found for «qwertyuiop»" in reply.body


async def test_more_than_fifty_matches_say_so(app: BotUnderTest) -> None:
    rows = [row(f"many-{i:02d}", **tri("name", "Зефир", "Зефир", "Zephyr")) for i in range(60)]
    await import_file(app.db, write_csv(rows), actor_id=None)
    person = await app.client(2053)
    [reply] = await person.command("services", "zephyr")
    text = reply.text or ""
    assert "more than 50" in text
    assert "Showing the first 50" in text
    assert "Found for «zephyr»: 50\n" not in text
    assert "Page 1 of 7" in text
    rows = [row(f"few-{i}", **tri("name", "Ирис", "Ирис", "Iris")) for i in range(3)]
    await import_file(app.db, write_csv(rows), actor_id=None)
    [reply] = await person.command("services", "iris")
    assert "Found for «iris»: 3" in reply.body
    assert "more than" not in reply.body


async def test_lists_sort_in_natural_order(app: BotUnderTest) -> None:
    names = ["Пункт №25", "пункт №4", "Пункт №20", "Әлеу", "Абай"]
    rows = [row(f"nat-{i}", **tri("name", n, n, n)) for i, n in enumerate(names)]
    await import_file(app.db, write_csv(rows), actor_id=None)
    person = await app.client(2054, "ru")
    await person.press("📋 Услуги")
    await person.press(await category_button(app, "employment", "ru"))
    listing = person.last
    shown = [b.split(". ", 1)[1] for b in listing.button_texts if b[:1].isdigit()]
    order = [name for name in shown if name in names]
    assert order == ["Абай", "Әлеу", "пункт №4", "Пункт №20", "Пункт №25"]


async def test_the_staff_list_sorts_in_natural_order(app: BotUnderTest) -> None:
    for person_id, name in ((2091, "Officer №10"), (2092, "officer №9"), (2093, "Officer №1")):
        await add_caseworker(app.db, person_id, name, actor_id=None)
    admin = await app.admin()
    [listing] = await admin.command("staff")
    order = [b.split(" · ")[0] for b in listing.button_texts if "fficer" in b]
    assert order == ["Officer №1", "officer №9", "Officer №10"]


# -- 5. writing to the officer: more than one message -------------------------------------------


async def test_a_client_sends_text_then_photo_then_voice_and_all_arrive(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(2061)
    person = await join(app, officer, 2062)
    await person.press("✉️ Message my officer")
    replies = await person.send("Here is my certificate")
    assert any("✅ Delivered to your officer." in r.body for r in replies)
    assert any("You can send more" in r.body for r in replies)
    await officer.wait_for("Here is my certificate")
    before = len(officer.bot_messages)
    replies = await person.send_photo(caption=None)
    assert [r.text for r in replies] == ["✅ Delivered to your officer."]
    assert "I understand text and buttons" not in " ".join(r.text or "" for r in replies)
    replies = await person.send_voice()
    assert [r.text for r in replies] == ["✅ Delivered to your officer."]
    await app.settle()
    kinds = [m.kind for m in officer.bot_messages[before:]]
    assert "photo" in kinds
    assert "voice" in kinds
    stored = await app.db.fetchall(
        "SELECT kind FROM messages WHERE client_id = 2062 AND direction = 'in' ORDER BY id"
    )
    assert [r["kind"] for r in stored] == ["text", "photo", "voice"]
    # «✔ Done» ends it: the next photo goes nowhere, and the client is told how to send it.
    await person.press("✔ Done")
    [reply] = await person.send_photo()
    assert "Nothing was sent" in reply.body
    assert "✉️ Message my officer" in reply.body
    assert await app.db.fetchval("SELECT count(*) FROM messages WHERE client_id = 2062") == 3


async def test_another_menu_item_or_a_long_pause_ends_writing(app: BotUnderTest) -> None:
    officer = await app.caseworker(2063)
    person = await join(app, officer, 2064)
    await person.press("✉️ Message my officer")
    await person.send("first")
    await person.command("help")  # leaves the conversation
    [reply] = await person.send("not for the officer")
    assert "Nothing was sent" in reply.body
    await person.press("✉️ Message my officer")
    await person.send("again")
    with at(datetime.now(UTC) + timedelta(minutes=16)):
        [reply] = await person.send("an hour later")
    assert "Nothing was sent" in reply.body
    bodies = await app.db.fetchall("SELECT body FROM messages WHERE client_id = 2064 ORDER BY id")
    assert [r["body"] for r in bodies] == ["first", "again"]


# -- 6. the missed-check-in digest ------------------------------------------------------------------


async def test_the_digest_names_the_planned_time_and_comes_in_working_hours(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(2071)
    await join(app, officer, 2072)
    await set_daily(officer, "09:00")  # the default window closes at 21:00
    checkin = await planned(app, 2072)
    with at(checkin.opens_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
    with at(checkin.closes_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
    due = from_db(
        str(
            await app.db.fetchval(
                "SELECT due_at FROM scheduled_items WHERE kind = 'checkin.digest' "
                "AND status = 'pending'"
            )
        )
    )
    hours = WorkingHours()  # the officer's (default) working hours, in their zone
    assert due > checkin.closes_at
    assert hours.is_open(due, ALMATY)
    assert due == hours.next_opening(checkin.closes_at, ALMATY)
    before = len(officer.bot_messages)
    with at(due - timedelta(minutes=1)):
        await app.app.engine.run_due()
    assert len(officer.bot_messages) == before  # not at night
    with at(due + timedelta(seconds=1)):
        await app.app.engine.run_due()
    digest = officer.bot_messages[-1]
    text = digest.text or ""
    assert "Missed check-ins: 1" in text
    assert "Case 17/2026 — " in text
    # The check-in's planned time (09:00 in the officer's zone), not the hour its window
    # closed (21:00, 9:00 PM in a 12-hour clock).
    assert "9:00" in text
    assert "21:00" not in text
    assert "PM" not in text
    assert "between" not in text
    assert digest.button_texts == ["Case 17/2026"]
    missed = await checkins.get(app.db, checkin.id)
    assert missed is not None
    assert missed.status == "missed"


# -- 7. a reply refused with 403 ---------------------------------------------------------------------


async def test_a_reply_refused_with_403_is_logged_as_one_line(
    app: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    person = await app.client(2081)
    sent_before = len(app.api.calls("sendMessage"))
    app.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with caplog.at_level(logging.INFO):
        assert await person.command("help") == []
    records = [r for r in caplog.records if r.name == "bot.middlewares.errors"]
    assert [r.levelno for r in records] == [logging.WARNING]
    [record] = records
    assert record.exc_info is None  # no traceback
    message = record.getMessage()
    assert "403 blocked" in message
    assert "Handler failed" not in caplog.text
    assert "\n" not in message
    assert "2081" not in message  # no person in it
    # No apology is attempted into a chat that refuses.
    assert len(app.api.calls("sendMessage")) == sent_before + 1
    assert await users.get(app.db, 2081) is not None
