"""kill -9 of the real bot process (`python -m bot`) while it sends check-in reminders.

The bound (docs/architecture.md, "Restart and crash"): after a restart nothing is lost, and
only a message Telegram accepted that the dead process had not yet marked comes twice: at
most the items in flight (32). The kill lands at the worst moment, inside the fake Telegram
as it accepts the 20th reminder and before its answer leaves; the test counts reminders per
chat at the fake. (A broadcast's kill -9 is in tests/e2e/test_broadcasts.py.)
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import load_settings
from db import checkins
from db.checkins import CheckinSchedule
from db.database import Database
from db.migrate import migrate
from db.staff import add_caseworker
from emulator import FakeBotAPI
from emulator.params import Params
from scheduler.engine import EngineConfig
from services.checkins import plan_next_in
from tests.e2e.test_broadcasts import seed_clients
from tests.processes import check_kill_outcome, start_bot_process, stop_process

ALMATY = ZoneInfo("Asia/Almaty")
REMINDER = "Time to check in"


async def seed_due_checkins(path: Path, api: FakeBotAPI, officer: int, ids: list[int]) -> None:
    """Clients whose daily check-in opened a minute ago: their reminders are due at start."""
    db = Database(path)
    await db.connect()
    try:
        await migrate(db)
        await add_caseworker(db, officer, "Officer", actor_id=None)
        await seed_clients(db, officer, ids, "en")
        settings = load_settings(
            bot_token=api.token, telegram_api_url=api.base_url, quiet_hours="off"
        )
        now = datetime.now(UTC)
        opened = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
        at_local = opened.astimezone(ALMATY).time()
        async with db.transaction() as conn:
            for client_id in ids:
                schedule = CheckinSchedule(client_id, "daily", at_local)
                after = opened - timedelta(seconds=30)
                await checkins.save_schedule(conn, schedule, now)
                await plan_next_in(conn, settings, schedule, ALMATY, after, now)
    finally:
        await db.close()
    for client_id in ids:
        api.user(client_id).record.started = True


def reminders(api: FakeBotAPI, chat_id: int) -> int:
    return sum(REMINDER in m.body for m in api.outgoing(chat_id))


async def test_kill_9_during_reminder_dispatch_loses_none_and_repeats_only_the_unmarked(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    path = tmp_path / "db" / "bot.sqlite3"
    path.parent.mkdir()
    ids = list(range(9700, 9760))
    await seed_due_checkins(path, api, 9690, ids)

    accepted = 0
    reached = asyncio.Event()
    never = asyncio.Event()
    original = api.methods.call

    async def hanging(method: str, params: Params) -> object:
        nonlocal accepted
        result = await original(method, params)  # delivered...
        if method == "sendMessage" and REMINDER in (params.opt_str("text") or ""):
            accepted += 1
            if accepted == 20:
                reached.set()
                await never.wait()  # ...but the answer never reaches the bot
        return result

    api.methods.call = hanging  # type: ignore[method-assign]
    env = {"DEFAULT_LANGUAGE": "en", "QUIET_HOURS": "off"}
    process = await start_bot_process(tmp_path, api, **env)
    try:
        await asyncio.wait_for(reached.wait(), 60)
        process.kill()  # SIGKILL: no clean-up of any kind
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        api.methods.call = original  # type: ignore[method-assign]

        db = Database(path)
        await db.connect()
        rows = await db.fetchall(
            "SELECT recipient_id, status FROM scheduled_items WHERE kind = 'checkin.remind' "
            "AND status IN ('sending', 'sent')"
        )
        await db.close()
        delivered_at_kill = {i for i in ids if reminders(api, i)}
        in_flight = {r["recipient_id"] for r in rows if r["status"] == "sending"}
        accepted_unrecorded = len(in_flight & delivered_at_kill)
        assert 20 <= len(delivered_at_kill) < len(ids)  # killed mid-way
        assert accepted_unrecorded >= 1  # the reminder accepted at the kill

        process = await start_bot_process(tmp_path, api, **env)
        everyone = await api.state.wait_until(lambda: all(reminders(api, i) for i in ids), 60)
        assert everyone, [i for i in ids if not reminders(api, i)]
        code, _ = await stop_process(process)  # a clean stop: what was on its way is marked
        assert code == 0
        db = Database(path)
        await db.connect()
        left = await db.fetchval(
            "SELECT count(*) FROM scheduled_items WHERE kind = 'checkin.remind' "
            "AND (status = 'sending' OR (status = 'pending' AND due_at <= datetime('now')))"
        )
        await db.close()
        assert left == 0
        check_kill_outcome(
            (reminders(api, i) for i in ids),
            delivered_at_kill=len(delivered_at_kill),
            in_flight=len(in_flight),
            unrecorded=accepted_unrecorded,
            bound=EngineConfig().max_in_flight,
        )
    finally:
        api.methods.call = original  # type: ignore[method-assign]
        if process.returncode is None:
            await stop_process(process)
