"""The client's side of appointments, end to end over HTTP: booking through the month
calendar by pressing the buttons a person sees, the .ics file that reaches the chat (parsed
with icalendar), moving (same UID, higher SEQUENCE) and cancelling (METHOD:CANCEL), several
clients confirming one slot at the same instant, the cutoff, forged presses, and journeys
in Kazakh and Russian.

The clock is held with time_machine at a Monday 08:55 in Almaty (UTC+5; it ticks, so the
minutes before 09:00 keep a loaded machine from crossing a slot's cutoff): the caseworker
receives Monday to Friday, 10:00–12:00, in 30-minute slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from icalendar import Calendar

from core.reception import Reception
from db import appointments
from db.appointments import Appointment, Origin, Status
from emulator import FakeUser, Msg
from handlers.appointments.callbacks import (
    BookConfirm,
    BookDay,
    BookMonth,
    BookSlot,
    Mine,
    MineAction,
    pack_moment,
)
from services import appointments as service
from tests.harness import BotUnderTest, join

ALMATY = ZoneInfo("Asia/Almaty")
MONDAY = datetime(2026, 12, 7, 8, 55, tzinfo=ALMATY)  # the tests' "now"
PLACE = "Abai avenue 10, office 5"
RECEPTION = Reception(
    frozenset({0, 1, 2, 3, 4}), time(10, 0), time(12, 0), 30, PLACE, 43.2389, 76.8897
)
BOOK = "➕ Book an appointment"
CONFIRM = "✅ Confirm"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in Almaty in December 2026, as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ALMATY).astimezone(UTC)


@contextmanager
def now_is(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=True):
        yield


async def officer_with_reception(
    app: BotUnderTest, officer_id: int, language: str = "en"
) -> FakeUser:
    officer = await app.caseworker(officer_id, language=language)
    await appointments.save_reception(app.db, officer_id, RECEPTION)
    return officer


def ics_of(msg: Msg) -> Calendar:
    assert msg.kind == "document", msg.kind
    assert msg.filename is not None
    assert msg.filename.endswith(".ics")
    assert msg.document is not None
    return Calendar.from_ical(msg.document)


def event_of(calendar: Calendar) -> dict[str, object]:
    [event] = calendar.walk("VEVENT")
    return {
        "uid": str(event["UID"]),
        "sequence": event.decoded("SEQUENCE"),
        "start": event.decoded("DTSTART"),
        "end": event.decoded("DTEND"),
        "status": str(event["STATUS"]),
        "location": str(event.get("LOCATION", "")),
    }


def notice(person: FakeUser) -> str:
    """The text of the pop-up that answered the person's latest press."""
    answer = person.last_callback_answer
    assert answer is not None, "the press was not answered"
    return answer.body


async def booked(app: BotUnderTest, client_id: int) -> list[Appointment]:
    rows = await app.db.fetchall(
        "SELECT id FROM appointments WHERE client_id = ? ORDER BY id", (client_id,)
    )
    found = [await appointments.get(app.db, row["id"]) for row in rows]
    return [a for a in found if a is not None]


async def choose(person: FakeUser, day: str, hhmm: str, *, open_with: str = BOOK) -> Msg:
    """From a screen showing `open_with`: the calendar, the day, the time; the confirm screen."""
    await person.press(open_with)
    await person.press(day)
    await person.press(hhmm)
    return person.last


