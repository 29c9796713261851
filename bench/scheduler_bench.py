"""Scheduling engine figures, against the in-process fake Bot API with the real bot session.

    .venv/bin/python -m bench.scheduler_bench [--pending 100000] [--burst 1000]

1. Burst: 100,000 pending items spread over the next day plus 1,000 due in the same
   second, one per person. Prints how long the 1,000 took (Telegram's 30/s means ~34 s),
   lateness (send completed - due) p50/p99/max, peak RSS, the cost of one engine
   wake-up with everything pending, the APScheduler job count and EXPLAIN QUERY PLAN
   of the due query.
2. Crash: an engine in a child process (bench/crash_child.py) is killed with SIGKILL in
   the middle of sending; a new one starts on the same database. Counts deliveries per
   item: losses (never delivered) and duplicates, against the rows in flight at the kill.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import create_bot, engine_settings
from bot.config import load_settings
from bot.i18n import create_i18n
from db import scheduled
from db.clock import to_db, utcnow
from db.database import Database
from db.migrate import migrate
from db.scheduled import ScheduledItem, Status
from emulator import FakeBotAPI, Msg
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Outcome

ROOT = Path(__file__).resolve().parents[1]
BURST_KIND = "bench.burst"
CRASH_KIND = "bench.crash"
_ITEM_RE = re.compile(r"bench #(\d+)")


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_users(api: FakeBotAPI, ids: range) -> None:
    """People who pressed Start long ago (the bot may write to them)."""
    for user_id in ids:
        api.user(user_id).record.started = True


async def open_db(path: Path) -> Database:
    db = Database(path)
    await db.connect()
    await migrate(db)
    return db


async def insert_spread(db: Database, count: int, start: datetime, span: timedelta) -> None:
    """`count` pending items spread evenly over `span` from `start` (one INSERT ... SELECT)."""
    await db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last) "
        "INSERT INTO scheduled_items (kind, recipient_id, payload, intended_at, due_at, "
        "dedupe_key, created_at) "
        "SELECT :kind, 5000000 + i % 20000, json_object('n', i), "
        "datetime(:start, '+' || (i * :span / :count) || ' seconds'), "
        "datetime(:start, '+' || (i * :span / :count) || ' seconds'), "
        "'spread:' || i, :now FROM n",
        {
            "last": count - 1,
            "kind": BURST_KIND,
            "start": to_db(start),
            "span": int(span.total_seconds()),
            "count": count,
            "now": to_db(utcnow()),
        },
    )


@dataclass
class BurstFigures:
    pending: int
    burst: int
    sent: int
    first_to_last: float
    p50: float
    p99: float
    max_lateness: float
    all_within_minute: bool
    wake_up_ms_median: float
    wake_up_ms_p99: float
    next_due_ms: float
    jobs: int
    rss_start_mb: float
    rss_peak_mb: float
    plan: list[str]
    peak_in_flight: int


async def run_burst(pending: int, burst: int, workdir: Path) -> BurstFigures:
    rss_start = current_rss_mb()
    async with FakeBotAPI() as api:
        start_users(api, range(1, burst + 1))
        settings = load_settings(
            bot_token=api.token,
            telegram_api_url=api.base_url,
            database_path=workdir / "burst.sqlite3",
        )
        db = await open_db(settings.database_path)
        bot = create_bot(settings)
        engine = Engine(db=db, bot=bot, i18n=create_i18n("en"), settings=engine_settings(settings))
        lateness: list[float] = []
        done = asyncio.Event()

        async def send(item: ScheduledItem, delivery: Delivery) -> Outcome:
            await delivery.send_message(f"bench #{item.payload['n']}")
            lateness.append(time.time() - item.intended_at.timestamp())
            if len(lateness) >= burst:
                done.set()
            return SENT

        engine.register(BURST_KIND, send)
        # The burst falls due 15 s from now, all in the same second; the rest start after it.
        due = utcnow() + timedelta(seconds=15)
        await insert_spread(db, pending, due + timedelta(minutes=2), timedelta(days=1))
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO scheduled_items (kind, recipient_id, payload, intended_at, due_at, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (BURST_KIND, i, f'{{"n":{i}}}', to_db(due), to_db(due), to_db(utcnow()))
                    for i in range(1, burst + 1)
                ],
            )
        await db.execute("ANALYZE")

        # One wake-up with everything pending and nothing due: claim query + next due.
        samples = []
        for _ in range(200):
            began = time.perf_counter()
            report = await engine.run_due(now=due - timedelta(seconds=1))
            samples.append((time.perf_counter() - began) * 1000)
            assert report.claimed == 0
        next_due_samples = []
        for _ in range(200):
            began = time.perf_counter()
            await scheduled.next_due(db)
            next_due_samples.append((time.perf_counter() - began) * 1000)
        plan = await scheduled.explain_due(db, due)

        await engine.start()  # the real timer: it must wake at `due` by itself
        jobs = engine.job_count
        await asyncio.wait_for(done.wait(), timeout=180)
        first_to_last = max(lateness) - min(lateness)
        await engine.stop(grace=10)
        counts = await scheduled.counts(db)
        await bot.session.close()
        await db.close()
    return BurstFigures(
        pending=pending,
        burst=burst,
        sent=counts[Status.SENT],
        first_to_last=first_to_last,
        p50=percentile(lateness, 0.5),
        p99=percentile(lateness, 0.99),
        max_lateness=max(lateness),
        all_within_minute=max(lateness) < 60,
        wake_up_ms_median=statistics.median(samples),
        wake_up_ms_p99=percentile(samples, 0.99),
        next_due_ms=statistics.median(next_due_samples),
        jobs=jobs,
        rss_start_mb=rss_start,
        rss_peak_mb=rss_mb(),
        plan=plan,
        peak_in_flight=engine.runner.peak_in_flight,
    )


@dataclass
class CrashFigures:
    moment: str  # "polled": whenever the parent noticed; "worst": as Telegram accepts one
    items: int
    delivered_at_kill: int
    in_flight_at_kill: int  # rows 'sending' when the process died
    accepted_unrecorded: int  # of those, delivered already: the duplicates to expect
    recovered: int
    lost: int
    duplicates: int
    seconds: float


def deliveries(api: FakeBotAPI) -> Counter[int]:
    """How many times each item's message reached its chat."""
    found: Counter[int] = Counter()
    for history in api.state.chats.values():
        for message in history.messages.values():
            match = _ITEM_RE.fullmatch(message.text or "") if message.from_bot else None
            if match:
                found[int(match.group(1))] += 1
    return found


