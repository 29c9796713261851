"""Load: simulated people driving the real bot through the emulator at a paced, stepped load.

    .venv/bin/python -m bench.load_bench [--rates 20,25,30,40,60] [--seconds 20] [--clients 30000]

The bot runs as production starts it (`python -m bot`, its own process, production limits),
on a database seeded by direct SQL with `--clients` registered clients (users, clients,
100 per caseworker, the caseworkers' working and reception hours, a daily check-in schedule
for each with its next check-in and timed items, none due during the run) plus the
starter and demo directory. It polls a fake Bot API (emulator) served by this process,
which counts Telegram's 30 messages a second.

`--people` of those clients and `--newcomers` people who never wrote before act as people
do, one step at a time, each step waiting for the bot's first reaction to the previous
one (a message, an edit or a button answer in that chat): /start, /help; the directory by
its buttons (Services, a category, a place or an entry); a search (/services words, then a
result); a check-in (Check in, then «I'm fine»); booking a visit (Appointments, Book, a
day, a time, Confirm) or cancelling the one booked; a message to their officer (the menu
button, then the text); newcomers start, pick English, then browse and search. The
offered load is paced: every 1/rate s the next idle person takes a step, whatever the bot's
latency (a tick with nobody idle is counted as missed). The rates are stepped up until
the bot's reply p99 passes 1 s.

The same paced load goes to a bare aiogram echo bot (bench/loadkit.py) in the same run: at
each step, the same person sends the echo bot the step's text (a button's label for a
press). Its fake has no 30/s limit (the echo bot has no limiter and would only meet
429s). Printed per rate: updates sent, CPU per update of each process (from /proc, over
the step and until its last reaction), the ratio, reply latency p50/p99 of each, peak
resident memory; and resident memory with the 30,000 clients beside the echo bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.loadkit import (
    ROOT,
    Subject,
    child,
    cpu_seconds,
    echo_argv,
    memory_kb,
    percentile,
    push_text,
)
from emulator import FakeBotAPI, Msg
from emulator.models import JsonDict
from emulator.params import Params

ALMATY = ZoneInfo("Asia/Almaty")
PER_CASEWORKER = 100
FIRST_CLIENT = 10_000_000
FIRST_CASEWORKER = 9_000_000
FIRST_NEWCOMER = 20_000_000
SEARCHES = ["/services passport", "/services job", "/services legal aid", "/services жұмыс"]
NOT_PRESSED = re.compile(r"⚠|[Rr]eport|🙈|👁|·|^ $")  # reports, admin switches, blank days
TIME = re.compile(r"^\d{1,2}:\d\d$")
CALLS_WITHOUT_CHAT = {"getUpdates", "getMe", "setMyCommands", "deleteMyCommands"}


# -- seeding 30,000 clients (direct SQL) -------------------------------------------------------


async def seed(path: Path, clients: int) -> None:
    """A started database: migrations, the starter and demo directory, staff, clients."""
    from db.clock import to_db
    from db.database import Database
    from db.directory_import import DEMO_FILE, load_bundled, load_starter_once
    from db.migrate import migrate

    db = Database(path)
    await db.connect()
    try:
        await migrate(db)
        await load_starter_once(db)
        await load_bundled(db, DEMO_FILE, actor_id=None)
        now = datetime.now(UTC)
        stamp = to_db(now)
        caseworkers = max(1, -(-clients // PER_CASEWORKER))
        staff = [FIRST_CASEWORKER + n for n in range(caseworkers)]
        people = [FIRST_CLIENT + n for n in range(clients)]
        languages = ("kk", "ru", "en")
        # Check-ins at a time of day the run does not reach (3 to 20 hours from now).
        local_now = now.astimezone(ALMATY)
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO users (telegram_id, role, language, display_name, menu_synced, "
                "created_at, updated_at) VALUES (?, 'caseworker', 'en', ?, 'caseworker:en', ?, ?)",
                [(i, f"Officer {n}", stamp, stamp) for n, i in enumerate(staff)],
            )
            await conn.executemany(
                "INSERT INTO working_hours (caseworker_id, weekdays, opens_at, closes_at) "
                "VALUES (?, '0,1,2,3,4,5,6', '00:00', '23:59')",
                [(i,) for i in staff],
            )
            await conn.executemany(
                "INSERT INTO reception_hours (caseworker_id, weekdays, starts_at, ends_at, "
                "slot_minutes, place, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(i, "0,1,2,3,4,5", "09:00", "18:00", 30, "Abai 10", 50.28, 57.16) for i in staff],
            )
            await conn.executemany(
                "INSERT INTO users (telegram_id, role, language, menu_synced, created_at, "
                "updated_at) VALUES (?, 'client', ?, 'client:' || ?2, ?, ?)",
                [
                    (i, "en" if n < 5000 else languages[n % 3], stamp, stamp)
                    for n, i in enumerate(people)
                ],
            )
            await conn.executemany(
                "INSERT INTO clients (telegram_id, caseworker_id, label, telegram_name, status, "
                "consented_at, linked_at) VALUES (?, ?, ?, ?, 'active', ?, ?)",
                [
                    (i, staff[n // PER_CASEWORKER], f"Case {n}/2026", f"Client {n}", stamp, stamp)
                    for n, i in enumerate(people)
                ],
            )
        await _schedules(db, people, local_now, now)
    finally:
        await db.close()


async def _schedules(db: Any, people: list[int], local_now: datetime, now: datetime) -> None:
    """Each client's daily check-in schedule, its next check-in and that one's timed items."""
    from datetime import time as clock

    from bot.config import load_settings
    from db import checkins
    from db.checkins import CheckinSchedule
    from services.checkins import plan_next_in

    settings = load_settings(bot_token="1:x", quiet_hours="off")
    for start in range(0, len(people), 2000):
        async with db.transaction() as conn:
            for n, client_id in enumerate(people[start : start + 2000], start):
                hour = (local_now.hour + 3 + n % 17) % 24
                schedule = CheckinSchedule(client_id, "daily", clock(hour, (n * 7) % 60))
                await checkins.save_schedule(conn, schedule, now)
                await plan_next_in(conn, settings, schedule, ALMATY, now, now)


# -- what happens at the fake ------------------------------------------------------------------


class Reactions:
    """The first call the bot makes about a chat after an update: its reaction, timed."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.waiting: dict[int, tuple[float, asyncio.Future[float]]] = {}
        self.latencies: list[float] = []
        original = api.methods.call

        async def call(method: str, params: Params) -> object:
            chat: int | None = None
            if method == "answerCallbackQuery":
                chat = api.state.callbacks.get(params.opt_str("callback_query_id") or "")
            elif method not in CALLS_WITHOUT_CHAT:
                raw = params.data.get("chat_id")
                chat = (
                    int(raw)
                    if isinstance(raw, int | str) and str(raw).lstrip("-").isdigit()
                    else None
                )
            try:
                return await original(method, params)
            finally:
                if chat is not None:
                    self.seen(chat)

        api.methods.call = call  # type: ignore[method-assign]

    def expect(self, chat: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat] = (time.perf_counter(), future)
        return future

    def seen(self, chat: int) -> None:
        waiting = self.waiting.pop(chat, None)
        if waiting is not None and not waiting[1].done():
            latency = time.perf_counter() - waiting[0]
            self.latencies.append(latency)
            waiting[1].set_result(latency)


