"""Appointments, the caseworker's side, end to end: reception hours set through the buttons
(inside working hours), extra slots and days off, /today with attended / no-show, the
client card's visit lines and «📅 Assign a visit», the caseload's "needs attention" order,
and forged presses. Bookings are made through services.appointments (the client's booking
screens are tested in test_appointments_booking.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine
from babel.dates import format_date, get_day_names

from core.reception import Reception
from db import appointments
from db.appointments import Appointment, Origin, Status
from db.clock import utcnow
from emulator import FakeUser, Msg
from handlers.appointments.callbacks import (
    AssignStep,
    AssignVisit,
    MarkAttendance,
    Outcome,
    pack_moment,
)
from services import appointments as service
from tests.e2e.test_caseloads import button_data
from tests.harness import BotUnderTest

ALMATY = ZoneInfo("Asia/Almaty")
WEEKDAYS = frozenset({0, 1, 2, 3, 4})  # the default working days
RECEPTION = Reception(WEEKDAYS, time(10, 0), time(12, 0), 30, "Abai Ave 10, office 5")


@contextmanager
def at(moment: datetime) -> Iterator[object]:
    with time_machine.travel(moment, tick=True) as traveller:
        yield traveller


def day_label(day: date, locale: str = "en", pattern: str = "EEE d MMM") -> str:
    return str(format_date(day, pattern, locale=locale))


def working_day(after_days: int) -> date:
    """The first working day at least `after_days` from today (Almaty)."""
    day = datetime.now(ALMATY).date() + timedelta(days=after_days)
    while day.weekday() not in WEEKDAYS:
        day += timedelta(days=1)
    return day


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ALMATY).astimezone(UTC)


async def book(
    app: BotUnderTest, officer: FakeUser, client: FakeUser, starts_at: datetime
) -> Appointment:
    settings = app.app.settings
    return await service.book(
        app.db,
        app.app.engine,
        client_id=client.id,
        where=await service.office(app.db, officer.id, ALMATY),
        starts_at=starts_at,
        rules=settings.appointment_rules,
        client_zone=ALMATY,
        quiet=settings.quiet,
    )


async def status_of(app: BotUnderTest, appointment: Appointment) -> Status:
    fresh = await appointments.get(app.db, appointment.id)
    assert fresh is not None
    return fresh.status


async def open_reception(officer: FakeUser) -> Msg:
    await officer.command("hours")
    await officer.press("📅 Reception")  # the working hours screen turns into reception's
    return officer.last


async def press(person: FakeUser, text: str) -> Msg:
    """Presses a button whose screen is replaced in place; returns that screen."""
    await person.press(text)
    return person.last


async def caseload(officer: FakeUser) -> Msg:
    """The caseload list (the engine may send something else meanwhile)."""
    replies = await officer.command("caseload")
    [listing] = [m for m in replies if "Your clients" in m.body]
    return listing


async def open_card(officer: FakeUser, label: str) -> Msg:
    listing = await caseload(officer)
    [button] = [b for b in listing.button_texts if label in b]
    await officer.press(button)
    return officer.last


async def test_a_caseworker_sets_reception_hours_inside_working_hours(app: BotUnderTest) -> None:
    officer = await app.caseworker(701)
    screen = await open_reception(officer)
    assert "Reception hours" in screen.body
    assert "Days: none yet" in screen.body
    assert "only working days can be on" in screen.body

    # Saturday is not a working day: it cannot be switched on, and the caseworker is told why.
    await officer.press("🚫 Sat")
    answer = officer.last_callback_answer
    assert answer is not None
    assert answer.show_alert
    assert "not one of your working days" in answer.body
    await officer.press("▫️ Mon")
    await officer.press("▫️ Wed")
    assert "Days: Monday, Wednesday" in officer.last.body

    # A time outside working hours (09:00–18:00) is refused with the reason.
    await officer.press("🕘 Reception time")
    [refused] = await officer.send("08:00-12:00")
    assert "outside your working hours (09:00–18:00)" in refused.body
    [saved] = await officer.send("10:00-12:30")
    assert saved.body.startswith("Saved.")
    assert "Time: 10:00–12:30" in saved.body

    await officer.press("20 min")
    assert "✅ 20 min" in officer.last.button_texts
    # The address is the caseworker's own text: shown escaped, kept as written.
    await officer.press("🏢 Address")
    [saved] = await officer.send("Abai <Ave> 10, office 5")
    assert "Address: Abai <Ave> 10, office 5" in saved.body
    await officer.press("📍 Map pin")
    [saved] = await officer.share_location(43.2567, 76.9286)
    assert "Map pin: set" in saved.body
    # A command typed instead of an answer leaves the question and is handled as usual.
    await officer.press("🕘 Reception time")
    [agenda] = await officer.command("today")
    assert "Visits" in agenda.body

    reception = await appointments.get_reception(app.db, 701)
    assert reception == Reception(
        frozenset({0, 2}),
        time(10, 0),
        time(12, 30),
        20,
        "Abai <Ave> 10, office 5",
        43.2567,
        76.9286,
    )
    # Back to the working hours from the reception screen.
    await open_reception(officer)
    await officer.press("⬅️ Working hours")
    assert "Your working hours" in officer.last.body


async def test_an_extra_slot_and_a_day_off_over_a_booked_visit(app: BotUnderTest) -> None:
    officer = await app.caseworker(711)
    client = await app.join(officer, 712)
    await appointments.save_reception(app.db, 711, RECEPTION)
    day = working_day(1)
    visit = await book(app, officer, client, local(day, 10, 30))

    # An extra slot on the following working day: outside working hours refused, then added.
    extra_day = working_day((day - datetime.now(ALMATY).date()).days + 1)
    await open_reception(officer)
    await officer.press("➕ Extra slot")
    await officer.press(day_label(extra_day))
    [refused] = await officer.send("17:45")  # a 30-minute visit would end after 18:00
    assert "would not fit in your working hours" in refused.body
    [added] = await officer.send("16:00")
    assert "Extra slot added" in added.body
    assert await appointments.extra_slots(app.db, 711, utcnow()) == [local(extra_day, 16)]
    where = await service.office(app.db, 711, ALMATY)
    free = await service.free_slots(app.db, where, extra_day, extra_day, utcnow())
    assert local(extra_day, 16) in free

    # A day off over the booked visit: asked first, then the visit is cancelled and counted.
    await officer.press("🏖 Day off")
    ask = await press(officer, day_label(day))
    assert "1 visit is booked" in ask.body
    done = await press(officer, "✅ Yes, a day off")
    assert "Day off added" in done.body
    assert "1 visit cancelled; the client is told." in done.body
    assert await status_of(app, visit) is Status.CANCELLED
    cancelled = await appointments.get(app.db, visit.id)
    assert cancelled is not None
    assert cancelled.cancelled_by == "day_off"
    assert await appointments.days_off(app.db, 711, day) == [day]
    # The client is told through a stored item (its text is the timed side's).
    news = await app.db.fetchval(
        "SELECT count(*) FROM scheduled_items WHERE kind = ? AND recipient_id = 712",
        (service.NEWS,),
    )
    assert news == 1

    # Both are listed and can be removed.
    listing = await press(officer, "🗓 Days off and extra slots")
    extra_button = f"✖ ➕ {day_label(extra_day)}, 16:00"
    assert f"✖ 🏖 {day_label(day)}" in listing.button_texts
    assert extra_button in listing.button_texts
    await officer.press(extra_button)
    assert extra_button not in officer.last.button_texts
    assert await appointments.extra_slots(app.db, 711, utcnow()) == []


async def test_today_lists_visits_and_marks_move_the_card_and_the_caseload(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(721)
    first = await app.join(officer, 722, label="Case A")
    second = await app.join(officer, 723, label="Case <B>")
    await app.join(officer, 724, label="Case C")
    await appointments.save_reception(app.db, 721, RECEPTION)
    day = working_day(1)
    visit_a = await book(app, officer, first, local(day, 10))
    visit_b = await book(app, officer, second, local(day, 11))

    with at(local(day, 10, 5)):
        [agenda] = await officer.command("today")
        assert "today" in agenda.body
        assert "10:00–10:30 · Case A · ⏳ mark attendance" in agenda.body
        assert "11:00–11:30 · Case <B>" in agenda.body
        # Only the visit that has begun can be marked.
        assert agenda.button_texts.count("✅ Came") == 1
        assert "11:00 · Case <B>" in agenda.button_texts
        # A forged mark on the visit not yet begun changes nothing.
        await officer.press_data(
            MarkAttendance(appointment_id=visit_b.id, outcome=Outcome.NO_SHOW).pack()
        )
        answer = officer.last_callback_answer
        assert answer is not None
        assert "once the visit has begun" in answer.body
        assert await status_of(app, visit_b) is Status.BOOKED

        await officer.press("❌ No-show")
        assert officer.last_callback_answer is not None
        assert officer.last_callback_answer.body == "Marked: did not come."
        assert "Case A · ❌ did not come" in agenda.body  # the agenda was updated in place
        assert await status_of(app, visit_a) is Status.NO_SHOW

        # The no-show raises the client in the caseload and shows in the card's record.
        listing = await caseload(officer)
        assert listing.button_texts[0].startswith("❌ ")
        assert "Case A" in listing.button_texts[0]
        assert "Needing attention: 1." in listing.body
        card = await open_card(officer, "Case A")
        assert "Visits in 30 days: ✅ 0 · ❌ 1" in card.body
        assert "Check-ins in 30 days" in card.body  # beside the check-ins record

        # A mark can be corrected: the client came after all.
        [agenda] = await officer.command("today")
        await officer.press("✅ Came")
        assert "Case A · ✅ came" in officer.last.body
        card = await open_card(officer, "Case A")
        assert "Visits in 30 days: ✅ 1 · ❌ 0" in card.body
        listing = await caseload(officer)
        assert "Needing attention: 0." in listing.body

    # The day picker: the next day has no visits; «Today» comes back.
    with at(local(day, 12)):
        await officer.command("today")
        following = day + timedelta(days=1)
        screen = await press(officer, day_label(following) + " ➡️")
        assert "No visits on this day." in screen.body
        await officer.press("📅 Today")
        assert "Case A" in officer.last.body


async def test_assigning_a_visit_from_the_card(app: BotUnderTest) -> None:
    officer = await app.caseworker(731)
    client = await app.join(officer, 732)
    await appointments.save_reception(app.db, 731, RECEPTION)

    card = await open_card(officer, "Case 17/2026")
    assert "📅 Assign a visit" in card.button_texts
    days = await press(officer, "📅 Assign a visit")
    assert "Choose the day" in days.body
    day_buttons = [b for b in days.button_texts if b not in ("Later ›", "⬅️ Client card")]
    assert len(day_buttons) == 9
    await officer.press(day_buttons[-1])  # the farthest: more than a day ahead
    assert officer.last.button_texts[:4] == ["10:00", "10:30", "11:00", "11:30"]
    confirm = await press(officer, "10:30")
    assert "Assign a visit?" in confirm.body
    assert "Address: Abai Ave 10, office 5" in confirm.body
    confirm_data = button_data(confirm, "✅ Assign")
    done = await press(officer, "✅ Assign")
    assert "✅ Visit assigned" in done.body

    [visit] = await appointments.upcoming_for_client(app.db, 732, utcnow())
    assert visit.origin is Origin.ASSIGNED
    assert visit.acknowledged_at is None
    assert visit.starts_at.astimezone(ALMATY).time() == time(10, 30)
    news = await app.db.fetchval(
        "SELECT count(*) FROM scheduled_items WHERE kind = ? AND recipient_id = 732",
        (service.NEWS,),
    )
    assert news == 1  # the client is told (rendered by the timed side)

    card = await open_card(officer, "Case 17/2026")
    assert "⚠️ Assigned, not acknowledged yet" in card.body

    # The same slot pressed again: taken now, said so, with fresh free times.
    await officer.press_data(confirm_data)
    again = officer.last
    assert "This time was just taken" in again.body
    assert "10:30" not in again.button_texts
    assert "11:00" in again.button_texts

    # Not acknowledged within the window: the client rises in the caseload.
    listing = await caseload(officer)
    assert "Needing attention: 0." in listing.body
    with at(visit.created_at + timedelta(hours=25)):
        listing = await caseload(officer)
        assert "Needing attention: 1." in listing.body
        assert listing.button_texts[0].startswith("⚠️ ")
    del client


async def test_forged_presses_for_another_caseworkers_visits_change_nothing(
    app: BotUnderTest,
) -> None:
    owner = await app.caseworker(741, "Owner")
    client = await app.join(owner, 742)
    await appointments.save_reception(app.db, 741, RECEPTION)
    day = working_day(1)
    visit = await book(app, owner, client, local(day, 10))
    other = await app.caseworker(743, "Other")

    with at(local(day, 10, 10)):
        for outcome in Outcome:
            await other.press_data(
                MarkAttendance(appointment_id=visit.id, outcome=outcome).pack(),
                message_id=other.last.message_id,
            )
            answer = other.last_callback_answer
            assert answer is not None
            assert "no longer active" in answer.body
        assert await status_of(app, visit) is Status.BOOKED
        # Nor can they assign a visit to a client not on their caseload.
        slot = pack_moment(local(day, 11))
        await other.press_data(
            AssignVisit(client_id=742, step=AssignStep.CONFIRM, at=slot).pack(),
            message_id=other.last.message_id,
        )
        answer = other.last_callback_answer
        assert answer is not None
        assert "not on your caseload" in answer.body
        assert len(await appointments.upcoming_for_client(app.db, 742, utcnow())) == 1
        # Their own /today does not show the owner's visit.
        [agenda] = await other.command("today")
        assert "Case 17/2026" not in agenda.body


async def test_reception_hours_in_kazakh(app: BotUnderTest) -> None:
    officer = await app.caseworker(751, language="kk")
    await officer.command("hours")
    screen = await press(officer, "📅 Қабылдау уақыты")
    assert "Қабылдау уақыты" in screen.body
    assert "Күндері: әзірге жоқ: күндерді басыңыз" in screen.body
    monday = str(get_day_names("abbreviated", locale="kk")[0])
    await officer.press(f"▫️ {monday}")
    assert "Күндері: дүйсенбі" in officer.last.body
    saturday = str(get_day_names("abbreviated", locale="kk")[5])
    await officer.press(f"🚫 {saturday}")
    answer = officer.last_callback_answer
    assert answer is not None
    assert "Бұл сіздің жұмыс күніңіз емес" in answer.body

    await officer.press("🕘 Қабылдау сағаттары")
    [refused] = await officer.send("07:00-10:00")
    assert "Бұл жұмыс уақытыңыздан тыс (09:00–18:00)" in refused.body
    [saved] = await officer.send("10:00-12:00")
    assert saved.body.startswith("Сақталды.")
    assert "Уақыты: 10:00–12:00" in saved.body
    reception = await appointments.get_reception(app.db, 751)
    assert (reception.weekdays, reception.starts, reception.ends) == (
        frozenset({0}),
        time(10, 0),
        time(12, 0),
    )
    [agenda] = await officer.command("today")
    assert "📅 Қабылдау:" in agenda.body
    assert "бүгін" in agenda.body


async def test_visits_marked_and_assigned_in_russian(app: BotUnderTest) -> None:
    officer = await app.caseworker(761)
    client = await app.join(officer, 762, label="Дело 5")
    await officer.command("language")
    await officer.press("Русский")
    await appointments.save_reception(app.db, 761, RECEPTION)
    day = working_day(1)
    visit = await book(app, officer, client, local(day, 11, 30))

    with at(local(day, 11, 40)):
        [agenda] = await officer.command("today")
        assert "📅 Приём:" in agenda.body
        assert "11:30–12:00 · Дело 5 · ⏳ отметьте явку" in agenda.body
        await officer.press("❌ Неявка")
        assert officer.last_callback_answer is not None
        assert officer.last_callback_answer.body == "Отмечено: неявка."
        assert "Дело 5 · ❌ неявка" in agenda.body
        assert await status_of(app, visit) is Status.NO_SHOW
        replies = await officer.command("caseload")
        [listing] = [m for m in replies if "Ваши клиенты" in m.body]
        assert "❌ неявка на приём" in listing.body
        assert listing.button_texts[0].startswith("❌ ")
        await officer.press(listing.button_texts[0])
        card = officer.last
        assert "Приёмы за 30 дней: ✅ 0 · ❌ 1" in card.body

        days = await press(officer, "📅 Назначить приём")
        assert "Выберите день (показаны только дни со свободным временем)." in days.body
        await officer.press(days.button_texts[2])
        await officer.press("10:00")
        assert "Назначить приём?" in officer.last.body
        done = await press(officer, "✅ Назначить")
        assert "✅ Приём назначен" in done.body
        await officer.press("⬅️ Карточка клиента")
        assert "⚠️ Назначен, ещё не подтверждён" in officer.last.body
