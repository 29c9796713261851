"""A large CSV import never blocks the bot: checked in a thread, written in short batches (F10)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import db.directory_import as directory_import
from db import directory
from db.database import Database
from db.directory_csv import COLUMNS, MAX_KEPT_PROBLEMS, Parsed, parse_csv, write_csv
from db.directory_import import OTHER_PROCESS_PAUSE, ImportRefusedError, import_file
from db.migrate import migrate
from tests.unit.test_directory_data import CODES, TODAY, row


def many(count: int, prefix: str = "e", **values: str) -> bytes:
    return write_csv(
        [
            row(
                f"{prefix}{i}",
                organization_id=f"org{i % 7}",
                organization_name_en=f"Org {i % 7}",
                city_en=f"City {i % 5}",
                phones="112",
                hours="Mo-Fr 09:00-18:00",
                **values,
            )
            for i in range(count)
        ]
    )


async def entries(db: Database) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM dir_entry"))


def count_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts write transactions on `db` (one list item each)."""
    seen: list[int] = []
    original: Callable[[], AbstractAsyncContextManager[aiosqlite.Connection]] = db.transaction

    @asynccontextmanager
    async def counted() -> AsyncIterator[aiosqlite.Connection]:
        seen.append(1)
        async with original() as conn:
            yield conn

    monkeypatch.setattr(db, "transaction", counted)
    return seen


# -- checking ------------------------------------------------------------------------------------


async def test_the_file_is_checked_in_a_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []

    def spy(*args: Any) -> Parsed:
        threads.append(threading.current_thread())
        return parse_csv(*args)

    monkeypatch.setattr(directory_import, "parse_csv", spy)
    await import_file(db, many(3), actor_id=None)
    assert threads
    assert threads[0] is not threading.main_thread()


def test_only_the_first_problems_are_kept_and_every_one_is_counted() -> None:
    header, bad_row = ",".join(COLUMNS), ",".join("\x01" for _ in COLUMNS)
    one = parse_csv(f"{header}\n{bad_row}\n".encode(), CODES, TODAY).problem_count
    two = parse_csv(f"{header}\n{bad_row}\n{bad_row}\n".encode(), CODES, TODAY).problem_count
    assert one > 40  # nearly every column
    total = one + 1999 * (two - one)  # later rows also repeat the first row's id
    parsed = parse_csv(f"{header}\n{(bad_row + chr(10)) * 2000}".encode(), CODES, TODAY)
    assert len(parsed.problems) == MAX_KEPT_PROBLEMS
    assert parsed.problem_count == total
    assert parsed.more_problems == total - MAX_KEPT_PROBLEMS
    assert parsed.bad_rows == 2000
    assert parsed.read == 2000
    assert parsed.file_problem is None
    assert [p.row for p in parsed.problems[:3]] == [2, 2, 2]  # the first ones, in order


def test_a_file_problem_is_kept_beyond_the_cap() -> None:
    bad_row = ",".join("\x01" for _ in COLUMNS)
    data = f"{','.join(COLUMNS)}\n" + f"{bad_row}\n" * 10 + '"unclosed,quote\n'
    parsed = parse_csv(data.encode(), CODES, date(2030, 1, 1))
    assert parsed.file_problem is not None
    assert "check the quotes" in parsed.file_problem.render()
    assert parsed.rows == []


# -- all or nothing ------------------------------------------------------------------------------


async def test_one_bad_row_at_the_end_of_a_large_file_writes_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory_import, "BATCH_ROWS", 50)
    good = [row(f"g{i}") for i in range(400)]
    data = write_csv([*good, row("last", categories="nope")])
    transactions = count_transactions(db, monkeypatch)
    with pytest.raises(ImportRefusedError) as refused:
        await import_file(db, data, actor_id=None)
    assert refused.value.parsed.bad_rows == 1
    assert transactions == []  # every row was checked before anything was written
    assert await entries(db) == 0
    _, result = await import_file(db, data, actor_id=None, skip_invalid=True)
    assert (result.created, result.skipped) == (400, 1)
    assert len(transactions) >= 400 // 50 + 1  # batches, then the closing one
    assert await entries(db) == 400