def push_press(api: FakeBotAPI, user_id: int, msg: Msg, data: str) -> None:
    """A press of an inline button, as FakeUser.press builds it, without waiting."""
    query_id = str(secrets.randbits(62))
    api.state.callbacks[query_id] = user_id
    record = api.state.users[user_id]
    query: JsonDict = {
        "id": query_id,
        "from": record.as_user(),
        "message": msg.raw,
        "chat_instance": str(user_id * 7919 % 10**12),
        "data": data,
    }
    api.push_update({"callback_query": query})


# -- people --------------------------------------------------------------------------------------


@dataclass
class Load:
    bot: FakeBotAPI
    echo: FakeBotAPI
    bot_reactions: Reactions
    echo_reactions: Reactions
    idle: asyncio.Queue[asyncio.Future[None]] = field(default_factory=asyncio.Queue)
    updates: Counter[str] = field(default_factory=Counter)  # by kind of step
    broken: Counter[str] = field(default_factory=Counter)  # scripts that found no button
    timeouts: int = 0
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # the bot's reply latencies


class StuckError(Exception):
    """The screen a script expected did not come (no such button, or no reaction)."""


@dataclass
class Person:
    load: Load
    id: int
    rng: random.Random

    async def _turn(self) -> None:
        """Wait until the pacer gives this person the next tick."""
        go: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.load.idle.put_nowait(go)
        await go

    async def _react(self, kind: str, bot: Callable[[], None], echo_text: str) -> None:
        load = self.load
        await self._turn()
        load.updates[kind] += 1
        bot_reaction = load.bot_reactions.expect(self.id)
        echo_reaction = load.echo_reactions.expect(self.id)
        bot()
        push_text(load.echo, self.id, echo_text)
        # asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a cancellation.
        await asyncio.wait((bot_reaction, echo_reaction), timeout=60)
        if not bot_reaction.done() or not echo_reaction.done():
            load.timeouts += 1
            raise StuckError(kind)
        load.by_kind.setdefault(kind, []).append(bot_reaction.result())

    async def text(self, kind: str, text: str) -> None:
        await self._react(kind, lambda: push_text(self.load.bot, self.id, text), text)
        await asyncio.sleep(0.05)  # the rest of a reply (its keyboard, a second part) arrives

    async def press(self, kind: str, choose: Callable[[list[str]], str | None]) -> None:
        chat = self.load.bot.state.chat(self.id)
        latest = next(
            (m for m in reversed(chat.messages.values()) if m.from_bot and m.inline_buttons), None
        )
        if latest is None:
            raise StuckError(kind)
        pressable = {
            t: d for row in latest.inline_buttons for t, d in row if d and not NOT_PRESSED.search(t)
        }
        label = choose(list(pressable))
        if label is None:
            raise StuckError(kind)
        await self._react(
            kind, lambda: push_press(self.load.bot, self.id, latest, pressable[label]), label
        )
        await asyncio.sleep(0.05)

    def any_of(self, labels: list[str]) -> str | None:
        return self.rng.choice(labels) if labels else None