async def spawn_child(db_path: Path, api: FakeBotAPI) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.crash_child",
        str(db_path),
        api.base_url,
        api.token,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)  # started (after recovery)
    if not line.startswith(b"started"):
        raise RuntimeError(f"crash child did not start: {line!r}")
    return process


async def run_crash(
    items: int,
    people: int,
    kill_after: int,
    workdir: Path,
    *,
    worst_moment: bool = False,
    within: float = 120,
    latency: float = 0.0,
) -> CrashFigures:
    """Schedule `items` due now for `people`, SIGKILL the engine after `kill_after` deliveries.

    `worst_moment`: kill inside the fake Telegram, right as it accepts a message and before
    the bot can read the answer, so at least that one is accepted but unrecorded.
    Otherwise the parent polls and kills whenever it notices (an arbitrary moment).
    """
    began = time.monotonic()
    db_path = workdir / "crash.sqlite3"
    async with FakeBotAPI(latency=latency) as api:
        start_users(api, range(1, people + 1))
        db = await open_db(db_path)
        now = utcnow()
        async with db.transaction() as conn:
            for n in range(items):
                await scheduled.schedule_in(
                    conn,
                    kind=CRASH_KIND,
                    recipient_id=1 + n % people,
                    due_at=now,
                    now=now,
                    payload={"n": n},
                    dedupe_key=f"crash:{n}",
                )
        await db.close()

        child = await spawn_child(db_path, api)
        if worst_moment:
            killed = asyncio.Event()
            add_message = api.state.add_message
            delivered = 0

            def add_then_kill(message: Msg) -> Msg:
                nonlocal delivered
                added = add_message(message)
                delivered += message.from_bot
                if delivered == kill_after:
                    child.send_signal(signal.SIGKILL)  # before the HTTP answer is written
                    killed.set()
                return added

            api.state.add_message = add_then_kill  # type: ignore[method-assign, assignment]
            await asyncio.wait_for(killed.wait(), within)
            api.state.add_message = add_message  # type: ignore[method-assign]
        else:
            # Re-checked whenever the fake Telegram changes state (event-driven, no polling).
            await api.state.wait_until(lambda: sum(deliveries(api).values()) >= kill_after, within)
            child.send_signal(signal.SIGKILL)
        await child.wait()
        # A request that reached the server just before the kill is still delivered.
        await api.wait_idle(quiet=0.2)

        at_kill = deliveries(api)
        db = await open_db(db_path)
        in_flight = await db.fetchall(
            "SELECT json_extract(payload, '$.n') FROM scheduled_items WHERE status = 'sending'"
        )
        accepted_unrecorded = sum(1 for row in in_flight if at_kill[int(row[0])] > 0)

        child = await spawn_child(db_path, api)
        deadline = time.monotonic() + within
        while True:
            counts = await scheduled.counts(db)
            if counts[Status.PENDING] == 0 and counts[Status.SENDING] == 0:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"items still unfinished: {counts}")
            await asyncio.sleep(0.1)
        recovered = await db.fetchval(
            "SELECT count(*) FROM scheduled_items WHERE attempts > 1 OR last_error = 'recovered'"
        )
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), 30)
        await db.close()
        final = deliveries(api)
    return CrashFigures(
        moment="worst" if worst_moment else "polled",
        items=items,
        delivered_at_kill=sum(at_kill.values()),
        in_flight_at_kill=len(in_flight),
        accepted_unrecorded=accepted_unrecorded,
        recovered=int(recovered),
        lost=sum(1 for n in range(items) if final[n] == 0),
        duplicates=sum(count - 1 for count in final.values() if count > 1),
        seconds=time.monotonic() - began,
    )


