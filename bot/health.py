"""GET /health: is this bot working? For a monitor, Docker's HEALTHCHECK, a load balancer.

Answers 200 with `"status": "ok"`, or 503 with `"status": "unhealthy"` and the reasons.
Unhealthy when:
- the database does not answer a real query within `DB_TIMEOUT` (the pending and overdue
  counts below), or its file is no longer at DATABASE_PATH (deleted or moved away while
  the bot runs: it would write into a file nobody will find again);
- the scheduler's clock has not fired for `SCHEDULER_STALE` (it fires at least every
  minute), or a running pass has finished nothing for `PASS_STUCK`;
- Telegram: the latest Bot API call failed (network, 5xx) and none succeeded for
  `TELEGRAM_DOWN` (a quiet bot makes no calls in webhook mode: no calls is not a failure);
- a timed item has waited past its time for `OVERDUE_LIMIT` (the engine is far behind;
  a big morning's backlog of reminders clears within minutes).

It carries counts and ages only: no ids, names or texts. Served by the webhook's own
server in webhook mode and, in either mode, on HEALTH_LISTEN (`HealthServer`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import web

from db import health as queries
from db.clock import utcnow
from db.database import Database
from scheduler.engine import Engine

log = logging.getLogger(__name__)

DB_TIMEOUT = 5.0  # seconds
SCHEDULER_STALE = 180.0  # seconds without the dispatch job firing (it fires every <= 60 s)
PASS_STUCK = 300.0  # seconds a running pass may go without finishing an item
TELEGRAM_DOWN = 300.0  # seconds of failed calls, with no success, before it counts
OVERDUE_LIMIT = timedelta(hours=1)
# Telegram did not answer (as opposed to answering with an error: that is an answer).
UNANSWERED = (TelegramNetworkError, TelegramServerError, ClientDecodeError, OSError, TimeoutError)


class ApiCalls(BaseRequestMiddleware):
    """Remembers when a Bot API call last succeeded and last went unanswered: two clock reads
    per call. The innermost request middleware, so each try counts (not a retry's total)."""

    def __init__(self) -> None:
        self.last_ok: float | None = None  # time.time() of the last successful call
        self.last_failed: float | None = None  # of the last call Telegram did not answer

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            response = await make_request(bot, method)
        except UNANSWERED:
            self.last_failed = time.time()
            raise
        self.last_ok = time.time()
        return response


@dataclass
class Health:
    db: Database
    engine: Engine
    calls: ApiCalls
    started: float = field(default_factory=time.time)
    _inode: tuple[int, int] | None = None

    def remember_file(self) -> None:
        """Call once the database is open: the file /health expects to find at its path."""
        self._inode = _identity(self.db.path)

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, the JSON body)."""
        reasons: list[str] = []
        body: dict[str, Any] = {}
        now = time.time()
        body["database"] = await self._database(reasons)
        body["scheduler"] = self._scheduler(reasons)
        body["telegram"] = self._telegram(now, reasons)
        healthy = not reasons
        return healthy, {
            "status": "ok" if healthy else "unhealthy",
            "reasons": reasons,
            "uptime_seconds": round(now - self.started),
            **body,
        }

    async def _database(self, reasons: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False}
        if self._inode is not None and _identity(self.db.path) != self._inode:
            reasons.append("database file missing or replaced at DATABASE_PATH")
            return out
        late_after = self.engine.settings.late_after
        now = utcnow()
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                items = await queries.timed_items(self.db, now - late_after)
                inbox = await queries.inbox_waiting(self.db)
        except Exception as exc:  # whatever it is, the answer is "not reachable"
            log.warning("Health check: the database did not answer (%s)", type(exc).__name__)
            reasons.append(f"database not reachable ({type(exc).__name__})")
            return out
        out["ok"] = True
        oldest = None if items.oldest_due is None else (now - items.oldest_due)
        out["timed_items"] = {
            "pending": items.pending,
            "sending": items.sending,
            "overdue": items.overdue,  # due more than SCHEDULER_LATE_AFTER_SECONDS ago
            "oldest_overdue_seconds": None if oldest is None else round(oldest.total_seconds()),
        }
        out["updates_waiting"] = inbox
        if oldest is not None and oldest > OVERDUE_LIMIT:
            reasons.append(
                f"timed items overdue by more than {int(OVERDUE_LIMIT.total_seconds() // 60)} min"
            )
        return out

    def _scheduler(self, reasons: list[str]) -> dict[str, Any]:
        engine = self.engine
        wakeup = engine.wakeup
        if wakeup is None or wakeup.last_fired is None:
            reasons.append("scheduler not running")
            return {"ok": False}
        loop_now = asyncio.get_running_loop().time()
        fired = loop_now - wakeup.last_fired
        runner = engine.runner
        running = None if runner.pass_started is None else loop_now - runner.pass_started
        progress = None if runner.last_progress is None else loop_now - runner.last_progress
        ok = fired <= SCHEDULER_STALE
        if not ok:
            reasons.append(f"scheduler has not ticked for {round(fired)} s")
        if running is not None and progress is not None and progress > PASS_STUCK:
            ok = False
            reasons.append(f"scheduler pass stuck for {round(progress)} s")
        return {
            "ok": ok,
            "last_tick_seconds_ago": round(fired, 1),
            "pass_running_seconds": None if running is None else round(running, 1),
        }

    def _telegram(self, now: float, reasons: list[str]) -> dict[str, Any]:
        calls = self.calls
        ok_ago = None if calls.last_ok is None else now - calls.last_ok
        failed_ago = None if calls.last_failed is None else now - calls.last_failed
        failing = failed_ago is not None and (ok_ago is None or failed_ago < ok_ago)
        since_good = ok_ago if ok_ago is not None else now - self.started
        ok = not (failing and since_good > TELEGRAM_DOWN)
        if not ok:
            reasons.append(f"Telegram has not answered for {round(since_good)} s")
        return {
            "ok": ok,
            "last_success_seconds_ago": None if ok_ago is None else round(ok_ago, 1),
            "last_failure_seconds_ago": None if failed_ago is None else round(failed_ago, 1),
        }

    async def handle(self, _request: web.Request) -> web.Response:
        healthy, body = await self.report()
        return web.json_response(body, status=200 if healthy else 503)


def _identity(path: os.PathLike[str] | str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def add_route(app: web.Application, health: Health) -> None:
    app.router.add_get("/health", health.handle)


class HealthServer:
    """GET /health alone on HEALTH_LISTEN (any mode); nothing else is served there."""

    def __init__(self, health: Health, host: str, port: int) -> None:
        self.health = health
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=1024)
        add_route(app, self.health)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("Health endpoint on http://%s:%d/health", self.host, self.port)

    @property
    def bound_port(self) -> int:
        """The port actually listened on (HEALTH_LISTEN may say 0: any free port)."""
        assert self._runner is not None
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
