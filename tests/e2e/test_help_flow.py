"""«🆘 I need help»: the client is told "alerted" only when an alert is stored for someone who
can act, the answer and its alerts are one transaction, and an alert that cannot reach the
officer reaches the administrators (security review F3, F4, F15)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from db import checkins, clients, scheduled
from db.scheduled import Status
from emulator import FakeBotAPI
from handlers.checkins.client import CheckinAnswer
from handlers.client_card import CardAction, ClientAction
from tests.e2e.test_caseloads import join
from tests.harness import ADMIN_ID, BotUnderTest, start_bot

HELP = "🆘 I need help"
EMERGENCY = "In an emergency call 112"


async def help_rows(app: BotUnderTest) -> list[tuple[int, str, str | None]]:
    rows = await app.db.fetchall(
        "SELECT recipient_id, status, json_extract(payload, '$.why') AS why FROM scheduled_items "
        "WHERE kind = 'checkin.help' ORDER BY id"
    )
    return [(r["recipient_id"], r["status"], r["why"]) for r in rows]


async def test_the_officer_is_alerted_and_the_client_sees_the_emergency_numbers(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(1101, "Officer")
    person = await join(app, officer, 1102)
    [reply] = await person.press(HELP)
    assert "Your officer has been alerted" in reply.body
    assert EMERGENCY in reply.body
    alert = await officer.wait_for("pressed «I need help»")
    assert alert.button_texts == ["Open client card"]
    await app.settle()
    assert await help_rows(app) == [(1101, "sent", None)]
    assert app.api.outgoing(ADMIN_ID) == []


async def test_help_pressed_on_a_reminder_days_old_still_alerts_the_officer(
    app: BotUnderTest,
) -> None:
    """Telegram sends a press on a message older than ~48 hours without the message (an
    InaccessibleMessage): the alert must not depend on being able to edit it."""
    officer = await app.caseworker(1105, "Officer")
    person = await join(app, officer, 1106)
    await person.command("checkin")
    checkin_id = await app.db.fetchval("SELECT max(id) FROM checkins WHERE client_id = 1106")
    replies = await person.press_data(
        CheckinAnswer(checkin_id=int(checkin_id), answer="help").pack(),
        message_id=person.bot_messages[-1].message_id,
        inaccessible=True,
    )
    text = "\n".join(r.text or "" for r in replies)
    assert "Your officer has been alerted" in text
    assert EMERGENCY in text
    await officer.wait_for("pressed «I need help»")
    await app.settle()
    assert await help_rows(app) == [(1105, "sent", None)]


async def test_an_archived_client_pressing_an_old_help_button_reaches_the_administrators(
    app: BotUnderTest,
) -> None:
    """a03: the reply said "your officer has been alerted" and nothing was stored."""
    officer = await app.caseworker(1111, "Officer")
    person = await join(app, officer, 1112)
    await person.command("checkin")
    checkin_id = await app.db.fetchval("SELECT max(id) FROM checkins WHERE client_id = 1112")
    await officer.press_data(ClientAction(client_id=1112, action=CardAction.ARCHIVE).pack())
    found = await clients.get(app.db, 1112)
    assert found is not None
    assert found.status == "archived"
    admin = await app.admin()
    replies = await person.press_data(
        CheckinAnswer(checkin_id=int(checkin_id), answer="help").pack(),
        message_id=person.bot_messages[-1].message_id,
    )
    text = "\n".join(r.text or "" for r in replies)
    assert "Your officer has been alerted" not in text
    assert "administrators have been alerted" in text
    assert EMERGENCY in text
    alert = await admin.wait_for("pressed «I need help»")
    assert "archived" in alert.body
    assert "Officer" in alert.body  # who their last officer was
    assert alert.button_texts == ["👥 Reassign"]
    await app.settle()
    assert await help_rows(app) == [(ADMIN_ID, "sent", "archived")]


async def test_an_alert_the_officers_telegram_refuses_goes_to_the_administrators(
    app: BotUnderTest,
) -> None:
    """a11: the alert failed with 403 and nobody else heard of it."""
    officer = await app.caseworker(1121, "Officer")
    person = await join(app, officer, 1122)
    officer.deactivate()  # no update reaches the bot: it learns only from the refused send
    admin = await app.admin()
    [reply] = await person.press(HELP)
    assert "Your officer has been alerted" in reply.body
    alert = await admin.wait_for("pressed «I need help»")
    assert "Telegram does not deliver to their officer Officer" in alert.body
    await app.settle()
    rows = await help_rows(app)
    assert (1121, "failed", None) in rows
    assert (ADMIN_ID, "sent", "officer_unreachable") in rows
    # The administrators also learn that this caseworker cannot be reached...
    await admin.wait_for("no longer delivers to the caseworker Officer")
    # ...and the next request goes to them straight away, saying so to the client.
    [again] = await person.press(HELP)
    assert "administrators have been alerted" in again.body
    await app.settle()
    assert [r for r in await help_rows(app) if r[0] == 1121] == [(1121, "failed", None)]


async def test_an_officer_who_blocked_the_bot_is_flagged_and_help_skips_them(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(1131, "Officer")
    person = await join(app, officer, 1132)
    admin = await app.admin()
    officer.block_bot()
    await admin.wait_for("no longer delivers to the caseworker Officer")
    [listing, *_rest] = await admin.command("staff")
    assert "🚫" in listing.body
    [reply] = await person.press(HELP)
    assert "administrators have been alerted" in reply.body
    await admin.wait_for("pressed «I need help»")
    # Writing to the bot again makes the officer reachable, and help goes to them again.
    officer.unblock_bot()
    await officer.command("caseload")
    [reply] = await person.press(HELP)
    assert "Your officer has been alerted" in reply.body


async def test_a_caseworker_removed_since_the_alert_was_stored_is_skipped(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(1141, "Officer")
    person = await join(app, officer, 1142)
    admin = await app.admin()
    app.hold_engine()  # the alert waits for run_due()
    await person.press(HELP)
    # The role goes (as if the CLI removed it) before the engine sends the alert.
    await app.db.execute("UPDATE users SET role = 'client' WHERE telegram_id = 1141")
    await app.app.engine.run_due()
    alert = await admin.wait_for("pressed «I need help»")
    assert "no longer a caseworker" in alert.body
    assert not any("pressed «I need help»" in m.body for m in officer.bot_messages)


async def test_with_nobody_to_alert_the_client_is_told_so_plainly(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    async with start_bot(api, tmp_path, admin_ids=()) as app:
        officer = await app.caseworker(1151, "Officer")
        person = await join(app, officer, 1152)
        await person.command("checkin")
        await officer.press_data(ClientAction(client_id=1152, action=CardAction.ARCHIVE).pack())
        checkin_id = await app.db.fetchval("SELECT max(id) FROM checkins WHERE client_id = 1152")
        [reply] = await person.press_data(
            CheckinAnswer(checkin_id=int(checkin_id), answer="help").pack(),
            message_id=person.bot_messages[-1].message_id,
        )
        assert "could not alert anyone" in reply.body
        assert EMERGENCY in reply.body
        assert await help_rows(app) == []


async def test_the_help_answer_and_its_alert_are_one_transaction(
    app: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F15: if the alert cannot be stored, the help answer is not recorded either, and the
    client is not told "alerted"."""
    officer = await app.caseworker(1161, "Officer")
    person = await join(app, officer, 1162)

    async def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(scheduled, "schedule_in", refuse)
    replies = await person.press(HELP)
    text = "\n".join(r.text or "" for r in replies)
    assert "alerted" not in text
    assert "Sorry, something went wrong" in text
    assert await app.db.fetchval("SELECT count(*) FROM checkins WHERE client_id = 1162") == 0


