"""Webhook mode (`python -m bot webhook`): the emulator posts updates to the bot's URL with
the secret header, as Telegram does, and retries until it gets a 2xx.

An update is answered 200 only once it is in the inbox; a request without the right
secret gets 401 and nothing is stored; a kill -9 mid-handler after the 200 loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.client.telegram import TelegramAPIServer

from bot.app import Application
from bot.webhook import MAX_BODY, SECRET_HEADER, WebhookIntake
from db import inbox
from db.database import Database
from emulator import FakeBotAPI, LocalSession, count_waiting_requests
from emulator.params import Params
from tests.harness import BotUnderTest, relax_limits, seeded_database, test_settings, use_session
from tests.processes import bot_env, run_cli, stop_process

SECRET = "s3cret-Webhook_token-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def start_webhook_bot(
    api: FakeBotAPI, tmp_path: Path, **overrides: Any
) -> AsyncIterator[BotUnderTest]:
    """The application in webhook mode, in this event loop; returns once the webhook is set."""
    port = free_port()
    values: dict[str, Any] = {
        "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
        "webhook_secret": SECRET,
        "webhook_listen_port": port,
    }
    settings = test_settings(api, tmp_path, **(values | overrides))
    if not settings.database_path.exists():
        await seeded_database(settings.database_path, starter=True)
    app = await Application.create(settings, webhook=True)
    use_session(app.bot, LocalSession(api=TelegramAPIServer.from_base(api.base_url)))
    api.state.tracks_handling = True
    app.polling.on_handled.append(api.state.mark_handled)
    count_waiting_requests(app.bot, api)
    relax_limits(app, api)
    running = asyncio.create_task(app.run(handle_signals=False))
    ready = asyncio.create_task(api.webhook.wait_set())
    await asyncio.wait({running, ready}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        ready.cancel()
        running.result()
        raise AssertionError("the bot stopped before it set its webhook")
    try:
        yield BotUnderTest(app=app, api=api)
    finally:
        await app.stop()
        await running


async def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        await r.read()
        return r.status


def message_update(update_id: int, user_id: int, text: str) -> bytes:
    person = {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "en"}
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": user_id, "type": "private", "first_name": "Test"},
                "from": person,
                "text": text,
            },
        }
    ).encode()


async def inbox_empty(path: Path, within: float = 20.0) -> None:
    db = Database(path)
    await db.connect(check=False)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await inbox.pending_count(db):
            assert loop.time() < deadline, "the bot did not delete its handled inbox rows"
            await asyncio.sleep(0.05)
    finally:
        await db.close()


async def test_a_person_is_answered_through_the_webhook(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_webhook_bot(api, tmp_path) as app:
        [call] = api.calls("setWebhook")
        assert call["secret_token"] == SECRET
        assert "message" in call["allowed_updates"]
        assert "callback_query" in call["allowed_updates"]
        assert not api.calls("getUpdates")  # no polling in webhook mode

        person = app.user(3101)
        [welcome] = await person.start()
        assert "English" in welcome.button_texts  # the language picker
        await person.press("English")
        [reply] = await person.command("help")
        assert reply.body
        # Every update went by webhook, each accepted (200) once, none left waiting.
        assert api.webhook.pending == []
        pushed = {a.update_id for a in api.webhook.attempts}
        assert pushed == set(range(1, api.state.last_update_id + 1))
        assert all(api.webhook.delivered(i) == 1 for i in pushed)
    # The webhook stays set across a stop: Telegram keeps updates for the next start.
    assert api.webhook.url


async def test_a_wrong_or_missing_secret_gets_401_and_nothing_is_stored(
    api: FakeBotAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with start_webhook_bot(api, tmp_path) as app:
        assert isinstance(app.app.polling, WebhookIntake)
        url = api.webhook.url
        api.user(3201).record.started = True  # a chat the fake knows, posted to by hand below
        body = message_update(777_001, 3201, "/help LEAK-ME")
        assert await post(url, body, None) == 401
        assert await post(url, body, "wrong-" + SECRET) == 401
        assert await post(url, body, SECRET[:-1]) == 401
        assert await app.db.fetchval("SELECT count(*) FROM inbox") == 0
        assert not api.outgoing(3201)
        # Not an update, or far too big: refused before anything is stored.
        assert await post(url, b"{not json", SECRET) == 400
        assert await post(url, b'{"message": {}}', SECRET) == 400
        assert await post(url, b"x" * (MAX_BODY + 1), SECRET) == 413
        assert await app.db.fetchval("SELECT count(*) FROM inbox") == 0
        # The right secret is taken, and a copy sent again (a lost 200) is handled once.
        assert await post(url, body, SECRET) == 200
        assert await post(url, body, SECRET) == 200
        assert await api.state.wait_until(lambda: 777_001 in api.state.handled, 20)
        await api.wait_idle()
        assert len(api.outgoing(3201)) == 1
    refusals = [r for r in caplog.records if "401" in r.getMessage()]
    assert len(refusals) == 1  # at most one line a minute, however many
    text = caplog.text
    assert "LEAK-ME" not in text
    assert "wrong-" not in text
    assert SECRET not in text


async def test_telegram_retries_until_the_bot_answers(api: FakeBotAPI, tmp_path: Path) -> None:
    """Updates sent while the bot is down wait at Telegram and arrive after the start."""
    async with start_webhook_bot(api, tmp_path) as app:
        person = await app.client(3301)
    url = api.webhook.url
    before = len(person.bot_messages)
    update_id = api.state.push_update(
        {"message": json.loads(message_update(0, 3301, "/help"))["message"]}
    )
    assert await api.state.wait_until(
        lambda: any(a.update_id == update_id and a.status == 0 for a in api.webhook.attempts), 20
    )
    port = int(url.split(":")[2].split("/")[0])
    async with start_webhook_bot(api, tmp_path, webhook_url=url, webhook_listen_port=port):
        assert await api.state.wait_until(lambda: update_id in api.state.handled, 30)
        await api.wait_idle()
        assert api.webhook.delivered(update_id) == 1
        assert len(person.bot_messages) == before + 1  # the /help answer


async def test_kill_9_mid_handler_after_the_200_loses_nothing(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """`python -m bot webhook` is SIGKILLed while its handler waits on Telegram; Telegram got
    its 200 and never sends the update again; the restarted bot handles it from its inbox,
    once."""
    port = free_port()
    env = {
        "BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.base_url,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN_PORT": str(port),
        "DEFAULT_LANGUAGE": "en",
    }

    async def start() -> asyncio.subprocess.Process:
        calls = len(api.calls("setWebhook"))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "webhook",
            cwd=tmp_path,
            env=bot_env(tmp_path, **env),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        set_again = asyncio.create_task(
            api.state.wait_until(lambda: len(api.calls("setWebhook")) > calls, 60)
        )
        exited = asyncio.create_task(process.wait())
        await asyncio.wait({set_again, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            assert process.stderr is not None
            raise AssertionError(f"the bot exited: {(await process.stderr.read()).decode()}")
        exited.cancel()
        assert set_again.result()
        return process

    process = await start()
    try:
        person = api.user(3401)
        await person.start()
        await person.press("English")
        # Handled rows are deleted within bot.polling.DONE_DELAY: a kill before that would
        # replay them too (the documented window), which is not what this test is about.
        await inbox_empty(tmp_path / "db" / "bot.sqlite3")

        original = api.methods.call
        reached = asyncio.Event()
        never = asyncio.Event()

        async def hanging(method: str, params: Params) -> object:
            if method == "sendMessage" and params.data.get("chat_id") in (3401, "3401"):
                reached.set()
                await never.wait()  # the bot dies meanwhile; this copy is never delivered
            return await original(method, params)

        api.methods.call = hanging  # type: ignore[method-assign]
        asking = asyncio.create_task(person.command("help", timeout=60))
        await asyncio.wait_for(reached.wait(), 30)
        update_id = api.state.last_update_id
        assert api.webhook.delivered(update_id) == 1  # Telegram has its 200
        process.kill()
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        asking.cancel()
        api.methods.call = original  # type: ignore[method-assign]
        before = len(person.bot_messages)

        process = await start()
        assert await api.state.wait_until(lambda: len(person.bot_messages) > before, 30)
        assert "went wrong" not in person.last.body  # the /help answer, not an apology
        await api.wait_idle(timeout=30)
        assert len(person.bot_messages) == before + 1  # handled once, not twice
        assert api.webhook.delivered(update_id) == 1  # from the inbox, not sent again
    finally:
        if process.returncode is None:
            await stop_process(process)
    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    assert await inbox.pending_count(db) == 0
    await db.close()


async def test_webhook_mode_without_its_settings_stops_with_one_line(tmp_path: Path) -> None:
    status, _, err = await run_cli(
        tmp_path,
        "webhook",
        BOT_TOKEN="123456:TEST-TOKEN",
        WEBHOOK_URL="https://bot.example.kz/hook",
    )
    assert status == 2
    assert err.strip().splitlines() == [
        "Configuration error: webhook mode needs WEBHOOK_SECRET (see README, Running in production)"
    ]
    assert not (tmp_path / "db").exists()  # nothing opened
