"""What storing every update before it is confirmed costs (bot/polling.py, db/inbox.py).

    .venv/bin/python -m bench.updates_bench [--updates 2000] [--people 200]

The real application polls the in-process fake Bot API; `--updates` messages are queued
at once, written in group chats, so the bot drops each one in its first middleware
without a reply: what is measured is the path every update takes (fetch, store, handle,
delete), not Telegram's 30 messages a second, which caps any run that answers. Prints
updates handled per second and the latency from queueing to "handled" (p50, p99), with
the inbox as built, and with its two writes (store a batch, delete handled rows)
replaced by no-ops: the difference is the price of durability.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from db import inbox
from db.database import Database
from emulator import FakeBotAPI
from tests.harness import start_bot


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(
    updates: int, people: int, durable: bool, workdir: Path
) -> tuple[float, float, float]:
    store: Callable[[Database, Sequence[tuple[int, str]]], Awaitable[None]] = inbox.store
    done: Callable[[Database, Sequence[int]], Awaitable[None]] = inbox.done

    async def no_store(db: Database, batch: Sequence[tuple[int, str]]) -> None:
        return None

    async def no_done(db: Database, update_ids: Sequence[int]) -> None:
        return None

    if not durable:  # bot/polling.py looks these up on the module at each call
        setattr(inbox, "store", no_store)  # noqa: B010
        setattr(inbox, "done", no_done)  # noqa: B010
    try:
        async with FakeBotAPI() as api, start_bot(api, workdir) as app:
            users = [app.user(10_000 + n) for n in range(people)]
            queued: dict[int, float] = {}
            handled: dict[int, float] = {}

            def mark(update_id: int) -> None:
                handled[update_id] = time.perf_counter()

            app.app.polling.on_handled.append(mark)
            started = time.perf_counter()
            for n in range(updates):
                person = users[n % people]
                body: dict[str, Any] = {
                    "message": {
                        "message_id": 1_000_000 + n,
                        "date": int(time.time()),
                        "chat": {"id": -1_000_000 - n % people, "type": "group", "title": "g"},
                        "from": person.record.as_user(),
                        "text": "hello everyone",
                    }
                }
                queued[api.push_update(body)] = time.perf_counter()
            ok = await api.state.wait_until(lambda: all(u in handled for u in queued), 300)
            assert ok, "not every update was handled"
            elapsed = max(handled[u] for u in queued) - started
            latencies = [handled[u] - queued[u] for u in queued]
            return updates / elapsed, statistics.median(latencies), percentile(latencies, 0.99)
    finally:
        setattr(inbox, "store", store)  # noqa: B010
        setattr(inbox, "done", done)  # noqa: B010


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--people", type=int, default=200)
    args = parser.parse_args()
    for durable in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            rate, p50, p99 = await run(args.updates, args.people, durable, Path(folder))
        label = "inbox (stored before confirmed)" if durable else "no inbox writes"
        print(
            f"{label:32}: {args.updates} updates from {args.people} people: "
            f"{rate:7.0f} updates/s, queued→handled p50 {p50 * 1000:6.0f} ms, "
            f"p99 {p99 * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
