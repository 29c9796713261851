"""Telegram down for a while during timed work: nothing lost, nothing duplicated afterwards.

The fake Bot API has three outages (emulator/faults.py): every call answered 5xx, every
call hanging until the bot's HTTP client gives up, and the port closed (connection
refused). Each runs during check-in reminders, appointment reminders and notices, and a
broadcast; once it is over, every person has exactly what they were due, counted message
by message at the fake.

"A minute" of outage: the engine's tests move the clock with time_machine and call
`run_due()` through a minute of the bot's time (its backoff goes 5, 10, 20, 40 s) while
the outage lasts, so the code path is the real one and the test costs seconds. A broadcast
has its own sender, whose backoff is shortened here; its outage lasts a few real seconds.
A hanging call is given up after the bot's HTTP timeout, set to 1 s here (60 s deployed).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from core.reception import Reception
from db import appointments, checkins
from db.appointments import Origin
from db.checkins import CheckinSchedule
from db.clock import from_db, to_db
from db.staff import add_caseworker
from emulator import FakeBotAPI, Msg
from emulator.params import Params
from services import appointments as appointment_service
from services.checkins import replan
from tests.e2e.test_broadcasts import copies, seed_clients, wait_done
from tests.harness import BotUnderTest, start_bot

ALMATY = ZoneInfo("Asia/Almaty")
MODES = ["5xx", "hang", "refused"]
REMINDER = "Time to check in"
COMING = "✅ I'll be there"
PLACE = "Abai avenue 10, office 5"
RECEPTION = Reception(frozenset(range(5)), time(9, 0), time(12, 0), 30, PLACE, 43.2389, 76.8897)


@pytest.fixture
async def fapp(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    """Quiet hours off (a test may run at any hour); a hanging call is given up after 1 s."""
    async with start_bot(api, tmp_path, quiet_hours="off") as running:
        running.app.bot.session.timeout = 1
        yield running


async def outage(api: FakeBotAPI, mode: str, seconds: float | None = None) -> None:
    """Telegram goes down in one of the three ways, until resumed (or for `seconds`)."""
    if mode == "5xx":
        api.faults.fail_with(502, seconds=seconds)
    elif mode == "hang":
        api.faults.hang(seconds=seconds)
    else:
        await api.faults.refuse_connections(seconds=seconds)


async def clients_of(app: BotUnderTest, officer_id: int, ids: list[int]) -> None:
    """A caseworker and their clients, stored directly; the clients have pressed Start."""
    await add_caseworker(app.db, officer_id, "Officer", actor_id=None)
    await seed_clients(app.db, officer_id, ids, "en")
    for client_id in ids:
        app.user(client_id).record.started = True


async def through_a_minute(
    app: BotUnderTest, traveller: time_machine.Traveller, start: datetime
) -> None:
    """The engine's passes through a minute of its time: each retry due in it fails again."""
    for offset in (0, 5, 15, 35, 60):
        traveller.move_to(start + timedelta(seconds=offset))
        await app.app.engine.run_due()


async def recovered(app: BotUnderTest, traveller: time_machine.Traveller) -> None:
    """Telegram answers again; the clock moves to each retry's time; everything due goes."""
    await app.api.faults.resume()
    for _ in range(10):
        due = await app.db.fetchval(
            "SELECT min(due_at) FROM scheduled_items WHERE status = 'pending' AND attempts > 0"
        )
        if due is None:
            break
        traveller.move_to(from_db(str(due)) + timedelta(seconds=1))
        await app.app.engine.run_due()
    await app.settle()


def texts(api: FakeBotAPI, chat_id: int, needle: str) -> list[Msg]:
    return [m for m in api.outgoing(chat_id) if needle in m.body]


