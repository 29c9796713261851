"""Privacy and invitations around people and roles changing (audit F1, F11, F17–F22).

Each test started as a reproduction in the security audit (a01, a02, a07, a08, a14, a15,
a16), turned round to assert the fixed behaviour.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from db import clients, users, working_hours
from db.clock import to_db
from db.directory_csv import write_csv
from db.staff import remove_caseworker
from db.working_hours import WorkingHours
from handlers.client_card import CardAction, ClientAction
from handlers.invite import InvitationRevoke
from handlers.messaging.callbacks import ClientMessages, MessagesAction
from tests.e2e.test_directory import row as csv_row
from tests.e2e.test_directory import tri
from tests.harness import BotUnderTest, invite, join

NOT_VALID = "This invitation link is not valid. Check the link or ask your officer for a new one."
EXPIRED = "This invitation has expired. Ask your officer for a new one."


# -- F1: a removed caseworker's invitations ---------------------------------------------------


async def test_a_removed_caseworkers_link_no_longer_links_anyone(app: BotUnderTest) -> None:
    """a01: the person cannot join (and then write to) someone who is no longer staff."""
    officer = await app.caseworker(7001, "Fired Officer")
    token = await invite(officer, "Case X")
    opened = await invite(officer, "Case Y")
    waiting = app.user(7003, first_name="Dana")
    await waiting.start(opened)  # reading the consent screen when the removal happens

    await remove_caseworker(app.db, 7001, actor_id=None)
    rows = await app.db.fetchall("SELECT status, label FROM invitations ORDER BY id")
    assert [tuple(r) for r in rows] == [("revoked", None), ("revoked", None)]

    person = app.user(7002, first_name="Arman")
    [reply] = await person.start(token)
    assert reply.text == NOT_VALID
    await waiting.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    assert waiting.last_callback_answer is not None
    assert waiting.last_callback_answer.text == NOT_VALID
    for person_id in (7002, 7003):
        assert await clients.get(app.db, person_id) is None
    before = len(officer.bot_messages)
    [reply] = await person.command("message")
    assert "not connected" in reply.body
    assert len(officer.bot_messages) == before  # the ex-caseworker was told nothing


async def test_an_invitation_left_pending_by_an_old_removal_is_refused_on_accept(
    app: BotUnderTest,
) -> None:
    """Data from before the fix: the role went, the invitation stayed pending."""
    officer = await app.caseworker(7005, "Old Officer")
    token = await invite(officer, "Case Z")
    person = app.user(7006, first_name="Arman")
    await person.start(token)
    await app.db.execute("UPDATE users SET role = 'client' WHERE telegram_id = 7005")
    await person.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    assert person.last_callback_answer is not None
    assert person.last_callback_answer.text == NOT_VALID
    assert await clients.get(app.db, 7006) is None


# -- F21: listing and revoking invitations; labels do not outlive the invitation ---------------


async def test_a_caseworker_lists_and_revokes_their_invitations(app: BotUnderTest) -> None:
    officer = await app.caseworker(7301, "Aliya")
    first = await invite(officer, "Case A")
    await invite(officer, "Case <B>")
    other = await app.caseworker(7302, "Other")

    await officer.command("invite")
    [listing] = await officer.press("📋 My invitations")
    text = listing.text or ""
    assert "Case A. Valid until" in text
    assert "Case <B>. Valid until" in text
    assert "&lt;B&gt;" in (listing.html or "")
    assert listing.button_texts == ["✖ Revoke: Case <B>", "✖ Revoke: Case A"]
    # Choosing the list instead of naming a new invitation leaves no half-made one.
    [reply] = await officer.send("Just a note")  # not taken as a label
    assert reply.kind != "photo"
    assert await app.db.fetchval("SELECT count(*) FROM invitations") == 2

    # Another caseworker's forged press changes nothing.
    own_id = await app.db.fetchval("SELECT id FROM invitations WHERE label = 'Case A'")
    await other.command("invite")
    await other.press_data(InvitationRevoke(invitation_id=own_id).pack())
    assert other.last_callback_answer is not None
    assert other.last_callback_answer.text == "This invitation is no longer pending."
    assert await app.db.fetchval("SELECT status FROM invitations WHERE id = ?", (own_id,)) == (
        "pending"
    )
    # A client's press does not even reach the handler.
    person = await app.client(7303)
    await person.command("services")  # any message with buttons to press on
    await person.press_data(InvitationRevoke(invitation_id=own_id).pack())
    assert person.last_callback_answer is not None
    assert "no longer active" in person.last_callback_answer.body

    await officer.press("✖ Revoke: Case A")
    assert officer.last_callback_answer is not None
    assert officer.last_callback_answer.text == "Revoked: the link no longer works."
    [refreshed] = [m for m in officer.bot_messages if m.message_id == listing.message_id]
    assert "Case A" not in refreshed.body
    assert refreshed.button_texts == ["✖ Revoke: Case <B>"]
    row = await app.db.fetchone("SELECT status, label FROM invitations WHERE id = ?", (own_id,))
    assert row is not None
    assert tuple(row) == ("revoked", None)
    [reply] = await app.user(7304).start(first)
    assert reply.text == NOT_VALID
    # Pressing the same Revoke again (an old copy of the list) is refused.
    await officer.press_data(InvitationRevoke(invitation_id=own_id).pack())
    assert officer.last_callback_answer is not None
    assert officer.last_callback_answer.text == "This invitation is no longer pending."


async def test_expired_invitations_lose_their_label_at_housekeeping(app: BotUnderTest) -> None:
    officer = await app.caseworker(7311)
    token = await invite(officer, "Case 9/2026")
    await app.db.execute(
        "UPDATE invitations SET expires_at = ?",
        (to_db(datetime.now(UTC) - timedelta(minutes=1)),),
    )
    await app.app.engine.run_housekeeping()  # what the engine runs at start and every 6 hours
    row = await app.db.fetchone("SELECT status, label FROM invitations")
    assert row is not None
    assert tuple(row) == ("expired", None)
    [reply] = await app.user(7312).start(token)
    assert reply.text == EXPIRED
    await officer.command("invite")
    [listing] = await officer.press("📋 My invitations")
    assert listing.text == "You have no pending invitations. Create one with /invite."


async def test_the_accepted_notice_without_a_label_names_the_joiner(app: BotUnderTest) -> None:
    officer = await app.caseworker(7321)
    token = await invite(officer, None)
    person = app.user(7322, first_name="Dana")
    await person.start(token)
    await person.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    told = await officer.wait_for("accepted your invitation")
    assert told.text == (
        "✅ Dana accepted your invitation and agreed. They are in your caseload now."
    )


# -- F11: whose history a caseworker sees ------------------------------------------------------


async def test_a_new_caseworker_after_archive_does_not_read_the_previous_history(
    app: BotUnderTest,
) -> None:
    """a07."""
    first = await app.caseworker(7051, "Officer A")
    person = await join(app, first, 7052)
    await person.press("✉️ Message my officer")
    await person.send("confidential to officer A only")  # left unread by A
    await app.db.execute("UPDATE clients SET location_consent = 1 WHERE telegram_id = 7052")
    await first.press_data(ClientAction(client_id=7052, action=CardAction.ARCHIVE).pack())

    second = await app.caseworker(7053, "Officer B")
    token = await invite(second, "New case")
    await person.start(token)
    await person.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    linked = await clients.get(app.db, 7052)
    assert linked is not None
    assert linked.caseworker_id == 7053
    # The location consent was given for officer A.
    assert (
        await app.db.fetchval("SELECT location_consent FROM clients WHERE telegram_id = 7052")
        is None
    )
    assert linked.unread == 0  # A's unread message is not B's
    [listing] = await second.command("caseload")
    assert not any("✉️" in b for b in listing.button_texts)
    [reply] = await second.press_data(
        ClientMessages(client_id=7052, action=MessagesAction.HISTORY).pack()
    )
    assert reply.text == "No messages with New case yet."
    # B's own exchange shows; A's message still exists (the client's data).
    await person.press("✉️ Message my officer")
    await person.send("hello officer B")
    [history] = await second.press_data(
        ClientMessages(client_id=7052, action=MessagesAction.HISTORY).pack()
    )
    assert "hello officer B" in history.body
    assert "confidential" not in history.body
    assert await app.db.fetchval("SELECT count(*) FROM messages WHERE client_id = 7052") == 2


async def test_an_admin_reassignment_moves_the_whole_history_and_says_so(
    app: BotUnderTest,
) -> None:
    first = await app.caseworker(7061, "First Officer")
    await app.caseworker(7062, "Second Officer")
    person = await join(app, first, 7063)
    await person.press("✉️ Message my officer")
    await person.send("read by the first officer")
    await first.press_data(
        ClientMessages(client_id=7063, action=MessagesAction.HISTORY).pack()
    )  # read now
    admin = await app.admin()
    await admin.command("staff")
    await admin.press("First Officer · 1")
    await admin.press("Case 17/2026")
    await admin.press("Second Officer · 0")
    told = await person.wait_for("Your probation officer is now")
    assert told.text == (
        "Your probation officer is now Second Officer. Your messages with the bot so far "
        "were handed over to them."
    )
    second = app.user(7062)
    await second.command("caseload")
    [history] = await second.press_data(
        ClientMessages(client_id=7063, action=MessagesAction.HISTORY).pack()
    )
    assert "read by the first officer" in history.body


# -- F19: declining an invitation -------------------------------------------------------------


async def test_an_archived_client_who_declines_keeps_their_case(app: BotUnderTest) -> None:
    """a08."""
    first = await app.caseworker(7071, "Officer A")
    person = await join(app, first, 7072)
    await person.press("✉️ Message my officer")
    await person.send("history that officer A needs")
    await first.press_data(ClientAction(client_id=7072, action=CardAction.ARCHIVE).pack())
    second = await app.caseworker(7073, "Officer B")
    token = await invite(second, "Other")
    await person.start(token)
    replies = await person.press("✖ Decline")
    assert any("Only that is recorded" in r.body for r in replies)
    told = await second.wait_for("was declined")
    assert told.text == "The invitation for Other was declined."
    kept = await clients.get(app.db, 7072)
    assert kept is not None
    assert (kept.caseworker_id, kept.status) == (7071, "archived")
    assert await app.db.fetchval("SELECT count(*) FROM messages WHERE client_id = 7072") == 1
    assert await users.get(app.db, 7072) is not None
    row = await app.db.fetchone("SELECT status, label FROM invitations WHERE caseworker_id = 7073")
    assert row is not None
    assert tuple(row) == ("declined", None)


# -- F17: deletion leaves nothing behind -------------------------------------------------------


async def test_deleted_text_is_in_neither_the_database_file_nor_its_wal(app: BotUnderTest) -> None:
    """a14."""
    officer = await app.caseworker(7111)
    person = await join(app, officer, 7112)
    for connection in (app.db.reader, app.db.writer):
        rows = await connection.execute_fetchall("PRAGMA secure_delete")
        assert [tuple(r) for r in rows] == [(1,)]
    await person.press("✉️ Message my officer")
    secret = "UNIQUE-SECRET-7112 I relapsed yesterday"
    await person.send(secret)
    [prompt] = await person.command("delete_me")
    assert "Copies already delivered to your officer's Telegram chat stay there" in (
        prompt.text or ""
    )
    await person.press("🗑 Yes, delete my data")
    found = {}
    for suffix in ("", "-wal"):
        path = Path(str(app.db.path) + suffix)
        data = await asyncio.to_thread(path.read_bytes) if path.exists() else b""  # noqa: ASYNC240
        found[suffix] = data.count(b"UNIQUE-SECRET-7112")
    assert found == {"": 0, "-wal": 0}


async def test_deletion_removes_timed_items_that_name_the_person(app: BotUnderTest) -> None:
    """a16: the help alert to the caseworker carries {"client": id}."""
    officer = await app.caseworker(7131)
    person = await join(app, officer, 7132)
    await person.press("🆘 I need help")
    await app.app.engine.run_due()
    assert (
        await app.db.fetchval(
            "SELECT count(*) FROM scheduled_items WHERE json_extract(payload, '$.client') = 7132"
        )
        == 1
    )
    await person.command("delete_me")
    await person.press("🗑 Yes, delete my data")
    rows = await app.db.fetchall(
        "SELECT kind FROM scheduled_items WHERE recipient_id = 7132 "
        "OR json_extract(payload, '$.client') = 7132"
    )
    assert rows == []


# -- F18: a former caseworker can delete their data --------------------------------------------


async def test_a_former_caseworker_can_delete_their_data(app: BotUnderTest) -> None:
    """a02."""
    officer = await app.caseworker(7011, "Former Officer")
    person = await join(app, officer, 7012)
    await person.press("✉️ Message my officer")
    await person.send("a question for my officer")
    await officer.press_data(ClientMessages(client_id=7012, action=MessagesAction.WRITE).pack())
    await officer.send("an answer from the first officer")
    await working_hours.save(app.db, 7011, WorkingHours(frozenset({0, 1, 2})))
    await invite(officer, "Never used")
    # The client moves on (archived, then invited by someone else); the officer leaves.
    await officer.press_data(ClientAction(client_id=7012, action=CardAction.ARCHIVE).pack())
    second = await app.caseworker(7013, "Next Officer")
    token = await invite(second, "Case 2")
    await person.start(token)
    await person.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    await remove_caseworker(app.db, 7011, actor_id=None)

    await officer.command("delete_me")
    replies = await officer.press("🗑 Yes, delete my data")
    assert any("Your data has been deleted" in r.body for r in replies)
    assert await users.get(app.db, 7011) is None
    assert await app.db.fetchval("SELECT count(*) FROM working_hours") == 0
    assert await app.db.fetchval("SELECT count(*) FROM invitations WHERE caseworker_id = 7011") == 0
    assert await app.db.fetchval("SELECT count(*) FROM invitations WHERE label IS NOT NULL") == 0
    # The client's history stays theirs, without the former caseworker's id.
    rows = await app.db.fetchall(
        "SELECT caseworker_id, direction FROM messages WHERE client_id = 7012 ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [(0, "in"), (0, "out")]
    assert (
        await app.db.fetchval(
            "SELECT count(*) FROM audit_log WHERE actor_id = 7011 OR subject_id = 7011 "
            "OR json_extract(details, '$.caseworker_id') = 7011"
        )
        == 0
    )
    assert await clients.get(app.db, 7012) is not None


# -- F22: search words are not kept ------------------------------------------------------------


async def test_search_words_never_reach_the_database_and_pages_still_work(
    app: BotUnderTest,
) -> None:
    """a15."""
    person = await app.client(7121, "en")
    [reply] = await person.command("services", "наркология HIV test")
    assert "Nothing found" in reply.body
    rows = await app.db.fetchall("SELECT data FROM fsm_state")
    assert not any("HIV" in row["data"] for row in rows)

    admin = await app.admin()
    rows_ = [csv_row(f"find-{i:02d}", **tri("name", "Зефир", "Зефир", "Zephyr")) for i in range(12)]
    await admin.send_document(write_csv(rows_), "f.csv")
    [first] = await person.command("services", "ZEPHYR")
    assert "Page 1 of 2" in first.body
    await person.press("Next ▶️")
    assert "Page 2 of 2" in person.last.body
    assert not any(
        "ZEPHYR" in r["data"] for r in await app.db.fetchall("SELECT data FROM fsm_state")
    )


async def test_abandoned_conversations_are_forgotten_after_a_day(app: BotUnderTest) -> None:
    officer = await app.caseworker(7141)
    await officer.command("invite")  # waits for a label: a conversation in the database
    assert await app.db.fetchval("SELECT count(*) FROM fsm_state") == 1
    await app.db.execute(
        "UPDATE fsm_state SET updated_at = ?", (to_db(datetime.now(UTC) - timedelta(hours=25)),)
    )
    await app.app.engine.run_housekeeping()
    assert await app.db.fetchval("SELECT count(*) FROM fsm_state") == 0
    # The next text is no longer taken as a label.
    [reply] = await officer.send("Case 5")
    assert reply.kind != "photo"
    assert await app.db.fetchval("SELECT count(*) FROM invitations") == 0
