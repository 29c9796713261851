"""A bot process with only the scheduling engine, for the kill -9 measurement.

    python -m bench.crash_child DATABASE_PATH API_URL TOKEN

Items of kind "bench.crash" are sent as "bench #<n>" to their recipient. The parent
(bench/scheduler_bench.py, tests/e2e/test_scheduler_crash.py) owns the fake Bot API,
kills this process with SIGKILL mid-run, starts it again and counts deliveries.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bot.app import create_bot, engine_settings
from bot.config import load_settings
from bot.i18n import create_i18n
from db.database import Database
from db.migrate import migrate
from db.scheduled import ScheduledItem
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Outcome

KIND = "bench.crash"


async def send(item: ScheduledItem, delivery: Delivery) -> Outcome:
    await delivery.send_message(f"bench #{item.payload['n']}")
    return SENT


async def main(database_path: str, api_url: str, token: str) -> None:
    settings = load_settings(bot_token=token, telegram_api_url=api_url, database_path=database_path)
    db = Database(settings.database_path)
    await db.connect()
    await migrate(db)
    bot = create_bot(settings)
    engine = Engine(db=db, bot=bot, i18n=create_i18n("en"), settings=engine_settings(settings))
    engine.register(KIND, send)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await engine.start()
    print(f"started recovered={engine.recovered}", flush=True)
    await stop.wait()
    await engine.stop(grace=5)
    await bot.session.close()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
