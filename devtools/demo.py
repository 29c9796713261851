"""The local playground: the real bot against the emulator, with a chat page.

    python3 dev.py demo [--port 8080]

Starts the emulator (emulator/: the tests' fake Bot API) on a free loopback port, the bot
exactly as `python -m bot` wires it (bot.app.Application, long polling, the durable inbox,
the engine) pointed at it with TELEGRAM_API_URL, and the chat page (emulator/web/) on
http://127.0.0.1:PORT. Nothing leaves the machine: the bot knows no other server and the
page loads nothing from elsewhere. The database lives in a new private temporary folder
(0700, files 0600) and is deleted at exit.

Seeded on start, through the code paths the real thing uses:
- the demo service directory (`python -m bot directory load-demo`: db.directory_import),
- one caseworker (`python -m bot admin add-caseworker`: db.staff.add_caseworker),
- two clients who accept the caseworker's invitations through the bot (/invite, the
  deep link, the consent screen), and one invitation left pending,
- check-in schedules (services.checkins.replan, as the caseworker's schedule screen
  saves them): one client daily at the next whole minute, so a reminder arrives within a
  minute of starting; quiet hours are off in the playground so that holds day and night.
The administrator persona is in ADMIN_IDS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from bot.app import Application
from bot.config import Settings, load_settings
from bot.logging_setup import setup_logging
from bot.single_instance import single_instance
from db.checkins import CheckinSchedule
from db.database import Database
from db.directory_import import DEMO_FILE, load_bundled
from db.migrate import check_database, migrate
from db.staff import add_caseworker, sync_admins
from emulator import FakeBotAPI, FakeUser, count_waiting_requests
from emulator.web import Persona, Playground
from handlers.language import LanguageChoice
from handlers.onboarding import Consent, ConsentAction
from services.checkins import replan

DEFAULT_PORT = 8080
BOT_USERNAME = "jana_jol_demo_bot"
ADMIN_ID = 700_000_001
CASEWORKER_ID = 700_000_002
CLIENT_IDS = (700_000_101, 700_000_102)
INVITED_ID = 700_000_103
CASEWORKER_NAME = "Айгүл Серікқызы"
# (Telegram id, first name, last name, Telegram language, page title, phone for the contact button)
PEOPLE = (
    (CASEWORKER_ID, "Айгүл", "Серікқызы", "ru", "Caseworker", "+77010000002"),
    (CLIENT_IDS[0], "Арман", None, "kk", "Client", "+77010000101"),
    (CLIENT_IDS[1], "Мадина", None, "ru", "Client", "+77010000102"),
    (ADMIN_ID, "Дана", None, "en", "Administrator", "+77010000001"),
    # Has the pending invitation below but has not opened it: click its link in the
    # caseworker's chat and open it as Ерлан to walk through joining.
    (INVITED_ID, "Ерлан", None, "kk", "Invited, not joined", "+77010000103"),
)
PENDING_LABEL = "Ерлан"
SECOND_CLIENT_CHECKIN = time(10, 0)
DEMO_ZONE = "Asia/Almaty"  # the bot's TIMEZONE here, and the page's clock


class PortError(Exception):
    """The page's port cannot be bound (in use, or not allowed)."""


@dataclass
class Demo:
    api: FakeBotAPI
    app: Application
    playground: Playground
    url: str
    first_reminder: datetime  # UTC: when the first check-in reminder is due


def demo_settings(api: FakeBotAPI, folder: Path, **overrides: object) -> Settings:
    """The bot's settings for the playground: only the emulator, a private folder, no .env."""
    values: dict[str, object] = {
        "bot_token": api.token,
        "telegram_api_url": api.base_url,
        "database_path": folder / "bot.sqlite3",
        "admin_ids": (ADMIN_ID,),
        # Reminders at any hour: someone trying it at night still sees one within a minute.
        "quiet_hours": "off",
        "shutdown_grace_seconds": 5,
    }
    # _env_file=None: a developer's .env (a real BOT_TOKEN, a DATABASE_PATH) plays no part.
    return load_settings(_env_file=None, **(values | overrides))


async def seed_database(settings: Settings) -> None:
    """What `python -m bot directory load-demo` and `admin add-caseworker` do, in one go."""
    db = Database(settings.database_path)
    await db.connect()
    try:
        await migrate(db)
        await sync_admins(db, settings.admin_ids)
        await load_bundled(db, DEMO_FILE, actor_id=None)
        await add_caseworker(db, CASEWORKER_ID, CASEWORKER_NAME, actor_id=None)
    finally:
        await db.close()


async def invite(caseworker: FakeUser, label: str) -> str:
    """The caseworker's /invite with a name; returns the deep link's token."""
    await caseworker.command("invite")
    replies = await caseworker.send(label)
    link = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")
    for reply in replies:
        found = link.search(reply.body)
        if found:
            return found.group(1)
    raise RuntimeError("the bot did not answer /invite with a link")


async def accept(person: FakeUser, token: str) -> None:
    """Opens the invitation link and agrees on the consent screen (in their language)."""
    [consent] = await person.start(token)
    await person.press_data(Consent(action=ConsentAction.AGREE).pack(), consent.message_id)