async def test_a_help_alert_survives_a_refused_first_send(app: BotUnderTest) -> None:
    officer = await app.caseworker(1171, "Officer")
    person = await join(app, officer, 1172)
    app.hold_engine()  # the alert waits for run_due()
    await person.press(HELP)
    app.api.fail_next("sendMessage", 502, html=True)  # a proxy's HTML page, not the API's JSON
    await app.app.engine.run_due()
    item_id = await app.db.fetchval("SELECT id FROM scheduled_items WHERE kind = 'checkin.help'")
    state = await scheduled.get(app.db, int(item_id))
    assert state is not None
    assert (state.status, state.last_error) == (Status.PENDING, "server_error")  # retried
    await app.app.engine.run_due(state.item.due_at)
    await officer.wait_for("pressed «I need help»")
    await app.settle()
    again = await scheduled.get(app.db, int(item_id))
    assert again is not None
    assert again.status is Status.SENT


async def test_a_replayed_help_update_records_one_answer(app: BotUnderTest) -> None:
    """The answer is keyed by its update: handling the same update twice stores one row."""
    officer = await app.caseworker(1181, "Officer")
    await join(app, officer, 1182)
    now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    first = await checkins.answer(app.db, 1182, "help", now, "u42")
    second = await checkins.answer(app.db, 1182, "help", now, "u42")
    assert first.id == second.id
    assert await app.db.fetchval("SELECT count(*) FROM checkins WHERE client_id = 1182") == 1