def starting(prefix: str) -> Callable[[list[str]], str | None]:
    return lambda labels: next((t for t in labels if t.startswith(prefix)), None)


async def browse(p: Person) -> None:
    await p.text("directory", "📋 Services")
    for _ in range(p.rng.randint(1, 2)):
        await p.press("directory", p.any_of)


async def search(p: Person) -> None:
    await p.text("search", p.rng.choice(SEARCHES))
    if p.rng.random() < 0.5:
        await p.press("search", p.any_of)


async def check_in(p: Person) -> None:
    await p.text("check-in", "✅ Check in")  # recorded at once, outside a reminder's window


async def appointment(p: Person) -> None:
    await p.text("booking", "📅 Appointments")
    latest = [m for m in p.load.bot.state.chat(p.id).messages.values() if m.from_bot]
    labels = latest[-1].button_texts if latest else []
    if "✖️ Cancel" in labels:
        await p.press("booking", starting("✖️ Cancel"))
        await p.press("booking", starting("✖️ Yes"))
        return
    await p.press("booking", starting("➕ Book"))
    await p.press("booking", lambda ls: p.any_of([t for t in ls if t.isdigit()]))
    await p.press("booking", lambda ls: p.any_of([t for t in ls if TIME.match(t)]))
    await p.press("booking", starting("✅ Confirm"))


async def message(p: Person) -> None:
    await p.text("message", "✉️ Message my officer")
    await p.text("message", "Hello, when is my next visit? I have my documents ready.")


async def start(p: Person) -> None:
    await p.text("start", "/start")


async def help_(p: Person) -> None:
    await p.text("help", "/help")


CLIENT_SCRIPTS: list[tuple[Callable[[Person], Awaitable[None]], int]] = [
    (browse, 25),
    (search, 20),
    (check_in, 15),
    (appointment, 10),
    (message, 15),
    (start, 10),
    (help_, 5),
]
NEWCOMER_SCRIPTS: list[tuple[Callable[[Person], Awaitable[None]], int]] = [
    (browse, 50),
    (search, 35),
    (help_, 15),
]


async def live(p: Person, newcomer: bool) -> None:
    if newcomer:
        await p.text("start", "/start")
        await p.press("start", starting("English"))
    scripts = NEWCOMER_SCRIPTS if newcomer else CLIENT_SCRIPTS
    actions, weights = zip(*scripts, strict=True)
    while True:
        script = p.rng.choices(actions, weights)[0]
        try:
            await script(p)
        except StuckError as stuck:
            p.load.broken[f"{script.__name__}:{stuck}"] += 1


