"""Runs the real application against the fake Bot API, and a few helpers for acting as staff.

Two lanes, one vocabulary (`app.user(...)`, `person.press(...)`, `person.send(...)`):
- `start_bot` (fixture `app` in tests/e2e): the application as deployed, polling the fake
  over HTTP with its durable inbox; for user journeys, delivery and crash behaviour.
- `start_inproc` (fixture `app` in tests/inproc): the same application, routers and
  middlewares, with no HTTP and no polling; updates go to `dp.feed_update` and requests to
  the fake in process. For handler logic: parsing, validation, refusals, forged buttons.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update

from bot.app import Application
from bot.config import load_settings
from bot.middlewares.throttle import ThrottleMiddleware
from bot.rate_limit import RateLimitMiddleware
from db.clock import to_db
from db.database import Database
from db.directory_import import load_starter_once
from db.migrate import migrate
from db.staff import add_caseworker
from emulator import FakeBotAPI, FakeUser, LocalSession, count_waiting_requests
from emulator.direct import IN_PROCESS_URL, DirectSession
from emulator.models import JsonDict

log = logging.getLogger(__name__)

ADMIN_ID = 900_001


_templates: dict[bool, Path] = {}


async def seeded_database(path: Path, *, starter: bool) -> None:
    """Put at `path` a copy of a database migrated once per test run.

    With `starter`, the national directory entries are loaded too: the state the
    application's first start leaves (migrations, then the starter entries once), which
    its start-up then finds done. A file copy costs a fraction of running the migrations.
    """
    template = _templates.get(starter)
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="jana-jol-tests-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / ("started.sqlite3" if starter else "migrated.sqlite3")
        database = Database(template)
        await database.connect()
        try:
            await migrate(database)
            if starter:
                await load_starter_once(database)
        finally:
            await database.close()
        _templates[starter] = template
    _copy_database(template, path)


def _copy_database(template: Path, path: Path) -> None:
    assert not Path(f"{template}-wal").exists()  # closed: all of it is in the one file
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)


async def create_app(api: FakeBotAPI, tmp_path: Path, **overrides: Any) -> Application:
    """The application as `python -m bot` builds it, on a copy of an already started database
    (unless the test put a database there first)."""
    settings = test_settings(api, tmp_path, **overrides)
    if not os.path.exists(settings.database_path):  # noqa: ASYNC240 - a local stat, at set-up
        await seeded_database(settings.database_path, starter=True)
    return await Application.create(settings)


# Messages a second overall in relaxed tests, for the bot's limiter and the fake's alike.
RELAXED_PER_SECOND = 1_000


def relax_limits(app: Application, api: FakeBotAPI) -> None:
    """Limits for tests, which act far faster than people.

    Telegram's pace in one chat (a burst, then a message a second) would make every test
    wait a second per extra message, for replies and for what the engine sends alike;
    30 messages a second overall would hold a quick test back most of a second now and
    then; and the per-person throttle would drop the updates of a test that clicks
    through a screen in milliseconds. tests/e2e/test_limits.py runs with the production
    figures (and the fake's 30/s), and the engine's pacing tests
    (tests/e2e/test_scheduler.py) put its pace back.
    """
    manager = app.bot.session.middleware
    middlewares = list(manager)
    for middleware in middlewares:
        manager.unregister(middleware)
    for middleware in middlewares:
        if isinstance(middleware, RateLimitMiddleware):  # same kind, relaxed figures
            middleware = RateLimitMiddleware(
                per_second=RELAXED_PER_SECOND,
                chat_burst=middleware.chats.burst,
                chat_interval=0.001,
            )
        manager.register(middleware)
    api.messages_per_second = RELAXED_PER_SECOND
    app.engine.pacer.interval = 0.001
    for update_middleware in app.dp.update.outer_middleware:
        if isinstance(update_middleware, ThrottleMiddleware):
            update_middleware.limit = update_middleware.staff_limit = 10_000


def use_session(bot: Bot, session: LocalSession | DirectSession) -> None:
    """Swap the app's session, keeping its request middlewares (the rate limiter) in order.

    The HTTP lane uses LocalSession: aiogram's AiohttpSession.close() sleeps 250 ms for TLS
    sockets to close, a quarter second at the end of every test for a plain-HTTP fake.
    """
    for middleware in bot.session.middleware:
        session.middleware(middleware)
    bot.session = session


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

    async def invite(self, caseworker: FakeUser, label: str | None = "Case 17/2026") -> str:
        """The caseworker makes an invitation (/invite); returns its deep-link token."""
        return await invite(caseworker, label)

    async def join(
        self,
        caseworker: FakeUser,
        client_id: int,
        language: str = "en",
        label: str = "Case 17/2026",
    ) -> FakeUser:
        """A new person opens the caseworker's invitation and agrees: now their client."""
        return await join(self, caseworker, client_id, language, label)


_INVITE_LINK = re.compile(r"https://t\.me/jana_jol_test_bot\?start=([A-Za-z0-9_-]+)")


async def invite(caseworker: FakeUser, label: str | None = "Case 17/2026") -> str:
    """The caseworker makes an invitation (/invite, a label or Skip); returns its token."""
    await caseworker.command("invite")
    replies = await caseworker.send(label) if label else await caseworker.press("Skip")
    [card] = [m for m in replies if m.kind == "photo"]
    assert card.document is not None
    assert card.document.startswith(b"\x89PNG")  # the printable QR code
    match = _INVITE_LINK.search(card.body)
    assert match, card.text
    token = match.group(1)
    assert len(token) >= 22  # 128 bits of randomness
    return token


async def join(
    app: BotUnderTest,
    caseworker: FakeUser,
    client_id: int,
    language: str = "en",
    label: str = "Case 17/2026",
) -> FakeUser:
    """A new person (Telegram in `language`) opens the invitation and presses the ✅ button."""
    token = await invite(caseworker, label)
    person = app.user(client_id, language_code=language, first_name="Arman")
    await person.start(token)
    [agree] = [text for text in person.last.button_texts if text.startswith("✅")]
    await person.press(agree)
    # The caseworker's notice comes through the engine: wait for it, so it does not land
    # among the replies of the test's next step.
    await caseworker.wait_for(lambda m: "✅" in m.body and "accepted" in m.body)
    return person


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
    app = await create_app(api, tmp_path, **overrides)
    use_session(app.bot, LocalSession(api=TelegramAPIServer.from_base(api.base_url)))
    # The bot tells the fake when it has finished each update, so users wait for that.
    api.state.tracks_handling = True
    app.polling.on_handled.append(api.state.mark_handled)
    count_waiting_requests(app.bot, api)  # replies the rate limiter holds back are awaited
    if not production_limits:
        relax_limits(app, api)
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


@contextlib.asynccontextmanager
async def start_inproc(
    api: FakeBotAPI,
    tmp_path: Path,
    *,
    prepare: Callable[[Application], None] | None = None,
    production_limits: bool = False,
    **overrides: Any,
) -> AsyncIterator[BotUnderTest]:
    """The same application with neither HTTP nor polling: the fast lane for handler logic.

    The bot's requests reach the fake in process (DirectSession: same checks, same errors),
    and each update a FakeUser causes goes straight to `dp.feed_update`, in its own task as
    polling would run it. Start-up and shutdown hooks run as deployed (engine, command
    menus); the durable inbox of bot/polling.py does not take part. The fake's HTTP server
    need not be started.
    """
    if not api.base_url:
        api.base_url = IN_PROCESS_URL
    app = await create_app(api, tmp_path, **overrides)
    use_session(app.bot, DirectSession(api))
    count_waiting_requests(app.bot, api)
    if not production_limits:
        relax_limits(app, api)
    if prepare is not None:
        prepare(app)
    dp, bot = app.dp, app.bot
    running: set[asyncio.Task[None]] = set()

    async def handle(raw: JsonDict) -> None:
        update = Update.model_validate(raw, context={"bot": bot})
        try:
            await dp.feed_update(bot, update)
        except Exception as exc:  # as the polling does: the error middleware answered
            log.error("Update %d failed: %s", update.update_id, type(exc).__name__)
        finally:
            api.state.mark_handled(update.update_id)

    def deliver(raw: JsonDict) -> None:
        task = asyncio.create_task(handle(raw))
        running.add(task)
        task.add_done_callback(running.discard)

    state = api.state
    state.allowed_updates = frozenset(dp.resolve_used_update_types())
    state.tracks_handling = True
    state.deliver = deliver
    context = {"dispatcher": dp, **dp.workflow_data}
    try:
        await dp.emit_startup(bot=bot, **context)
        yield BotUnderTest(app=app, api=api)
    finally:
        state.deliver = None
        if running:
            await asyncio.wait(running, timeout=app.settings.shutdown_grace_seconds)
        for task in running:
            task.cancel()
        try:
            await dp.emit_shutdown(bot=bot, **context)
        finally:
            await app.engine.stop(grace=app.settings.shutdown_grace_seconds)
            await app.db.close()
