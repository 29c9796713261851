"""The writer lock keeps concurrent transactions apart; migrations upgrade in place."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db.database import Database
from db.migrate import Migration, available_migrations, migrate


async def test_a_rolled_back_transaction_is_not_committed_by_a_concurrent_one(db: Database) -> None:
    await db.execute("CREATE TABLE t (v TEXT)")
    inside_failing = asyncio.Event()

    async def failing() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('doomed')")
            inside_failing.set()
            await asyncio.sleep(0.05)  # let the other task try to commit meanwhile
            raise RuntimeError("boom")

    async def succeeding() -> None:
        await inside_failing.wait()
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('kept')")

    results = await asyncio.gather(failing(), succeeding(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError)
    assert [r["v"] for r in await db.fetchall("SELECT v FROM t")] == ["kept"]


async def test_foreign_keys_and_wal_are_on(db: Database) -> None:
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA journal_mode") == "wal"


async def test_an_older_database_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    steps = available_migrations()
    old = Database(path)
    await old.connect()
    await migrate(old, steps[:1])  # a database made by the first release
    await old.execute(
        "INSERT INTO users (telegram_id, role, language, created_at, updated_at) "
        "VALUES (42, 'client', 'kk', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
    )
    await old.close()

    upgraded = Database(path)
    await upgraded.connect()
    applied = await migrate(upgraded)
    assert applied == [s.name for s in steps[1:]]
    assert await upgraded.fetchval("SELECT language FROM users WHERE telegram_id = 42") == "kk"
    assert await upgraded.fetchval("PRAGMA user_version") == len(steps)
    assert await migrate(upgraded) == []  # idempotent
    await upgraded.close()


async def test_a_failing_migration_step_changes_nothing(db: Database) -> None:
    broken = Migration(
        "9999_broken", "CREATE TABLE half (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n"
    )
    with pytest.raises(Exception, match="nowhere"):
        await migrate(db, [broken])
    assert await db.fetchval("SELECT count(*) FROM sqlite_master WHERE name = 'half'") == 0
    assert (
        await db.fetchval("SELECT count(*) FROM schema_migrations WHERE name = '9999_broken'") == 0
    )


def test_statements_keep_trigger_bodies_whole() -> None:
    script = (
        "CREATE TABLE a (x INTEGER);\n"
        "CREATE TRIGGER a_t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\n  SELECT 1;\nEND;\n"
        "-- a comment\n"
    )
    statements = Migration("x", script).statements()
    assert len(statements) == 2
    assert statements[1].endswith("END;")
