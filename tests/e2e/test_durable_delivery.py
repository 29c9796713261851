"""Relayed messages and notices are stored first and retried; the sender always learns the
outcome; the writing state cannot misdirect a note (security review F1, F2, F7, F8)."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from db import clients, scheduled
from db.scheduled import Status
from handlers.client_card import ClientCard
from handlers.messaging.callbacks import ClientMessages, MessagesAction
from services.assignment import reassign_client
from services.reachability import report_unreachable
from tests.e2e.test_caseloads import invite, join
from tests.harness import ADMIN_ID, BotUnderTest

MESSAGE = "✉️ Message my officer"


async def relay_item(app: BotUnderTest) -> scheduled.ItemState:
    item_id = await app.db.fetchval(
        "SELECT id FROM scheduled_items WHERE kind = 'relay.message' ORDER BY id DESC LIMIT 1"
    )
    state = await scheduled.get(app.db, int(item_id))
    assert state is not None
    return state


async def delivery_of_last_message(app: BotUnderTest) -> str:
    return str(await app.db.fetchval("SELECT delivery FROM messages ORDER BY id DESC LIMIT 1"))


async def test_a_relay_refused_with_502_is_kept_retried_and_the_client_told_twice(
    app: BotUnderTest,
) -> None:
    """a04: the row stayed 'pending' forever and the client got the generic apology."""
    officer = await app.caseworker(1201)
    person = await join(app, officer, 1202)
    await person.press(MESSAGE)
    app.api.fail_next("sendMessage", 502)
    [reply] = await person.send("urgent: I was evicted")
    assert "keeps trying" in reply.body
    assert "112" in reply.body
    assert not any("evicted" in m.body for m in officer.bot_messages)
    state = await relay_item(app)
    assert (state.status, state.last_error) == (Status.PENDING, "server_error")
    assert await delivery_of_last_message(app) == "pending"

    await app.app.engine.run_due(state.item.due_at)
    relayed = await officer.wait_for("urgent: I was evicted")
    assert relayed.button_texts == ["↩️ Reply", "🗂 Card"]
    await person.wait_for("has now been delivered to your officer")
    await app.settle()
    assert await delivery_of_last_message(app) == "delivered"


async def test_an_html_502_from_a_proxy_is_treated_as_a_server_error(app: BotUnderTest) -> None:
    officer = await app.caseworker(1211)
    person = await join(app, officer, 1212)
    await person.press(MESSAGE)
    app.api.fail_next("sendMessage", 502, html=True)
    [reply] = await person.send("hello")
    assert "keeps trying" in reply.body
    state = await relay_item(app)
    assert (state.status, state.last_error) == (Status.PENDING, "server_error")


async def test_a_lost_answer_is_retried_and_counted_as_a_possible_duplicate(
    app: BotUnderTest,
) -> None:
    """a12: Telegram took the message but the answer was lost; the client was told it failed."""
    officer = await app.caseworker(1221)
    person = await join(app, officer, 1222)
    await person.press(MESSAGE)
    app.api.drop_connection_next("sendMessage")
    [reply] = await person.send("please call me")
    assert "keeps trying" in reply.body
    assert app.app.engine.counters.ambiguous == 1
    state = await relay_item(app)
    await app.app.engine.run_due(state.item.due_at)
    await person.wait_for("has now been delivered")
    copies = [m for m in officer.bot_messages if "please call me" in m.body]
    assert 1 <= len(copies) <= 2  # Telegram has no idempotency key: at most one duplicate


async def test_a_message_that_finally_cannot_be_delivered_is_reported_to_the_sender(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(1231)
    person = await join(app, officer, 1232, label="Dana")
    await officer.press_data(ClientMessages(client_id=1232, action=MessagesAction.WRITE).pack())
    app.api.fail_next("sendMessage", 503)
    [reply] = await officer.send("Your appointment is on Monday")
    assert "keeps trying to deliver it to Dana" in reply.body
    person.block_bot()
    await officer.wait_for("no longer delivers to Dana")
    state = await relay_item(app)
    await app.app.engine.run_due(state.item.due_at)
    told = await officer.wait_for("❌ Not delivered")
    assert "To: Dana" in told.body
    await app.settle()
    assert await delivery_of_last_message(app) == "failed"


async def test_a_client_whose_officer_is_no_longer_a_caseworker_is_told_and_admins_asked(
    app: BotUnderTest,
) -> None:
    """F1: messages went on reaching a person who was no longer staff."""
    officer = await app.caseworker(1241, "Gone Officer")
    person = await join(app, officer, 1242)
    admin = await app.admin()
    await app.db.execute("UPDATE users SET role = 'client' WHERE telegram_id = 1241")
    await person.press(MESSAGE)
    [reply] = await person.send("I live at 12 Abai street")
    assert "no longer works with you" in reply.body
    assert not any("Abai" in m.body for m in officer.bot_messages)
    asked = await admin.wait_for("no longer a caseworker")
    assert asked.button_texts == ["👥 Reassign"]
    await app.settle()
    assert await delivery_of_last_message(app) == "failed"


async def test_writing_ends_when_the_caseworker_opens_another_client(app: BotUnderTest) -> None:
    """a21: a note about Bob, typed on Bob's card, reached Alice."""
    officer = await app.caseworker(1251)
    alice = await join(app, officer, 1252, label="Alice")
    token = await invite(officer, "Bob")
    bob = app.user(1253, first_name="Bob")
    await bob.start(token)
    await bob.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    await officer.press_data(ClientMessages(client_id=1252, action=MessagesAction.WRITE).pack())
    assert "for Alice" in officer.last.body
    await officer.command("caseload")
    await officer.press_data(ClientCard(client_id=1253).pack())
    before = len(alice.bot_messages)
    [reply] = await officer.send("Bob: your drug test on Friday was positive")
    assert "Nothing was sent" in reply.body
    assert len(alice.bot_messages) == before
    assert len([m for m in bob.bot_messages if "drug test" in m.body]) == 0


