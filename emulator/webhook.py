"""Webhook delivery, as Telegram does it: setWebhook, deleteWebhook, getWebhookInfo, and
every new update POSTed to the bot's URL with the secret header, retried until it answers 2xx.

Installed on a :class:`~emulator.server.FakeBotAPI` by :func:`install` (one line in the
server): it replaces the three methods and refuses getUpdates while a webhook is set, with
Telegram's 409. Updates are delivered one at a time, in order (Telegram's
``max_connections=1``); an update is confirmed only by a 2xx answer, so a bot that dies
before answering gets it again, and one that answered 200 never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from dataclasses import dataclass, field

import aiohttp

from .methods import BotMethods
from .models import ApiError, JsonDict
from .params import Params
from .state import State

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass
class Attempt:
    """One POST of an update to the webhook: what the bot answered (0: no answer)."""

    update_id: int
    status: int


@dataclass
class WebhookPusher:
    state: State
    # Seconds before re-sending an update the bot did not accept: doubled each time, capped.
    retry_base: float = 0.05
    retry_cap: float = 2.0
    url: str = ""
    secret: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    last_error: str | None = None
    last_error_date: int | None = None
    _queue: deque[JsonDict] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    # -- methods -----------------------------------------------------------------------

    def set_webhook(self, params: Params) -> bool:
        url = params.str_("url")
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        secret = params.opt_str("secret_token")
        allowed = params.opt_json("allowed_updates")
        if isinstance(allowed, list):
            self.state.allowed_updates = frozenset(str(kind) for kind in allowed)
        if params.bool_("drop_pending_updates"):
            self._drop_pending()
        self.url, self.secret = url, secret
        # What waited for getUpdates now goes to the webhook, in order.
        self._queue.extend(u for u in self.state.updates if self._take(u))
        self.state.updates.clear()
        self.state.deliver = self._deliver
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()
        self.state.notify()
        return True

    def delete_webhook(self, params: Params) -> bool:
        if params.bool_("drop_pending_updates"):
            self._drop_pending()
        if self.url:
            self.url, self.secret = "", None
            self.state.deliver = None
            # Not yet accepted by the bot: they wait for getUpdates again.
            self.state.updates[:0] = list(self._queue)
            self._queue.clear()
            self._wake.set()
        self.state.notify()
        return True

    def get_webhook_info(self, _params: Params) -> JsonDict:
        info: JsonDict = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue) if self.url else len(self.state.updates),
        }
        if self.last_error is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error
        return info

    def guard_get_updates(self) -> None:
        if self.url:
            raise ApiError(409, WEBHOOK_ACTIVE)

    # -- delivery ----------------------------------------------------------------------

    @property
    def pending(self) -> list[JsonDict]:
        """Updates not yet accepted (2xx) by the bot's webhook, oldest first."""
        return list(self._queue)

    def delivered(self, update_id: int) -> int:
        """How many times the bot answered 2xx for this update (Telegram: at most once)."""
        return sum(1 for a in self.attempts if a.update_id == update_id and 200 <= a.status < 300)

    async def wait_set(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        if not await self.state.wait_until(lambda: bool(self.url), timeout):
            raise AssertionError(f"the bot did not call setWebhook within {timeout}s")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _take(self, update: JsonDict) -> bool:
        if self.state._allowed(update):
            return True
        self.state.dropped.add(update["update_id"])
        return False

    def _drop_pending(self) -> None:
        for update in [*self.state.updates, *self._queue]:
            self.state.dropped.add(update["update_id"])
        self.state.updates.clear()
        self._queue.clear()

    def _deliver(self, update: JsonDict) -> None:
        # push_update with a webhook set: allowed_updates already checked there.
        self._queue.append(update)
        self._wake.set()

    async def _run(self) -> None:
        delay = self.retry_base
        async with aiohttp.ClientSession() as session:
            while True:
                if not self._queue or not self.url:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                update = self._queue[0]
                status = await self._post(session, update)
                self.attempts.append(Attempt(update["update_id"], status))
                if 200 <= status < 300:
                    if self._queue and self._queue[0] is update:
                        self._queue.popleft()
                    delay = self.retry_base
                    self.state.notify()
                    continue
                self.last_error = (
                    f"Wrong response from the webhook: {status}"
                    if status
                    else ("Connection refused")
                )
                self.last_error_date = int(time.time())
                self.state.notify()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_cap)

    async def _post(self, session: aiohttp.ClientSession, update: JsonDict) -> int:
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SECRET_HEADER] = self.secret
        try:
            async with session.post(
                self.url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return 0


def install(methods: BotMethods, state: State) -> WebhookPusher:
    """Adds webhook delivery to the emulator's methods; returns the pusher (tests read it)."""
    pusher = WebhookPusher(state)
    methods.handlers["setWebhook"] = pusher.set_webhook
    methods.handlers["deleteWebhook"] = pusher.delete_webhook
    methods.handlers["getWebhookInfo"] = pusher.get_webhook_info
    polling = methods.get_updates

    async def get_updates(params: Params) -> list[JsonDict]:
        pusher.guard_get_updates()
        return await polling(params)

    methods.get_updates = get_updates  # type: ignore[method-assign]
    return pusher