async def seed_conversations(api: FakeBotAPI) -> None:
    caseworker = api.user(CASEWORKER_ID)
    # Picks a language in the bot, so what the engine sends later (notices) speaks it too.
    [picker] = await caseworker.start()
    await caseworker.press_data(LanguageChoice(code="ru").pack(), picker.message_id)
    for client_id in CLIENT_IDS:
        client = api.user(client_id)
        await accept(client, await invite(caseworker, client.record.first_name))
        # The caseworker hears of it through the engine: let it land before the next step.
        await caseworker.wait_for(lambda m: m.body.startswith("✅"), timeout=30)
    await invite(caseworker, PENDING_LABEL)


def next_minute(now: datetime, settings: Settings) -> time:
    """The next whole minute on the caseworker's (the default) clock, always in the future."""
    local = now.astimezone(settings.zone) + timedelta(minutes=1)
    return local.time().replace(second=0, microsecond=0)


async def schedule_checkins(app: Application) -> datetime:
    """Daily check-ins as the caseworker's schedule screen saves them; returns the first's time."""
    now = app.engine.now()
    first = CheckinSchedule(
        client_id=CLIENT_IDS[0], pattern="daily", at_time=next_minute(now, app.settings)
    )
    second = CheckinSchedule(
        client_id=CLIENT_IDS[1], pattern="daily", at_time=SECOND_CLIENT_CHECKIN
    )
    for schedule in (first, second):
        await replan(app.db, app.engine, app.settings, schedule, app.settings.zone)
    return first.next_planned(now, app.settings.zone)


@contextlib.asynccontextmanager
async def running_demo(folder: Path, *, port: int = 0) -> AsyncIterator[Demo]:
    """The emulator, the bot and the page, seeded; everything stopped on exit."""
    api = FakeBotAPI(bot_username=BOT_USERNAME, bot_first_name="Jańa Jol (playground)")
    personas = []
    for user_id, first, last, language, title, phone in PEOPLE:
        api.user(user_id, first_name=first, last_name=last, language_code=language)
        personas.append(Persona(user_id, title, phone))
    playground = Playground(api, personas, time_zone=DEMO_ZONE)
    try:
        url = await playground.start(port)  # first: a port in use fails before any work
    except OSError as exc:
        raise PortError(f"cannot serve the page on 127.0.0.1:{port}: {exc.strerror}") from None
    try:
        await api.start()
        settings = demo_settings(api, folder, timezone=DEMO_ZONE)
        await seed_database(settings)
        with single_instance(settings.database_path):
            await check_database(settings.database_path)
            app = await Application.create(settings)
            # The bot reports each update handled, so a persona's action waits for exactly
            # that (as in the tests); replies held by the rate limiter count as in flight.
            api.state.tracks_handling = True
            app.polling.on_handled.append(api.state.mark_handled)
            count_waiting_requests(app.bot, api)
            since = api.poll_count
            polling = asyncio.create_task(app.run(handle_signals=False))
            try:
                await _until_polling(api, polling, since)
                await seed_conversations(api)
                first_reminder = await schedule_checkins(app)
                yield Demo(api, app, playground, url, first_reminder)
            finally:
                await app.stop()
                await polling
    finally:
        await playground.stop()
        await api.stop()


async def _until_polling(api: FakeBotAPI, polling: asyncio.Task[None], since: int) -> None:
    ready = asyncio.create_task(api.wait_polling(timeout=60, since=since))
    await asyncio.wait({polling, ready}, return_when=asyncio.FIRST_COMPLETED)
    if polling.done():
        ready.cancel()
        polling.result()  # the bot's own error, if it failed to start
        raise RuntimeError("the bot stopped before it started polling")
    ready.result()


async def serve(port: int) -> None:
    # Ctrl+C or SIGTERM from the start: during start-up it lets seeding finish (a few
    # seconds), then stops, so no database work is cut off under its deleted folder.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with tempfile.TemporaryDirectory(prefix="jana-jol-demo-") as folder:  # 0700
        print("Starting the bot against the emulator and seeding the demo…", flush=True)
        async with running_demo(Path(folder), port=port) as demo:
            if not stop.is_set():
                zone = demo.app.settings.zone
                reminder = demo.first_reminder.astimezone(zone)
                print(
                    f"\n  Jańa Jol playground: {demo.url}\n\n"
                    "  Act as the caseworker, two clients, the administrator or a person with an\n"
                    "  invitation (on the left), each in Kazakh, Russian or English. Арман's first\n"
                    f"  check-in reminder comes at {reminder:%H:%M} ({zone.key}), within a minute.\n"
                    "  Nothing leaves this machine. Ctrl+C stops it and deletes the demo data.\n",
                    flush=True,
                )
                await stop.wait()
            print("Stopping…", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="the page's port on 127.0.0.1"
    )
    args = parser.parse_args(argv)
    os.umask(0o077)  # the database and its companions: owner only, as the bot's CLI does
    level = os.environ.get("LOG_LEVEL", "").strip().upper()
    setup_logging(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING")
    try:
        asyncio.run(serve(args.port))
    except PortError as exc:
        print(f"Error: {exc} (choose another with --port)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the page was up
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
