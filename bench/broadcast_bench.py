"""A broadcast to many clients at Telegram's rate, and what it does to replies (issue 12).

    .venv/bin/python -m bench.broadcast_bench [--recipients 10000] [--latency 0.1]
        [--clients 20] [--client-interval 3]

The real application (production limits: the session's 30/s, per-chat pace) against the
fake Bot API over HTTP, which enforces 30 messages a second (a 429 beyond) and here answers
every request `--latency` seconds late (a wrapper around the fake's `answer`, the minimal
latency option the brief allows without editing emulator/server.py). A caseworker
with `--recipients` clients composes a broadcast over the fake (/broadcast, All my clients,
a text, Send now). Meanwhile `--clients` other people each write /help every
`--client-interval` seconds (jittered); their reply latency (update queued → reply
delivered) is measured with no broadcast running first, then during it.

Prints: throughput as a ratio to 30/s (deliveries between the first and the last copy),
429 answers after the first second, time from pressing Send to the first delivery, the
clients' reply latency p50/p99 without and with the broadcast, and the process's peak RSS
(the fake runs in the same process).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from db.clock import now_db
from db.database import Database
from db.staff import add_caseworker
from emulator import FakeBotAPI, FakeUser
from emulator.methods import OUTGOING
from emulator.server import Answer
from tests.harness import start_bot

TELEGRAM_RATE = 30.0
CASEWORKER = 500


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Recorder:
    """Adds latency to every call but getUpdates; records deliveries and 429s with times."""

    def __init__(self, api: FakeBotAPI, latency: float) -> None:
        self.copies: list[float] = []
        self.outgoing: list[float] = []  # every message delivered (copies, replies)
        self.throttled: list[float] = []
        original = api.answer

        async def answer(method: str, data: dict[str, Any]) -> Answer:
            if method != "getUpdates" and latency:
                await asyncio.sleep(latency)
            result = await original(method, data)
            if result.status == 429:
                self.throttled.append(time.monotonic())
            elif result.status == 200 and method in OUTGOING:
                self.outgoing.append(time.monotonic())
                if method == "copyMessage":
                    self.copies.append(time.monotonic())
            return result

        api.answer = answer  # type: ignore[method-assign]


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


async def run(
    recipients: int, latency: float, clients: int, interval: float, workdir: Path
) -> None:
    api = FakeBotAPI(messages_per_second=int(TELEGRAM_RATE))
    await api.start()
    ids = list(range(10_000_000, 10_000_000 + recipients))
    async with start_bot(api, workdir, production_limits=True, quiet_hours="off") as app:
        await seed(app.db, ids)
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
        recorder = Recorder(api, latency)
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
        late_429 = sum(1 for t in recorder.throttled if t > first + 1.0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"recipients: {recipients}, added latency {latency * 1000:.0f} ms, fake limit 30/s")
        print(
            f"delivered: {len(recorder.copies)} in {span:.1f} s: {rate:.2f}/s, ratio to 30/s {rate / TELEGRAM_RATE:.3f}"
        )
        print(
            f"all messages in that time (copies and replies): {total_rate:.2f}/s, "
            f"ratio to 30/s {total_rate / TELEGRAM_RATE:.3f}"
        )
        print(f"429 answers after the first second: {late_429} (all: {len(recorder.throttled)})")
        print(f"Send → first delivery: {first - pressed:.2f} s")
        print(
            f"{clients} clients' reply latency p50/p99: without a broadcast "
            f"{percentile(quiet_latencies, 0.5):.3f}/{percentile(quiet_latencies, 0.99):.3f} s "
            f"({len(quiet_latencies)} replies); during it "
            f"{percentile(writers.latencies, 0.5):.3f}/{percentile(writers.latencies, 0.99):.3f} s "
            f"({len(writers.latencies)} replies)"
        )
        print(f"peak RSS (bot and fake in one process): {rss:.0f} MB")
        sender = app.app.broadcasts.counters
        print(f"sender: sent {sender.sent}, failed {sender.failed}, retried {sender.retried}")
    await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--client-interval", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(
            run(args.recipients, args.latency, args.clients, args.client_interval, Path(folder))
        )


if __name__ == "__main__":
    main()
