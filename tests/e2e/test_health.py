"""GET /health (HEALTH_LISTEN in polling mode; the webhook's own server in webhook mode):
200 when the database answers, the scheduler ticks and Telegram answers; 503 with reasons."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot import health
from db import scheduled
from emulator import FakeBotAPI
from tests.e2e.test_webhook import start_webhook_bot
from tests.harness import start_bot


async def get_health(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def test_health_in_polling_mode_and_what_makes_it_unhealthy(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    async with start_bot(api, tmp_path, health_listen="127.0.0.1:0") as app:
        await app.client(4101)  # some traffic: Telegram answered
        server = app.app.health_server
        assert server is not None
        url = f"http://127.0.0.1:{server.bound_port}/health"

        status, body = await get_health(url)
        assert status == 200, body
        assert body["status"] == "ok"
        assert body["reasons"] == []
        assert body["database"]["ok"] is True
        assert body["database"]["timed_items"]["overdue"] == 0
        assert body["scheduler"]["ok"] is True
        assert body["scheduler"]["last_tick_seconds_ago"] < 60
        assert body["telegram"]["last_success_seconds_ago"] < 60
        assert "4101" not in str(body)  # counts and ages, never people

        # A timed item stuck for hours: the engine is far behind.
        app.hold_engine()
        await scheduled.schedule(
            app.db,
            kind="notice",
            recipient_id=4101,
            due_at=datetime.now(UTC) - timedelta(hours=2),
            now=datetime.now(UTC) - timedelta(hours=2),
            payload={},
            dedupe_key="health-test",
        )
        status, body = await get_health(url)
        assert status == 503
        assert body["database"]["timed_items"]["overdue"] == 1
        assert any("overdue" in reason for reason in body["reasons"])
        await app.db.execute("DELETE FROM scheduled_items WHERE dedupe_key = 'health-test'")

        # The scheduler's clock stops ticking (its job last fired long ago).
        wakeup = app.app.engine.wakeup
        assert wakeup is not None
        assert wakeup.last_fired is not None
        ticked = wakeup.last_fired
        wakeup.last_fired = ticked - health.SCHEDULER_STALE - 1
        status, body = await get_health(url)
        assert status == 503
        assert body["scheduler"]["ok"] is False
        assert any("scheduler" in reason for reason in body["reasons"])
        wakeup.last_fired = ticked
        assert (await get_health(url))[0] == 200

        # Telegram stops answering: after TELEGRAM_DOWN without success.
        calls = app.app.health.calls
        assert calls.last_ok is not None
        saved = calls.last_ok, calls.last_failed
        calls.last_ok -= health.TELEGRAM_DOWN + 10
        calls.last_failed = calls.last_ok + 5
        status, body = await get_health(url)
        assert status == 503
        assert any("Telegram" in reason for reason in body["reasons"])
        calls.last_ok, calls.last_failed = saved
        assert (await get_health(url))[0] == 200

        # The database file is moved away under the running bot.
        path = app.db.path
        os.rename(path, tmp_path / "moved.sqlite3")
        try:
            status, body = await get_health(url)
        finally:
            os.rename(tmp_path / "moved.sqlite3", path)
        assert status == 503
        assert body["database"]["ok"] is False
        assert any("database" in reason for reason in body["reasons"])

        # The database does not answer at all.
        reader = app.db._reader
        app.db._reader = None  # any query now fails, as on a dead connection
        try:
            status, body = await get_health(url)
        finally:
            app.db._reader = reader
        assert status == 503
        assert any("database not reachable" in reason for reason in body["reasons"])
        assert (await get_health(url))[0] == 200


async def test_health_on_the_webhook_server(api: FakeBotAPI, tmp_path: Path) -> None:
    async with start_webhook_bot(api, tmp_path) as app:
        await app.client(4201)
        base = api.webhook.url.rsplit("/", 2)[0]
        status, body = await get_health(f"{base}/health")
        assert status == 200, body
        assert body["status"] == "ok"
        assert body["database"]["updates_waiting"] >= 0