# -- check-in reminders --------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_checkin_reminders_through_a_minute_long_outage_arrive_once(
    fapp: BotUnderTest, mode: str
) -> None:
    app = fapp
    ids = list(range(9110, 9116))
    await clients_of(app, 9101, ids)
    opens_at = datetime.now(UTC) + timedelta(hours=2)
    at_local = opens_at.astimezone(ALMATY).time().replace(second=0, microsecond=0)
    for client_id in ids:
        schedule = CheckinSchedule(client_id, "daily", at_local)
        await replan(app.db, app.app.engine, app.app.settings, schedule, ALMATY)
    planned = await checkins.next_planned(app.db, ids[0])
    assert planned is not None
    start = planned.opens_at + timedelta(seconds=1)

    with time_machine.travel(start, tick=True) as traveller:
        await outage(app.api, mode)
        await through_a_minute(app, traveller, start)
        assert all(texts(app.api, i, REMINDER) == [] for i in ids)
        rows = await app.db.fetchall(
            "SELECT status, last_error, attempts FROM scheduled_items "
            "WHERE kind = 'checkin.remind' AND due_at < ?",  # not tomorrow's, planned meanwhile
            (to_db(start + timedelta(hours=1)),),
        )
        assert len(rows) == len(ids)
        assert {r["status"] for r in rows} == {"pending"}  # kept, to be tried again
        assert {r["last_error"] for r in rows} <= {"server_error", "network"}
        assert min(r["attempts"] for r in rows) >= 4  # tried all through the minute
        # The outage answered the calls (a refused connection never reaches the fake).
        assert mode == "refused" or app.api.faults.spoiled

        await recovered(app, traveller)
        for client_id in ids:
            assert len(texts(app.api, client_id, REMINDER)) == 1, client_id
        # The bot serves again at once: a client answers the reminder.
        replies = await app.user(ids[0]).press("✅ I'm fine — check in")
        assert any("Your check-in is recorded" in r.body for r in replies)
    done = await checkins.get(app.db, planned.id)
    assert done is not None
    assert done.status == "done"


# -- appointment reminders and notices -----------------------------------------------------


def a_monday() -> datetime:
    day = datetime.now(ALMATY).date() + timedelta(days=2)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime.combine(day, time(11, 0), tzinfo=ALMATY).astimezone(UTC)


async def book(app: BotUnderTest, client_id: int, officer_id: int, starts_at: datetime,
               origin: Origin = Origin.BOOKED) -> None:  # fmt: skip
    settings = app.app.settings
    await appointment_service.book(
        app.db,
        app.app.engine,
        client_id=client_id,
        where=await appointment_service.office(app.db, officer_id, ALMATY),
        starts_at=starts_at,
        rules=settings.appointment_rules,
        client_zone=ALMATY,
        quiet=settings.quiet,
        origin=origin,
    )


async def day_before_due(app: BotUnderTest) -> datetime:
    due = await app.db.fetchval(
        "SELECT min(due_at) FROM scheduled_items WHERE kind = 'appointment.remind' "
        "AND json_extract(payload, '$.before') = 1440"
    )
    assert due is not None
    return from_db(str(due))


def reminders(api: FakeBotAPI, chat_id: int) -> list[Msg]:
    return [m for m in api.outgoing(chat_id) if COMING in m.button_texts]


def venues(api: FakeBotAPI, chat_id: int) -> list[Msg]:
    return [m for m in api.outgoing(chat_id) if m.kind == "venue"]


async def booked_clients(app: BotUnderTest, first_officer: int, ids: list[int]) -> datetime:
    """Each client, with an officer of their own, booked on a Monday for a visit ten days
    later at the same hour (so all their reminders fall due together); returns the Monday."""
    monday = a_monday()
    day = monday + timedelta(days=10) - timedelta(hours=2)  # Thursday 09:00 Almaty
    for n, client_id in enumerate(ids):
        await clients_of(app, first_officer + n, [client_id])
        await appointments.save_reception(app.db, first_officer + n, RECEPTION)
        with time_machine.travel(monday, tick=True):
            await book(app, client_id, first_officer + n, day)
    return monday


@pytest.mark.parametrize("mode", MODES)
async def test_appointment_reminders_through_a_minute_long_outage_arrive_once(
    fapp: BotUnderTest, mode: str
) -> None:
    app = fapp
    ids = [9210, 9211, 9212]
    await booked_clients(app, 9201, ids)
    start = await day_before_due(app) + timedelta(seconds=1)
    with time_machine.travel(start, tick=True) as traveller:
        await outage(app.api, mode)
        await through_a_minute(app, traveller, start)
        assert all(reminders(app.api, i) == [] for i in ids)
        await recovered(app, traveller)
    for client_id in ids:  # the day-before reminder: its text and the place's pin, once each
        assert len(reminders(app.api, client_id)) == 1, client_id
        assert len(venues(app.api, client_id)) == 1, client_id


