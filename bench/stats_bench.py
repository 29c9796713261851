"""/stats and the bot's memory: the chart is drawn in a child process, so the bot's resident
memory must not grow for good however many charts it sends.

    .venv/bin/python -m bench.stats_bench [--requests 20] [--clients 2000] [--weeks 12]

The bot runs as its own process (`python -m bot`, as deployed) against the fake Bot API in
this process, on a database seeded with `--clients` clients of 20 caseworkers, each with a
daily check-in for `--weeks` weeks (about 85% answered), a visit a week and one broadcast
a week to everyone. An administrator sends /stats `--requests` times, one after another.

Prints: the bot process's RSS (VmRSS from /proc) after start-up, after the first /stats and
after the last, and its peak (VmHWM); per request the time to the text and to the photo
(median and max); and, for scale, the peak RSS of a chart child process (what the bot
would have kept had it imported matplotlib itself).

A script, not a test: it prints figures. On a shared machine they vary between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.clock import to_db, utcnow
from db.database import Database
from emulator import FakeBotAPI, Msg
from tests.harness import seeded_database
from tests.processes import start_bot_process, stop_process

ROOT = Path(__file__).resolve().parent.parent
ADMIN_ID = 900_001
CASEWORKERS = 20


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


async def seed(path: Path, clients: int, weeks: int) -> None:
    await seeded_database(path, starter=True)
    db = Database(path)
    await db.connect()
    rng = random.Random(13)
    now = utcnow()
    start = now - timedelta(weeks=weeks)
    stamp = to_db(start)
    try:
        async with db.transaction() as conn:
            for cw in range(1, CASEWORKERS + 1):
                await conn.execute(
                    "INSERT INTO users (telegram_id, role, display_name, created_at, updated_at) "
                    "VALUES (?, 'caseworker', ?, ?, ?)",
                    (cw, f"Caseworker {cw}", stamp, stamp),
                )
            for client in range(1000, 1000 + clients):
                await conn.execute(
                    "INSERT INTO users (telegram_id, role, created_at, updated_at) "
                    "VALUES (?, 'client', ?, ?)",
                    (client, stamp, stamp),
                )
                await conn.execute(
                    "INSERT INTO clients (telegram_id, caseworker_id, status, consented_at, "
                    "linked_at) VALUES (?, ?, 'active', ?, ?)",
                    (client, 1 + client % CASEWORKERS, stamp, stamp),
                )
            checkins = []
            for client in range(1000, 1000 + clients):
                for day in range(weeks * 7):
                    opens = start + timedelta(days=day, hours=4)
                    status = "done" if rng.random() < 0.85 else "missed"
                    checkins.append(
                        (
                            client,
                            to_db(opens),
                            to_db(opens),
                            to_db(opens + timedelta(hours=12)),
                            status,
                        )
                    )
            await conn.executemany(
                "INSERT INTO checkins (client_id, planned_at, opens_at, closes_at, status) "
                "VALUES (?, ?, ?, ?, ?)",
                checkins,
            )
            for client in range(1000, 1000 + clients):
                for week in range(weeks):
                    at = start + timedelta(weeks=week, hours=5, minutes=client % 480)
                    await conn.execute(
                        "INSERT INTO appointments (uid, client_id, caseworker_id, starts_at, "
                        "ends_at, origin, status, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, 'booked', ?, ?, ?)",
                        (
                            f"{client}-{week}",
                            client,
                            1 + client % CASEWORKERS,
                            to_db(at),
                            to_db(at + timedelta(minutes=30)),
                            rng.choice(
                                ("attended", "attended", "attended", "no_show", "cancelled")
                            ),
                            stamp,
                            stamp,
                        ),
                    )
            for week in range(weeks):
                sent_at = to_db(start + timedelta(weeks=week, days=1))
                cursor = await conn.execute(
                    "INSERT INTO broadcasts (sender_id, audience, main_language, state, send_at, "
                    "created_at, started_at) VALUES (1, 'all', 'kk', 'done', ?, ?, ?)",
                    (sent_at, sent_at, sent_at),
                )
                await conn.executemany(
                    "INSERT INTO broadcast_recipients (broadcast_id, client_id, language, status, "
                    "not_before) VALUES (?, ?, 'kk', ?, ?)",
                    [
                        (cursor.lastrowid, c, "sent" if rng.random() < 0.97 else "failed", sent_at)
                        for c in range(1000, 1000 + clients)
                    ],
                )
    finally:
        await db.close()
    print(
        f"Seeded {clients:,} clients of {CASEWORKERS} caseworkers, {len(checkins):,} check-ins, "
        f"{clients * weeks:,} visits, {weeks} broadcasts over {weeks} weeks."
    )


async def one_request(admin: object, api: FakeBotAPI) -> tuple[float, float, bool]:
    """(seconds to the text, seconds to the photo or the note, photo sent)."""
    from emulator import FakeUser

    assert isinstance(admin, FakeUser)
    sent = time.perf_counter()
    await admin.send("/stats", timeout=120, quiet=0.05)
    text = await admin.wait_for(lambda m: "📊" in m.body and m.kind == "text", timeout=120)
    text_at = time.perf_counter()
    del text

    def done(m: Msg) -> bool:
        return m.kind == "photo" or "could not be drawn" in m.body

    last = await admin.wait_for(done, timeout=120)
    return text_at - sent, time.perf_counter() - sent, last.kind == "photo"


CHILD = """
import json, sys
import matplotlib
from core import charts
matplotlib.use("Agg")
png = charts.draw(json.loads(sys.stdin.read()))
assert png.startswith(charts.PNG_MAGIC)
print(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
"""


async def chart_child_peak() -> float:
    """The peak RSS of one chart drawn in a fresh process, in MB (VmHWM: its own pages only)."""
    spec = {
        "title": "t",
        "x_label": "x",
        "x_ticks": [str(i) for i in range(12)],
        "panels": [
            {
                "y_label": "y",
                "percent": True,
                "series": [{"label": "s", "kind": "line", "values": [50.0] * 12}],
            },
            {
                "y_label": "y",
                "percent": False,
                "series": [{"label": "s", "kind": "bar", "values": [3] * 12}],
            },
        ],
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, _ = await process.communicate(json.dumps(spec).encode())
    return int(out.decode().strip()) / 1024


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=12)
    args = parser.parse_args()
    child_peak = await chart_child_peak()  # first: the bot is a child process too
    with tempfile.TemporaryDirectory(prefix="stats-bench-") as folder:
        tmp = Path(folder)
        await seed(tmp / "db" / "bot.sqlite3", args.clients, args.weeks)
        async with FakeBotAPI() as api:
            process = await start_bot_process(tmp, api, ADMIN_IDS=str(ADMIN_ID))
            try:
                admin = api.user(ADMIN_ID, language_code="ru")
                await admin.start(timeout=60, quiet=0.3)
                await asyncio.sleep(1.0)  # start-up work (menus, the first engine pass) settles
                started = rss_mb(process.pid)
                timings = [await one_request(admin, api)]
                after_first = rss_mb(process.pid)
                trace = [after_first]
                for _ in range(args.requests - 1):
                    timings.append(await one_request(admin, api))
                    trace.append(rss_mb(process.pid))
                after_all = rss_mb(process.pid)
                peak = rss_mb(process.pid, "VmHWM")
            finally:
                code, _ = await stop_process(process)
    texts = [t for t, _, _ in timings]
    photos = [p for _, p, _ in timings]
    print(f"/stats × {len(timings)} (administrator, whole programme), bot exit status {code}")
    print(
        f"  photos sent: {sum(ok for _, _, ok in timings)} of {len(timings)}; "
        f"text after median {statistics.median(texts):.2f} s (max {max(texts):.2f} s), "
        f"photo after median {statistics.median(photos):.2f} s (max {max(photos):.2f} s)"
    )
    print(
        f"  bot RSS: {started:.1f} MB after start-up, {after_first:.1f} MB after the first "
        f"/stats, {after_all:.1f} MB after the last ({after_all - started:+.1f} MB); "
        f"peak {peak:.1f} MB"
    )
    print("  bot RSS after each request (MB): " + " ".join(f"{m:.0f}" for m in trace))
    print(f"  one chart child process: peak RSS {child_peak:.1f} MB (gone when it exits)")
    print(f"  measured at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on a shared machine")


if __name__ == "__main__":
    asyncio.run(main())