async def test_writing_to_a_client_expires(app: BotUnderTest) -> None:
    officer = await app.caseworker(1261)
    person = await join(app, officer, 1262, label="Alice")
    await officer.press_data(ClientMessages(client_id=1262, action=MessagesAction.WRITE).pack())
    with time_machine.travel(timedelta(minutes=16), tick=True):
        [reply] = await officer.send("A note for later")
    assert "Nothing was sent" in reply.body
    assert not any("A note for later" in m.body for m in person.bot_messages)


async def test_an_unreachable_notice_survives_a_502_and_is_sent_once(app: BotUnderTest) -> None:
    """a18: a 502 lost the notice, and the flag, already set, silenced every later one."""
    officer = await app.caseworker(1271)
    person = await join(app, officer, 1272)
    app.hold_engine()  # the notice waits for run_due()
    person.block_bot()
    await app.api.wait_idle()
    found = await clients.get(app.db, 1272)
    assert found is not None
    assert found.unreachable_since is not None
    app.api.fail_next("sendMessage", 502)
    await app.app.engine.run_due()
    notice_id = await app.db.fetchval("SELECT max(id) FROM scheduled_items WHERE kind = 'notice'")
    state = await scheduled.get(app.db, int(notice_id))
    assert state is not None
    assert state.status is Status.PENDING
    await app.app.engine.run_due(state.item.due_at)
    await officer.wait_for("no longer delivers")
    # A later refusal (a reminder bouncing) does not repeat it.
    await report_unreachable(app.db, app.app.engine, 1272)
    await app.app.engine.run_due()
    told = [m for m in officer.bot_messages if "no longer delivers" in m.body]
    assert len(told) == 1
    # Its payload is emptied once sent: notices keep no names or ids afterwards.
    await app.settle()
    sent = await scheduled.get(app.db, int(notice_id))
    assert sent is not None
    assert sent.item.payload == {}


async def test_admin_sees_the_officerless_client_and_can_reassign(app: BotUnderTest) -> None:
    first = await app.caseworker(1281, "First")
    await app.caseworker(1282, "Second")
    person = await join(app, first, 1283)
    admin = await app.admin()
    await app.db.execute("UPDATE users SET role = 'client' WHERE telegram_id = 1281")
    await person.press(MESSAGE)
    await person.send("hello?")
    await admin.wait_for("no longer a caseworker")
    await admin.press("👥 Reassign")
    await admin.press("Second · 0")
    moved = await clients.get(app.db, 1283)
    assert moved is not None
    assert moved.caseworker_id == 1282
    assert admin.id == ADMIN_ID


async def test_a_message_waiting_for_an_officer_follows_the_client_to_the_new_one(
    app: BotUnderTest,
) -> None:
    first = await app.caseworker(1291, "First")
    second = await app.caseworker(1292, "Second")
    person = await join(app, first, 1293)
    await person.press(MESSAGE)
    app.api.fail_next("sendMessage", 502)
    [reply] = await person.send("are you there?")
    assert "keeps trying" in reply.body
    await reassign_client(app.db, 1293, 1292, actor_id=None)
    state = await relay_item(app)
    await app.app.engine.run_due(state.item.due_at)
    await second.wait_for("are you there?")
    await person.wait_for("has now been delivered")
    assert not any("are you there?" in m.body for m in first.bot_messages)
