"""Appointments' timed work end to end: reminders at 7 d / 3 d / 1 d / 2 h on a controlled
clock, the answers they take and the alerts those raise, an assigned visit acknowledged or
flagged, a day off, and what archiving, reassigning and removing a caseworker do.

Bookings are made through services/appointments.py directly (the booking screens are
tested in test_appointments_booking.py). Time is moved with time-machine and the engine
driven with `run_due()`; every test starts on a Monday at 11:00 in Almaty, in the future.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from icalendar import Calendar

from core.reception import Reception
from db import appointments, privacy
from db.appointments import Appointment, Origin, Status
from db.clock import from_db
from emulator import FakeUser
from emulator.models import Msg
from handlers.appointments.callbacks import BookMonth, BookSlot, ReminderReply, Reply
from handlers.client_status import set_client_status
from services import appointments as service
from services.assignment import reassign_client
from tests.harness import BotUnderTest, join

ALMATY = ZoneInfo("Asia/Almaty")
PLACE = "Abai avenue 10, office 5"
RECEPTION = Reception(frozenset(range(5)), time(9, 0), time(12, 0), 30, PLACE, 43.2389, 76.8897)
COMING = "✅ I'll be there"
RESCHEDULE = "📅 I need to reschedule"
PROBLEM = "⚠️ I have a problem"
ANSWERS = [COMING, RESCHEDULE, PROBLEM]


@contextmanager
def at(moment: datetime) -> Iterator[object]:
    with time_machine.travel(moment, tick=True) as traveller:
        yield traveller


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ALMATY).astimezone(UTC)


def a_monday() -> date:
    """A Monday at least two days from now (Almaty)."""
    day = datetime.now(ALMATY).date() + timedelta(days=2)
    return day + timedelta(days=(7 - day.weekday()) % 7)


async def run(app: BotUnderTest) -> None:
    """Everything due now is handled (by this call or by the bot's own dispatcher)."""
    await app.app.engine.run_due()
    await app.settle()


async def officer_and_client(
    app: BotUnderTest, officer_id: int, client_id: int, language: str = "en"
) -> tuple[FakeUser, FakeUser]:
    officer = await app.caseworker(officer_id, "Aliya Officer")
    person = await join(app, officer, client_id, language, label=f"Case {client_id}")
    await appointments.save_reception(app.db, officer_id, RECEPTION)
    return officer, person


async def book(
    app: BotUnderTest,
    client_id: int,
    officer_id: int,
    starts_at: datetime,
    origin: Origin = Origin.BOOKED,
) -> Appointment:
    settings = app.app.settings
    where = await service.office(app.db, officer_id, ALMATY)
    return await service.book(
        app.db,
        app.app.engine,
        client_id=client_id,
        where=where,
        starts_at=starts_at,
        rules=settings.appointment_rules,
        client_zone=ALMATY,
        quiet=settings.quiet,
        origin=origin,
    )


async def pending(app: BotUnderTest, kind: str = service.REMIND) -> list[datetime]:
    rows = await app.db.fetchall(
        "SELECT due_at FROM scheduled_items WHERE kind = ? AND status = 'pending' ORDER BY due_at",
        (kind,),
    )
    return [from_db(row["due_at"]) for row in rows]


def ics_of(message: Msg) -> Calendar:
    assert message.kind == "document"
    assert message.document is not None
    return Calendar.from_ical(message.document)


def new_messages(person: FakeUser, before: int) -> list[Msg]:
    return person.bot_messages[before:]


# -- reminders -----------------------------------------------------------------------------


async def test_reminders_arrive_7_3_1_days_and_2_hours_before(app: BotUnderTest) -> None:
    officer, person = await officer_and_client(app, 8001, 8002)
    monday = a_monday()
    day = monday + timedelta(days=10)  # Thursday, 09:00: the 2-hour reminder is at 07:00
    with at(local(monday, 11)):
        booked = await book(app, 8002, 8001, local(day, 9))
    expected = [
        local(day - timedelta(days=7), 9),
        local(day - timedelta(days=3), 9),
        local(day - timedelta(days=1), 9),
        local(day, 7),  # inside quiet hours (22:00-08:00): the urgent one rings anyway
    ]
    assert await pending(app) == expected

    seen = len(person.bot_messages)
    with at(expected[0] - timedelta(minutes=1)):
        await run(app)
    assert len(person.bot_messages) == seen  # not before its time
    with at(expected[0] + timedelta(seconds=1)):
        await run(app)
        week = person.last
    assert "your appointment with your probation officer is in 7 days" in week.body
    assert f"Place: {PLACE}" in week.body
    assert week.button_texts == ANSWERS

    with at(expected[1] + timedelta(seconds=1)):
        await run(app)
    assert "is in 3 days" in person.last.body

    seen = len(person.bot_messages)
    with at(expected[2] + timedelta(seconds=1)):
        await run(app)
    text, pin = new_messages(person, seen)
    assert "is tomorrow" in text.body
    assert "Time: tomorrow at 09:00" in text.body
    assert f"Place: {PLACE}" in text.body
    assert "when will you leave, and how will you get there?" in text.body
    assert "a missed appointment is recorded" in text.body
    assert text.button_texts == ANSWERS
    assert pin.kind == "venue"
    assert pin.location == (RECEPTION.latitude, RECEPTION.longitude)
    assert pin.venue_address == PLACE

    with at(expected[3] + timedelta(seconds=1)):
        await run(app)
        soon = person.last
    assert "is in 2 hours" in soon.body
    assert "Time: today at 09:00" in soon.body
    assert await pending(app) == []
    assert booked.status is Status.BOOKED
    # Nothing after the appointment began, and the officer got nothing from the reminders.
    seen, officer_seen = len(person.bot_messages), len(officer.bot_messages)
    with at(local(day, 9, 30)):
        await run(app)
    assert len(person.bot_messages) == seen
    assert len(officer.bot_messages) == officer_seen


async def test_nothing_arrives_after_a_cancel_nor_for_the_old_time_after_a_move(
    app: BotUnderTest,
) -> None:
    _, person = await officer_and_client(app, 8011, 8012)
    monday = a_monday()
    first_day, second_day = monday + timedelta(days=9), monday + timedelta(days=10)
    rules = app.app.settings.appointment_rules
    with at(local(monday, 11)):
        cancelled = await book(app, 8012, 8011, local(first_day, 10))
        await service.cancel(
            app.db,
            app.app.engine,
            appointment=cancelled,
            by="client",
            rules=rules,
            now=app.app.engine.now(),
        )
        moving = await book(app, 8012, 8011, local(first_day, 11))
        where = await service.office(app.db, 8011, ALMATY)
        moved = await service.move(
            app.db,
            app.app.engine,
            appointment=moving,
            where=where,
            starts_at=local(second_day, 11),
            rules=rules,
            client_zone=ALMATY,
            quiet=app.app.settings.quiet,
        )
        # A reminder of the old time that escaped the cancel (stored with the old sequence)
        # is dropped when due: the handler compares sequences.
        stale = await app.app.engine.schedule(
            service.REMIND,
            8012,
            local(first_day - timedelta(days=7), 11),
            {"appointment": moving.id, "client": 8012, "before": 10080, "sequence": 0},
            dedupe_key="stale-reminder",
        )
    assert moved.sequence == moving.sequence + 1
    assert moved.uid == moving.uid

    seen = len(person.bot_messages)
    with at(local(first_day - timedelta(days=7), 11, 1)):
        await run(app)
    assert len(person.bot_messages) == seen  # neither the cancelled nor the old time
    assert stale is not None
    row = await app.db.fetchone(
        "SELECT status, last_error FROM scheduled_items WHERE id = ?", (stale,)
    )
    assert row is not None
    assert tuple(row) == ("dropped", "moved")
    with at(local(second_day - timedelta(days=7), 11, 1)):
        await run(app)
    assert "is in 7 days" in person.last.body
    assert "11:00" in person.last.body
    with at(local(first_day, 10, 30)):
        await run(app)
    assert "10:00" not in person.last.body


async def test_a_late_day_before_reminder_is_sent_with_a_note_and_waits_out_quiet_hours(
    app: BotUnderTest,
) -> None:
    _, person = await officer_and_client(app, 8021, 8022)
    monday = a_monday()
    day = monday + timedelta(days=3)  # Thursday 11:00; the day-before one is Wednesday 11:00
    with at(local(monday, 11)):
        await book(app, 8022, 8021, local(day, 11))
    seen = len(person.bot_messages)
    # The bot was down from Wednesday morning until 23:00: quiet hours, so it waits.
    with at(local(day - timedelta(days=1), 23)):
        await run(app)
    assert len(person.bot_messages) == seen
    assert local(day, 8) in await pending(app)
    with at(local(day, 8) + timedelta(seconds=1)):
        await run(app)
    [text, _pin] = new_messages(person, seen)
    assert "is today" in text.body  # said on the morning of the day itself
    assert "Time: today at 11:00" in text.body
    assert "This message is late" not in text.body  # postponed on purpose, not late
    assert "when will you leave" in text.body


async def test_after_an_outage_only_the_latest_reminder_goes_out_with_a_late_note(
    app: BotUnderTest,
) -> None:
    _, person = await officer_and_client(app, 8161, 8162)
    monday = a_monday()
    day = monday + timedelta(days=10)
    with at(local(monday, 11)):
        await book(app, 8162, 8161, local(day, 11))
    seen = len(person.bot_messages)
    # Down from before the 7-day reminder until an hour after the 3-day one.
    with at(local(day - timedelta(days=3), 12)):
        await run(app)
    [late] = new_messages(person, seen)
    assert "is in 3 days" in late.body
    assert "This message is late" in late.body
    rows = await app.db.fetchall(
        "SELECT status, last_error FROM scheduled_items WHERE kind = ? ORDER BY due_at",
        (service.REMIND,),
    )
    assert [tuple(r) for r in rows[:2]] == [("dropped", "superseded"), ("sent", None)]


# -- answers ---------------------------------------------------------------------------------


async def test_a_problem_with_transport_alerts_the_caseworker_with_the_card(
    app: BotUnderTest,
) -> None:
    officer, person = await officer_and_client(app, 8031, 8032)
    monday = a_monday()
    day = monday + timedelta(days=2)
    with at(local(monday, 11)):
        booked = await book(app, 8032, 8031, local(day, 10))
    with at(local(day - timedelta(days=1), 10, 1)):
        await run(app)
        reminder = next(m for m in person.bot_messages if m.button_texts == ANSWERS)
        await person.press(PROBLEM)
        assert reminder.button_texts == [
            "🚌 Transport",
            "💼 Work",
            "🤒 Illness",
            "✍️ Something else",
        ]
        replies = await person.press("🚌 Transport")
        assert any("Your officer has been told" in r.body for r in replies)
        assert reminder.button_texts == []
        await run(app)
    alert = officer.last
    assert "Case 8032 cannot come to the appointment as planned." in alert.body
    assert "Reason: transport" in alert.body
    assert "Appointment: tomorrow at 10:00" in alert.body
    assert alert.button_texts == ["Open client card"]
    with at(local(day - timedelta(days=1), 10, 5)):
        [card] = await officer.press("Open client card")
    assert "Case 8032" in card.body
    answered = await appointments.get(app.db, booked.id)
    assert answered is not None
    assert answered.answer == "transport"


async def test_reschedule_alerts_and_opens_the_booking_calendar_for_a_move(
    app: BotUnderTest,
) -> None:
    officer, person = await officer_and_client(app, 8041, 8042)
    monday = a_monday()
    day = monday + timedelta(days=9)
    with at(local(monday, 11)):
        booked = await book(app, 8042, 8041, local(day, 10))
    with at(local(day - timedelta(days=7), 10, 1)):
        await run(app)
        [reply] = await person.press(RESCHEDULE)
        await run(app)
    assert "Your officer has been told" in reply.body
    [(label, data)] = [b for row in reply.inline_buttons for b in row]
    assert label == "📅 Choose a new time"
    asked = day - timedelta(days=7)
    assert BookMonth.unpack(str(data)) == BookMonth(
        year=asked.year, month=asked.month, move=booked.id
    )
    assert "Reason: asks for another time" in officer.last.body


async def test_an_answer_to_someone_elses_or_a_past_appointment_is_refused(
    app: BotUnderTest,
) -> None:
    officer, person = await officer_and_client(app, 8051, 8052)
    other = await join(app, officer, 8053, label="Case 8053")
    monday = a_monday()
    with at(local(monday, 11)):
        booked = await book(app, 8052, 8051, local(monday + timedelta(days=2), 10))
        forged = ReminderReply(appointment_id=booked.id, reply=Reply.TRANSPORT).pack()
        await other.press_data(forged, message_id=other.bot_messages[-1].message_id)
        assert other.last_callback_answer is not None
        assert other.last_callback_answer.text == (
            "This button is no longer active. Please use the menu."
        )
    assert await pending(app, service.ALERT) == []
    with at(local(monday + timedelta(days=2), 10, 5)):
        await person.press_data(
            ReminderReply(appointment_id=booked.id, reply=Reply.COMING).pack(),
            message_id=person.bot_messages[-1].message_id,
        )
        assert person.last_callback_answer is not None
        assert "no longer active" in (person.last_callback_answer.text or "")


async def test_a_problem_pressed_on_a_days_old_reminder_still_offers_the_choice(
    app: BotUnderTest,
) -> None:
    officer, person = await officer_and_client(app, 8181, 8182)
    monday = a_monday()
    with at(local(monday, 11)):
        booked = await book(app, 8182, 8181, local(monday + timedelta(days=9), 10))
    with at(local(monday + timedelta(days=2), 10)):
        await run(app)
        old = person.last
        # A press on a message older than about 48 hours cannot edit it: a new message.
        [choice] = await person.press_data(
            ReminderReply(appointment_id=booked.id, reply=Reply.PROBLEM).pack(),
            message_id=old.message_id,
            inaccessible=True,
        )
        assert choice.body == "What gets in the way?"
        assert choice.button_texts == ["🚌 Transport", "💼 Work", "🤒 Illness", "✍️ Something else"]
        [told] = await person.press("✍️ Something else")
        await run(app)
    assert "Your officer has been told" in told.body
    assert "Reason: something else" in officer.last.body


# -- assigned visits -------------------------------------------------------------------------


async def test_an_assigned_visit_is_acknowledged_with_ill_be_there(app: BotUnderTest) -> None:
    officer, person = await officer_and_client(app, 8061, 8062)
    monday = a_monday()
    with at(local(monday, 11)):
        visit = await book(app, 8062, 8061, local(monday + timedelta(days=3), 10), Origin.ASSIGNED)
        seen = len(person.bot_messages)
        await run(app)
        document, text = new_messages(person, seen)
        calendar = ics_of(document)
        assert calendar["METHOD"] == "REQUEST"
        [event] = calendar.walk("VEVENT")
        assert str(event["UID"]) == visit.uid
        assert event.decoded("DTSTART") == visit.starts_at
        assert "It is mandatory." in text.body
        assert f"Place: {PLACE}" in text.body
        assert text.button_texts == ANSWERS
        [thanks] = await person.press(COMING)
        assert "Thank you! Your officer expects you." in thanks.body
    acknowledged = await appointments.get(app.db, visit.id)
    assert acknowledged is not None
    assert acknowledged.acknowledged_at is not None
    assert acknowledged.answer == "coming"
    officer_seen = len(officer.bot_messages)
    with at(local(monday + timedelta(days=1), 11, 1)):
        await run(app)
    assert len(officer.bot_messages) == officer_seen  # acknowledged: nothing to flag
    assert await pending(app, service.ACK_CHECK) == []


async def test_an_unacknowledged_assigned_visit_is_flagged_after_the_window(
    app: BotUnderTest,
) -> None:
    officer, _person = await officer_and_client(app, 8071, 8072)
    monday = a_monday()
    with at(local(monday, 11)):
        visit = await book(app, 8072, 8071, local(monday + timedelta(days=3), 10), Origin.ASSIGNED)
        await run(app)
    assert await pending(app, service.ACK_CHECK) == [local(monday + timedelta(days=1), 11)]
    officer_seen = len(officer.bot_messages)
    with at(local(monday + timedelta(days=1), 10, 59)):
        await run(app)
    assert len(officer.bot_messages) == officer_seen
    with at(local(monday + timedelta(days=1), 11, 1)):
        await run(app)
    flag = officer.last
    assert "Case 8072 has not yet confirmed the visit you assigned." in flag.body
    assert "Appointment: " in flag.body
    assert flag.button_texts == ["Open client card"]
    assert visit.acknowledged_at is None


async def test_an_unacknowledged_visit_flag_waits_for_the_officers_working_hours(
    app: BotUnderTest,
) -> None:
    officer, _person = await officer_and_client(app, 8171, 8172)
    friday = a_monday() + timedelta(days=4)
    with at(local(friday, 17, 30)):  # assigned late on Friday, for Wednesday
        await book(app, 8172, 8171, local(friday + timedelta(days=5), 10), Origin.ASSIGNED)
        await run(app)
    officer_seen = len(officer.bot_messages)
    with at(local(friday + timedelta(days=1), 17, 31)):  # Saturday: not at work
        await run(app)
    assert len(officer.bot_messages) == officer_seen
    monday = friday + timedelta(days=3)
    assert await pending(app, service.ACK_CHECK) == [local(monday, 9)]
    with at(local(monday, 9) + timedelta(seconds=1)):
        await run(app)
    assert "has not yet confirmed the visit you assigned" in officer.last.body


# -- a day off, archive, reassignment, removal ---------------------------------------------


async def test_a_day_off_tells_the_client_with_the_next_free_times(app: BotUnderTest) -> None:
    _, person = await officer_and_client(app, 8081, 8082)
    monday = a_monday()
    day = monday + timedelta(days=2)
    with at(local(monday, 11)):
        booked = await book(app, 8082, 8081, local(day, 10))
        seen = len(person.bot_messages)
        await service.add_day_off(app.db, app.app.engine, caseworker_id=8081, day=day, zone=ALMATY)
        await run(app)
    document, text = new_messages(person, seen)
    calendar = ics_of(document)
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == booked.uid
    assert "not receiving visitors that day" in text.body
    assert "The next free times" in text.body
    offered = [BookSlot.unpack(str(data)) for row in text.inline_buttons for _, data in row]
    assert 1 <= len(offered) <= 5
    assert all(slot.move == 0 for slot in offered)
    starts = [datetime.fromtimestamp(slot.at, UTC) for slot in offered]
    assert starts == sorted(starts)
    # From now + the 2-hour cutoff (Monday 13:00, after reception): Tuesday from 09:00.
    tuesday = monday + timedelta(days=1)
    assert starts == [
        local(tuesday, 9),
        local(tuesday, 9, 30),
        local(tuesday, 10),
        local(tuesday, 10, 30),
        local(tuesday, 11),
    ]
    assert await pending(app) == []


async def test_archiving_cancels_appointments_and_their_reminders(app: BotUnderTest) -> None:
    _, person = await officer_and_client(app, 8091, 8092)
    monday = a_monday()
    with at(local(monday, 11)):
        booked = await book(app, 8092, 8091, local(monday + timedelta(days=9), 10))
        assert len(await pending(app)) == 4
        changed = await set_client_status(
            app.db, app.app.engine, app.app.settings, 8092, 8091, "archived"
        )
    assert changed
    after = await appointments.get(app.db, booked.id)
    assert after is not None
    assert (after.status, after.cancelled_by) == (Status.CANCELLED, "caseworker")
    assert await pending(app) == []
    seen = len(person.bot_messages)
    with at(local(monday + timedelta(days=8), 10, 1)):
        await run(app)
    assert len(person.bot_messages) == seen


async def test_reassignment_cancels_and_tells_the_client(app: BotUnderTest) -> None:
    _, person = await officer_and_client(app, 8101, 8102)
    await app.caseworker(8103, "Next Officer")
    monday = a_monday()
    with at(local(monday, 11)):
        booked = await book(app, 8102, 8101, local(monday + timedelta(days=9), 10))
        seen = len(person.bot_messages)
        await reassign_client(app.db, 8102, 8103, actor_id=None, engine=app.app.engine)
        await run(app)
    after = await appointments.get(app.db, booked.id)
    assert after is not None
    assert (after.status, after.cancelled_by) == (Status.CANCELLED, "system")
    arrived = new_messages(person, seen)
    [document] = [m for m in arrived if m.kind == "document"]
    assert ics_of(document)["METHOD"] == "CANCEL"
    [told] = [m for m in arrived if "new probation officer" in m.body]
    assert "/appointments" in told.body
    assert await pending(app) == []


async def test_removing_a_caseworker_cancels_what_is_left_and_tells_the_client(
    app: BotUnderTest,
) -> None:
    from bot.cli import _remove

    _, person = await officer_and_client(app, 8111, 8112)
    leaving = await app.caseworker(8113, "Leaving Officer")
    await appointments.save_reception(app.db, 8113, RECEPTION)
    monday = a_monday()
    with at(local(monday, 11)):
        # A booking with the leaving officer that raced a reassignment (no client of theirs).
        stray = await book(app, 8112, 8113, local(monday + timedelta(days=9), 10))
        seen = len(person.bot_messages)
        assert await _remove(8113)(app.db) == 0
        await run(app)
    assert leaving.last.body  # they were a caseworker with a chat
    after = await appointments.get(app.db, stray.id)
    assert after is not None
    assert (after.status, after.cancelled_by) == (Status.CANCELLED, "system")
    arrived = new_messages(person, seen)
    assert any(m.kind == "document" and ics_of(m)["METHOD"] == "CANCEL" for m in arrived)
    # Their officer is another: they are told to book with them.
    assert any("you have a new probation officer" in m.body for m in arrived)
    assert await pending(app) == []


async def test_an_alert_the_officers_telegram_refuses_goes_to_the_administrators(
    app: BotUnderTest,
) -> None:
    officer, person = await officer_and_client(app, 8121, 8122)
    admin = await app.admin()
    monday = a_monday()
    with at(local(monday, 11)):
        await book(app, 8122, 8121, local(monday + timedelta(days=2), 10))
    with at(local(monday + timedelta(days=1), 10, 1)):
        await run(app)
        assert any(m.button_texts == ANSWERS for m in person.bot_messages)
        officer.block_bot()
        await person.press(PROBLEM)
        await person.press("🤒 Illness")
        await run(app)
        await run(app)
    told = admin.last
    assert "Case 8122 cannot come to the appointment as planned." in told.body
    assert "Reason: illness" in told.body
    assert "Telegram does not deliver to their officer" in told.body
    assert told.button_texts == ["👥 Reassign"]


# -- privacy ---------------------------------------------------------------------------------


async def test_export_holds_appointments_and_delete_me_removes_them_with_their_items(
    app: BotUnderTest,
) -> None:
    _, person = await officer_and_client(app, 8131, 8132)
    monday = a_monday()
    with at(local(monday, 11)):
        booked = await book(app, 8132, 8131, local(monday + timedelta(days=9), 10))
    data = (await privacy.export(app.db, 8132))["data"]
    [row] = data["appointments"]
    assert (row["id"], row["uid"], row["status"]) == (booked.id, booked.uid, "booked")
    kinds = {item["kind"] for item in data["scheduled_messages"]}
    assert service.REMIND in kinds
    await person.command("delete_me")
    await person.press("🗑 Yes, delete my data")
    assert await appointments.get(app.db, booked.id) is None
    left = await app.db.fetchval(
        "SELECT count(*) FROM scheduled_items WHERE recipient_id = 8132 "
        "OR json_extract(payload, '$.client') = 8132"
    )
    assert left == 0


# -- languages ------------------------------------------------------------------------------


async def test_the_day_before_reminder_and_its_answers_in_kazakh(app: BotUnderTest) -> None:
    officer, person = await officer_and_client(app, 8141, 8142, "kk")
    monday = a_monday()
    day = monday + timedelta(days=2)
    with at(local(monday, 11)):
        await book(app, 8142, 8141, local(day, 10))
    with at(local(day - timedelta(days=1), 10, 1)):
        await run(app)
        reminder = next(m for m in person.bot_messages if m.kind == "text" and m.button_texts)
        assert "Пробация инспекторының қабылдауы ертең." in reminder.body
        assert "Уақыты: ертең сағат 10:00" in reminder.body
        assert f"Мекенжайы: {PLACE}" in reminder.body
        assert "қашан шығасыз және қалай жетесіз?" in reminder.body
        assert reminder.button_texts == ["✅ Келемін", "📅 Уақытын ауыстыру керек", "⚠️ Мәселе бар"]
        await person.press("⚠️ Мәселе бар")
        replies = await person.press("💼 Жұмыс")
        assert any("Инспекторыңызға хабар берілді" in r.body for r in replies)
        await run(app)
    assert "Reason: work" in officer.last.body  # the officer reads English


async def test_reminders_count_days_and_hours_in_russian(app: BotUnderTest) -> None:
    _, person = await officer_and_client(app, 8151, 8152, "ru")
    monday = a_monday()
    day = monday + timedelta(days=10)
    with at(local(monday, 11)):
        await book(app, 8152, 8151, local(day, 11))
    with at(local(day - timedelta(days=7), 11, 1)):
        await run(app)
    assert "до приёма у инспектора пробации осталось 7 дней." in person.last.body
    assert "Время: " in person.last.body
    with at(local(day - timedelta(days=3), 11, 1)):
        await run(app)
    assert "осталось 3 дня." in person.last.body
    with at(local(day, 9, 1)):
        await run(app)
        assert "До приёма у инспектора пробации осталось 2 часа." in person.last.body
        assert "Время: сегодня в 11:00" in person.last.body
        [thanks] = await person.press("✅ Я приду")
    assert "Спасибо! Инспектор ждёт вас." in thanks.body
