"""The writer lock keeps concurrent transactions apart; migrations upgrade in place;
files are private; failing transactions report their own error; bad files are refused."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from db.database import Database, DatabaseFileError
from db.migrate import (
    Migration,
    SchemaTooNewError,
    available_migrations,
    check_database,
    check_schema,
    migrate,
)


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


async def test_a_single_write_waits_for_the_writer_and_is_all_or_nothing(db: Database) -> None:
    await db.execute("CREATE TABLE t (v TEXT UNIQUE)")
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO t VALUES ('a')")
        single = asyncio.ensure_future(db.execute("DELETE FROM t"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not single.done()  # no statement slips into another task's transaction
    assert await single == 1
    await db.execute("INSERT INTO t VALUES ('a')")
    with pytest.raises(sqlite3.IntegrityError):  # the second row fails: the first goes too
        await db.execute("INSERT INTO t SELECT 'b' UNION ALL SELECT 'a'")
    assert [r["v"] for r in await db.fetchall("SELECT v FROM t")] == ["a"]
    assert not db.writer.in_transaction


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


# --- files at rest (F12) -------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    existing = tmp_path / "srv"
    existing.mkdir()
    os.chmod(existing, 0o755)
    old = os.umask(0o022)  # the usual umask, under which files come out world-readable
    try:
        db = Database(existing / "data" / "deeper" / "bot.sqlite3")
        await db.connect()
        await db.execute("CREATE TABLE t (x)")
        await db.execute("INSERT INTO t VALUES ('secret')")
        folder = existing / "data"
        modes = {p.name: _mode(p) for p in (folder / "deeper").iterdir()}
        await db.close()
    finally:
        os.umask(old)
    assert modes == {"bot.sqlite3": 0o600, "bot.sqlite3-wal": 0o600, "bot.sqlite3-shm": 0o600}
    assert _mode(folder) == 0o700  # created by connect()
    assert _mode(folder / "deeper") == 0o700
    assert _mode(existing) == 0o755  # an operator's existing folder is left alone


async def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    first = Database(path)
    await first.connect()
    await first.close()
    os.chmod(path, 0o644)
    again = Database(path)
    await again.connect()
    assert _mode(path) == 0o600
    assert _mode(Path(f"{path}-wal")) == 0o600
    await again.close()


# --- transactions that fail (F25) ----------------------------------------------------------


async def test_a_full_database_reports_disk_full_not_cannot_rollback(db: Database) -> None:
    # max_page_count makes SQLite answer SQLITE_FULL as on a full disk: it rolls the whole
    # transaction back by itself, so a blind ROLLBACK would fail and hide the cause.
    await db.execute("CREATE TABLE big (x TEXT)")
    pages = await db.fetchval("PRAGMA page_count")
    await db.writer.execute_fetchall(f"PRAGMA max_page_count = {pages + 2}")

    async def fill() -> None:
        async with db.transaction() as conn:
            for _ in range(50):
                await conn.execute("INSERT INTO big VALUES (?)", ("x" * 4000,))

    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        await fill()
    assert not db.writer.in_transaction
    await db.writer.execute_fetchall("PRAGMA max_page_count = 1073741823")
    await db.execute("INSERT INTO big VALUES ('fits again')")  # the next write works
    assert await db.fetchval("SELECT count(*) FROM big") == 1


async def test_a_commit_that_fails_after_sqlite_rolled_back_keeps_its_error(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.execute("CREATE TABLE t (x TEXT)")
    writer = db.writer
    real_execute = writer.execute

    def failing_commit(sql: str, *args: Any) -> Any:
        if sql == "COMMIT":

            async def disk_full() -> None:
                await real_execute("ROLLBACK")  # what SQLite does on SQLITE_FULL at COMMIT
                raise sqlite3.OperationalError("database or disk is full")

            return disk_full()
        return real_execute(sql, *args)

    monkeypatch.setattr(writer, "execute", failing_commit)
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('lost')")
    monkeypatch.undo()
    await db.execute("INSERT INTO t VALUES ('kept')")
    assert [r["x"] for r in await db.fetchall("SELECT x FROM t")] == ["kept"]


async def test_a_commit_refused_with_the_transaction_still_open_is_rolled_back(
    db: Database,
) -> None:
    # A deferred foreign key is checked at COMMIT; SQLite keeps the transaction open.
    await db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    await db.execute(
        "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO child VALUES (7)")
    assert not db.writer.in_transaction
    await db.execute("INSERT INTO parent VALUES (1)")
    assert await db.fetchval("SELECT count(*) FROM child") == 0
    assert await db.fetchval("SELECT count(*) FROM parent") == 1


# --- files that are not usable (F26, corrupt files) ----------------------------------------


async def test_a_file_that_is_not_a_database_is_refused_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"these are somebody's notes, not a database\n" * 100)
    db = Database(path)
    with pytest.raises(DatabaseFileError) as error:
        await db.connect()
    assert str(path) in str(error.value)
    assert "not a database" in str(error.value)
    assert "\n" not in str(error.value)


async def test_a_damaged_database_fails_quick_check_at_connect(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite3"
    db = Database(path)
    await db.connect()
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    await db.execute("CREATE INDEX t_v ON t (v)")
    async with db.transaction() as conn:
        await conn.executemany("INSERT INTO t (v) VALUES (?)", [(f"v{i:05}",) for i in range(3000)])
    await db.writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    root = await db.fetchval("SELECT rootpage FROM sqlite_master WHERE name = 't_v'")
    page_size = await db.fetchval("PRAGMA page_size")
    await db.close()
    with path.open("r+b") as file:  # scribble over the index's root page, keep the header
        file.seek((root - 1) * page_size + 8)
        file.write(b"\xff" * 64)

    damaged = Database(path)
    with pytest.raises(DatabaseFileError) as error:
        await damaged.connect()
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


async def test_a_database_from_a_newer_version_is_refused_and_left_alone(db: Database) -> None:
    await db.execute(
        "INSERT INTO schema_migrations (name, applied_at) VALUES ('0099_future', '2030-01-01')"
    )
    before = await db.fetchval("SELECT count(*) FROM schema_migrations")
    with pytest.raises(SchemaTooNewError, match="0099_future") as error:
        await migrate(db)
    assert str(db.path) in str(error.value)
    with pytest.raises(SchemaTooNewError):
        await check_schema(db)
    assert await db.fetchval("SELECT count(*) FROM schema_migrations") == before


async def test_check_database_leaves_a_good_database_unchanged(db: Database) -> None:
    await check_database(db.path)  # neither raises nor writes
    assert await migrate(db) == []


async def test_a_lookup_reads_what_the_reader_reads_and_leaves_nothing_open(db: Database) -> None:
    await db.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)")
    await db.execute("INSERT INTO k VALUES (1, 'a'), (2, 'b')")
    for key in (1, 2, 3):
        row = await db.lookup("SELECT id, v FROM k WHERE id = ?", (key,))
        same = await db.fetchone("SELECT id, v FROM k WHERE id = ?", (key,))
        assert (None if row is None else tuple(row)) == (None if same is None else tuple(same))
    assert db._quick is not None
    assert not db._quick.in_transaction  # no read transaction kept: checkpoints are not held up
    async with db.transaction() as conn:  # a write is seen by the next lookup
        await conn.execute("UPDATE k SET v = 'c' WHERE id = 1")
    row = await db.lookup("SELECT v FROM k WHERE id = ?", (1,))
    assert row is not None
    assert row["v"] == "c"


async def test_a_lookup_that_sqlite_refuses_goes_to_the_reader(db: Database) -> None:
    await db.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)")
    await db.execute("INSERT INTO k VALUES (1, 'a')")

    class Busy:
        def execute(self, *_: Any) -> Any:
            raise sqlite3.OperationalError("database is locked")

        def close(self) -> None:
            pass

    db._quick = Busy()  # type: ignore[assignment]
    row = await db.lookup("SELECT v FROM k WHERE id = ?", (1,))
    assert row is not None
    assert row["v"] == "a"


async def test_a_lookup_from_another_thread_goes_to_the_reader(db: Database) -> None:
    """The quick connection belongs to the thread that opened the database."""
    await db.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)")
    await db.execute("INSERT INTO k VALUES (1, 'a')")

    def elsewhere() -> Any:
        assert db._quick is not None
        with pytest.raises(sqlite3.ProgrammingError):  # what lookup() meets there
            db._quick.execute("SELECT 1")
        return asyncio.run(db.lookup("SELECT v FROM k WHERE id = 1"))

    row = await asyncio.to_thread(elsewhere)
    assert row is not None
    assert row["v"] == "a"


async def test_closing_closes_the_quick_connection(tmp_path: Path) -> None:
    database = Database(tmp_path / "t.sqlite3")
    await database.connect()
    quick = database._quick
    assert quick is not None
    await database.close()
    assert database._quick is None
    with pytest.raises(sqlite3.ProgrammingError):  # closed
        quick.execute("SELECT 1")


async def test_a_write_now_is_seen_by_every_connection(db: Database) -> None:
    await db.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)")
    assert await db.write_now("INSERT INTO k VALUES (?, ?)", (1, "a")) == 1
    assert await db.write_now("INSERT INTO k VALUES (1, 'b') ON CONFLICT DO NOTHING") == 0
    assert [tuple(r) for r in await db.fetchall("SELECT id, v FROM k")] == [(1, "a")]
    async with db.transaction() as conn:
        assert [tuple(r) for r in await conn.execute_fetchall("SELECT v FROM k")] == [("a",)]
    with pytest.raises(sqlite3.IntegrityError):  # errors are the statement's own
        await db.write_now("INSERT INTO k VALUES (1, 'c')")


async def test_a_write_now_waits_for_our_transactions(db: Database) -> None:
    await db.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)")
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO k VALUES (1, 'a')")
        quick = asyncio.ensure_future(db.write_now("INSERT INTO k VALUES (2, 'b')"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not quick.done()  # not inside another task's transaction
    assert await quick == 1
    assert [r["id"] for r in await db.fetchall("SELECT id FROM k ORDER BY id")] == [1, 2]


async def test_a_write_now_while_another_process_writes_goes_to_the_writer(db: Database) -> None:
    await db.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)")
    other = sqlite3.connect(db.path, isolation_level=None)  # another process's connection
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO k VALUES (1, 'other')")
        write = asyncio.ensure_future(db.write_now("INSERT INTO k VALUES (2, 'ours')"))
        await asyncio.sleep(0.2)
        assert not write.done()  # the writer waits for the lock (busy_timeout), the loop does not
        other.execute("COMMIT")
        assert await asyncio.wait_for(write, 5) == 1
    finally:
        other.close()
    assert [r["v"] for r in await db.fetchall("SELECT v FROM k ORDER BY id")] == ["other", "ours"]


async def test_the_quick_connection_has_the_writers_settings_and_never_checkpoints(
    db: Database,
) -> None:
    quick = db._quick
    assert quick is not None

    def setting(name: str) -> Any:
        assert quick is not None
        return quick.execute(f"PRAGMA {name}").fetchall()[0][0]

    assert setting("foreign_keys") == 1
    assert setting("synchronous") == 1  # NORMAL, as the writer: no fsync at each commit
    assert setting("secure_delete") == 1
    assert setting("busy_timeout") == 0  # never holds the loop waiting for a lock
    assert setting("wal_autocheckpoint") == 0  # the writer's commits checkpoint
