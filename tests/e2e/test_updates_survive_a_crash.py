"""An update Telegram handed over is not lost by a crash mid-handler (security review F7/a20).

aiogram's own polling confirms updates (the next getUpdates offset) while handlers run; the
bot stores each batch in its inbox first, deletes a row once handled, and handles the rows
a dead process left when it starts again.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from db import inbox, users
from db.database import Database
from db.migrate import migrate
from db.staff import add_caseworker
from emulator import FakeBotAPI
from emulator.params import Params
from tests.harness import join, start_bot
from tests.processes import start_bot_process, stop_process


async def test_an_update_stored_but_not_handled_is_handled_at_the_next_start(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    async with start_bot(api, tmp_path) as first:
        person = await first.client(1401)
    last = api.state.last_update_id
    # The process died after storing (and confirming) this update, before handling it.
    update = {
        "update_id": last,
        "message": {
            "message_id": 9001,
            "date": 1_700_000_000,
            "chat": person.record.as_chat(),
            "from": person.record.as_user(),
            "text": "/privacy",
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        },
    }
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    await inbox.store(db, [(last, json.dumps(update))])
    await db.close()

    offsets_before = len(api.calls("getUpdates"))
    api.state.handled.discard(last)
    async with start_bot(api, tmp_path):
        await person.wait_for("/delete_me")  # the /privacy answer
        assert await api.state.wait_until(lambda: last in api.state.handled, 20)
        # Polling resumed after the stored update: Telegram is not asked for it again.
        first_poll = api.calls("getUpdates")[offsets_before]
        assert first_poll["offset"] == last + 1
        # And the bot still serves what comes next.
        [reply] = await person.command("help")
        assert reply.text
    # Handled rows are deleted (a few at a time while running, the rest when it stops).
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    assert await inbox.pending_count(db) == 0
    await db.close()


async def test_an_update_that_keeps_killing_the_bot_is_given_up(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    await migrate(db)
    await inbox.store(db, [(5, '{"update_id": 5}')])
    for _start in range(inbox.MAX_ATTEMPTS - 1):
        again, given_up = await inbox.replay(db)
        assert [u.update_id for u in again] == [5]
        assert given_up == []
    again, given_up = await inbox.replay(db)
    assert (again, given_up) == ([], [5])
    assert await inbox.next_offset(db) == 6
    await db.close()


async def test_kill_9_in_the_middle_of_relaying_a_message_loses_nothing(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """The bot process is SIGKILLed while its handler waits on Telegram to relay a client's
    message; started again, it handles that update from its inbox: the officer gets the
    message once and the client is told it was delivered."""
    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    await migrate(db)
    await add_caseworker(db, 1501, "Officer", actor_id=None)
    await db.close()

    process = await start_bot_process(tmp_path, api, DEFAULT_LANGUAGE="en")
    try:
        officer = api.user(1501)
        await officer.start()
        await officer.press("English")
        harness = type("Running", (), {"user": api.user})()
        person = await join(harness, officer, 1502)
        await person.press("✉️ Message my officer")

        # Telegram hangs on the relay to the officer: the handler is mid-way.
        original = api.methods.call
        reached = asyncio.Event()
        never = asyncio.Event()

        async def hanging(method: str, params: Params) -> object:
            if method == "sendMessage" and "KILL-ME" in str(params.data.get("text", "")):
                reached.set()
                await never.wait()  # the bot dies meanwhile; this copy is never delivered
            return await original(method, params)

        api.methods.call = hanging  # type: ignore[method-assign]
        sending = asyncio.create_task(person.send("KILL-ME please call me", timeout=60))
        await asyncio.wait_for(reached.wait(), 30)
        update_id = api.state.last_update_id
        assert update_id in api.state.fetched
        process.kill()  # SIGKILL: no clean-up of any kind
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        api.methods.call = original  # type: ignore[method-assign]
        # Telegram itself will not hand the update over again: it was confirmed.
        assert all(u["update_id"] != update_id for u in api.pending_updates)

        sending.cancel()
        process = await start_bot_process(tmp_path, api, DEFAULT_LANGUAGE="en")
        relayed = await officer.wait_for("KILL-ME please call me", timeout=30)
        assert relayed.button_texts == ["↩️ Reply", "🗂 Card"]
        # Told it was delivered by the replayed handler, whichever of it and the restarted
        # engine's recovery sends the message (deliver_now waits for the dispatcher's
        # answer), and never first told "⏳ ... Telegram is not answering".
        await person.wait_for(
            lambda m: m.body.startswith("✅") and "delivered to your officer" in m.body.lower(),
            timeout=30,
        )
        assert not [m for m in person.bot_messages if "not answering" in m.body]
        copies = [m for m in officer.bot_messages if "KILL-ME" in m.body]
        assert len(copies) == 1
    finally:
        if process.returncode is None:
            await stop_process(process)
    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    assert await inbox.pending_count(db) == 0
    stored = await db.fetchall("SELECT body, delivery FROM messages WHERE client_id = 1502")
    assert [tuple(r) for r in stored] == [("KILL-ME please call me", "delivered")]
    assert await users.get(db, 1502) is not None
    await db.close()
