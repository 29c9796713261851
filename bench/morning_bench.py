"""The outgoing budget under load: the national morning, and broadcasts at full rate.

    .venv/bin/python -m bench.morning_bench [--clients 25500] [--broadcast 10000]

The whole application (handlers, engine, the bot's one session and its budget) runs in
process against the fake Bot API enforcing Telegram's 30 messages in any second (counted
as they arrive) with 100 ms of latency per request (50 ms each way).

1. Replies alone: 20 simulated clients send /services and press a category button in
   its answer, each every 5-15 s at random; reply latency p50/p99 (a message: until the
   answer is in the chat; a press: until the button is answered, after its edit).
2. The national morning: `--clients` clients (default 25,500, the whole probation
   register), each with a check-in at 09:00 (Almaty), stored as the check-in feature
   stores them; the real `checkin.remind` handler sends each through the engine. Prints
   the time from 09:00 to the last delivery against Telegram's floor (clients / 30 s),
   lost and duplicated reminders, the fake's 429s after the first second, and the 20
   clients' reply latency meanwhile.
3. Broadcast throughput: `--broadcast` sendMessage requests (default 10,000) through the
   bot session inside `priority(Priority.BROADCAST)`, 16 at a time, to as many clients;
   the rate as a ratio to 30/s, 429s after the first second, replies meanwhile.
Peak RSS at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine

from bot.rate_limit import Budget, RateLimitMiddleware
from core.priority import Priority, priority
from db import scheduled
from db.clock import to_db
from db.database import Database
from emulator import FakeBotAPI, Msg
from emulator.methods import OUTGOING
from services.checkins import REMIND, item_key
from tests.harness import BotUnderTest, seeded_database, start_inproc

NINE_AM = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)  # a Monday, 09:00 in Almaty (UTC+5)
CASEWORKERS = 200
CLIENT_BASE = 3_000_000
CASEWORKER_BASE = 2_000_000
TALKER_BASE = 4_000_000
LATENCY = 0.1
LIMIT = 30


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed(path: Path, clients: int, talkers: int) -> None:
    """Caseworkers, `clients` clients with a daily 09:00 check-in due now, `talkers` without."""
    await seeded_database(path, starter=True)
    db = Database(path)
    await db.connect()
    now = to_db(NINE_AM - timedelta(days=1))
    opens, closes = to_db(NINE_AM), to_db(NINE_AM + timedelta(hours=12))
    languages = ("kk", "ru", "en")
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO users (telegram_id, role, language, display_name, created_at, "
                "updated_at) VALUES (?, 'caseworker', 'ru', ?, ?, ?)",
                [(CASEWORKER_BASE + n, f"Caseworker {n}", now, now) for n in range(CASEWORKERS)],
            )
            people = [CLIENT_BASE + n for n in range(clients)] + [
                TALKER_BASE + n for n in range(talkers)
            ]
            await conn.executemany(
                "INSERT INTO users (telegram_id, role, language, timezone, created_at, "
                "updated_at) VALUES (?, 'client', ?, 'Asia/Almaty', ?, ?)",
                [(p, languages[p % 3], now, now) for p in people],
            )
            await conn.executemany(
                "INSERT INTO clients (telegram_id, caseworker_id, consented_at, linked_at) "
                "VALUES (?, ?, ?, ?)",
                [(p, CASEWORKER_BASE + p % CASEWORKERS, now, now) for p in people],
            )
            reminded = people[:clients]
            await conn.executemany(
                "INSERT INTO checkin_schedules (client_id, pattern, at_time, window_hours, "
                "updated_at) VALUES (?, 'daily', '09:00', 12, ?)",
                [(p, now) for p in reminded],
            )
            await conn.executemany(
                "INSERT INTO checkins (id, client_id, planned_at, opens_at, closes_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(n + 1, p, opens, opens, closes) for n, p in enumerate(reminded)],
            )
            for n, p in enumerate(reminded):
                await scheduled.schedule_in(
                    conn,
                    kind=REMIND,
                    recipient_id=p,
                    due_at=NINE_AM,
                    now=NINE_AM - timedelta(days=1),
                    payload={"checkin": n + 1},
                    dedupe_key=item_key(p, n + 1, "remind"),
                )
    finally:
        await db.close()


@dataclass
class Talkers:
    """20 clients writing and pressing buttons; reply latencies in seconds."""

    app: BotUnderTest
    ids: list[int]
    rng: random.Random = field(default_factory=lambda: random.Random(12))
    latencies: list[float] = field(default_factory=list)
    recording: bool = False
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    timeouts: int = 0

    async def run(self) -> None:
        await asyncio.gather(*(self._one(person) for person in self.ids))

    async def _one(self, person: int) -> None:
        api = self.app.api
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.rng.uniform(0, 5))
        while not self.stopping.is_set():
            before = len(api.outgoing(person))
            asked = loop.time()
            api.user(person).record.started = True
            api.push_update({"message": self._message(person, "/services")})
            replied = await api.state.wait_until(
                lambda n=before: len(api.outgoing(person)) > n,  # type: ignore[misc]
                10,
            )
            self._record(replied, loop.time() - asked)
            answer = api.outgoing(person)[-1] if replied else None
            await asyncio.sleep(self.rng.uniform(5, 15))
            if self.stopping.is_set() or answer is None:
                continue
            buttons = (answer.reply_markup or {}).get("inline_keyboard", [])
            data = next(
                (b["callback_data"] for row in buttons for b in row if "callback_data" in b), None
            )
            if data is None:
                continue
            query_id = str(secrets.randbits(62))
            api.state.callbacks[query_id] = person
            asked = loop.time()
            api.push_update({"callback_query": self._query(person, query_id, answer, data)})
            answered = await api.state.wait_until(
                lambda q=query_id: q not in api.state.callbacks,  # type: ignore[misc]
                10,
            )
            self._record(answered, loop.time() - asked)
            await asyncio.sleep(self.rng.uniform(5, 15))

    def _record(self, ok: bool, took: float) -> None:
        if not self.recording:
            return
        if ok:
            self.latencies.append(took)
        else:
            self.timeouts += 1

    def _message(self, person: int, text: str) -> dict[str, object]:
        record = self.app.api.user(person).record
        msg = Msg(
            chat_id=person,
            message_id=self.app.api.state.next_message_id(person),
            from_bot=False,
            kind="text",
            date=int(time.time()),
        )
        msg.text = msg.html = text
        msg.entities = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        self.app.api.state.add_message(msg)
        raw = dict(msg.raw)
        raw["from"] = record.as_user()
        return raw

    def _query(self, person: int, query_id: str, msg: Msg, data: str) -> dict[str, object]:
        return {
            "id": query_id,
            "from": self.app.api.user(person).record.as_user(),
            "message": msg.raw,
            "chat_instance": str(person * 7919 % 10**12),
            "data": data,
        }

    def take(self) -> tuple[list[float], int]:
        figures, timeouts = self.latencies, self.timeouts
        self.latencies, self.timeouts = [], 0
        return figures, timeouts


def reply_line(latencies: list[float], timeouts: int) -> str:
    return (
        f"p50 {percentile(latencies, 0.5):.2f} s, p99 {percentile(latencies, 0.99):.2f} s, "
        f"max {max(latencies, default=float('nan')):.2f} s ({len(latencies)} replies"
        + (f", {timeouts} over 10 s" if timeouts else "")
        + ")"
    )


def refusals_after(api: FakeBotAPI, start: float) -> tuple[int, int]:
    """429s of the flood limit in the first second after `start`, and after it."""
    early = sum(1 for at in api.flood_refusals if start <= at < start + 1)
    late = sum(1 for at in api.flood_refusals if at >= start + 1)
    return early, late


def budget(app: BotUnderTest) -> Budget:
    for middleware in app.app.bot.session.middleware:
        if isinstance(middleware, RateLimitMiddleware):
            return middleware.budget
    raise LookupError("no RateLimitMiddleware on the bot's session")


def margin(app: BotUnderTest) -> float:
    """The budget's current margin over one second (bot/rate_limit.py)."""
    return budget(app).window.margin()


