"""A broadcast to many clients at Telegram's rate, and what it does to replies (issue 12).

    .venv/bin/python -m bench.broadcast_bench [--recipients 10000] [--latency 0.1]
        [--clients 20] [--client-interval 3] [--in-process]

The bot runs as deployed: `python -m bot` in its own process (production limits: the one
budget at 30/s, the per-chat pace), polling the fake Bot API served by this process,
which enforces 30 messages a second counted as requests arrive (a 429 beyond) and answers
every request `--latency` seconds late (half each way). `--in-process` runs the bot in
this process instead, beside the fake, as the earlier figures were taken: the fake's own
work then stalls the bot's event loop, and the budget widens its margin for it.

A caseworker with `--recipients` clients composes a broadcast over the fake (/broadcast,
All my clients, a text, Send now). Meanwhile `--clients` other people each write /help
every `--client-interval` seconds (jittered); their reply latency (update queued → reply
delivered) is measured with no broadcast running first, then during it.

Prints: throughput as a ratio to 30/s, for the broadcast's copies and for every message
the bot sent in that time (copies and replies share the one budget); 429 answers after
the first second; time from pressing Send to the first delivery; the clients' reply
latency p50/p99 without and with the broadcast; the bot's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from db.clock import now_db
from db.database import Database
from db.staff import add_caseworker
from emulator import FakeBotAPI, FakeUser, Msg
from tests.harness import start_bot
from tests.processes import start_bot_process, stop_process

TELEGRAM_RATE = 30.0
CASEWORKER = 500


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Recorder:
    """When each message from the bot reached the fake (copies of the broadcast apart)."""

    def __init__(self, api: FakeBotAPI, recipients: set[int]) -> None:
        self.copies: list[float] = []
        self.outgoing: list[float] = []  # every message delivered (copies, replies)
        self.per_chat: Counter[int] = Counter()
        add_message = api.state.add_message

        def counted(message: Msg) -> Msg:
            if message.from_bot:
                now = time.monotonic()
                self.outgoing.append(now)
                if message.chat_id in recipients:
                    self.copies.append(now)
                    self.per_chat[message.chat_id] += 1
            return add_message(message)

        api.state.add_message = counted  # type: ignore[method-assign, assignment]


async def seed(db: Database, ids: list[int]) -> None:
    now = now_db()
    await add_caseworker(db, CASEWORKER, "Bench Officer", actor_id=None)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users (telegram_id, role, language, created_at, updated_at) "
            "VALUES (?, 'client', ?, ?, ?)",
            [(i, ("kk", "ru", "en")[i % 3], now, now) for i in ids],
        )
        await conn.executemany(
            "INSERT INTO clients (telegram_id, caseworker_id, status, consented_at, linked_at) "
            "VALUES (?, ?, 'active', ?, ?)",
            [(i, CASEWORKER, now, now) for i in ids],
        )


class Writers:
    """People who write /help now and then; each reply's latency is recorded."""

    def __init__(self, api: FakeBotAPI, people: list[FakeUser], interval: float) -> None:
        self.api = api
        self.people = people
        self.interval = interval
        self.latencies: list[float] = []
        self._stop = asyncio.Event()

    async def one(self, person: FakeUser) -> None:
        await asyncio.sleep(random.uniform(0, self.interval))
        while not self._stop.is_set():
            before = len(self.api.outgoing(person.id))
            started = time.monotonic()
            self.api.push_update(
                {
                    "message": {
                        "message_id": random.randint(1, 2**30),
                        "date": int(time.time()),
                        "chat": person.record.as_chat(),
                        "from": person.record.as_user(),
                        "text": "/help",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                    }
                }
            )
            self.api.state.notify()
            ok = await self.api.state.wait_until(
                lambda before=before: len(self.api.outgoing(person.id)) > before,  # type: ignore[misc]
                30,
            )
            if ok:
                self.latencies.append(time.monotonic() - started)
            await asyncio.sleep(self.interval * random.uniform(0.7, 1.3))

    async def run_for(self, seconds: float | None, until: asyncio.Event | None = None) -> None:
        self._stop.clear()
        tasks = [asyncio.create_task(self.one(p)) for p in self.people]
        if until is not None:
            await until.wait()
        else:
            assert seconds is not None
            await asyncio.sleep(seconds)
        self._stop.set()
        await asyncio.gather(*tasks)