async def test_a_client_books_moves_and_cancels_with_calendar_files(app: BotUnderTest) -> None:
    officer = await officer_with_reception(app, 701)
    person = await join(app, officer, 702)
    with now_is(MONDAY):
        [empty] = await person.press("📅 Appointments")
        assert "You have no upcoming appointments." in empty.body
        await person.press(BOOK)
        calendar = person.last
        assert calendar.message_id == empty.message_id  # replaced in place
        rows = person.buttons()
        assert rows[0] == ["December 2026"]
        assert rows[1] == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
        week = rows[3]  # 7–13 December: Monday to Friday can be pressed, the weekend cannot
        assert week == ["7", "8", "9", "10", "11", "·", "·"]
        assert rows[2] == [" ", "·", "·", "·", "·", "·", "·"]  # 30 November, 1–6 December: past
        assert "January ▶️" in person.all_buttons_texts()

        # Today only the times from now + 2 hours on are offered.
        await person.press("7")
        assert person.buttons()[1] == ["11:00", "11:30"]
        await person.press("◀️ Other days")
        await person.press("9")
        assert person.buttons()[0] == ["Wednesday, 9 December"]
        assert person.buttons()[1] == ["10:00", "10:30", "11:00", "11:30"]
        await person.press("10:30")
        confirm = person.last
        assert "Please check and confirm your appointment" in confirm.body
        assert "Time: Wednesday 9 December, 10:30" in confirm.body
        assert f"Place: {PLACE}" in confirm.body

        replies = await person.press(CONFIRM)
        assert confirm.body.startswith("✅ You are booked.")  # the screen became the confirmation
        assert (
            "You can move or cancel it in /appointments until: Wednesday 9 December, 08:30"
            in confirm.body
        )
        assert [m.kind for m in replies] == ["location", "document"]
        assert replies[0].location == (RECEPTION.latitude, RECEPTION.longitude)
        [appointment] = await booked(app, 702)
        first = ics_of(replies[1])
        assert str(first["METHOD"]) == "REQUEST"
        event = event_of(first)
        assert event["uid"] == appointment.uid
        assert event["sequence"] == 0
        assert event["start"] == local(9, 10, 30)
        assert event["end"] == local(9, 11)
        assert event["location"] == PLACE
        assert appointment.origin is Origin.BOOKED
        reminders = await app.db.fetchval(
            "SELECT count(*) FROM scheduled_items WHERE kind = ? AND status = 'pending' "
            "AND json_extract(payload, '$.appointment') = ?",
            (service.REMIND, appointment.id),
        )
        assert reminders == 2  # 1 day and 2 hours before (booked 2 days ahead)

        # Move it: the same UID, SEQUENCE 1.
        [mine] = await person.press("📅 Appointments")
        assert "Time: <b>" not in mine.body
        assert "Time: Wednesday 9 December, 10:30" in mine.body
        assert mine.button_texts[:2] == ["🔁 Move", "✖️ Cancel"]
        await person.press("🔁 Move")
        assert "Its time now: Wednesday 9 December, 10:30" in person.last.body
        await person.press("10")
        await person.press("11:00")
        assert "Move your appointment to this time?" in person.last.body
        replies = await person.press(CONFIRM)
        assert mine.body.startswith("✅ Your appointment is moved.")
        assert "Time: Thursday 10 December, 11:00" in mine.body
        moved = event_of(ics_of(replies[-1]))
        assert moved["uid"] == appointment.uid
        assert moved["sequence"] == 1
        assert moved["start"] == local(10, 11)

        # Cancel it: asks first; then METHOD:CANCEL with the same UID.
        [mine] = await person.press("📅 Appointments")
        await person.press("✖️ Cancel")
        assert "Cancel this appointment?" in mine.body
        replies = await person.press("✖️ Yes, cancel it")
        assert mine.body.startswith("✖️ Your appointment is cancelled.")
        cancel = ics_of(replies[-1])
        assert str(cancel["METHOD"]) == "CANCEL"
        cancelled = event_of(cancel)
        assert cancelled["uid"] == appointment.uid
        assert cancelled["sequence"] == 2
        assert cancelled["status"] == "CANCELLED"
        [after] = await booked(app, 702)
        assert after.status is Status.CANCELLED
        assert after.cancelled_by == "client"
        pending = await app.db.fetchval(
            "SELECT count(*) FROM scheduled_items WHERE status = 'pending' "
            "AND json_extract(payload, '$.appointment') = ?",
            (appointment.id,),
        )
        assert pending == 0
        [empty] = await person.command("appointments")
        assert "You have no upcoming appointments." in empty.body
        # A button of the cancelled appointment, pressed later: it is gone.
        for data in (
            Mine(appointment_id=appointment.id, action=MineAction.MOVE),
            BookMonth(year=2026, month=12, move=appointment.id),
            BookConfirm(at=pack_moment(local(11, 10)), move=appointment.id),
        ):
            await person.press_data(data.pack())
            assert notice(person) == (
                "This appointment was cancelled or changed meanwhile. See /appointments."
            )


@pytest.mark.parametrize("clients", [2, 4])
async def test_clients_confirming_one_slot_at_once_give_one_winner(
    app: BotUnderTest, clients: int
) -> None:
    officer = await officer_with_reception(app, 711)
    people = [await join(app, officer, 720 + n, label=f"Case {n}") for n in range(clients)]
    with now_is(MONDAY):
        screens = []
        for person in people:
            await person.press("📅 Appointments")
            screens.append(await choose(person, "8", "10:00"))
        # Every client presses Confirm on the same slot at the same instant.
        await asyncio.gather(*(person.press(CONFIRM) for person in people))
        won = [s for s in screens if s.body.startswith("✅ You are booked.")]
        lost = [s for s in screens if "someone has just booked this time" in s.body]
        assert len(won) == 1
        assert len(lost) == clients - 1
        for screen in lost:
            offered = screen.button_texts
            assert "tomorrow at 10:00" not in offered  # the slot just taken
            assert offered[0] == "tomorrow at 10:30"  # the next free ones, pressable
        held = await app.db.fetchall(
            "SELECT client_id FROM appointments WHERE status = 'booked' AND starts_at = ?",
            (local(8, 10).strftime("%Y-%m-%d %H:%M:%S"),),
        )
        assert len(held) == 1
        # A loser books one of the next free times from that screen.
        loser = people[screens.index(lost[0])]
        await loser.press("tomorrow at 10:30")
        await loser.press(CONFIRM)
        assert lost[0].body.startswith("✅ You are booked.")


