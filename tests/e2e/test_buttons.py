"""Buttons across features: a press on a button of an older version is refused, never
misread or met with silence; a reminder's «I need help» from before the versions still works."""

from __future__ import annotations

from db import users
from handlers.checkins.client import CheckinAnswerV0
from handlers.hours import HoursDay
from handlers.invite import SkipLabel
from tests.e2e.test_caseloads import join
from tests.harness import BotUnderTest

STALE = "This button is no longer active. Please use the menu."


async def test_a_help_press_on_a_reminder_from_before_the_versions_still_alerts(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(1501, "Officer")
    person = await join(app, officer, 1502)
    await person.command("checkin")
    checkin_id = await app.db.fetchval("SELECT max(id) FROM checkins WHERE client_id = 1502")
    old_help = CheckinAnswerV0(checkin_id=int(checkin_id), answer="help").pack()
    assert old_help == f"ci:{checkin_id}:help"  # what reminders carried before
    replies = await person.press_data(old_help, message_id=person.bot_messages[-1].message_id)
    assert any("Your officer has been alerted" in r.body for r in replies)
    await officer.wait_for("pressed «I need help»")


async def test_buttons_of_an_older_version_are_refused_and_change_nothing(
    app: BotUnderTest,
) -> None:
    person = await app.client(1511, "en")
    await person.command("language")  # a message with buttons to press on
    for data in ("del:1", "lang:kk", "consent:agree", "dircard:1", "ci1:1:maybe", "lg1:xx"):
        replies = await person.press_data(data)
        assert replies == []
        assert person.last_callback_answer is not None
        assert person.last_callback_answer.text == STALE, data
        assert person.last_callback_answer.show_alert
    kept = await users.get(app.db, 1511)
    assert kept is not None  # «del:1» was the old «Yes, delete my data»
    assert kept.language == "en"
    assert app.api.unanswered_callbacks == []


async def test_presses_that_went_unanswered_are_refused(app: BotUnderTest) -> None:
    officer = await app.caseworker(1521)
    [question] = await officer.command("invite")
    [_card] = [m for m in await officer.press("Skip") if m.kind == "photo"]
    # The same «Skip» again (the invitation is made): once silence, now the refusal.
    await officer.press_data(SkipLabel().pack(), message_id=question.message_id)
    assert officer.last_callback_answer is not None
    assert officer.last_callback_answer.text == STALE
    await officer.command("hours")
    await officer.press_data(HoursDay(day=9).pack())
    assert officer.last_callback_answer is not None
    assert officer.last_callback_answer.text == STALE
    assert app.api.unanswered_callbacks == []
