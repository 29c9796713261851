"""Long polling that loses no update: stored before it is confirmed, deleted once handled.

aiogram's own polling confirms a batch (the next getUpdates offset) while its handlers may
still be running, so a crash mid-handler loses the update. Here each fetched batch is
written to the `inbox` table (db/inbox.py) before the next getUpdates is sent; each update
is handled in its own task (as aiogram does) and its row deleted once the handler is done,
with the others handled within `DONE_DELAY` (one write for several updates; a crash in
that short time hands those few to the next start, which handles them again).
At start, rows a dead process left behind are handled again before polling resumes from
the stored offset (so Telegram never hands back an update that was already handled).
Handlers that write are idempotent under such a replay (a relayed message and a check-in
answer are keyed by their Telegram ids).

Only public aiogram API is used: `feed_update`, `emit_startup`/`emit_shutdown`,
`resolve_used_update_types`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramConflictError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.types import Update
from pydantic_core import PydanticSerializationError

from bot.errors import PollingError
from db import inbox
from db.database import Database
from db.fsm_storage import SQLiteStorage

log = logging.getLogger(__name__)

# getUpdates failures: wait 1, 2, 4 ... seconds, at most this long, between tries.
MAX_BACKOFF = 30.0
# Another process polling the same token (409) this many times in a row: stop, it will not heal.
MAX_CONFLICTS = 5
# Handled updates' rows are deleted together, this long after the first of them is handled.
DONE_DELAY = 0.5


class DurablePolling:
    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        db: Database,
        *,
        timeout: int = 25,
        retry_base: float = 1.0,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.db = db
        self.timeout = timeout
        self.retry_base = retry_base
        self.on_handled: list[Callable[[int], None]] = []  # update ids, once handled (tests)
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: list[int] = []  # handled, rows not deleted yet
        self._deleting: asyncio.Task[None] | None = None  # deletes them after DONE_DELAY
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, *, handle_signals: bool = True) -> None:
        """Start-up, replay, poll until stopped, shut down. Returns after a clean stop."""
        self._stop.clear()
        self._stopped.clear()
        self._running = True
        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            await self.dp.emit_startup(bot=self.bot, **self._context())
            if not self._stop.is_set():  # a signal during start-up (Telegram unreachable)
                await self._replay()
                await self._poll()
        finally:
            try:
                await self.dp.emit_shutdown(bot=self.bot, **self._context())
            finally:
                # Handlers still running past the shutdown grace keep their inbox rows:
                # they are handled again at the next start.
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                self._stop.set()  # a pending delete goes at once
                if self._deleting is not None:
                    await asyncio.gather(self._deleting, return_exceptions=True)
                await self._delete_done()
                await self.bot.session.close()
                self._running = False
                self._stopped.set()

    async def stop(self) -> None:
        if not self._running:
            return
        self._stop.set()
        await self._stopped.wait()

    @property
    def in_progress(self) -> int:
        return len(self._tasks)

    async def wait_handled(self) -> None:
        """Returns once every update taken so far is handled (bound it with a timeout).

        Their rows are deleted within DONE_DELAY, and at the latest when `run` returns."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("Received %s: stopping", sig.name)
        self._stop.set()

    def _context(self) -> dict[str, Any]:
        return {"dispatcher": self.dp, **self.dp.workflow_data}

    # -- handling ------------------------------------------------------------------------------

    async def _replay(self) -> None:
        updates, given_up = await inbox.replay(self.db)
        for update_id in given_up:
            log.error("Update %d was given up after %d tries", update_id, inbox.MAX_ATTEMPTS)
        if updates:
            log.warning("Handling again %d updates a stopped process left", len(updates))
        for stored in updates:
            update = Update.model_validate_json(stored.payload, context={"bot": self.bot})
            self._spawn(update)

    def _spawn(self, update: Update) -> None:
        task = asyncio.create_task(self._handle(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update: Update) -> None:
        storage = self.dp.fsm.storage
        # Conversation state read once per update, however many times it is asked for.
        scope = (
            storage.per_update() if isinstance(storage, SQLiteStorage) else contextlib.nullcontext()
        )
        try:
            with scope:
                await self.dp.feed_update(self.bot, update)
        except Exception as exc:  # the error middleware answers the person; this is the rest
            log.error("Update %d failed: %s", update.update_id, type(exc).__name__)
        self._done.append(update.update_id)
        if self._deleting is None or self._deleting.done():
            self._deleting = asyncio.create_task(self._delete_done_later())
        for hook in self.on_handled:
            hook(update.update_id)

    async def _delete_done_later(self) -> None:
        """Deletes handled rows every DONE_DELAY while there are any. The task stays
        referenced until its last write is over, so shutdown waits for it before the
        database closes (it used to drop the reference first, and lose the race)."""
        while True:
            await self.sleep(DONE_DELAY)  # at once when stopping
            await self._delete_done()
            if not self._done or self._stop.is_set():
                return

    async def _delete_done(self) -> None:
        handled, self._done = self._done, []
        try:
            await inbox.done(self.db, handled)
        except Exception as exc:  # the rows stay: handled again at the next start
            log.error("Could not mark %d updates handled: %s", len(handled), type(exc).__name__)

    # -- fetching ------------------------------------------------------------------------------

    async def _poll(self) -> None:
        allowed = self.dp.resolve_used_update_types()
        offset = await inbox.next_offset(self.db)
        failures = conflicts = 0
        stopping = asyncio.create_task(self._stop.wait())
        try:
            while not self._stop.is_set():
                request = GetUpdates(offset=offset, timeout=self.timeout, allowed_updates=allowed)
                fetch = asyncio.create_task(self.bot(request, request_timeout=self.timeout + 15))
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    # Nothing is lost: what this call would have returned is not confirmed.
                    fetch.cancel()
                    await asyncio.gather(fetch, return_exceptions=True)
                    return
                try:
                    updates = fetch.result()
                except TelegramUnauthorizedError:
                    raise PollingError(
                        "Telegram does not accept BOT_TOKEN (401): check the token"
                    ) from None
                except TelegramConflictError:
                    conflicts += 1
                    if conflicts >= MAX_CONFLICTS:
                        raise PollingError(
                            "another process is polling Telegram with this BOT_TOKEN (409); "
                            "stop it first"
                        ) from None
                    failures = await self._wait_after_failure(failures, "conflict")
                    continue
                except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as exc:
                    failures = await self._wait_after_failure(failures, type(exc).__name__)
                    continue
                if failures:
                    log.info("Telegram answers again; polling resumed")
                failures = conflicts = 0
                if not updates:
                    continue
                if not await self._store(updates):
                    continue  # not stored: fetched again (unconfirmed) after a pause
                offset = updates[-1].update_id + 1
                for update in updates:
                    self._spawn(update)
        finally:
            stopping.cancel()

    async def _store(self, updates: list[Update]) -> bool:
        batch = []
        for n, update in enumerate(updates):
            try:
                text = update.model_dump_json(exclude_none=True, by_alias=True)
            except PydanticSerializationError:  # a lone surrogate: replaced in what is handled too
                updates[n] = update = _without_lone_surrogates(update, self.bot)
                text = update.model_dump_json(exclude_none=True, by_alias=True)
            batch.append((update.update_id, text))
        try:
            await inbox.store(self.db, batch)
        except Exception as exc:
            log.error("Could not store %d updates: %s", len(batch), type(exc).__name__)
            await self.sleep(self.retry_base)
            return False
        return True

    async def _wait_after_failure(self, failures: int, what: str) -> int:
        delay = min(MAX_BACKOFF, self.retry_base * 2**failures)
        if failures == 0:  # one line per outage, not one per try
            log.warning("Cannot fetch updates from Telegram (%s); retrying with backoff", what)
        await self.sleep(delay)
        return failures + 1

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def sleep(self, delay: float) -> None:
        """Sleeps `delay` seconds, or less when a stop is asked for meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(update: Update, bot: Bot) -> Update:
    """The update with U+FFFD for each UTF-16 surrogate that has no partner. JSON can carry one
    as an escape ("\\ud800"), but UTF-8 cannot: the inbox, the database and any reply would
    refuse it, and an update that cannot be stored would stop polling. (Pairs were already
    joined into one character when the JSON was read, so any surrogate left is alone.)"""
    data = update.model_dump(mode="json", exclude_none=True, by_alias=True)
    text = _LONE_SURROGATE.sub("\ufffd", json.dumps(data, ensure_ascii=False))
    log.warning("Update %d carried a lone surrogate: replaced with U+FFFD", update.update_id)
    return Update.model_validate_json(text, context={"bot": bot})