async def test_the_cutoff_refuses_a_late_cancel(app: BotUnderTest) -> None:
    officer = await officer_with_reception(app, 731)
    person = await join(app, officer, 732)
    with now_is(MONDAY):
        await person.press("📅 Appointments")
        await choose(person, "8", "10:00")
        await person.press(CONFIRM)
        [mine] = await person.command("appointments")
        assert "✖️ Cancel" in mine.button_texts
    # 90 minutes before: the old screen's Cancel is refused, the appointment stands.
    with now_is(datetime(2026, 12, 8, 8, 30, tzinfo=ALMATY)):
        await person.press("✖️ Cancel")
        answer = person.last_callback_answer
        assert answer is not None
        assert answer.show_alert
        assert "It is too late to change this appointment" in answer.body
        assert "write to your officer" in answer.body
        [appointment] = await booked(app, 732)
        assert appointment.status is Status.BOOKED
        [mine] = await person.command("appointments")
        assert "It is too late to change this appointment" in mine.body
        assert "✖️ Cancel" not in mine.button_texts
        assert "🔁 Move" not in mine.button_texts
        forged = Mine(appointment_id=appointment.id, action=MineAction.CANCEL_YES).pack()
        await person.press_data(forged)
        assert "too late" in notice(person)
        assert (await booked(app, 732))[0].status is Status.BOOKED


async def test_a_booking_at_night_is_confirmed_at_once(app: BotUnderTest) -> None:
    """Quiet hours (22:00–08:00 here) hold reminders, not the answer to a press: the
    confirmation of a booking and of its cancellation come at once, at 23:30."""
    officer = await officer_with_reception(app, 741)
    person = await join(app, officer, 742)
    with now_is(datetime(2026, 12, 7, 23, 30, tzinfo=ALMATY)):
        await person.press("📅 Appointments")
        confirm = await choose(person, "9", "10:30")
        replies = await person.press(CONFIRM)
        assert confirm.body.startswith("✅ You are booked.")
        assert [m.kind for m in replies] == ["location", "document"]
        [mine] = await person.press("📅 Appointments")
        await person.press("✖️ Cancel")
        replies = await person.press("✖️ Yes, cancel it")
        assert mine.body.startswith("✖️ Your appointment is cancelled.")
        assert str(ics_of(replies[-1])["METHOD"]) == "CANCEL"


async def test_a_person_without_an_officer_is_told_how_to_connect(app: BotUnderTest) -> None:
    person = await app.client(781)
    [answer] = await person.command("appointments")
    assert answer.body == (
        "You are not connected with a probation officer yet. Ask your officer for an invitation link."
    )
    await person.press_data(BookMonth(year=2026, month=12).pack(), message_id=answer.message_id)
    assert "not connected with a probation officer" in notice(person)


