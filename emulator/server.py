# `timeout=` here bounds waiting for the bot as a whole (and shapes the error
# message), which asyncio.timeout() around the call could not do.
# ruff: noqa: ASYNC109
"""A local fake of the Telegram Bot API HTTP server for end-to-end tests.

The real bot connects with
``AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))`` and cannot tell
the difference for the methods implemented in :mod:`.methods`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from .faults import Faults
from .methods import OUTGOING, BotMethods
from .models import ApiError, CallbackAnswer, JsonDict, Msg
from .params import Params, read_params
from .state import State, UserRecord
from .user import FakeUser
from .webhook import install as install_webhook

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Answer:
    """The fake's answer to one call: HTTP status and JSON body (or a proxy's HTML page).

    ``dropped``: the call took effect but the connection is cut before the answer.
    """

    status: int
    body: JsonDict | str
    dropped: bool = False


@dataclass
class _Fault:
    drop: bool  # True: run the call, then close the socket without answering
    error: ApiError | None
    remaining: int
    html: bool = False  # answer as a proxy in front of the API does: an HTML page


class _FloodLimiter:
    """At most ``limit`` messages arriving in any sliding one-second window (across all chats).

    A message counts when it arrives, as Telegram sees it, whatever its outcome (a
    refusal for a blocked chat too); a call refused with 429 does not count.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._arrived: deque[float] = deque()
        self.refused: list[float] = []  # monotonic times of the 429s given

    def admit(self) -> bool:
        """Counts an arriving message; False (and not counted) when the window is full."""
        now = time.monotonic()
        cutoff = now - 1.0
        while self._arrived and self._arrived[0] <= cutoff:
            self._arrived.popleft()
        if len(self._arrived) >= self.limit:
            self.refused.append(now)
            return False
        self._arrived.append(now)
        return True


def _json(payload: JsonDict, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status)