# -- one step of the load ----------------------------------------------------------------------


@dataclass
class Step:
    rate: float
    sent: int = 0
    missed: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    p50: dict[str, float] = field(default_factory=dict)
    p99: dict[str, float] = field(default_factory=dict)
    peak_kb: dict[str, int] = field(default_factory=dict)
    budgeted: float = 0.0  # the bot's requests a second that count in Telegram's 30/s


async def pace(load: Load, rate: float, seconds: float) -> tuple[int, int]:
    """Every 1/rate s, the next idle person takes a step; (steps given, ticks missed)."""
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    started = loop.time()
    given = missed = 0
    for n in range(total):
        delay = started + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            load.idle.get_nowait().set_result(None)
            given += 1
        except asyncio.QueueEmpty:
            missed += 1
    return given, missed


async def drained(load: Load, within: float = 60.0) -> None:
    """Until every step given has had its reactions (or `within` seconds)."""
    waiting = [f for r in (load.bot_reactions, load.echo_reactions) for _, f in r.waiting.values()]
    if waiting:
        await asyncio.wait(waiting, timeout=within)


async def run_step(load: Load, subjects: list[Subject], rate: float, seconds: float) -> Step:
    step = Step(rate)
    for reactions in (load.bot_reactions, load.echo_reactions):
        reactions.latencies.clear()
    before = {s.name: cpu_seconds(s.pid) for s in subjects}
    calls_before = len(load.bot.requests)
    began = time.perf_counter()
    step.sent, step.missed = await pace(load, rate, seconds)
    await drained(load)
    calls = load.bot.requests[calls_before:]
    unbudgeted = ("getUpdates", "answerCallbackQuery")
    step.budgeted = sum(m not in unbudgeted for m, _ in calls) / (time.perf_counter() - began)
    after = {s.name: cpu_seconds(s.pid) for s in subjects}
    for subject, reactions in zip(subjects, (load.bot_reactions, load.echo_reactions), strict=True):
        lat = reactions.latencies
        step.cpu[subject.name] = (after[subject.name] - before[subject.name]) / max(1, step.sent)
        step.p50[subject.name] = statistics.median(lat) if lat else float("nan")
        step.p99[subject.name] = percentile(lat, 0.99) if lat else float("nan")
        step.peak_kb[subject.name] = memory_kb(subject.pid)[1]
    return step