async def test_a_reminder_whose_pin_fails_is_not_sent_twice(fapp: BotUnderTest) -> None:
    """The outage begins between the day-before reminder's two messages (its text went, its
    pin did not): the retry sends the pin alone, not the text again."""
    app = fapp
    await booked_clients(app, 9301, [9310])
    start = await day_before_due(app) + timedelta(seconds=1)
    with time_machine.travel(start, tick=True) as traveller:
        app.api.faults.fail_with(502, methods=["sendVenue"])
        await through_a_minute(app, traveller, start)
        assert len(reminders(app.api, 9310)) == 1
        assert venues(app.api, 9310) == []
        await recovered(app, traveller)
    assert len(reminders(app.api, 9310)) == 1
    assert len(venues(app.api, 9310)) == 1


async def test_an_assigned_visit_whose_text_fails_sends_its_calendar_file_once(
    fapp: BotUnderTest,
) -> None:
    """The assigned-visit notice is a calendar file, then its text: an outage between the two
    retries only the text."""
    app = fapp
    await clients_of(app, 9401, [9410])
    await appointments.save_reception(app.db, 9401, RECEPTION)
    monday = a_monday()
    with time_machine.travel(monday, tick=True) as traveller:
        app.api.faults.fail_with(503, methods=["sendMessage"])
        await book(app, 9410, 9401, monday + timedelta(days=3, hours=-2), Origin.ASSIGNED)
        await through_a_minute(app, traveller, monday)
        await recovered(app, traveller)
    outgoing = app.api.outgoing(9410)
    assert Counter(m.kind for m in outgoing) == Counter({"document": 1, "text": 1})
    assert "set a visit for you" in outgoing[-1].body


# -- a broadcast ---------------------------------------------------------------------------


async def broadcast_with_outage(
    app: BotUnderTest, officer_id: int, ids: list[int], start_outage: Callable[[], Awaitable[None]]
) -> None:
    """The officer broadcasts to `ids`; Telegram goes down after the 10th copy it accepts."""
    api = app.api
    original = api.methods.call
    accepted = 0

    async def counting(method: str, params: Params) -> object:
        nonlocal accepted
        result = await original(method, params)
        if method == "copyMessage":
            accepted += 1
            if accepted == 10:
                await start_outage()
        return result

    officer = await app.caseworker(officer_id, "Aliya")
    await seed_clients(app.db, officer_id, ids, "en")
    for client_id in ids:
        api.user(client_id).record.started = True
    app.app.broadcasts.config.backoff_base = 0.05
    await officer.command("broadcast")
    await officer.press("👥 All my clients")
    await officer.send("Office closed on Monday")
    api.methods.call = counting  # type: ignore[method-assign]
    try:
        await officer.press("📤 Send now")
        await wait_done(app, 1, timeout=60)
    finally:
        api.methods.call = original  # type: ignore[method-assign]
    assert accepted >= 10
    report = await officer.wait_for("is finished", timeout=30)
    assert f"sent {len(ids)} of {len(ids)}" in report.body


@pytest.mark.parametrize("mode", MODES)
async def test_a_broadcast_through_an_outage_reaches_everyone_once(
    fapp: BotUnderTest, mode: str
) -> None:
    app = fapp
    ids = list(range(9510, 9550))

    async def down() -> None:
        await outage(app.api, mode, seconds=2.5)

    await broadcast_with_outage(app, 9501, ids, down)
    assert app.api.faults.spoiled["copyMessage"] >= 1
    counts = Counter(len(copies(app.api, i)) for i in ids)
    assert counts == Counter({1: len(ids)})  # nobody lost, nobody twice


async def test_fault_modes_end_and_the_port_listens_again(api: FakeBotAPI) -> None:
    """The emulator's own outages: what each does to a call, and that each ends."""
    import aiohttp

    url = f"{api.base_url}/bot{api.token}/getMe"
    async with aiohttp.ClientSession() as http:
        api.faults.fail_with(503, methods=["getMe"], seconds=0.3)
        async with http.get(url) as response:
            assert response.status == 503
        await asyncio.sleep(0.4)  # the outage's own length: it ends by itself
        async with http.get(url) as response:
            assert response.status == 200

        api.faults.hang(methods=["getMe"])
        with pytest.raises(TimeoutError):
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=0.3)):
                pass
        assert await api.state.wait_until(lambda: api.faults.holding == 1, 5)
        await api.faults.resume()
        assert await api.state.wait_until(lambda: api.faults.holding == 0, 5)

        await api.faults.refuse_connections()
        with pytest.raises(aiohttp.ClientError):
            async with aiohttp.ClientSession() as fresh, fresh.get(url):
                pass
        await api.faults.resume()
        async with http.get(url) as response:
            assert response.status == 200
    assert api.faults.spoiled["getMe"] == 2  # a refused connection never reaches the fake
    assert [r for r in api.requests if r[0] == "getMe"]  # only the calls that took effect


