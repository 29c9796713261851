"""Webhook mode: Telegram POSTs each update; it is stored in the inbox before the 200.

The same durable path as long polling (bot/polling.py, whose start-up, replay, handling,
deletion and shutdown this class inherits): an update is written to the `inbox` table
(db/inbox.py) and only then answered 200, handled in its own task, and its row deleted
once handled. Telegram re-sends an update until it gets a 2xx, so:
- a crash before the commit: no 200, Telegram sends it again;
- a crash after the 200, mid-handler: the row is there, handled at the next start;
- a re-sent update whose 200 was lost is recognised by its id while this process runs
  (`SEEN`); after a restart, handlers that write are replay-safe as for the inbox's own
  replays.

A request without the right X-Telegram-Bot-Api-Secret-Token gets 401 (compared in
constant time; logged without its body or the header's value, at most once a minute);
a body over `MAX_BODY` gets 413, one that is not an Update 400; neither is stored.
While stopping, requests get 503 (Telegram keeps the update and tries again later).

TLS is the job of a reverse proxy (nginx, Caddy) in front: this server listens on
WEBHOOK_LISTEN_HOST:WEBHOOK_LISTEN_PORT, plain HTTP, at WEBHOOK_URL's path.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import OrderedDict
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramUnauthorizedError,
)
from aiogram.methods import SetWebhook
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.errors import PollingError
from bot.health import Health, add_route
from bot.polling import DurablePolling
from db import inbox
from db.database import Database

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few KB (a message of 4,096 characters with its entities and a quoted reply);
# anything far larger is not from Telegram.
MAX_BODY = 1024 * 1024
# Update ids taken by this process, remembered to recognise Telegram re-sending one.
SEEN = 10_000
# A refused request is logged at most this often (seconds), with the count since.
REFUSAL_LOG_EVERY = 60.0


class WebhookIntake(DurablePolling):
    """Serves the webhook instead of polling; everything else as `DurablePolling`."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        db: Database,
        *,
        url: str,
        secret: str,
        host: str,
        port: int,
        health: Health | None = None,
        retry_base: float = 1.0,
    ) -> None:
        super().__init__(dp, bot, db, retry_base=retry_base)
        self.url = url
        self.path = urlsplit(url).path or "/"
        self._secret = secret.encode()
        self.host = host
        self.port = port
        self.health = health
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._refused = 0
        self._refusal_logged_at: float | None = None
        self._runner: web.AppRunner | None = None

    # -- serving (in place of DurablePolling's getUpdates loop) ------------------------------

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self.receive)
        if self.health is not None:
            add_route(app, self.health)
        return app

    async def _poll(self) -> None:
        runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            self._runner = runner
            log.info("Webhook server on %s:%d%s", self.host, self.port, self.path)
            if await self._set_webhook():
                await self._stop.wait()
        finally:
            self._runner = None
            await runner.cleanup()  # requests already storing finish; new ones are refused

    @property
    def bound_port(self) -> int:
        """The port listened on (WEBHOOK_LISTEN_PORT=0 picks a free one: tests)."""
        assert self._runner is not None
        return int(self._runner.addresses[0][1])

    async def _set_webhook(self) -> bool:
        """Tells Telegram where to post (retried with backoff); False when asked to stop first.

        The webhook is left in place at shutdown: Telegram keeps the updates that arrive
        meanwhile and delivers them once the bot answers again.
        """
        method = SetWebhook(
            url=self.url,
            secret_token=self._secret.decode(),
            allowed_updates=self.dp.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        failures = 0
        while not self._stop.is_set():
            try:
                await self.bot(method)
            except TelegramUnauthorizedError:
                raise PollingError(
                    "Telegram does not accept BOT_TOKEN (401): check the token"
                ) from None
            except TelegramBadRequest as exc:
                raise PollingError(
                    f"Telegram refused WEBHOOK_URL: {exc.message} (it must be https on port "
                    "443, 80, 88 or 8443, with a valid certificate)"
                ) from None
            except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as exc:
                failures = await self._wait_after_failure(failures, type(exc).__name__)
                continue
            log.info("Webhook set; Telegram posts updates to it")
            return True
        return False

    # -- one request ----------------------------------------------------------------------------

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self._log_refusal(request)
            return web.Response(status=401)
        if self._stop.is_set():
            return web.Response(status=503)  # Telegram keeps it and tries again
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413)
        raw = await request.read()  # aiohttp answers 413 past client_max_size
        try:
            text = raw.decode()
            update = Update.model_validate_json(text, context={"bot": self.bot})
        except (UnicodeDecodeError, ValidationError, ValueError):
            return web.Response(status=400)
        if update.update_id in self._seen:
            return web.Response()  # Telegram did not get our 200 and sent it again
        try:
            await inbox.store(self.db, [(update.update_id, text)])
        except Exception as exc:  # no 200: Telegram sends it again
            log.error("Could not store an update: %s", type(exc).__name__)
            return web.Response(status=500)
        self._spawn(update)
        return web.Response()

    def _spawn(self, update: Update) -> None:
        # Also for updates replayed from the inbox at start: a re-sent copy is not run twice.
        self._seen[update.update_id] = None
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        super()._spawn(update)

    def _log_refusal(self, request: web.Request) -> None:
        self._refused += 1
        now = asyncio.get_running_loop().time()
        if (
            self._refusal_logged_at is not None
            and now - self._refusal_logged_at < REFUSAL_LOG_EVERY
        ):
            return
        log.warning(
            "Webhook: refused %d request(s) without the right secret token (401), latest from %s",
            self._refused,
            request.remote or "?",
        )
        self._refused = 0
        self._refusal_logged_at = now
