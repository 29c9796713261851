"""Check-ins end to end: schedules set in the bot, reminders on the engine, answers, escalations.

Time is moved with time-machine (every "now" in the application reads the patched clock)
and the engine is driven with `run_due()`, so the test decides when things are due.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

from db import checkins, clients
from db.checkins import Checkin
from db.clock import from_db
from emulator import FakeBotAPI, FakeUser
from handlers.checkins.client import CheckinAnswer
from handlers.client_card import CardAction, ClientAction
from tests.e2e.test_caseloads import button_data, join
from tests.harness import BotUnderTest, start_bot

ALMATY = ZoneInfo("Asia/Almaty")
FINE = "✅ I'm fine — check in"
HELP = "🆘 I need help"


@contextmanager
def at(moment: datetime) -> Iterator[object]:
    with time_machine.travel(moment, tick=True) as traveller:
        yield traveller


def early_morning() -> datetime:
    """06:00 in Almaty, tomorrow: a schedule set then for later in the day starts that day,
    whenever the suite runs (a test that set one at the wall clock's time failed in the
    hour before it)."""
    tomorrow = datetime.now(ALMATY).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(6, 0), tzinfo=ALMATY)


def next_local(hour: int, minute: int = 0) -> datetime:
    """The next time the clock in Almaty shows hour:minute, at least an hour from now (UTC)."""
    now = datetime.now(UTC)
    local = now.astimezone(ALMATY)
    candidate = datetime.combine(local.date(), time(hour, minute), tzinfo=ALMATY)
    while candidate.astimezone(UTC) <= now + timedelta(hours=1):
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


async def open_schedule(officer: FakeUser, client_label: str = "Case 17/2026") -> None:
    [listing] = await officer.command("caseload")
    [button] = [b for b in listing.button_texts if client_label in b]
    await officer.press(button)
    await officer.press("⏰ Check-ins")


async def set_daily(officer: FakeUser, hhmm: str) -> None:
    await open_schedule(officer)
    await officer.press("📅 Every day")
    [saved] = await officer.send(hhmm)
    assert saved.body.startswith("Saved.")


async def planned(app: BotUnderTest, client_id: int) -> Checkin:
    upcoming = await checkins.next_planned(app.db, client_id)
    assert upcoming is not None
    return upcoming


async def digest_due(app: BotUnderTest) -> datetime:
    """When the pending missed-check-in digest goes out (in the caseworker's working hours)."""
    due = await app.db.fetchval(
        "SELECT due_at FROM scheduled_items WHERE kind = 'checkin.digest' AND status = 'pending'"
    )
    assert due is not None, "no digest is pending"
    return from_db(str(due))


async def test_a_daily_check_in_fires_at_local_time_and_is_confirmed(app: BotUnderTest) -> None:
    officer = await app.caseworker(601)
    person = await join(app, officer, 602)
    with at(early_morning()):
        await set_daily(officer, "10:00")
        checkin = await planned(app, 602)
        expected = next_local(10)
    assert checkin.opens_at == expected
    assert checkin.closes_at == expected + timedelta(hours=12)
    assert "every day at 10:00" in officer.last.body

    with at(checkin.opens_at + timedelta(seconds=1)):
        report = await app.app.engine.run_due()
        assert report.sent >= 1
        reminder = person.last
        assert "Time to check in" in reminder.body
        # the window closes 12 hours later, said in words and 24-hour time
        assert "You can check in until today at 22:00." in reminder.body
        assert reminder.button_texts == [FINE, HELP]
        replies = await person.press(FINE)
    assert any("Your check-in is recorded" in r.body for r in replies)
    done = await checkins.get(app.db, checkin.id)
    assert done is not None
    assert done.status == "done"
    # The schedule goes on: tomorrow's check-in is planned.
    following = await planned(app, 602)
    assert following.opens_at == expected + timedelta(days=1)
    with at(checkin.opens_at + timedelta(minutes=1)):
        # The client sees their schedule; the caseload shows the 30-day record.
        [help_text] = await person.command("help")
        assert "Your check-ins: every day at 10:00." in help_text.body
        [listing] = await officer.command("caseload")
        assert any("✅1 ❗0" in b for b in listing.button_texts)


async def test_i_need_help_alerts_the_caseworker_at_once(app: BotUnderTest) -> None:
    officer = await app.caseworker(611, "Officer")
    person = await join(app, officer, 612)
    await set_daily(officer, "11:00")
    checkin = await planned(app, 612)
    with at(checkin.opens_at + timedelta(minutes=5)):
        await app.app.engine.run_due()
        replies = await person.press(HELP)
        assert any("112" in r.body for r in replies)
        await app.app.engine.run_due()
    alert = officer.last
    assert "pressed «I need help»" in alert.body
    assert alert.button_texts == ["Open client card"]
    # The card comes as a new message: the alert stays in the chat as it was.
    [card] = await officer.press("Open client card")
    assert card.message_id != alert.message_id
    assert "🆘 At the last check-in the client asked for help." in card.body
    assert alert.edited == 0
    assert "pressed «I need help»" in alert.body
    [listing] = await officer.command("caseload")
    assert any(b.startswith("🆘") for b in listing.button_texts)


async def test_follow_up_then_missed_check_ins_reach_the_caseworker_in_one_digest(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(621)
    first = await join(app, officer, 622)
    await set_daily(officer, "09:00")
    second = await join(app, officer, 623, label="Case 623")
    await open_schedule(officer, "Case 623")
    await officer.press("📅 Every day")
    await officer.send("09:00")
    one, two = await planned(app, 622), await planned(app, 623)
    assert one.opens_at == two.opens_at

    with at(one.opens_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
    with at(one.opens_at + timedelta(hours=6, seconds=1)):
        await app.app.engine.run_due()
    for person in (first, second):
        assert "A reminder: please check in" in person.last.body
    with at(one.closes_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
    for checkin_id in (one.id, two.id):
        missed = await checkins.get(app.db, checkin_id)
        assert missed is not None
        assert missed.status == "missed"
    before = len(officer.bot_messages)
    with at(await digest_due(app) + timedelta(seconds=1)):
        await app.app.engine.run_due()
    digests = [m for m in officer.bot_messages[before:] if "Missed check-ins" in m.body]
    assert len(digests) == 1  # one message for both clients, not a flood
    assert "Missed check-ins: 2" in digests[0].body
    digest = digests[0]
    [card] = await officer.press_data(button_data(digest, "Case 623"), message_id=digest.message_id)
    assert card.message_id != digest.message_id
    assert "Case 623" in card.body
    assert digest.edited == 0
    assert "Missed check-ins: 2" in digest.body
    [listing] = await officer.command("caseload")
    assert sum(b.startswith("❗") for b in listing.button_texts) == 2


async def test_weekdays_and_every_n_days_are_saved_as_chosen(app: BotUnderTest) -> None:
    officer = await app.caseworker(641)
    await join(app, officer, 642)
    await open_schedule(officer)
    await officer.press("🗓 Chosen weekdays")
    await officer.press("Next ▶️")
    assert officer.last_callback_answer is not None
    assert officer.last_callback_answer.text == "Choose at least one day."
    await officer.press("▫️ Mon")
    await officer.press("▫️ Wed")
    await officer.press("▫️ Fri")
    await officer.press("✅ Fri")  # chosen, then not
    [ask] = await officer.press("Next ▶️")
    assert ask.body.startswith("At what time?")
    [saved] = await officer.send("09:30")
    assert "on Monday, Wednesday at 09:30" in saved.body
    schedule = await checkins.get_schedule(app.db, 642)
    assert schedule is not None
    assert (schedule.pattern, schedule.weekdays) == ("weekdays", frozenset({0, 2}))

    await officer.press("🔁 Every N days")
    [again] = await officer.send("31")
    assert again.text == "Please send a number from 2 to 30."
    await officer.send("3")
    [saved] = await officer.send("10:00")
    assert "every 3 days at 10:00" in saved.body
    schedule = await checkins.get_schedule(app.db, 642)
    assert schedule is not None
    assert (schedule.pattern, schedule.every_n, schedule.weekdays) == (
        "every_n_days",
        3,
        frozenset(),
    )
    # The card's way back edits the schedule screen in place.
    screen = officer.last
    assert await officer.press("⬅️ Back to card") == []
    assert "Case 17/2026" in screen.body
    assert "⏰ Check-ins" in screen.button_texts


async def test_a_check_in_in_quiet_hours_moves_to_eight_in_the_morning(app: BotUnderTest) -> None:
    officer = await app.caseworker(631)
    await join(app, officer, 632)
    with at(early_morning()):
        await set_daily(officer, "23:30")
        checkin = await planned(app, 632)
        assert checkin.planned_at == next_local(23, 30)
    assert checkin.opens_at.astimezone(ALMATY).time() == time(8, 0)
    assert checkin.opens_at - checkin.planned_at == timedelta(hours=8, minutes=30)


async def test_checkin_command_counts_for_the_open_window_or_as_an_extra(app: BotUnderTest) -> None:
    officer = await app.caseworker(641)
    person = await join(app, officer, 642)
    [reply] = await person.command("checkin")
    assert "extra check-in" in reply.body
    await set_daily(officer, "12:00")
    checkin = await planned(app, 642)
    with at(checkin.opens_at + timedelta(minutes=1)):
        await app.app.engine.run_due()
        [reply] = await person.send("✅ Check in")
        assert "Your check-in is recorded" in reply.body
        assert "every day at 12:00" in reply.body
    done = await checkins.get(app.db, checkin.id)
    assert done is not None
    assert done.status == "done"


async def test_location_is_asked_only_with_the_clients_consent(app: BotUnderTest) -> None:
    officer = await app.caseworker(651)
    person = await join(app, officer, 652)
    await set_daily(officer, "10:30")
    await officer.press("📍 Location: off")
    assert "Location asked: yes" in officer.last.body
    checkin = await planned(app, 652)
    with at(checkin.opens_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
        replies = await person.press(FINE)
        assert any("share your location" in r.body for r in replies)
        await person.press("Yes, I agree")
        [thanks] = await person.share_location(50.28, 57.17)
    assert "location is added" in thanks.body
    row = await app.db.fetchone(
        "SELECT latitude, longitude FROM checkins WHERE id = ?", (checkin.id,)
    )
    assert row is not None
    assert tuple(row) == (50.28, 57.17)


async def test_pausing_stops_reminders(app: BotUnderTest) -> None:
    officer = await app.caseworker(661)
    person = await join(app, officer, 662)
    await set_daily(officer, "14:00")
    checkin = await planned(app, 662)
    await officer.press("⏸ Pause")
    assert "(paused)" in officer.last.body
    before = len(person.bot_messages)
    with at(checkin.closes_at + timedelta(hours=1)):
        await app.app.engine.run_due()
    assert len(person.bot_messages) == before
    assert await checkins.get(app.db, checkin.id) is None  # never sent, so not kept
    assert await checkins.next_planned(app.db, 662) is None
    await officer.press("▶️ Resume")
    assert await checkins.next_planned(app.db, 662) is not None


async def test_a_restart_in_the_middle_neither_loses_nor_repeats_a_reminder(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    async with start_bot(api, tmp_path) as first:
        officer = await first.caseworker(671)
        person = await join(first, officer, 672)
        await set_daily(officer, "15:00")
        checkin = await planned(first, 672)
    # The bot is down when the reminder is due, and comes back within the window.
    with at(checkin.opens_at + timedelta(minutes=2)):
        async with start_bot(api, tmp_path) as second:
            await second.app.engine.run_due()
            await second.app.engine.run_due()
        async with start_bot(api, tmp_path) as third:
            await third.app.engine.run_due()
    reminders = [m for m in person.bot_messages if "Time to check in" in m.body]
    assert len(reminders) == 1


async def test_a_client_who_cannot_be_reached_is_marked_and_the_caseworker_told(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(681)
    person = await join(app, officer, 682)
    await set_daily(officer, "16:00")
    checkin = await planned(app, 682)
    person.deactivate()
    with at(checkin.opens_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
    found = await clients.get(app.db, 682)
    assert found is not None
    assert found.unreachable_since is not None
    assert "no longer delivers" in officer.last.body


async def test_a_reminder_button_of_someone_else_is_refused(app: BotUnderTest) -> None:
    officer = await app.caseworker(691)
    victim = await join(app, officer, 692)
    await set_daily(officer, "17:00")
    other = await app.client(693)
    theirs = await planned(app, 692)
    await other.press_data(
        CheckinAnswer(checkin_id=theirs.id, answer="ok").pack(), message_id=other.last.message_id
    )
    assert other.last_callback_answer is not None
    assert "no longer active" in other.last_callback_answer.body
    untouched = await checkins.get(app.db, theirs.id)
    assert untouched is not None
    assert untouched.status == "scheduled"
    assert victim.last is not None


async def test_every_check_in_kind_survives_a_refused_first_send(app: BotUnderTest) -> None:
    """A 5xx on the reminder used to drop it: it was marked open before the send, so the
    retry found it open. Each kind is refused once and must still do its work."""
    officer = await app.caseworker(1301)
    person = await join(app, officer, 1302)
    await set_daily(officer, "09:00")
    checkin = await planned(app, 1302)
    engine = app.app.engine

    async def refused_then_retried(moment: datetime) -> None:
        with at(moment):
            app.api.fail_next("sendMessage", 502)
            first = await engine.run_due()
            assert first.retried >= 1, first
        with at(moment + timedelta(minutes=6)):
            await engine.run_due()

    await refused_then_retried(checkin.opens_at + timedelta(seconds=1))
    reminders = [m for m in person.bot_messages if "Time to check in" in m.body]
    assert len(reminders) == 1
    opened = await checkins.get(app.db, checkin.id)
    assert opened is not None
    assert opened.status == "open"
    assert (await planned(app, 1302)).opens_at == checkin.opens_at + timedelta(days=1)

    await refused_then_retried(checkin.opens_at + timedelta(hours=6, seconds=1))
    assert "A reminder: please check in" in person.last.body

    with at(checkin.closes_at + timedelta(seconds=1)):
        await engine.run_due()
    await refused_then_retried(await digest_due(app) + timedelta(seconds=1))
    digests = [m for m in officer.bot_messages if "Missed check-ins: 1" in m.body]
    assert len(digests) == 1


async def test_archiving_and_restoring_keeps_check_ins_honest(app: BotUnderTest) -> None:
    """a23: after archive and restore the schedule was dead and a false miss was reported."""
    officer = await app.caseworker(1311)
    person = await join(app, officer, 1312)
    await set_daily(officer, "10:00")
    first = await planned(app, 1312)
    await officer.press_data(ClientAction(client_id=1312, action=CardAction.ARCHIVE).pack())
    pending = await app.db.fetchval(
        "SELECT count(*) FROM scheduled_items WHERE recipient_id = 1312 AND status = 'pending' "
        "AND kind LIKE 'checkin.%'"
    )
    assert pending == 0
    assert await checkins.next_planned(app.db, 1312) is None
    with at(first.opens_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
        assert not any("Time to check in" in m.body for m in person.bot_messages)
        await officer.press_data(ClientAction(client_id=1312, action=CardAction.RESTORE).pack())
    upcoming = await planned(app, 1312)
    assert upcoming.opens_at == first.opens_at + timedelta(days=1)
    with at(first.closes_at + timedelta(hours=1, seconds=5)):
        await app.app.engine.run_due()
        await app.app.engine.run_due()
    assert not any("Missed" in m.body for m in officer.bot_messages)
    with at(upcoming.opens_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
    assert "Time to check in" in person.last.body


async def test_an_open_check_in_ends_unmissed_when_the_client_is_archived(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(1321)
    await join(app, officer, 1322)
    await set_daily(officer, "10:00")
    first = await planned(app, 1322)
    with at(first.opens_at + timedelta(seconds=1)):
        await app.app.engine.run_due()
        await officer.press_data(ClientAction(client_id=1322, action=CardAction.ARCHIVE).pack())
    with at(first.closes_at + timedelta(hours=1, seconds=5)):
        await app.app.engine.run_due()
        await app.app.engine.run_due()
    ended = await checkins.get(app.db, first.id)
    assert ended is not None
    assert ended.status == "cancelled"
    assert not any("Missed" in m.body for m in officer.bot_messages)


async def test_a_long_outage_resumes_the_schedule_instead_of_ending_it(app: BotUnderTest) -> None:
    officer = await app.caseworker(1331)
    person = await join(app, officer, 1332)
    await set_daily(officer, "10:00")
    first = await planned(app, 1332)
    # The bot was down for three days: the first reminder's window is long over.
    with at(first.opens_at + timedelta(days=3, hours=1)):
        await app.app.engine.run_due()
        await app.app.engine.run_due()
    # The window still open today got its reminder; tomorrow is planned; no row per lost day.
    assert "Time to check in" in person.last.body
    upcoming = await planned(app, 1332)
    assert upcoming.opens_at == first.opens_at + timedelta(days=4)
    assert await app.db.fetchval("SELECT count(*) FROM checkins WHERE client_id = 1332") == 3