# -- a relayed message in two parts --------------------------------------------------------


async def test_a_relayed_location_whose_copy_fails_brings_its_header_once(
    fapp: BotUnderTest,
) -> None:
    """A location has no caption, so it is relayed as a header, then the copy: an outage
    between the two retries only the copy."""
    from tests.e2e.test_durable_delivery import MESSAGE, relay_item
    from tests.harness import join

    app = fapp
    officer = await app.caseworker(9601)
    person = await join(app, officer, 9602)
    await person.press(MESSAGE)
    app.api.faults.fail_with(502, methods=["copyMessage"])
    before = len(officer.bot_messages)
    await person.share_location(43.25, 76.95)
    state = await relay_item(app)
    assert state.status.value == "pending"
    await app.api.faults.resume()
    await app.app.engine.run_due(state.item.due_at)
    await person.wait_for("has now been delivered to your officer")
    await app.settle()
    new = officer.bot_messages[before:]
    assert Counter(m.kind for m in new) == Counter({"text": 1, "location": 1}), new


# -- a booking's confirmation --------------------------------------------------------------


async def test_a_booking_confirmed_while_telegram_refuses_replies_is_kept_once(
    fapp: BotUnderTest,
) -> None:
    """The confirmation (its text, the map pin, the .ics) is stored with the booking: while
    Telegram refuses every send (updates still arrive), the booking is kept and so is its
    confirmation, retried through the outage; once Telegram answers, the client gets it
    once, each part once. A second press of the old Confirm books and sends nothing."""
    from tests.e2e.test_appointments_booking import (
        CONFIRM,
        MONDAY,
        booked,
        choose,
        ics_of,
        officer_with_reception,
    )
    from tests.harness import join

    app = fapp
    officer = await officer_with_reception(app, 9801)
    person = await join(app, officer, 9802)
    sends = ["sendMessage", "editMessageText", "sendDocument", "sendLocation",
             "sendVenue", "answerCallbackQuery"]  # fmt: skip
    with time_machine.travel(MONDAY, tick=True) as traveller:
        await person.press("📅 Appointments")
        confirm = await choose(person, "9", "10:30")
        before = len(app.api.outgoing(9802))
        app.api.faults.fail_with(502, methods=sends)
        await person.press(CONFIRM)
        assert len(await booked(app, 9802)) == 1
        assert app.api.faults.spoiled["editMessageText"] >= 1  # the confirmation was tried
        start = app.app.engine.now()
        await through_a_minute(app, traveller, start)
        [row] = await app.db.fetchall(
            "SELECT status, attempts, last_error FROM scheduled_items "
            "WHERE kind = 'appointment.confirm'"
        )
        assert row["status"] == "pending"  # kept, to be tried again
        assert row["attempts"] >= 4
        assert row["last_error"] == "server_error"
        assert len(app.api.outgoing(9802)) == before  # nothing reached the client yet
        assert "Please check and confirm" in confirm.body

        await recovered(app, traveller)
        new = app.api.outgoing(9802)[before:]
        assert [m.kind for m in new] == ["text", "location", "document"], new
        assert new[0].body.startswith("✅ You are booked.")
        assert "Time: Wednesday 9 December, 10:30" in new[0].body
        assert str(ics_of(new[2])["METHOD"]) == "REQUEST"

        # The old Confirm, pressed again: nothing booked, nothing sent twice.
        [data] = [d for row in confirm.inline_buttons for t, d in row if t == CONFIRM and d]
        await person.press_data(data, confirm.message_id)
        await app.settle()
        assert len(await booked(app, 9802)) == 1
        assert app.api.outgoing(9802)[before:] == new
        sent = await app.db.fetchval(
            "SELECT count(*) FROM scheduled_items WHERE kind = 'appointment.confirm'"
        )
        assert sent == 1
