"""Application wiring: database, bot, dispatcher, middlewares, routers, start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramUnauthorizedError
from aiogram.types import User
from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.commands import CommandMenus
from bot.config import Settings
from bot.dispatch import LeanDispatcher
from bot.errors import PollingError
from bot.health import ApiCalls, Health, HealthServer
from bot.i18n import UserI18nMiddleware, create_i18n
from bot.lean_types import bind_bot_in_one_step
from bot.middlewares.errors import ErrorReplyMiddleware
from bot.middlewares.throttle import ThrottleMiddleware
from bot.middlewares.user import PrivateChatsOnly, UserMiddleware
from bot.polling import MAX_BACKOFF, DurablePolling
from bot.rate_limit import RateLimitMiddleware
from bot.session import JsonSession
from bot.webhook import WebhookIntake
from db import retention
from db.database import Database
from db.directory_import import load_starter_once
from db.fsm_storage import SQLiteStorage
from db.migrate import migrate
from db.staff import sync_admins
from handlers import feature_routers, register_timed_work, wire_broadcasts
from handlers.checkins.client import is_help_request
from handlers.messaging import AutoReplies, LeaveWritingOnNavigation
from scheduler.backups import BackupPlan, register_backups
from scheduler.broadcasts import BroadcastSender
from scheduler.engine import Engine
from scheduler.settings import EngineSettings

log = logging.getLogger(__name__)


def engine_settings(settings: Settings) -> EngineSettings:
    """What the engine reads of the settings (scheduler/ does not import bot/)."""
    return EngineSettings(
        default_language=settings.default_language,
        timezone=settings.timezone,
        late_after=timedelta(seconds=settings.scheduler_late_after_seconds),
        quiet=settings.quiet,
        appointments=settings.appointment_rules,
    )


def create_bot(settings: Settings) -> Bot:
    bind_bot_in_one_step()  # aiogram's objects built and checked with less CPU
    session = JsonSession()  # parameters as one JSON body: less CPU than aiogram's form
    if settings.telegram_api_url is not None:
        session = JsonSession(
            api=TelegramAPIServer.from_base(str(settings.telegram_api_url).rstrip("/"))
        )
    session.middleware(RateLimitMiddleware())
    session.middleware(ApiCalls())  # innermost: when a call last succeeded (GET /health)
    return Bot(
        settings.token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


@dataclass
class Application:
    settings: Settings
    db: Database
    bot: Bot
    dp: Dispatcher
    engine: Engine
    polling: DurablePolling
    broadcasts: BroadcastSender
    health: Health
    health_server: HealthServer | None = None
    _menus_task: asyncio.Task[None] | None = None
    retry_base: float = 1.0  # seconds before the first retry when Telegram does not answer

    @classmethod
    async def create(cls, settings: Settings, *, webhook: bool = False) -> Application:
        """The application; with `webhook`, it serves WEBHOOK_URL instead of polling."""
        bot = create_bot(settings)  # first: a missing token fails before anything is opened
        db = Database(settings.database_path)
        await db.connect()
        try:
            await migrate(db)
            await sync_admins(db, settings.admin_ids)
            await load_starter_once(db)  # the national directory entries, on the very first start
        except BaseException:
            await db.close()  # aiosqlite's threads would keep the process from exiting
            await bot.session.close()
            raise

        i18n = create_i18n(settings.default_language)
        menus = CommandMenus(db, i18n, settings.default_language)
        # Timed work; features register their kinds on it here, before it starts.
        engine = Engine(db=db, bot=bot, i18n=i18n, settings=engine_settings(settings))
        engine.on_housekeeping(lambda now: retention.purge_expired(db, now))
        # Broadcasts: their own durable sender, through the same session and budget.
        broadcaster = BroadcastSender(db, bot)
        dp = LeanDispatcher(  # aiogram's, without wrapping the routers' empty middleware lists
            storage=SQLiteStorage(db),
            settings=settings,
            db=db,
            menus=menus,
            engine=engine,
            broadcaster=broadcaster,
            auto_replies=AutoReplies(),
        )

        # Outermost first. Every update: any failure answered with an apology,
        # its person loaded, its language set.
        dp.update.outer_middleware(ErrorReplyMiddleware(i18n))
        # This is a one-to-one service: groups and channels are dropped here, in a coroutine
        # (a synchronous filter such as F.chat.type would cost aiogram a thread hop).
        dp.update.outer_middleware(PrivateChatsOnly())
        # One person's flood is dropped, except a cry for help.
        dp.update.outer_middleware(ThrottleMiddleware(db, i18n, exempt=is_help_request(i18n)))
        dp.update.outer_middleware(UserMiddleware(db, menus))
        dp.update.outer_middleware(UserI18nMiddleware(i18n))
        dp.callback_query.middleware(CallbackAnswerMiddleware())
        # Opening another screen ends "writing to X", so a note cannot reach the wrong person.
        dp.message.middleware(LeaveWritingOnNavigation())
        dp.callback_query.middleware(LeaveWritingOnNavigation())

        dp.include_routers(*feature_routers())
        register_timed_work(engine)
        wire_broadcasts(broadcaster, engine, settings.default_language)
        if settings.backup_dir is not None:
            register_backups(engine, backup_plan(settings, settings.backup_dir))
        health = Health(db, engine, _api_calls(bot))
        health.remember_file()
        app = cls(
            settings=settings,
            db=db,
            bot=bot,
            dp=dp,
            engine=engine,
            polling=_intake(settings, dp, bot, db, health)
            if webhook
            else DurablePolling(dp, bot, db),
            broadcasts=broadcaster,
            health=health,
        )
        dp.startup.register(app._on_startup)
        dp.shutdown.register(app._on_shutdown)
        return app

    async def _on_startup(self, bot: Bot) -> None:
        # Timed items wait in the database and are retried, so the engine may start before
        # Telegram answers; polling waits for it (with backoff), then serves at once.
        await self.engine.start()
        await self.broadcasts.start()  # resumes a broadcast a restart interrupted
        me = await self._wait_for_telegram(bot)
        if me is None:
            return  # asked to stop before Telegram answered
        if not isinstance(self.polling, WebhookIntake):
            await self._leave_webhook(bot)
        self._menus_task = asyncio.create_task(self._set_menus(bot))
        log.info("Started @%s with database %s", me.username, self.settings.database_path)

    async def _wait_for_telegram(self, bot: Bot) -> User | None:
        delay = self.retry_base
        while not self.polling.stopping:
            try:
                return await bot.me()
            except TelegramUnauthorizedError:
                raise PollingError(
                    "Telegram does not accept BOT_TOKEN (401): check the token"
                ) from None
            except (TelegramAPIError, ClientDecodeError, OSError) as exc:
                if delay == self.retry_base:
                    log.warning(
                        "Telegram does not answer (%s); trying again with backoff",
                        type(exc).__name__,
                    )
                await self.polling.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
        return None

    async def _leave_webhook(self, bot: Bot) -> None:
        """Long polling after webhook mode: Telegram refuses getUpdates (409) while a webhook
        is set. Its pending updates are kept and come with the first getUpdates."""
        try:
            await bot.delete_webhook(drop_pending_updates=False)
        except (TelegramAPIError, ClientDecodeError, OSError) as exc:
            log.warning("Could not remove a webhook (%s); polling may meet 409", type(exc).__name__)

    async def _set_menus(self, bot: Bot) -> None:
        """Command menus (per language and role): in the background, retried, not needed to serve."""
        menus: CommandMenus = self.dp["menus"]
        delay = self.retry_base
        while not self.polling.stopping:
            try:
                await menus.set_defaults(bot)
                await menus.sync_staff(bot)
                return
            except (TelegramAPIError, ClientDecodeError, OSError) as exc:
                log.warning(
                    "Could not set the command menus (%s); trying again", type(exc).__name__
                )
                await self.polling.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    async def _on_shutdown(self) -> None:
        if self._menus_task is not None:
            self._menus_task.cancel()
        # Polling has stopped; let handlers already running finish their replies.
        try:
            async with asyncio.timeout(self.settings.shutdown_grace_seconds):
                await self.polling.wait_handled()
        except TimeoutError:
            # Their inbox rows stay: they are handled again at the next start.
            log.warning("Shutting down with %d updates still in progress", self.polling.in_progress)
        # After the handlers (they may schedule items), before the database closes.
        await self.broadcasts.stop(grace=self.settings.shutdown_grace_seconds)
        await self.engine.stop(grace=self.settings.shutdown_grace_seconds)

    async def run(self, *, handle_signals: bool = True) -> None:
        address = self.settings.health_address
        try:
            if address is not None:
                self.health_server = HealthServer(self.health, *address)
                await self.health_server.start()
            await self.polling.run(handle_signals=handle_signals)
        finally:
            if self.health_server is not None:
                await self.health_server.stop()
            # Already stopped by _on_shutdown, unless startup failed half-way.
            await self.broadcasts.stop(grace=self.settings.shutdown_grace_seconds)
            await self.engine.stop(grace=self.settings.shutdown_grace_seconds)
            await self.db.close()
            log.info("Stopped")

    async def stop(self) -> None:
        await self.polling.stop()


def backup_plan(settings: Settings, folder: Path) -> BackupPlan:
    return BackupPlan(
        database=settings.database_path,
        folder=folder,
        keep_days=settings.backup_keep_days,
        at=settings.backup_at,
        zone=settings.zone,
    )


def _api_calls(bot: Bot) -> ApiCalls:
    found = [m for m in bot.session.middleware if isinstance(m, ApiCalls)]
    return found[0] if found else ApiCalls()


def _intake(
    settings: Settings, dp: Dispatcher, bot: Bot, db: Database, health: Health
) -> WebhookIntake:
    url, secret = settings.webhook()
    return WebhookIntake(
        dp,
        bot,
        db,
        url=url,
        secret=secret,
        host=settings.webhook_listen_host,
        port=settings.webhook_listen_port,
        health=health,
    )


async def run_bot(settings: Settings, *, webhook: bool = False) -> None:
    from bot.single_instance import single_instance
    from db.migrate import check_database

    # One bot per database: a second one raises AlreadyRunningError here, before it
    # touches anything. A file that is not a database, is damaged or comes from a
    # newer version stops the start with one line (DatabaseFileError, SchemaTooNewError).
    with single_instance(settings.database_path):
        await check_database(settings.database_path)
        app = await Application.create(settings, webhook=webhook)
        await app.run()


def run(settings: Settings, *, webhook: bool = False) -> None:
    asyncio.run(run_bot(settings, webhook=webhook))
