"""The durable broadcast sender: one long-running task, started with the app.

Stored → claimed → sent → marked, like the engine (scheduler/runner.py), but for many
copies of one message: every recipient row is stored with its broadcast before anything
goes out (db/broadcasts.py). The loop

- starts scheduled broadcasts whose `send_at` has come (its own due query: durable);
- claims due pending rows (`not_before <= now`: after the client's quiet hours unless
  urgent) in small batches, round robin between the broadcasts being sent, so several
  share fairly; each row is marked `sending` first;
- copies the right language version to each (`bot.copy_message`) inside
  `priority(Priority.BROADCAST)`, with `concurrency` sends in flight: the bot's one
  session decides who goes first and keeps the bot within Telegram's 30/s (no pacing of
  our own; one message per recipient keeps ~1/s per chat);
- marks each row at once: sent; failed (403, 400 chat not found → the client is reported
  unreachable, their caseworker told once; other 400s); pending again after `retry_after`
  (a 429 that escaped the session) or with backoff (network errors, 5xx);
- finishes a broadcast with nothing pending or sending left (`on_finished_in` runs in that
  transaction: the final report is stored with the state change).

Restart or kill -9: rows left `sending` go back to `pending` at start (one process per
database), so a recipient gets the message twice only if Telegram accepted it and the
process died before the row was marked: at most `concurrency` rows, in practice the
requests on the wire at the kill. Cancel marks pending rows skipped: the loop finds
nothing more to claim.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from core.priority import Priority, priority
from db import broadcasts
from db.broadcasts import Claimed
from db.clock import utcnow
from db.database import Database
from scheduler.errors import SEND_ERRORS, backoff_seconds, classify

log = logging.getLogger(__name__)

UnreachableHook = Callable[[int, str], Awaitable[None]]
ProgressHook = Callable[[int], Awaitable[None]]
FinishedHook = Callable[[aiosqlite.Connection, int], Awaitable[None]]
Clock = Callable[[], datetime]


@dataclass
class SenderConfig:
    concurrency: int = 8  # sends in flight (and the bound on duplicates after a kill)
    progress_every: float = 3.0  # seconds between progress edits of one broadcast
    max_sleep: float = 60.0
    backoff_base: float = 5.0
    backoff_cap: float = 300.0


@dataclass
class SenderCounters:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    ambiguous: int = 0
    recovered: int = 0  # rows found 'sending' at the last start


@dataclass
class _Progress:
    last: float = 0.0
    dirty: bool = False
    task: asyncio.Task[None] | None = None


class BroadcastSender:
    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        clock: Clock = utcnow,
        config: SenderConfig | None = None,
    ) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self.config = config or SenderConfig()
        self.counters = SenderCounters()
        self.unreachable_hooks: list[UnreachableHook] = []
        self.progress_hooks: list[ProgressHook] = []
        self.finished_hooks: list[FinishedHook] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()
        self._progress: dict[int, _Progress] = {}
        self._rotation = 0
        self.idle = asyncio.Event()  # set while nothing is claimed or in flight

    # -- wiring ------------------------------------------------------------------------------

    def on_unreachable(self, hook: UnreachableHook) -> None:
        self.unreachable_hooks.append(hook)

    def on_progress(self, hook: ProgressHook) -> None:
        """`hook(broadcast_id)`, at most every `progress_every` seconds while it is sent."""
        self.progress_hooks.append(hook)

    def on_finished(self, hook: FinishedHook) -> None:
        """`hook(conn, broadcast_id)` inside the transaction that marks it done."""
        self.finished_hooks.append(hook)

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> None:
        self.counters.recovered = await broadcasts.reset_sending(self.db)
        if self.counters.recovered:
            log.info(
                "Broadcasts: %d recipients left sending go back to pending", self.counters.recovered
            )
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="broadcast-sender")

    async def stop(self, grace: float = 5.0) -> None:
        """Claims nothing more; sends already requested finish and are marked."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(grace):
                    await asyncio.shield(self._task)
            except TimeoutError:
                self._task.cancel()
            except Exception:
                log.exception("The broadcast sender failed")
            self._task = None
        for progress in self._progress.values():
            if progress.task is not None:
                progress.task.cancel()

    def poke(self) -> None:
        """Something new may be due (a broadcast stored, cancelled, the clock moved)."""
        self._wake.set()

    # -- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = await self._pass()
            except Exception:
                log.exception("Broadcast pass failed; trying again")
                worked = False
                await self._sleep(1.0)
            if not worked:
                await self._sleep(await self._sleep_for())
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _sleep_for(self) -> float:
        if self._in_flight:
            return self.config.max_sleep  # woken when a slot frees
        due = await broadcasts.next_due(self.db)
        if due is None:
            return self.config.max_sleep
        return min(self.config.max_sleep, max(0.05, (due - self.clock()).total_seconds()))

    async def _sleep(self, seconds: float) -> None:
        if not self._in_flight:
            self.idle.set()
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    async def _pass(self) -> bool:
        """Claims and starts what fits in flight; False when nothing could be started."""
        now = self.clock()
        started = await broadcasts.start_due(self.db, now)
        for broadcast_id in started:
            self._mark_progress(broadcast_id)
        free = self.config.concurrency - len(self._in_flight)
        if free <= 0:
            return False
        active = await broadcasts.sending_ids(self.db)
        if not active:
            return False
        # Round robin: each broadcast gets a batch in turn, starting one further each pass.
        self._rotation = (self._rotation + 1) % len(active)
        order = active[self._rotation :] + active[: self._rotation]
        share, extra = divmod(free, len(order))
        wants = [(b, share + (1 if i < extra else 0)) for i, b in enumerate(order)]
        claimed = await broadcasts.claim(self.db, wants, now)
        if not claimed:
            await self._finish(active, now)
            return False
        self.idle.clear()
        for row in _interleave(claimed):
            task = asyncio.create_task(self._send(row))
            self._in_flight.add(task)
            task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _finish(self, active: list[int], now: datetime) -> None:
        for broadcast_id in active:  # rows in flight are 'sending': not finished early
            async with self.db.transaction() as conn:
                if await broadcasts.finish_if_done_in(conn, broadcast_id, now):
                    for hook in self.finished_hooks:
                        await hook(conn, broadcast_id)
                    finished = True
                else:
                    finished = False
            if finished:
                log.info("Broadcast %d finished", broadcast_id)
                progress = self._progress.pop(broadcast_id, None)
                if progress is not None and progress.task is not None:
                    progress.task.cancel()
                for report in self.progress_hooks:  # the last figures
                    try:
                        await report(broadcast_id)
                    except Exception:
                        log.exception("A progress hook failed")

    # -- one recipient -----------------------------------------------------------------------

    async def _send(self, row: Claimed) -> None:
        try:
            with priority(Priority.BROADCAST):
                await self.bot.copy_message(
                    chat_id=row.client_id, from_chat_id=row.chat_id, message_id=row.message_id
                )
        except SEND_ERRORS as exc:
            await self._failed(row, exc)
        except Exception:
            log.exception("Broadcast %d: a send failed unexpectedly", row.broadcast_id)
            await self._retry(row, "error", self._backoff(row))
        else:
            self.counters.sent += 1
            await broadcasts.mark_sent(self.db, row.broadcast_id, row.client_id, self.clock())
        self._mark_progress(row.broadcast_id)

    def _backoff(self, row: Claimed) -> float:
        return backoff_seconds(row.attempts, self.config.backoff_base, self.config.backoff_cap)

    async def _retry(self, row: Claimed, reason: str, seconds: float) -> None:
        self.counters.retried += 1
        at = broadcasts.retry_at(self.clock(), seconds)
        await broadcasts.mark_retry(self.db, row.broadcast_id, row.client_id, reason, at)
        self._wake.set()

    async def _failed(self, row: Claimed, exc: TelegramAPIError | Exception) -> None:
        assert isinstance(exc, SEND_ERRORS)
        verdict = classify(exc)
        if verdict.ambiguous:
            self.counters.ambiguous += 1
        unreachable = verdict.unreachable
        reason = verdict.reason
        if isinstance(exc, TelegramBadRequest) and "chat not found" in exc.message.lower():
            unreachable, reason = "chat_not_found", "chat_not_found"
        if verdict.retry:
            seconds = verdict.retry_after if verdict.retry_after is not None else self._backoff(row)
            await self._retry(row, reason, seconds)
            return
        self.counters.failed += 1
        await broadcasts.mark_failed(self.db, row.broadcast_id, row.client_id, reason)
        if unreachable is not None:
            for hook in self.unreachable_hooks:
                try:
                    await hook(row.client_id, unreachable)
                except Exception:
                    log.exception("An unreachable hook failed (reason %s)", unreachable)

    # -- progress ----------------------------------------------------------------------------

    def _mark_progress(self, broadcast_id: int) -> None:
        if not self.progress_hooks:
            return
        progress = self._progress.setdefault(broadcast_id, _Progress())
        progress.dirty = True
        if progress.task is None or progress.task.done():
            progress.task = asyncio.create_task(self._report(broadcast_id, progress))

    async def _report(self, broadcast_id: int, progress: _Progress) -> None:
        """One edit now (or when `progress_every` has passed since the last), then as needed."""
        while progress.dirty and not self._stopping.is_set():
            wait = progress.last + self.config.progress_every - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            progress.dirty = False
            progress.last = time.monotonic()
            for hook in self.progress_hooks:
                try:
                    await hook(broadcast_id)
                except Exception:
                    log.exception("A progress hook failed")


def _interleave(rows: list[Claimed]) -> list[Claimed]:
    """One of each broadcast in turn, so a batch does not put one broadcast first."""
    queues: dict[int, list[Claimed]] = {}
    for row in rows:
        queues.setdefault(row.broadcast_id, []).append(row)
    out: list[Claimed] = []
    while queues:
        for key in list(queues):
            out.append(queues[key].pop(0))
            if not queues[key]:
                del queues[key]
    return out
