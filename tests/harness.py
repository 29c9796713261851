"""Runs the real application against the fake Bot API, and a few helpers for acting as staff."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import Application
from bot.config import load_settings
from bot.middlewares.throttle import ThrottleMiddleware
from bot.rate_limit import ChatPace, RateLimitMiddleware
from db.clock import to_db
from db.database import Database
from db.staff import add_caseworker
from tests.fakeapi import FakeBotAPI, FakeUser, count_waiting_requests

ADMIN_ID = 900_001


def relax_limits(app: Application) -> None:
    """Limits for tests, which act far faster than people.

    Telegram's pace in one chat (a burst, then a message a second) would make every test
    wait a second per extra message, and the per-person throttle would drop the updates
    of a test that clicks through a screen in milliseconds. tests/e2e/test_limits.py
    runs with the production figures.
    """
    for request_middleware in app.bot.session.middleware:
        if isinstance(request_middleware, RateLimitMiddleware):
            pace = request_middleware.chats
            request_middleware.chats = ChatPace(burst=pace.burst, interval=0.05)
    for update_middleware in app.dp.update.outer_middleware:
        if isinstance(update_middleware, ThrottleMiddleware):
            update_middleware.limit = update_middleware.staff_limit = 10_000


@dataclass
class BotUnderTest:
    app: Application
    api: FakeBotAPI

    @property
    def db(self) -> Database:
        return self.app.db

    async def settle(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until the engine has nothing due and nothing in hand, and the fake is idle."""
        engine = self.app.engine
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            task = engine.wakeup.task if engine.wakeup else None
            busy = engine.runner.processing or (task is not None and not task.done())
            if not busy and self.api.state.in_flight == 0:
                due = await self.db.fetchval(
                    "SELECT count(*) FROM scheduled_items WHERE status = 'sending' "
                    "OR (status = 'pending' AND due_at <= ?)",
                    (to_db(engine.now()),),
                )
                if not due:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the engine did not settle within {timeout}s")

    def hold_engine(self) -> None:
        """Timed items are stored but wait for the test's `run_due()` (no wake-up on schedule)."""

        def no_wakeup(due_at: datetime) -> None:
            return None

        self.app.engine.poke = no_wakeup  # type: ignore[method-assign]

    def user(self, user_id: int, language_code: str | None = "en", **kwargs: Any) -> FakeUser:
        return self.api.user(user_id, language_code=language_code, **kwargs)

    async def client(self, user_id: int, language: str = "en") -> FakeUser:
        """A person who has pressed Start and picked a language."""
        person = self.user(user_id)
        await person.start()
        await person.press({"kk": "Қазақша", "ru": "Русский", "en": "English"}[language])
        return person

    async def caseworker(
        self, user_id: int, name: str = "Aliya Sarsenova", language: str = "en"
    ) -> FakeUser:
        await add_caseworker(self.db, user_id, name, actor_id=None)
        return await self.client(user_id, language)

    async def admin(self, language: str = "en") -> FakeUser:
        return await self.client(ADMIN_ID, language)


def test_settings(api: FakeBotAPI, tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "bot_token": api.token,
        "telegram_api_url": api.base_url,
        "database_path": tmp_path / "bot.sqlite3",
        "admin_ids": (ADMIN_ID,),
        "default_language": "kk",
        "timezone": "Asia/Almaty",
        "shutdown_grace_seconds": 5,
    }
    return load_settings(**(values | overrides))


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


@contextlib.asynccontextmanager
async def start_bot(
    api: FakeBotAPI,
    tmp_path: Path,
    *,
    prepare: Callable[[Application], None] | None = None,
    production_limits: bool = False,
    **overrides: Any,
) -> AsyncIterator[BotUnderTest]:
    """`prepare(app)` runs before start-up, as a feature's wiring would (e.g. engine kinds).

    Per-chat pacing and the per-person throttle are relaxed unless `production_limits`.
    """
    app = await Application.create(test_settings(api, tmp_path, **overrides))
    # The bot tells the fake when it has finished each update, so users wait for that.
    api.state.tracks_handling = True
    app.polling.on_handled.append(api.state.mark_handled)
    count_waiting_requests(app.bot, api)  # replies the rate limiter holds back are awaited
    if not production_limits:
        relax_limits(app)
    if prepare is not None:
        prepare(app)
    since = api.poll_count
    polling = asyncio.create_task(app.run(handle_signals=False))
    ready = asyncio.create_task(api.wait_polling(since=since))
    await asyncio.wait({polling, ready}, return_when=asyncio.FIRST_COMPLETED)
    if polling.done():
        ready.cancel()
        polling.result()
        raise AssertionError("the bot stopped before it started polling")
    try:
        yield BotUnderTest(app=app, api=api)
    finally:
        await app.stop()
        await polling