async def test_forged_presses_are_refused(app: BotUnderTest) -> None:
    officer = await officer_with_reception(app, 741)
    person = await join(app, officer, 742)
    other = await join(app, officer, 743, label="Case 743")
    with now_is(MONDAY):
        await other.press("📅 Appointments")
        await choose(other, "9", "11:00")
        await other.press(CONFIRM)
        [theirs] = await booked(app, 743)

        [screen] = await person.press("📅 Appointments")
        # A moment that is not a slot (10:15), one far beyond the horizon, one already past.
        for moment in (local(9, 10, 15), local(9, 10) + timedelta(days=364), local(7, 8)):
            await person.press_data(BookConfirm(at=pack_moment(moment)).pack())
            answer = person.last_callback_answer
            assert answer is not None
            assert answer.show_alert
            assert answer.body == "This time is not offered. Please choose one in the calendar."
        await person.press_data(BookSlot(at=pack_moment(local(9, 10, 15))).pack())
        assert "not offered" in notice(person)
        # A day without free times (Saturday), and no date at all.
        for day in (20261212, 20261399):
            await person.press_data(BookDay(day=day).pack())
            assert "no free times on this day" in notice(person)
        # Another client's appointment: neither opened, moved nor cancelled.
        for action in MineAction:
            await person.press_data(Mine(appointment_id=theirs.id, action=action).pack())
            assert "no longer active" in notice(person)
        await person.press_data(BookMonth(year=2026, month=12, move=theirs.id).pack())
        assert "no longer active" in notice(person)
        await person.press_data(BookConfirm(at=pack_moment(local(9, 10)), move=theirs.id).pack())
        assert "no longer active" in notice(person)
        # A month out of any range shows the nearest one with free days.
        await person.press_data(BookMonth(year=99999, month=77).pack())
        assert person.buttons()[0] == ["December 2026"]
        assert screen.message_id == person.last.message_id
        assert [a.status for a in await booked(app, 742)] == []
        assert (await booked(app, 743))[0].starts_at == local(9, 11)

        # Today at 10:00 is offered but less than 2 hours away: the next free times instead.
        await person.press_data(BookSlot(at=pack_moment(local(7, 10))).pack())
        assert "This time is too close now to book it in the bot" in person.last.body
        assert person.last.button_texts[:2] == ["today at 11:00", "today at 11:30"]
        # Another client's booked time: taken, so the next free ones are offered.
        await person.press_data(BookConfirm(at=pack_moment(local(9, 11))).pack())
        assert "someone has just booked this time" in person.last.body


async def test_an_assigned_visit_is_acknowledged_or_moved_but_not_cancelled(
    app: BotUnderTest,
) -> None:
    officer = await officer_with_reception(app, 751)
    person = await join(app, officer, 752)
    with now_is(MONDAY):
        app.hold_engine()  # the news of the assignment is not the subject here
        where = await service.office(app.db, 751, ALMATY)
        visit = await service.book(
            app.db,
            app.app.engine,
            client_id=752,
            where=where,
            starts_at=local(10, 10),
            rules=app.app.settings.appointment_rules,
            client_zone=ALMATY,
            quiet=None,
            origin=Origin.ASSIGNED,
        )
        [mine] = await person.press("📅 Appointments")
        assert "Your officer assigned this visit. Please confirm that you will come." in mine.body
        assert mine.button_texts[:3] == [
            "✅ I'll be there",
            "📅 I need to reschedule",
            "⚠️ I have a problem",
        ]
        assert "✖️ Cancel" not in mine.button_texts
        await person.press_data(Mine(appointment_id=visit.id, action=MineAction.CANCEL_YES).pack())
        answer = person.last_callback_answer
        assert answer is not None
        assert "cannot be cancelled" in answer.body
        # Acknowledged: it can be moved (the reschedule answer opens this same calendar).
        await app.db.execute(
            "UPDATE appointments SET acknowledged_at = updated_at WHERE id = ?", (visit.id,)
        )
        [mine] = await person.command("appointments")
        assert "you can move it, but not cancel it" in mine.body
        assert mine.button_texts[0] == "🔁 Move"
        assert "✖️ Cancel" not in mine.button_texts
        await person.press_data(BookMonth(year=2026, month=12, move=visit.id).pack())
        await person.press("11")
        await person.press("11:30")
        replies = await person.press(CONFIRM)
        assert "✅ Your appointment is moved." in mine.body
        assert "You can move it in /appointments until" in mine.body
        moved = event_of(ics_of(replies[-1]))
        assert moved["uid"] == visit.uid
        assert moved["sequence"] == 1
        [after] = await booked(app, 752)
        assert after.origin is Origin.ASSIGNED
        assert after.starts_at == local(11, 11, 30)


async def test_a_slot_offered_in_another_message_opens_a_new_screen(app: BotUnderTest) -> None:
    """ap-timed's news (after a day off) offers BookSlot buttons: the press keeps that message."""
    officer = await officer_with_reception(app, 761)
    person = await join(app, officer, 762)
    with now_is(MONDAY):
        [help_text] = await person.command("help")
        assert "/appointments" in help_text.body
        replies = await person.press_data(
            BookSlot(at=pack_moment(local(8, 11))).pack(), message_id=help_text.message_id
        )
        [confirm] = replies
        assert confirm.message_id != help_text.message_id
        assert "Time: tomorrow at 11:00" in confirm.body
        await person.press(CONFIRM)
        assert confirm.body.startswith("✅ You are booked.")
        # Pressed again (the same old button): already theirs.
        await person.press_data(
            BookConfirm(at=pack_moment(local(8, 11))).pack(), message_id=help_text.message_id
        )
        assert "already the time of your appointment" in notice(person)
        # The most upcoming appointments a client may hold: 3.
        for day in ("9", "10"):
            await person.command("appointments")
            await person.press(BOOK)
            await person.press(day)
            await person.press("10:00")
            await person.press(CONFIRM)
        [mine] = await person.command("appointments")
        assert BOOK not in mine.button_texts
        assert len(mine.button_texts) == 3  # one per appointment
        await person.press_data(BookMonth(year=2026, month=12).pack())
        assert "You already have 3 upcoming appointments" in person.last.body