def report(step: Step) -> None:
    bot, echo = step.cpu["bot"], step.cpu["echo bot"]
    print(
        f"{step.rate:5.0f}/s offered: {step.sent} updates ({step.missed} ticks with nobody idle); "
        f"CPU per update bot {bot * 1000:.2f} ms, echo {echo * 1000:.2f} ms, ratio {bot / echo:.2f}x; "
        f"reply p50/p99 bot {step.p50['bot'] * 1000:.0f}/{step.p99['bot'] * 1000:.0f} ms, "
        f"echo {step.p50['echo bot'] * 1000:.0f}/{step.p99['echo bot'] * 1000:.0f} ms; "
        f"peak RSS bot {step.peak_kb['bot'] / 1024:.0f} MB, echo {step.peak_kb['echo bot'] / 1024:.0f} MB; "
        f"the bot's messages and edits {step.budgeted:.1f}/s (Telegram allows 30)",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    rates = [float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        (workdir / "bot").mkdir()
        (workdir / "echo").mkdir()
        database = workdir / "bot" / "bot.sqlite3"
        began = time.perf_counter()
        await seed(database, args.clients)
        print(
            f"seeded {args.clients:,} clients, {-(-args.clients // PER_CASEWORKER)} caseworkers "
            f"in {time.perf_counter() - began:.1f} s ({database.stat().st_size / 2**20:.0f} MB)",
            flush=True,
        )
        async with FakeBotAPI() as bot_api, FakeBotAPI(messages_per_second=100_000) as echo_api:
            load = Load(bot_api, echo_api, Reactions(bot_api), Reactions(echo_api))
            real, echo = Subject("bot", bot_api), Subject("echo bot", echo_api)
            bot_env = env | {
                "BOT_TOKEN": bot_api.token,
                "TELEGRAM_API_URL": bot_api.base_url,
                "DATABASE_PATH": str(database),
                "DEFAULT_LANGUAGE": "en",
            }
            bot_argv = [sys.executable, "-m", "bot", "run"]
            async with (
                child(real, bot_argv, bot_env, workdir / "bot" / "log"),
                child(echo, echo_argv(echo_api), env, workdir / "echo" / "log"),
            ):
                await bot_api.wait_idle(quiet=1.0, timeout=120)  # command menus at start
                subjects = [real, echo]
                started_kb = {s.name: memory_kb(s.pid)[0] for s in subjects}
                rng = random.Random(13)
                # Spread over the caseworkers, among the first 5,000 (who chose English).
                english = min(args.clients, 5000)
                acting = min(args.people, english)
                clients = [FIRST_CLIENT + n * (english // acting) for n in range(acting)]
                newcomers = [FIRST_NEWCOMER + n for n in range(args.newcomers)]
                for api in (bot_api, echo_api):
                    for user_id in clients + newcomers:
                        api.user(user_id).record.started = True
                    for n in range(-(-args.clients // PER_CASEWORKER)):
                        api.user(FIRST_CASEWORKER + n).record.started = True
                people = [
                    asyncio.create_task(live(Person(load, i, random.Random(rng.random())), False))
                    for i in clients
                ] + [
                    asyncio.create_task(live(Person(load, i, random.Random(rng.random())), True))
                    for i in newcomers
                ]
                try:
                    await run_step(load, subjects, rates[0], args.warmup)  # not reported
                    warm_kb = {s.name: memory_kb(s.pid)[0] for s in subjects}
                    print(
                        f"RSS after start: bot {started_kb['bot'] / 1024:.0f} MB, echo bot "
                        f"{started_kb['echo bot'] / 1024:.0f} MB; after the warm-up: bot "
                        f"{warm_kb['bot'] / 1024:.0f} MB, echo bot {warm_kb['echo bot'] / 1024:.0f} MB "
                        f"(+{(warm_kb['bot'] - warm_kb['echo bot']) / 1024:.0f} MB with "
                        f"{args.clients:,} clients)",
                        flush=True,
                    )
                    load.updates.clear()
                    best = 0.0
                    for rate in rates:
                        step = await run_step(load, subjects, rate, args.seconds)
                        report(step)
                        if step.p99["bot"] > 1.0:
                            break
                        best = rate
                finally:
                    for task in people:
                        task.cancel()
                    await asyncio.gather(*people, return_exceptions=True)
                end_kb = {s.name: memory_kb(s.pid) for s in subjects}
                calls = Counter(m for m, _ in bot_api.requests)
    total = sum(load.updates.values())
    print(
        "mix: " + ", ".join(f"{k} {v / total:.0%}" for k, v in load.updates.most_common()),
        f"; scripts that found no expected button: {sum(load.broken.values())} "
        f"{dict(load.broken.most_common(4))}; steps with no reaction in 60 s: {load.timeouts}",
    )
    for kind, times in sorted(load.by_kind.items()):
        print(
            f"  {kind:9} reply p50 {statistics.median(times) * 1000:6.0f} ms, "
            f"p99 {percentile(times, 0.99) * 1000:6.0f} ms ({len(times)})"
        )
    print(
        f"429s given to the bot: {len(bot_api.flood_refusals)}; its calls: {dict(calls.most_common(8))}"
    )
    print(
        f"RSS at the end: bot {end_kb['bot'][0] / 1024:.0f} MB (peak {end_kb['bot'][1] / 1024:.0f}), "
        f"echo bot {end_kb['echo bot'][0] / 1024:.0f} MB (peak {end_kb['echo bot'][1] / 1024:.0f})"
    )
    print(f"highest offered load with the bot's reply p99 <= 1 s: {best:g} updates/s")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="20,25,30,40,60", help="offered updates/s, stepped")
    parser.add_argument("--seconds", type=float, default=20.0, help="each step (default 20)")
    parser.add_argument("--warmup", type=float, default=10.0, help="unreported first (default 10)")
    parser.add_argument("--clients", type=int, default=30_000, help="registered clients")
    parser.add_argument("--people", type=int, default=600, help="clients who act (default 600)")
    parser.add_argument("--newcomers", type=int, default=100, help="first-time people who act")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