def process_peak_rss_mb(pid: int) -> float:
    """A child's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@asynccontextmanager
async def bot_running(
    api: FakeBotAPI, workdir: Path, in_process: bool
) -> AsyncIterator[tuple[Database, Callable[[], float]]]:
    """The bot polling `api`: its database (for seeding) and a reader of its peak RSS."""
    if in_process:
        async with start_bot(api, workdir, production_limits=True, quiet_hours="off") as app:
            yield app.db, lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return
    process = await start_bot_process(workdir, api, QUIET_HOURS="off", LOG_LEVEL="WARNING")
    db = Database(workdir / "db" / "bot.sqlite3")  # the bot's own file, beside it (WAL)
    await db.connect(check=False)
    try:
        yield db, lambda: process_peak_rss_mb(process.pid)
    finally:
        await db.close()
        status, err = await stop_process(process)
        if status != 0:
            print(f"the bot stopped with status {status}: {err[-2000:]}")


async def run(
    recipients: int,
    latency: float,
    clients: int,
    interval: float,
    workdir: Path,
    in_process: bool,
) -> None:
    api = FakeBotAPI(messages_per_second=int(TELEGRAM_RATE), latency=latency)
    await api.start()
    ids = list(range(10_000_000, 10_000_000 + recipients))
    recorder = Recorder(api, set(ids))
    async with bot_running(api, workdir, in_process) as (db, peak_rss):
        await seed(db, ids)
        for i in ids:
            api.user(i).record.started = True
        officer = api.user(CASEWORKER)
        await officer.start()
        await officer.press("English")
        people = []
        for n in range(clients):
            person = api.user(20_000_000 + n)
            await person.start()
            await person.press("English")
            people.append(person)
        writers = Writers(api, people, interval)

        await writers.run_for(max(10.0, 3 * interval))
        quiet_latencies = list(writers.latencies)
        writers.latencies.clear()

        await officer.command("broadcast")
        await officer.press("👥 All my clients")
        await officer.send("Job fair on Friday at 10:00, Abai 1")
        done = asyncio.Event()

        async def watch() -> None:
            await api.state.wait_until(lambda: len(recorder.copies) >= recipients, 24 * 3600)
            done.set()

        watcher = asyncio.create_task(watch())
        pressed = time.monotonic()
        press = asyncio.create_task(officer.press("📤 Send now", timeout=3600))
        await writers.run_for(None, done)
        await watcher
        press.cancel()
        first, last = recorder.copies[0], recorder.copies[-1]
        span = last - first
        rate = (len(recorder.copies) - 1) / span if span > 0 else float("inf")
        everything = sum(1 for t in recorder.outgoing if first <= t <= last)
        total_rate = everything / span if span > 0 else float("inf")
        refusals = api.flood_refusals
        late_429 = sum(1 for t in refusals if t > first + 1.0)
        duplicates = sum(recorder.per_chat.values()) - len(recorder.per_chat)
        where = "in this process, beside the fake" if in_process else "in its own process"
        print(f"recipients: {recipients}, added latency {latency * 1000:.0f} ms, fake limit 30/s")
        print(f"the bot ran {where}")
        print(
            f"delivered: {len(recorder.copies)} in {span:.1f} s: {rate:.2f}/s, ratio to 30/s "
            f"{rate / TELEGRAM_RATE:.3f} (duplicates {duplicates})"
        )
        print(
            f"all messages in that time (copies and replies): {total_rate:.2f}/s, "
            f"ratio to 30/s {total_rate / TELEGRAM_RATE:.3f}"
        )
        print(f"429 answers after the first second: {late_429} (all: {len(refusals)})")
        print(f"Send → first delivery: {first - pressed:.2f} s")
        print(
            f"{clients} clients' reply latency p50/p99: without a broadcast "
            f"{percentile(quiet_latencies, 0.5):.3f}/{percentile(quiet_latencies, 0.99):.3f} s "
            f"({len(quiet_latencies)} replies); during it "
            f"{percentile(writers.latencies, 0.5):.3f}/{percentile(writers.latencies, 0.99):.3f} s "
            f"({len(writers.latencies)} replies)"
        )
        print(f"the bot's peak RSS: {peak_rss():.0f} MB")
    await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--client-interval", type=float, default=3.0)
    parser.add_argument("--in-process", action="store_true", help="the bot beside the fake")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(
            run(
                args.recipients,
                args.latency,
                args.clients,
                args.client_interval,
                Path(folder),
                args.in_process,
            )
        )


if __name__ == "__main__":
    main()