class FakeBotAPI:
    """Fake Telegram: HTTP endpoints for the bot, :meth:`user` for the test's humans."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "jana_jol_test_bot",
        bot_first_name: str = "Jana Jol Test Bot",
        messages_per_second: int = 30,
        retry_after: int = 1,
        strict_html: bool = True,
        latency: float = 0.0,
    ) -> None:
        self.token = token
        self.retry_after = retry_after
        # Seconds added to every call, as a network would: half before the call arrives
        # (and is counted), half before its answer reaches the bot.
        self.latency = latency
        self.base_url = ""  # known after start(): the port is picked by the OS
        self.state = State(
            {"id": bot_id, "is_bot": True, "first_name": bot_first_name, "username": bot_username}
        )
        self.methods = BotMethods(self.state, strict_html=strict_html)
        # setWebhook and pushing updates to the bot's URL (emulator/webhook.py).
        self.webhook = install_webhook(self.methods, self.state)
        self.requests: list[tuple[str, JsonDict]] = []
        # Every error answer given: (method, status, description), for assertions.
        self.errors: list[tuple[str, int, str]] = []
        self._canonical = {name.lower(): name for name in self.methods.names()}
        self._limiter = _FloodLimiter(messages_per_second)
        self._faults: dict[str, list[_Fault]] = {}
        self._users: dict[int, FakeUser] = {}
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        # Outages (5xx, hanging calls, refused connections) for a while: emulator/faults.py.
        self.faults = Faults(self)

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self.state.closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)  # Bot API accepts 50 MB uploads
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # Short shutdown: long-polls are woken by stop(), nothing else lingers.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await self._site.start()
        sockets = self._runner.addresses
        self._port = sockets[0][1]
        self.base_url = f"http://127.0.0.1:{self._port}"

    async def close_listener(self) -> None:
        """Stop listening (connections are refused); the server keeps its state and port."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def open_listener(self) -> None:
        """Listen again on the same port after close_listener()."""
        if self._runner is not None and self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self._port)
            await self._site.start()

    async def stop(self) -> None:
        await self.faults.resume()  # release calls held by an outage
        self.state.closing = True
        self.state.notify()  # release pending getUpdates long-polls
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test-facing API -------------------------------------------------------

    @property
    def messages_per_second(self) -> int:
        """Deliveries allowed in any one second across chats; more get 429 (Telegram: 30)."""
        return self._limiter.limit

    @messages_per_second.setter
    def messages_per_second(self, limit: int) -> None:
        self._limiter.limit = limit

    @property
    def flood_refusals(self) -> list[float]:
        """When (time.monotonic()) each 429 of the flood limit was given, oldest first."""
        return self._limiter.refused

    def user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """The simulated user ``user_id`` (created on first use); their private chat id is ``user_id``."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        record = UserRecord(user_id, first_name, last_name, username, language_code)
        self.state.users[user_id] = record
        self.state.chat(user_id)
        self._users[user_id] = FakeUser(self.state, record)
        return self._users[user_id]

    @property
    def commands(self) -> dict[tuple[str, str], list[JsonDict]]:
        """setMyCommands store: (scope key such as "default" or "chat:42", language code or "") -> commands."""
        return self.state.commands

    def commands_for(self, chat_id: int, language_code: str = "") -> list[JsonDict]:
        """Commands a client shows in a private chat, resolved like Telegram (most specific scope first)."""
        for scope in (f"chat:{chat_id}", "all_private_chats", "default"):
            for language in dict.fromkeys((language_code, "")):
                found = self.state.commands.get((scope, language))
                if found:
                    return found
        return []

    def calls(self, method: str) -> list[JsonDict]:
        """Parameters of every received call of ``method`` (case-insensitive), oldest first."""
        name = self._method_name(method)
        return [params for called, params in self.requests if called == name]

    def history(self, chat_id: int) -> list[Msg]:
        """Current messages of a chat, both sides, in order."""
        return list(self.state.chat(chat_id).messages.values())

    def outgoing(self, chat_id: int) -> list[Msg]:
        """The bot's current messages in a chat."""
        return [m for m in self.history(chat_id) if m.from_bot]

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return self.state.callback_answers

    @property
    def chat_actions(self) -> list[tuple[int, str]]:
        return self.state.chat_actions

    @property
    def unanswered_callbacks(self) -> list[str]:
        """Ids of callback queries the bot never answered (the client would show a spinner)."""
        return list(self.state.callbacks)

    def push_update(self, body: JsonDict) -> int:
        """Queue a raw update (without update_id) for getUpdates; returns its update_id."""
        return self.state.push_update(body)

    @property
    def pending_updates(self) -> list[JsonDict]:
        return list(self.state.updates)

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        count: int = 1,
        *,
        retry_after: int | None = None,
        html: bool = False,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error; they have no effect.

        ``html=True`` answers with an HTML page instead of the API's JSON, as a reverse
        proxy in front of the Bot API does on a 502.
        """
        text = description or _DEFAULT_DESCRIPTIONS.get(status, "Error")
        if status == 429 and description is None and retry_after is not None:
            text = f"Too Many Requests: retry after {retry_after}"
        error = ApiError(status, text, retry_after=retry_after)
        fault = _Fault(False, error, count, html=html)
        self._faults.setdefault(self._method_name(method), []).append(fault)

    def drop_connection_next(self, method: str, *, count: int = 1) -> None:
        """Perform the next ``count`` calls of ``method`` but close the socket instead of answering."""
        self._faults.setdefault(self._method_name(method), []).append(_Fault(True, None, count))

    @property
    def poll_count(self) -> int:
        """How many getUpdates calls have arrived so far."""
        return self.state.poll_generation

    async def wait_polling(self, timeout: float = 5.0, *, since: int | None = None) -> None:
        """Wait until a getUpdates call arrives after ``since`` (a ``poll_count``; default: now)."""
        seen = self.poll_count if since is None else since
        if not await self.state.wait_until(lambda: self.state.poll_generation > seen, timeout):
            raise AssertionError(f"the bot did not call getUpdates within {timeout}s")

    async def wait_idle(self, *, quiet: float = 0.15, timeout: float = 20.0) -> None:
        """Wait until every queued update was fetched and the bot made no call for ``quiet`` seconds."""
        state = self.state
        if state.tracks_handling:  # the bot reports each update handled
            last = state.last_update_id

            def all_handled() -> bool:
                done = state.handled | state.dropped
                return state.in_flight == 0 and all(i in done for i in range(1, last + 1))

            if not await state.wait_until(all_handled, timeout):
                raise AssertionError(f"the bot did not finish its updates within {timeout}s")
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def all_taken() -> bool:
            return all(u["update_id"] in state.fetched for u in state.updates)

        await state.wait_until(all_taken, timeout)
        # Quiet counts from the fetch too: a handler may work a while before its first call.
        taken_at = loop.time()
        while loop.time() < deadline:
            idle = loop.time() - max(state.last_activity, taken_at)
            if state.in_flight == 0 and idle >= quiet:
                return
            await asyncio.sleep(max(quiet - idle, 0.01))

    # -- HTTP ------------------------------------------------------------------

    def method_name(self, method: str) -> str:
        """The Bot API's spelling of ``method``; ValueError when the fake lacks it."""
        return self._method_name(method)

    def _method_name(self, method: str) -> str:
        name = self._canonical.get(method.lower())
        if name is None:
            raise ValueError(f"FakeBotAPI does not implement {method!r}")
        return name

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json(ApiError(401, "Unauthorized").payload(), 401)
        method = self._canonical.get(request.match_info["method"].lower())
        if method is None:
            return _json(ApiError(404, "Not Found").payload(), 404)
        try:
            data = await read_params(request)
        except ApiError as exc:
            return _json(exc.payload(), exc.status)
        answer = await self.answer(method, data)
        if answer.dropped and request.transport is not None:
            # The call took effect; the bot just never learns the answer.
            request.transport.abort()
            raise asyncio.CancelledError
        if isinstance(answer.body, str):
            return web.Response(status=answer.status, text=answer.body, content_type="text/html")
        return _json(answer.body, answer.status)

    async def answer(self, method: str, data: JsonDict) -> Answer:
        """One call of the canonical ``method`` with decoded ``data``, however it arrived.

        Used by the HTTP endpoint and by the in-process session (emulator/direct.py),
        so faults, flood limits and the record of requests behave the same in both.
        """
        # getUpdates is the bot idling; every other call is a reaction users wait on.
        is_reaction = method != "getUpdates"
        if is_reaction:
            self.state.call_started()
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency / 2)
            answer = await self.faults.intercept(method)
            if answer is None:
                self.requests.append((method, data))
                answer = await self._answer(method, data)
            if self.latency > 0:
                await asyncio.sleep(self.latency / 2)
            return answer
        finally:
            if is_reaction:
                self.state.call_finished()

    async def _answer(self, method: str, data: JsonDict) -> Answer:
        fault = self._take_fault(method)
        if fault is not None and fault.error is not None:
            if fault.html:
                self.errors.append((method, fault.error.status, "html"))
                page = f"<html><body><h1>{fault.error.status} {fault.error.description}</h1></body></html>"
                return Answer(fault.error.status, page)
            return self._error(method, fault.error)
        try:
            result = await self._call(method, Params(data))
        except ApiError as exc:
            return self._error(method, exc)
        dropped = fault is not None and fault.drop
        return Answer(200, {"ok": True, "result": result}, dropped=dropped)

    def error_answer(self, method: str, error: ApiError) -> Answer:
        """``error`` as the answer to ``method``, recorded in :attr:`errors`."""
        return self._error(method, error)

    def _error(self, method: str, error: ApiError) -> Answer:
        self.errors.append((method, error.status, error.description))
        return Answer(error.status, error.payload())

    def canonical_method(self, method: str) -> str | None:
        """The Bot API's spelling of ``method`` (names are case-insensitive), None if unknown."""
        return self._canonical.get(method.lower())

    async def _call(self, method: str, params: Params) -> object:
        if method in OUTGOING and not self._limiter.admit():
            raise ApiError(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                retry_after=self.retry_after,
            )
        return await self.methods.call(method, params)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json(ApiError(401, "Unauthorized").payload(), 401)
        stored = self.state.file_by_path(request.match_info["path"])
        if stored is None:
            return _json(ApiError(404, "Not Found").payload(), 404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
