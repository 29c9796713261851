"""Invitations, consent, caseloads and two-way messages, end to end through the fake Bot API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db import clients, users, working_hours
from db.clock import to_db
from db.working_hours import WorkingHours
from emulator import FakeUser, Msg
from handlers.client_card import CardAction, ClientAction, ClientCard
from handlers.messaging.callbacks import ClientMessages, MessagesAction
from tests.harness import BotUnderTest

# Re-exported: tests written before the helpers moved to tests/harness.py import them here.
from tests.harness import invite as invite
from tests.harness import join as join


async def test_invited_person_joins_consents_and_both_sides_exchange_messages(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(401, "Aliya Sarsenova")
    token = await invite(officer, "Case <17>")

    person = app.user(402, language_code="ru", first_name="Arman")
    [consent] = await person.start(token)
    assert "Aliya Sarsenova" in consent.body
    assert "Вы согласны?" in consent.body  # the consent speaks Telegram's language
    await person.press("Қазақша")  # read it in Kazakh instead
    assert "Келісесіз бе?" in person.last.body
    replies = await person.press("✅ Келісемін")
    assert any("Aliya Sarsenova" in r.body for r in replies)
    assert "✉️ Инспекторға жазу" in [b for row in person.reply_buttons() for b in row]

    joined = await officer.wait_for("accepted by")
    assert joined.text == (
        "✅ The invitation for Case <17> was accepted by Arman (name in Telegram), who agreed. "
        "Check that this is the right person: they are in your caseload now."
    )
    linked = await users.get(app.db, 402)
    assert linked is not None
    assert linked.caseworker_id == 401
    assert linked.language == "kk"

    # Client → officer: text, delivered with a header and a Reply button.
    await person.press("✉️ Инспекторға жазу")
    replies = await person.send("Сәлеметсіз бе! Жұмыс таптым <3")
    assert any("✅" in r.body for r in replies)
    relayed = officer.last
    assert "Case <17>" in relayed.body
    assert "Жұмыс таптым <3" in relayed.body
    assert "↩️ Reply" in relayed.button_texts

    # Officer → client: a photo with a caption arrives as a copy with a header in Kazakh.
    await officer.press("↩️ Reply")
    await officer.send_photo(caption="The vacancy")
    assert officer.last.text == "✅ Delivered to Case <17>."
    photo = person.last
    assert photo.kind == "photo"
    assert photo.copied_from is not None
    assert "Aliya Sarsenova" in photo.body
    assert "The vacancy" in photo.body

    # Client → officer: a photo and a location.
    await person.press("↩️ Жауап беру")
    await person.send_photo(caption="менің түйіндемем")
    assert officer.last.kind == "photo"
    await person.share_location(50.25, 57.15)  # the conversation is still open
    assert officer.last.kind == "location"

    # The caseload lists the client; the card shows the history.
    [listing] = await officer.command("caseload")
    [button] = [b for b in listing.button_texts if "Case <17>" in b]
    await officer.press(button)
    assert "Case <17>" in officer.last.body
    [history] = await officer.press("📜 History")
    assert "Жұмыс таптым &lt;3" in (history.html or "")
    assert "[location]" in history.body


async def test_declining_keeps_nothing_but_the_fact(app: BotUnderTest) -> None:
    officer = await app.caseworker(411)
    token = await invite(officer, "Serik B.")
    person = app.user(412, language_code="en")
    await person.start(token)
    replies = await person.press("✖ Decline")
    assert any("Nothing about you has been kept" in r.body for r in replies)
    told = await officer.wait_for("was declined")
    assert told.text == "The invitation for Serik B. was declined."
    assert await users.get(app.db, 412) is None
    row = await app.db.fetchone("SELECT status, label FROM invitations")
    assert row is not None
    assert tuple(row) == ("declined", None)
    # The link is used up.
    [reply] = await person.start(token)
    assert reply.text == "This invitation has already been used. Ask your officer for a new one."


async def test_used_expired_and_unknown_invitations_link_nothing(app: BotUnderTest) -> None:
    officer = await app.caseworker(421)
    token = await invite(officer)
    await join_with(app, token, 422)
    stranger = app.user(423)
    [reply] = await stranger.start(token)
    assert reply.text == "This invitation has already been used. Ask your officer for a new one."

    expired = await invite(officer, "Later")
    await app.db.execute(
        "UPDATE invitations SET expires_at = ? WHERE status = 'pending'",
        (to_db(datetime.now(UTC) - timedelta(minutes=1)),),
    )
    [reply] = await stranger.start(expired)
    assert reply.text == "This invitation has expired. Ask your officer for a new one."

    for bogus in ("AAAAAAAAAAAAAAAAAAAAAA", "x" * 64, "abc-_"):
        [reply] = await stranger.start(bogus)
        assert "not valid" in reply.body
    assert await clients.get(app.db, 423) is None


async def join_with(app: BotUnderTest, token: str, client_id: int) -> FakeUser:
    person = app.user(client_id)
    await person.start(token)
    await person.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    return person


async def test_an_invitation_cannot_be_accepted_after_it_was_used_by_someone_else(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(431)
    token = await invite(officer)
    first, second = app.user(432), app.user(433)
    await first.start(token)
    await second.start(token)  # both opened the link before either agreed
    await first.press("✅ I agree")
    await second.press("✅ I agree")
    await app.settle()  # the caseworker's "accepted" notice is sent
    assert second.last_callback_answer is not None
    assert "already been used" in second.last_callback_answer.body
    assert (await clients.get(app.db, 433)) is None


async def test_forged_callbacks_cannot_reach_another_caseworkers_client(app: BotUnderTest) -> None:
    officer = await app.caseworker(441, "Officer One")
    client = await join(app, officer, 442)
    other = await app.caseworker(443, "Officer Two")
    await other.command("caseload")
    for forged in (
        ClientCard(client_id=442).pack(),
        ClientAction(client_id=442, action=CardAction.ARCHIVE).pack(),
        ClientMessages(client_id=442, action=MessagesAction.HISTORY).pack(),
        ClientMessages(client_id=442, action=MessagesAction.WRITE).pack(),
    ):
        await other.press_data(forged)
        assert other.last_callback_answer is not None
        assert other.last_callback_answer.text == "This client is not on your caseload."
    found = await clients.get(app.db, 442)
    assert found is not None
    assert found.status == "active"
    assert not [m for m in other.bot_messages if "Officer One" in m.body]
    # A client cannot press staff buttons at all.
    await client.press_data(ClientCard(client_id=442).pack(), message_id=client.last.message_id)
    assert client.last_callback_answer is not None
    assert (
        client.last_callback_answer.text == "This button is no longer active. Please use the menu."
    )
    # Tampered data (bad types, an unknown action) is refused too, and so are buttons of an
    # older version of a callback (its prefix before the fields changed): never silence.
    for stale in (
        "cc1:not-a-number",
        "ca1:442:explode",
        "cc:442",
        "ca:442:archive",
        "sa:442:pause",
    ):
        await other.press_data(stale)
        assert other.last_callback_answer is not None
        assert (
            other.last_callback_answer.text
            == "This button is no longer active. Please use the menu."
        ), stale
    found = await clients.get(app.db, 442)
    assert found is not None
    assert found.status == "active"


async def test_card_under_a_relayed_message_comes_as_a_new_message(app: BotUnderTest) -> None:
    officer = await app.caseworker(461, "Aliya Sarsenova")
    person = await join(app, officer, 462, label="Case 46")
    await person.press("✉️ Message my officer")
    await person.send_photo(caption="my CV")
    photo = officer.last
    assert photo.kind == "photo"
    assert photo.text is not None
    photo_caption = photo.text
    await person.send("I found a job")
    text = officer.last
    assert "I found a job" in text.body
    relayed_text = text.text

    for relayed in (photo, text):
        edits_before = len(app.api.calls("editMessageText")) + len(
            app.api.calls("editMessageCaption")
        )
        replies = await officer.press_data(
            button_data(relayed, "🗂 Card"), message_id=relayed.message_id
        )
        [card] = replies
        assert card.message_id != relayed.message_id
        assert "Case 46" in card.body
        assert "✍️ Write" in card.button_texts
        # The relayed message is untouched: no edit was even asked for.
        assert relayed.edited == 0
        assert (
            len(app.api.calls("editMessageText")) + len(app.api.calls("editMessageCaption"))
            == edits_before
        )
    assert photo.kind == "photo"
    assert photo.text == photo_caption
    assert text.text == relayed_text
    assert officer.last_callback_answer is None or not officer.last_callback_answer.show_alert


def button_data(message: Msg, text: str) -> str:
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            if button.get("text") == text:
                return str(button["callback_data"])
    raise AssertionError(f"no button {text!r} under message #{message.message_id}")


async def test_delete_me_removes_the_persons_data(app: BotUnderTest) -> None:
    officer = await app.caseworker(451)
    person = await join(app, officer, 452)
    await person.press("✉️ Message my officer")
    await person.send("my secret")
    await person.command("delete_me")
    replies = await person.press("🗑 Yes, delete my data")
    assert any("deleted" in r.body for r in replies)
    told = await officer.wait_for("deleted their data")
    assert (
        told.text
        == "Case 17/2026 deleted their data from the bot and is no longer on your caseload."
    )
    for table, column in (
        ("users", "telegram_id"),
        ("clients", "telegram_id"),
        ("messages", "client_id"),
    ):
        assert await app.db.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = 452") == 0
    assert (
        await app.db.fetchval(
            "SELECT count(*) FROM audit_log WHERE subject_id = 452 OR actor_id = 452"
        )
        == 0
    )
    assert (
        await app.db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'person.deleted'") == 1
    )
    assert (
        await app.db.fetchval("SELECT count(*) FROM fsm_state WHERE storage_key LIKE '%:452:%'")
        == 0
    )
    assert await app.db.fetchval("SELECT count(*) FROM messages WHERE body LIKE '%secret%'") == 0


async def test_writing_outside_working_hours_gets_an_auto_reply_and_is_still_delivered(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(461)
    person = await join(app, officer, 462)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Almaty")).weekday()
    await working_hours.save(app.db, 461, WorkingHours(frozenset(set(range(7)) - {today})))
    await person.press("✉️ Message my officer")
    replies = await person.send("Are you there?")
    auto = replies[-1].text or ""
    assert "will answer in working time" in auto
    assert "Next working time starts" in auto
    assert "112" in auto
    assert "Are you there?" in officer.last.body
    # A second message within the hour (the conversation is still open) gets no second
    # auto-reply.
    replies = await person.send("Hello?")
    assert not any("working time" in r.body for r in replies)


async def test_a_blocked_client_is_marked_unreachable_and_the_officer_is_told(
    app: BotUnderTest,
) -> None:
    officer = await app.caseworker(471)
    person = await join(app, officer, 472)
    person.block_bot()
    await app.api.wait_idle()
    told = await officer.wait_for("no longer delivers")
    assert told.button_texts == ["Open client card"]
    found = await clients.get(app.db, 472)
    assert found is not None
    assert found.unreachable_since is not None
    [listing] = await officer.command("caseload")
    [button] = [b for b in listing.button_texts if "🚫" in b]
    await officer.press(button)
    await officer.press("✍️ Write")
    [reply] = await officer.send("Please call me")
    assert "Not delivered" in reply.body
    history = await app.db.fetchval("SELECT delivery FROM messages ORDER BY id DESC LIMIT 1")
    assert history == "failed"


async def test_admin_reassigns_a_client_and_the_client_is_told(app: BotUnderTest) -> None:
    first = await app.caseworker(481, "First Officer")
    await app.caseworker(482, "Second Officer")
    person = await join(app, first, 483)
    admin = await app.admin()
    [listing] = await admin.command("staff")
    assert "1 active client" in listing.body
    await admin.press("First Officer · 1")
    await admin.press("Case 17/2026")
    await admin.press("Second Officer · 0")
    await person.wait_for("Your probation officer is now Second Officer.")
    await app.user(482).wait_for("A client was assigned to you: Case 17/2026")
    await first.wait_for("Case 17/2026 was reassigned to another caseworker")
    moved = await clients.get(app.db, 483)
    assert moved is not None
    assert moved.caseworker_id == 482
    # Removing a caseworker who still has clients is refused.
    from db.staff import StaffError, remove_caseworker

    with pytest.raises(StaffError, match="reassign"):
        await remove_caseworker(app.db, 482, actor_id=None)


async def test_admin_pages_through_a_long_caseload(app: BotUnderTest) -> None:
    await app.caseworker(485, "Busy Officer")
    now = to_db(datetime.now(UTC))
    async with app.db.transaction() as conn:
        for number in range(45):
            await conn.execute(
                "INSERT INTO users (telegram_id, created_at, updated_at) VALUES (?, ?, ?)",
                (9000 + number, now, now),
            )
            await conn.execute(
                "INSERT INTO clients (telegram_id, caseworker_id, label, consented_at, linked_at)"
                " VALUES (?, 485, ?, ?, ?)",
                (9000 + number, f"Client {number:02d}", now, now),
            )
    admin = await app.admin()
    await admin.command("staff")
    [first] = await admin.press("Busy Officer · 45")
    assert "Clients of Busy Officer: 45." in first.body
    assert "Page 1 of 3" in first.body
    names = [b for b in first.button_texts if b.startswith("Client ")]
    assert len(names) == 20
    assert first.button_texts[-3:] == ["‹", "1/3", "›"]
    assert await admin.press("›") == []  # the same message turns to the next page
    assert "Page 2 of 3" in first.body
    assert not set(names) & set(first.button_texts)
    await admin.press("›")
    await admin.press("›")  # from the last page back to the first
    assert "Page 1 of 3" in first.body
    seen = {b for b in first.button_texts if b.startswith("Client ")}
    assert seen == set(names)


async def test_an_unlinked_person_can_still_use_help_and_privacy(app: BotUnderTest) -> None:
    person = await app.client(491)
    [reply] = await person.command("message")
    assert "not connected" in reply.body
    [reply] = await person.command("privacy")
    assert "/delete_me" in reply.body


async def test_long_and_hostile_text_is_relayed_whole_and_escaped(app: BotUnderTest) -> None:
    officer = await app.caseworker(501)
    person = await join(app, officer, 502)
    hostile = "<script>alert('x')</script> & <b>" + "ж" * 4063  # 4096: Telegram's most
    await person.press("✉️ Message my officer")
    replies = await person.send(hostile)
    assert any("✅" in r.body for r in replies)
    texts = [m.text or "" for m in officer.bot_messages[-2:]]
    assert hostile in texts  # the header could not fit, so the text came as an exact copy
    assert [e for e in app.api.errors if e[0] in {"sendMessage", "copyMessage"}] == []
    stored = await app.db.fetchval("SELECT body FROM messages WHERE client_id = 502")
    assert stored == hostile
