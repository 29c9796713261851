"""The emulator's webhook: setWebhook moves waiting updates to the URL, each POSTed with the
secret header and retried until a 2xx; getUpdates meets 409 meanwhile; deleteWebhook gives
what was not accepted back to getUpdates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from emulator.server import FakeBotAPI
from emulator.webhook import SECRET_HEADER


class Receiver:
    """A webhook endpoint that refuses the first `refuse` posts with 500."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.seen: list[tuple[int, str | None, int]] = []  # update_id, secret, status given
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        status = 500 if self.refuse > 0 else 200
        self.refuse -= 1
        self.seen.append((update["update_id"], request.headers.get(SECRET_HEADER), status))
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver(refuse=2)
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield found
    await runner.cleanup()


async def test_updates_are_pushed_with_the_secret_and_retried(
    api: FakeBotAPI, bot: Bot, receiver: Receiver
) -> None:
    person = api.user(1)
    first = api.push_update(
        {"message": {"message_id": 1, "date": 0, "chat": person.record.as_chat(), "text": "a"}}
    )
    assert await bot.set_webhook(receiver.url, secret_token="S" * 20, allowed_updates=["message"])
    second = api.push_update(
        {"message": {"message_id": 2, "date": 0, "chat": person.record.as_chat(), "text": "b"}}
    )
    assert await api.state.wait_until(lambda: api.webhook.delivered(second) == 1, 10)
    # In order; the first refused twice (500) and sent again until accepted, then never again.
    assert [(u, s) for u, _, s in receiver.seen] == [
        (first, 500),
        (first, 500),
        (first, 200),
        (second, 200),
    ]
    assert {secret for _, secret, _ in receiver.seen} == {"S" * 20}
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500"
    with pytest.raises(TelegramConflictError):
        await bot.get_updates(timeout=0)


async def test_delete_webhook_hands_the_rest_back_to_get_updates(api: FakeBotAPI, bot: Bot) -> None:
    person = api.user(1)
    assert await bot.set_webhook("http://127.0.0.1:9/nobody-listens")
    waiting = api.push_update(
        {"message": {"message_id": 1, "date": 0, "chat": person.record.as_chat(), "text": "a"}}
    )
    assert await api.state.wait_until(lambda: bool(api.webhook.attempts), 10)
    assert await bot.delete_webhook()
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [waiting]
