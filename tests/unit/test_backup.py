"""Online backup (F13): a consistent, private copy while the bot writes; it restores."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from db.backup import BackupError, backup_database
from db.database import Database
from db.migrate import migrate


def _names(folder: Path) -> list[str]:
    """No partial copy, journal or WAL is left beside the backup."""
    return sorted(p.name for p in folder.iterdir() if p.is_file())


async def _fill(db: Database, rows: int) -> None:
    await db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO notes (body) VALUES (?)",
            [(f"note {i:06} " + "x" * 400,) for i in range(rows)],
        )


async def test_a_backup_while_another_connection_writes_is_consistent_and_restores(
    db: Database, tmp_path: Path
) -> None:
    await _fill(db, 20_000)  # ~10 MB, so the copy takes a while
    stop = asyncio.Event()
    writing = asyncio.Event()
    writes = 0

    async def keep_writing() -> None:
        nonlocal writes
        while not stop.is_set():
            await db.execute("INSERT INTO notes (body) VALUES ('written during the backup')")
            writes += 1
            writing.set()
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    await writing.wait()
    before = await db.fetchval("SELECT count(*) FROM notes")
    target = tmp_path / "backup.sqlite3"
    started_at = writes
    result = await asyncio.to_thread(backup_database, db.path, target)
    during = writes - started_at
    stop.set()
    await writer
    after = await db.fetchval("SELECT count(*) FROM notes")

    assert result.integrity == "ok"
    assert result.size == target.stat().st_size > 8_000_000
    assert during > 0  # the writer was never blocked by the backup
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    count, first, last = copy.execute("SELECT count(*), min(id), max(id) FROM notes").fetchone()
    copy.close()
    assert before <= count <= after
    assert (first, last) == (1, count)  # one snapshot: every row up to one commit, no holes
    assert _names(tmp_path) == [
        "backup.sqlite3",
        "test.sqlite3",
        "test.sqlite3-shm",
        "test.sqlite3-wal",
    ]

    # Restore as the README says: the bot stopped, the copy put in place of DATABASE_PATH.
    restored_path = tmp_path / "restored" / "bot.sqlite3"
    restored_path.parent.mkdir()
    shutil.copyfile(target, restored_path)
    restored = Database(restored_path)
    await restored.connect()
    assert await migrate(restored) == []  # the schema came along whole
    assert await restored.fetchval("SELECT count(*) FROM notes") == count
    assert (
        await restored.fetchval("SELECT body FROM notes WHERE id = 1") == "note 000000 " + "x" * 400
    )
    await restored.execute("INSERT INTO notes (body) VALUES ('after the restore')")
    assert await restored.fetchval("PRAGMA journal_mode") == "wal"
    await restored.close()


async def test_a_backup_is_private_and_never_overwrites_by_accident(
    db: Database, tmp_path: Path
) -> None:
    await _fill(db, 10)
    target = tmp_path / "b.sqlite3"
    old = os.umask(0o022)
    try:
        backup_database(db.path, target)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    with pytest.raises(BackupError, match="already exists"):
        backup_database(db.path, target)
    await db.execute("INSERT INTO notes (body) VALUES ('newer')")
    backup_database(db.path, target, force=True)
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM notes").fetchone() == (11,)
    copy.close()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    with pytest.raises(BackupError, match="must not be the database itself"):
        backup_database(db.path, db.path, force=True)
    with pytest.raises(BackupError, match="no database at"):
        backup_database(tmp_path / "missing.sqlite3", tmp_path / "c.sqlite3")
    assert not (tmp_path / "missing.sqlite3").exists()  # nothing created where there was none
    with pytest.raises(BackupError, match="does not exist"):
        backup_database(db.path, tmp_path / "no-such-folder" / "c.sqlite3")