def print_burst(f: BurstFigures) -> None:
    print(f"== Burst: {f.burst:,} due in the same second, {f.pending:,} pending over a day")
    print(f"sent                      {f.sent:,} of {f.burst:,}")
    print(
        f"first to last send        {f.first_to_last:.1f} s (Telegram's 30/s: ~{f.burst / 30:.0f} s)"
    )
    print(f"lateness p50 / p99 / max  {f.p50:.1f} / {f.p99:.1f} / {f.max_lateness:.1f} s")
    print(f"all within the minute     {f.all_within_minute}")
    print(f"rows in flight, peak      {f.peak_in_flight}")
    print(
        f"wake-up, nothing due      {f.wake_up_ms_median:.2f} ms median, {f.wake_up_ms_p99:.2f} ms p99"
    )
    print(f"next-due query            {f.next_due_ms:.3f} ms")
    print(f"APScheduler jobs          {f.jobs}")
    print(f"RSS at start / peak       {f.rss_start_mb:.0f} / {f.rss_peak_mb:.0f} MB")
    print("due query plan            " + " | ".join(f.plan))


def print_crash(f: CrashFigures) -> None:
    print(
        f"== Crash ({f.moment} moment): {f.items} items due now, "
        f"SIGKILL after {f.delivered_at_kill} deliveries"
    )
    print(f"rows 'sending' at the kill      {f.in_flight_at_kill} (bound: max_in_flight = 32)")
    print(f"  of which Telegram had already {f.accepted_unrecorded}")
    print(f"lost                            {f.lost}")
    print(f"duplicates                      {f.duplicates}")
    print(f"total time                      {f.seconds:.1f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=1_000)
    parser.add_argument("--crash-items", type=int, default=600)
    parser.add_argument("--crash-runs", type=int, default=3)
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added per request (crash runs)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_burst:
            print_burst(await run_burst(args.pending, args.burst, Path(tmp)))
        for run in range(args.crash_runs):
            for worst in (False, True):
                workdir = Path(tmp) / f"crash{run}{worst}"
                workdir.mkdir()
                # 3 items per person, so per-chat pacing holds rows in flight too.
                figures = await run_crash(
                    args.crash_items,
                    args.crash_items // 3,
                    args.crash_items // 3,
                    workdir,
                    worst_moment=worst,
                    latency=args.latency,
                )
                print_crash(figures)


if __name__ == "__main__":
    started = datetime.now(UTC)
    asyncio.run(main())
    print(f"(bench run at {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs)")