async def wait_for(predicate: Callable[[], bool], api: FakeBotAPI, within: float) -> bool:
    return await api.state.wait_until(predicate, within)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=25_500)
    parser.add_argument("--broadcast", type=int, default=10_000)
    parser.add_argument("--talkers", type=int, default=20)
    parser.add_argument("--baseline", type=float, default=40.0, help="seconds of replies alone")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="morning-bench-"))
    api = FakeBotAPI(latency=LATENCY, messages_per_second=LIMIT)
    clients = [CLIENT_BASE + n for n in range(args.clients)]
    talkers = [TALKER_BASE + n for n in range(args.talkers)]
    for person in clients + talkers:
        api.user(person, language_code=None).record.started = True
    started = time.monotonic()
    await seed(workdir / "bot.sqlite3", args.clients, args.talkers)
    print(
        f"seeded {args.clients:,} clients with a 09:00 check-in in {time.monotonic() - started:.0f} s"
    )

    delivered: Counter[int] = Counter()
    last_delivery = 0.0
    add_message = api.state.add_message
    reminded = set(clients)

    def counted(message: Msg) -> Msg:
        nonlocal last_delivery
        if message.from_bot and message.chat_id in reminded:
            delivered[message.chat_id] += 1
            last_delivery = time.monotonic()
        return add_message(message)

    api.state.add_message = counted  # type: ignore[method-assign, assignment]

    # The baseline runs before 09:00: the reminders are due when the clock reaches it.
    traveller = time_machine.travel(NINE_AM - timedelta(seconds=args.baseline + 5), tick=True)
    traveller.start()
    try:
        async with start_inproc(api, workdir, production_limits=True) as app:
            talk = Talkers(app, talkers)
            talking = asyncio.create_task(talk.run())
            await asyncio.sleep(5)  # the talkers' first round
            talk.recording = True
            await asyncio.sleep(args.baseline - 1)
            alone = talk.take()
            print(f"\n1. replies alone ({args.talkers} clients): {reply_line(*alone)}")

            # 2. The national morning.
            await asyncio.sleep(max(0.0, (NINE_AM - datetime.now(UTC)).total_seconds()))
            nine = time.monotonic()
            done = await wait_for(
                lambda: len(delivered) >= args.clients, api, args.clients / LIMIT * 3 + 120
            )
            took = last_delivery - nine
            morning = talk.take()
            early, late = refusals_after(api, nine)
            lost = args.clients - len(delivered)
            duplicates = sum(delivered.values()) - len(delivered)
            floor = args.clients / LIMIT
            print(f"\n2. the national morning: {args.clients:,} check-in reminders due at 09:00")
            print(f"   all delivered in {took:.0f} s ({took / 60:.1f} min; floor {floor:.0f} s =")
            print(
                f"   {floor / 60:.1f} min; ratio to 30/s {args.clients / took / LIMIT:.3f})"
                + ("" if done else " -- NOT ALL DELIVERED")
            )
            print(
                f"   lost {lost}, duplicated {duplicates}; 429s: {early} in the first second, {late} after"
            )
            print(f"   replies meanwhile: {reply_line(*morning)}")
            print(f"   budget margin now {margin(app) * 1000:.0f} ms")

            # 3. Broadcast throughput.
            if args.broadcast:
                targets = [clients[n % len(clients)] for n in range(args.broadcast)]
                queue: asyncio.Queue[int] = asyncio.Queue()
                for chat in targets:
                    queue.put_nowait(chat)
                sent = 0

                async def sender() -> None:
                    nonlocal sent
                    with priority(Priority.BROADCAST):
                        while not queue.empty():
                            chat = queue.get_nowait()
                            await app.app.bot.send_message(chat, "Job fair on Friday at 10:00")
                            sent += 1

                await asyncio.sleep(2)  # the morning's last requests leave the window
                refused_before = len(api.flood_refusals)
                requests_before = len(api.requests)
                granted_before = sum(budget(app).granted.values())
                begin = time.monotonic()
                await asyncio.gather(*(sender() for _ in range(16)))
                elapsed = time.monotonic() - begin
                messages = sum(1 for m, _ in api.requests[requests_before:] if m in OUTGOING)
                slots = sum(budget(app).granted.values()) - granted_before
                during = talk.take()
                early, late = refusals_after(api, begin)
                print(f"\n3. broadcast: {sent:,} sendMessage at BROADCAST priority, 16 at a time")
                print(
                    f"   {elapsed:.0f} s: {sent / elapsed:.2f}/s, ratio to 30/s {sent / elapsed / LIMIT:.3f}"
                )
                print(
                    f"   with the replies: {messages / elapsed / LIMIT:.3f} of 30/s in messages "
                    f"Telegram counts, {slots / elapsed / LIMIT:.3f} in requests the budget "
                    "counts (edits too)"
                )
                print(
                    f"   429s: {early} in the first second, {late} after "
                    f"({len(api.flood_refusals) - refused_before} in all)"
                )
                print(f"   replies meanwhile: {reply_line(*during)}")
                print(f"   budget margin now {margin(app) * 1000:.0f} ms")
            talk.stopping.set()
            talking.cancel()
    finally:
        traveller.stop()
    print(
        f"\npeak RSS {peak_rss_mb():.0f} MB (fake Bot API, {args.clients + args.talkers:,} "
        "simulated users and their chats included)"
    )


if __name__ == "__main__":
    asyncio.run(main())
