"""Application wiring: database, bot, dispatcher, middlewares, routers, start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.utils.callback_answer import CallbackAnswerMiddleware

from bot.commands import CommandMenus
from bot.config import Settings
from bot.i18n import UserI18nMiddleware, create_i18n
from bot.middlewares.errors import ErrorReplyMiddleware
from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.throttle import ThrottleMiddleware
from bot.middlewares.user import PrivateChatsOnly, UserMiddleware
from bot.rate_limit import RateLimitMiddleware
from db.database import Database
from db.directory_import import load_starter_once
from db.fsm_storage import SQLiteStorage
from db.migrate import migrate
from db.staff import sync_admins
from handlers import feature_routers, register_timed_work
from handlers.messaging import AutoReplies
from scheduler.engine import Engine

log = logging.getLogger(__name__)


def create_bot(settings: Settings) -> Bot:
    session = AiohttpSession()
    if settings.telegram_api_url is not None:
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(str(settings.telegram_api_url).rstrip("/"))
        )
    session.middleware(RateLimitMiddleware())
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
    inflight: InFlightMiddleware
    engine: Engine

    @classmethod
    async def create(cls, settings: Settings) -> Application:
        bot = create_bot(settings)  # first: a missing token fails before anything is opened
        db = Database(settings.database_path)
        await db.connect()
        await migrate(db)
        await sync_admins(db, settings.admin_ids)
        await load_starter_once(db)  # the national directory entries, on the very first start

        i18n = create_i18n(settings.default_language)
        menus = CommandMenus(db, i18n, settings.default_language)
        inflight = InFlightMiddleware()
        # Timed work; features register their kinds on it here, before it starts.
        engine = Engine(db=db, bot=bot, i18n=i18n, settings=settings)
        dp = Dispatcher(
            storage=SQLiteStorage(db),
            settings=settings,
            db=db,
            menus=menus,
            engine=engine,
            auto_replies=AutoReplies(),
        )

        # Outermost first. Every update: tracked, any failure answered with an apology,
        # its person loaded, its language set.
        dp.update.outer_middleware(inflight)
        dp.update.outer_middleware(ErrorReplyMiddleware(i18n))
        dp.update.outer_middleware(PrivateChatsOnly())  # groups and channels: dropped here
        dp.update.outer_middleware(ThrottleMiddleware(db, i18n))  # one person's flood: dropped
        dp.update.outer_middleware(UserMiddleware(db, menus))
        dp.update.outer_middleware(UserI18nMiddleware(i18n))
        dp.callback_query.middleware(CallbackAnswerMiddleware())
        # This is a one-to-one service: groups and channels are not served.
        dp.message.filter(F.chat.type == "private")

        dp.include_routers(*feature_routers())
        register_timed_work(engine)
        app = cls(settings=settings, db=db, bot=bot, dp=dp, inflight=inflight, engine=engine)
        dp.startup.register(app._on_startup)
        dp.shutdown.register(app._on_shutdown)
        return app

    async def _on_startup(self, bot: Bot) -> None:
        me = await bot.get_me()
        menus: CommandMenus = self.dp["menus"]
        await menus.set_defaults(bot)
        await menus.sync_staff(bot)
        await self.engine.start()
        log.info("Started @%s with database %s", me.username, self.settings.database_path)

    async def _on_shutdown(self) -> None:
        # Polling has stopped; let handlers already running finish their replies.
        try:
            async with asyncio.timeout(self.settings.shutdown_grace_seconds):
                await self.inflight.wait_idle()
        except TimeoutError:
            log.warning("Shutting down with %d updates still in progress", self.inflight.count)
        # After the handlers (they may schedule items), before the database closes.
        await self.engine.stop(grace=self.settings.shutdown_grace_seconds)

    async def run(self, *, handle_signals: bool = True) -> None:
        try:
            await self.dp.start_polling(self.bot, handle_signals=handle_signals, polling_timeout=25)
        finally:
            # Already stopped by _on_shutdown, unless startup failed half-way.
            await self.engine.stop(grace=self.settings.shutdown_grace_seconds)
            await self.db.close()
            log.info("Stopped")

    async def stop(self) -> None:
        await self.dp.stop_polling()


async def run_bot(settings: Settings) -> None:
    app = await Application.create(settings)
    await app.run()


def run(settings: Settings) -> None:
    asyncio.run(run_bot(settings))
