"""CSV import while the bot works: how long other writes and the event loop wait.

    .venv/bin/python -m bench.csv_import_bench [--rows 20000] [--case all|bot|cli|bad]

Each case runs in a fresh process, so its peak RSS is its own:

- bot: a 20,000-row file (about 4.6 MB, near the 5 MB limit) imported through the bot's
  Database while a task writes a small row through the same Database every ~20 ms (as
  handlers and the scheduler do) and another measures how late a 10 ms sleep wakes up
  (event-loop stalls). Then the same file again (every row unchanged).
- cli: the same file imported by `python -m bot directory import` (another process, its
  own connection) while this process writes every ~20 ms through its own Database
  (busy_timeout 5 s, as the bot's): how long a write waits, and whether any fails.
- bad: a 1.6 MB file whose every cell is bad (1.1 million problems): parse time, peak
  memory, and the event loop meanwhile.

Targets: longest write wait ≤ 200 ms; no failed write. A script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scheduler_bench import current_rss_mb, rss_mb
from db.database import Database
from db.directory_csv import COLUMNS, write_csv
from db.directory_import import BATCH_ROWS, BATCH_SECONDS, import_rows, parse_file
from db.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

CITIES = [
    ("Ақтөбе", "Актобе", "Aktobe", 50.28, 57.17),
    ("Қандыағаш", "Кандыагаш", "Kandyagash", 49.47, 57.42),
    ("Алматы", "Алматы", "Almaty", 43.24, 76.89),
    ("Астана", "Астана", "Astana", 51.17, 71.45),
    ("Шымкент", "Шымкент", "Shymkent", 42.32, 69.59),
]


def valid_rows(count: int) -> list[dict[str, str]]:
    rng = random.Random(7)
    rows = []
    for i in range(count):
        _kk, ru, _en, lat, lon = CITIES[i % len(CITIES)]
        org = i % 500
        rows.append(
            {
                "id": f"bench-{i}",
                "organization_id": f"org-{org}",
                "organization_name_ru": f"Организация {org}",
                "name_kk": f"Қызмет {i}",
                "name_ru": f"Услуга {i}",
                "description_ru": "Описание",
                "categories": "employment;documents",
                "city_ru": ru,
                "latitude": f"{lat + rng.uniform(-0.3, 0.3):.5f}",
                "longitude": f"{lon + rng.uniform(-0.3, 0.3):.5f}",
                "phones": "+7 7133 00 00 00; 112",
                "hours": "Mo-Fr 09:00-13:00,14:00-18:00; Sa 10:00-14:00",
                "languages": "kk;ru",
            }
        )
    return rows


def all_bad_file(count: int) -> bytes:
    """Every cell holds a control character: about 56 problems per row."""
    row = ",".join("\x01" for _ in COLUMNS)
    return (",".join(COLUMNS) + "\n" + "\n".join(row for _ in range(count)) + "\n").encode()


@dataclass
class Probes:
    """A small write every ~20 ms, and a 10 ms sleep that notes how late it wakes."""

    db: Database
    writes: list[float] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _writer(self) -> None:
        n = 0
        # A flag as well as cancel(): a task cancelled during COMMIT gets a failed ROLLBACK's
        # OperationalError instead of CancelledError (Database.transaction), caught below.
        while not self._stop.is_set():
            n += 1
            started = time.perf_counter()
            try:
                await self.db.execute(
                    "INSERT INTO dir_meta (key, value) VALUES ('bench.probe', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (str(n),),
                )
            except Exception as exc:  # a failed write is the result we look for
                if self._stop.is_set():
                    break  # the cancelled write itself (see above), not a result
                self.failed.append(type(exc).__name__ + ": " + str(exc))
            self.writes.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            self.stalls.append(time.perf_counter() - started - 0.01)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._writer()), asyncio.create_task(self._loop())]

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def report(self, indent: str = "  ") -> None:
        ms = sorted(w * 1000 for w in self.writes)
        if ms:
            print(
                f"{indent}concurrent writes: {len(ms)}, wait median {statistics.median(ms):.1f} ms, "
                f"p99 {ms[int(len(ms) * 0.99) - 1 if len(ms) > 1 else 0]:.1f} ms, "
                f"longest {ms[-1]:.0f} ms (target ≤ 200 ms); failed: {len(self.failed)}"
            )
        for failure in self.failed[:3]:
            print(f"{indent}  failed: {failure}")
        if self.stalls:
            print(f"{indent}event loop: longest stall {max(self.stalls) * 1000:.0f} ms")


async def timed(work: Awaitable[T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = await work
    return result, time.perf_counter() - started


async def fresh_db(path: Path) -> Database:
    db = Database(path)
    await db.connect()
    await migrate(db)
    return db


async def case_bot(count: int) -> None:
    data = write_csv(valid_rows(count))
    print(f"[bot] {count:,} rows, {len(data) / 1e6:.1f} MB, in the bot's own Database")
    print(f"  batches: up to {BATCH_SECONDS * 1000:.0f} ms or {BATCH_ROWS} rows each")
    with tempfile.TemporaryDirectory() as folder:
        db = await fresh_db(Path(folder) / "bench.sqlite3")
        try:
            rss_before = current_rss_mb()
            for label in ("first import", "same file again"):
                probes = Probes(db)
                probes.start()
                parsed, parse_s = await timed(parse_file(db, data))
                if parsed.problems:
                    raise SystemExit(f"the bench file has problems: {parsed.problems[0].render()}")
                result, write_s = await timed(import_rows(db, parsed.rows, actor_id=None))
                await probes.stop()
                print(
                    f"  {label}: {parse_s + write_s:.1f} s in total "
                    f"(checking {parse_s:.1f} s in a thread, writing {write_s:.1f} s); "
                    f"{result.created} new, {result.updated} updated, {result.unchanged} unchanged"
                )
                probes.report("    ")
                del parsed, result  # as in the bot: nothing of an import outlives it
            print(f"  RSS {rss_before:.0f} MB before, peak {rss_mb():.0f} MB")
        finally:
            await db.close()


async def case_cli(count: int) -> None:
    data = write_csv(valid_rows(count))
    print(f"[cli] {count:,} rows imported by `python -m bot directory import` (another process)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        csv_path = Path(folder) / "services.csv"
        csv_path.write_bytes(data)
        db = await fresh_db(path)
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "ADMIN_IDS")}
        env |= {"DATABASE_PATH": str(path), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
        probes = Probes(db)
        try:
            probes.start()
            started = time.perf_counter()
            # In a thread rather than asyncio's subprocess support: nothing here depends on
            # a child watcher.
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "directory", "import", str(csv_path)],
                cwd=folder,  # no .env from the project folder
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                check=False,
            )
            took = time.perf_counter() - started
            await probes.stop()
            print(f"  the command took {took:.1f} s, exit status {done.returncode}")
            print("  it said: " + done.stdout.decode().strip().replace("\n", "\n  it said: "))
            probes.report("    ")
        finally:
            await probes.stop()
            await db.close()


async def case_bad(count: int) -> None:
    data = all_bad_file(count)
    print(f"[bad] {count:,} rows, every cell bad, {len(data) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as folder:
        db = await fresh_db(Path(folder) / "bench.sqlite3")
        try:
            rss_before = current_rss_mb()
            probes = Probes(db)
            probes.start()
            parsed, parse_s = await timed(parse_file(db, data))
            await probes.stop()
            print(
                f"  checked in {parse_s:.1f} s (in a thread): {parsed.problem_count:,} problems "
                f"in {parsed.bad_rows:,} rows, {len(parsed.problems)} kept to show"
            )
            print(f"  RSS {rss_before:.0f} MB before, peak {rss_mb():.0f} MB")
            probes.report("    ")
        finally:
            await db.close()


CASES = {"bot": case_bot, "cli": case_cli, "bad": case_bad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--case", choices=["all", *CASES], default="all")
    args = parser.parse_args()
    if args.case != "all":
        asyncio.run(CASES[args.case](args.rows))
        return
    for case in CASES:  # each in a fresh process: its peak RSS is its own
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.csv_import_bench",
                "--case",
                case,
                "--rows",
                str(args.rows),
            ],
            cwd=ROOT,
            check=True,
        )
        print()


if __name__ == "__main__":
    main()