JOURNEYS: dict[str, dict[str, str]] = {
    "kk": {
        "menu": "📅 Қабылдауға жазылу",
        "empty": "📅 Сізде алдағы қабылдау жоқ.",
        "book": "➕ Қабылдауға жазылу",
        "month": "Желтоқсан 2026",
        "weekdays": "дс сс ср бс жм сб жс",
        "next": "Қаңтар ▶️",
        "day_title": "8 желтоқсан, сейсенбі",
        "confirm_head": "Қабылдауды тексеріп, растаңыз:",
        "when": "Уақыты: ертең сағат 10:30",
        "place": f"Мекенжайы: {PLACE}",
        "confirm": "✅ Растау",
        "booked": "✅ Сіз қабылдауға жазылдыңыз.",
        "deadline": "Мерзімі: ертең сағат 08:30",
        "summary": "Пробация инспекторының қабылдауы",
        "later": "Уақыты: 9 желтоқсан, сәрсенбі, 10:30",
        "cancel": "✖️ Болдырмау",
        "cancel_yes": "✖️ Иә, болдырмау",
        "cancelled": "✖️ Қабылдауға жазылу болдырылмады.",
    },
    "ru": {
        "menu": "📅 Запись на приём",
        "empty": "📅 У вас нет предстоящих записей.",
        "book": "➕ Записаться на приём",
        "month": "Декабрь 2026",
        "weekdays": "пн вт ср чт пт сб вс",
        "next": "Январь ▶️",
        "day_title": "Вторник, 8 декабря",
        "confirm_head": "Проверьте и подтвердите запись на приём:",
        "when": "Время: завтра в 10:30",
        "place": f"Адрес: {PLACE}",
        "confirm": "✅ Подтвердить",
        "booked": "✅ Вы записаны на приём.",
        "deadline": "Срок: завтра в 08:30",
        "summary": "Приём у инспектора пробации",
        "later": "Время: среда, 9 декабря, 10:30",
        "cancel": "✖️ Отменить",
        "cancel_yes": "✖️ Да, отменить",
        "cancelled": "✖️ Запись на приём отменена.",
    },
}


@pytest.mark.parametrize("language", sorted(JOURNEYS))
async def test_a_journey_in_the_clients_language(app: BotUnderTest, language: str) -> None:
    say = JOURNEYS[language]
    officer = await officer_with_reception(app, 771)
    person = await join(app, officer, 772, language=language)
    with now_is(MONDAY):
        [empty] = await person.press(say["menu"])
        assert empty.body.startswith(say["empty"])
        await person.press(say["book"])
        rows = person.buttons()
        assert rows[0] == [say["month"]]
        assert rows[1] == say["weekdays"].split()
        assert say["next"] in person.all_buttons_texts()
        await person.press("8")
        assert person.buttons()[0] == [say["day_title"]]
        await person.press("10:30")
        confirm = person.last
        assert confirm.body.startswith(say["confirm_head"])
        assert say["when"] in confirm.body
        assert say["place"] in confirm.body
        replies = await person.press(say["confirm"])
        assert confirm.body.startswith(say["booked"])
        assert say["when"] in confirm.body
        assert say["deadline"] in confirm.body
        [event] = ics_of(replies[-1]).walk("VEVENT")
        assert str(event["SUMMARY"]) == say["summary"]
        assert event.decoded("DTSTART") == local(8, 10, 30)

        # A second appointment two days ahead reads as a date in words.
        await person.press(say["menu"])
        await person.press(say["book"])
        await person.press("9")
        await person.press("10:30")
        assert say["later"] in person.last.body
        await person.press(say["confirm"])
        [listing] = await person.command("appointments")
        assert say["when"] in listing.body
        assert say["later"] in listing.body
        await person.press(listing.button_texts[0])  # the first one's own screen
        await person.press(say["cancel"])
        replies = await person.press(say["cancel_yes"])
        assert listing.body.startswith(say["cancelled"])
        assert str(ics_of(replies[-1])["METHOD"]) == "CANCEL"
