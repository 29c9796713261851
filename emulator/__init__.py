"""Fake Telegram Bot API server and simulated users for end-to-end tests.

The real bot talks to :class:`FakeBotAPI` over HTTP exactly as it would talk to
api.telegram.org; tests drive the conversation through :class:`FakeUser`::

    async with FakeBotAPI() as api:
        bot = make_bot(api)                      # aiogram Bot pointed at the fake
        async with run_polling(dp, bot, api):    # the real dispatcher, polling
            alice = api.user(1, first_name="Alice", language_code="kk")
            [welcome] = await alice.start()
            await alice.press("Yes")             # inline button by its visible text
            assert alice.last.text == "Saved"
"""

from .html_check import HtmlParseError, parse_html
from .models import ApiError, CallbackAnswer, Msg, StoredFile, UploadedFile
from .server import FakeBotAPI
from .user import TINY_PNG, FakeUser
from .wiring import LocalSession, count_waiting_requests, make_bot, run_polling

__all__ = [
    "TINY_PNG",
    "ApiError",
    "CallbackAnswer",
    "FakeBotAPI",
    "FakeUser",
    "HtmlParseError",
    "LocalSession",
    "Msg",
    "StoredFile",
    "UploadedFile",
    "count_waiting_requests",
    "make_bot",
    "parse_html",
    "run_polling",
]