# -- batches -------------------------------------------------------------------------------------


async def test_a_batch_ends_when_its_time_is_up(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(range(10_000))
    # Each reading of the clock is half a batch later: two rows per transaction.
    monkeypatch.setattr(
        directory_import, "monotonic", lambda: next(clock) * directory_import.BATCH_SECONDS / 2
    )
    transactions = count_transactions(db, monkeypatch)
    _, result = await import_file(db, many(10), actor_id=None)
    assert result.created == 10
    assert len(transactions) == 10 // 2 + 1


async def test_other_writes_get_in_while_a_large_import_runs(db: Database) -> None:
    data = many(3000)
    waits: list[float] = []
    seen: list[int] = []
    importing = asyncio.create_task(import_file(db, data, actor_id=None))
    while not importing.done():
        started = time.perf_counter()
        await db.execute(
            "INSERT INTO dir_meta (key, value) VALUES ('probe', 'x') ON CONFLICT DO NOTHING"
        )
        waits.append(time.perf_counter() - started)
        seen.append(await entries(db))
        await asyncio.sleep(0)
    _, result = await importing
    assert result.created == 3000
    # Writes went through between batches: part of the file was written, not all of it.
    assert any(0 < count < 3000 for count in seen)
    assert max(waits) < 1.0  # one batch at most (~30 ms), with a wide margin for slow machines


async def test_another_process_importing_does_not_make_the_bots_writes_fail(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite3"
    cli = Database(path)  # like `python -m bot directory import`: its own connections
    await cli.connect()
    await migrate(cli)
    # A short busy timeout: the whole import in one transaction (~1 s) would make it fail;
    # one batch and the pause between two (~30 + 50 ms) never does.
    bot = Database(path, busy_timeout_ms=300)
    await bot.connect()
    failed: list[str] = []
    waits: list[float] = []
    try:
        importing = asyncio.create_task(
            import_file(cli, many(3000), actor_id=None, pause=OTHER_PROCESS_PAUSE)
        )
        while not importing.done():
            started = time.perf_counter()
            try:
                await bot.execute(
                    "INSERT INTO dir_meta (key, value) VALUES ('bot', 'x') ON CONFLICT DO NOTHING"
                )
            except aiosqlite.OperationalError as exc:  # "database is locked"
                failed.append(str(exc))
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)
        _, result = await importing
    finally:
        await bot.close()
        await cli.close()
    assert result.created == 3000
    assert failed == []
    assert len(waits) > 10


async def test_a_crash_leaves_a_partial_import_that_the_same_file_completes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory_import, "BATCH_ROWS", 20)
    data = many(100)
    original = directory_import._write_entry
    calls = 0

    async def failing(*args: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 50:
            raise OSError("disk gone")
        return await original(*args)

    monkeypatch.setattr(directory_import, "_write_entry", failing)
    with pytest.raises(OSError, match="disk gone"):
        await import_file(db, data, actor_id=None)
    assert await entries(db) == 40  # two whole batches; the third was rolled back
    monkeypatch.setattr(directory_import, "_write_entry", original)
    _, result = await import_file(db, data, actor_id=None)
    assert (result.created, result.unchanged) == (60, 40)
    assert await entries(db) == 100
    assert await db.fetchval("SELECT COUNT(DISTINCT external_id) FROM dir_entry") == 100
    assert await db.fetchval("SELECT COUNT(*) FROM dir_fts") == 100
    assert len(await directory.search(db, "service e99")) == 1


async def test_two_imports_at_once_interleave_without_duplicates(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory_import, "BATCH_ROWS", 10)
    first, second = many(200), many(200, name_en="Renamed")
    results = await asyncio.gather(
        import_file(db, first, actor_id=None), import_file(db, second, actor_id=None)
    )
    assert sum(r.created for _, r in results) == 200
    assert await entries(db) == 200
    assert await db.fetchval("SELECT COUNT(*) FROM dir_fts") == 200
    assert await db.fetchval("SELECT COUNT(*) FROM dir_phone") == 200
    assert await db.fetchval("SELECT COUNT(*) FROM dir_schedule") == 200 * 5
