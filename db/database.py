"""One writer connection behind a lock, one reader connection.

aiosqlite runs each connection on its own thread; concurrent handlers sharing a
connection would interleave their transactions (one task's COMMIT would commit
another task's half-done work). So every write goes through `transaction()`,
which holds an asyncio lock around BEGIN IMMEDIATE ... COMMIT/ROLLBACK on the
writer. Reads use a second connection in autocommit mode; with WAL they see
the last committed state and never block the writer.

Each call into aiosqlite is a hop to its thread and back (the costliest part of a
small query), so the helpers below take one hop each: a read is one
`execute_fetchall`, a one-statement write skips BEGIN/COMMIT. The small keyed statements
every update makes take none: `lookup()` (the person's row, the conversation state) and
`write_now()` (the update stored in the inbox) run at once on the event loop's thread, on
a third connection of their own that never waits for a lock: in the rare case SQLite
answers busy, the statement goes to the reader or the writer. An indexed lookup of a
row takes some 20 µs of CPU, a hop some 100 µs over two threads. That connection never
checkpoints the WAL: the writer's commits do (every batch of stored updates is deleted
through it), so the loop never waits for a checkpoint's fsync.

The database holds personal data: a folder it creates is 0700, the database and
its -wal and -shm files 0600 whatever the process umask. `connect()` refuses a
file that is not a database or fails `PRAGMA quick_check`, naming the path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

Params = Sequence[Any] | dict[str, Any]

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# SQLite's companions of a database file in WAL mode (and the rollback journal).
COMPANIONS = ("-wal", "-shm", "-journal")
# Every connection's settings (besides its busy timeout).
PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA secure_delete=ON",  # deleted rows are overwritten, not left in free pages
)


class DatabaseFileError(Exception):
    """The database file cannot be used (not a database, corrupt, unreadable).

    The message is one line for the operator and names the path.
    """


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and any missing parents as 0700; existing folders are left alone."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # created meanwhile by another process
        os.chmod(path, PRIVATE_DIR)  # mkdir's mode is cut by the umask


def make_private(path: Path) -> None:
    """Make the database file and its existing companions readable by the owner only."""
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)):
        try:
            if candidate.stat().st_mode & 0o777 != PRIVATE_FILE:
                os.chmod(candidate, PRIVATE_FILE)
        except FileNotFoundError:
            continue


class Database:
    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._quick: sqlite3.Connection | None = None  # lookup(), write_now(): loop's thread
        self._write_lock = asyncio.Lock()

    async def connect(self, *, check: bool = True) -> None:
        """Open the writer and the reader; with `check` (the default) run `PRAGMA quick_check`.

        Raises DatabaseFileError (one line naming the path) when the file cannot be used.
        """
        try:
            make_private_dirs(self.path.parent)
            # Created 0600 before SQLite sees it: SQLite gives -wal and -shm the same mode.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
            make_private(self.path)
        except OSError as exc:
            raise DatabaseFileError(f"cannot create or open {self.path}: {exc.strerror}") from None
        try:
            self._writer = await self._open()
            # execute_fetchall, not execute: a PRAGMA that returns a row keeps its statement
            # (and its lock) open until the cursor is exhausted.
            await self._writer.execute_fetchall("PRAGMA journal_mode=WAL")
            if check:
                await self._quick_check(self._writer)
            self._reader = await self._open()
            self._quick = self._open_quick()
        except sqlite3.Error as exc:
            await self.close()
            raise DatabaseFileError(f"{self.path} is not a usable SQLite database: {exc}") from None
        except DatabaseFileError:
            await self.close()
            raise
        make_private(self.path)  # -wal and -shm exist now

    async def _quick_check(self, conn: aiosqlite.Connection) -> None:
        rows = list(await conn.execute_fetchall("PRAGMA quick_check"))
        # One row may hold several lines ("*** in database main ***", then a line each).
        lines = [line for row in rows for line in str(row[0]).splitlines()]
        problems = [line for line in lines if line not in ("ok", "*** in database main ***")]
        if problems:
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise DatabaseFileError(
                f"{self.path} failed PRAGMA quick_check: {problems[0]}{more}; "
                "restore it from a backup (see README, Backups)"
            )

    async def _open(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            for pragma in (f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}", *PRAGMAS):
                await conn.execute_fetchall(pragma)
        except BaseException:
            await conn.close()  # its worker thread would keep the process from exiting
            raise
        return conn

    def _open_quick(self) -> sqlite3.Connection:
        # check_same_thread (the default) keeps it on the thread that opened it: the loop's.
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            for pragma in (
                "PRAGMA busy_timeout=0",  # busy: the reader or the writer takes the statement
                "PRAGMA wal_autocheckpoint=0",  # checkpoints (and their fsync) left to the writer
                *PRAGMAS,
            ):
                conn.execute(pragma).fetchall()
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        if self._quick is not None:
            self._quick.close()
            self._quick = None
        async with self._write_lock:
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.close()
            self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not connected")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is not connected")
        return self._reader

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """An exclusive write transaction. Never await Telegram inside it."""
        async with self._write_lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await self._rollback(conn)
                raise
            try:
                await conn.execute("COMMIT")
            except BaseException:
                await self._rollback(conn)
                raise

    @staticmethod
    async def _rollback(conn: aiosqlite.Connection) -> None:
        """Roll back what is still open, keeping the original error the one that propagates.

        After some errors (a full disk, I/O errors) SQLite has already rolled the
        transaction back; a ROLLBACK then would fail with "no transaction is active"
        and hide the real cause.
        """
        if not conn.in_transaction:
            return
        try:
            await conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("ROLLBACK failed: %s", type(exc).__name__)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement (no RETURNING) in its own transaction; the affected row count.

        Under the write lock like `transaction()`, but one round trip to the writer's thread
        instead of three: a single statement in autocommit mode is a transaction by itself
        (all or nothing), so BEGIN IMMEDIATE and COMMIT around it add nothing.
        """
        async with self._write_lock:
            cursor = await self.writer.execute(sql, params)
            return cursor.rowcount

    async def write_now(self, sql: str, params: Params = ()) -> int:
        """`execute()`, run at once on the event loop's thread: for a small keyed write that
        every update makes (one row in, by its key). Under the write lock like `execute()`,
        so it never meets a transaction of ours; if SQLite answers busy (another process
        writing) or fails, the statement (which changed nothing) goes to the writer, which
        waits its turn or raises the error.
        """
        async with self._write_lock:
            quick = self._quick
            if quick is not None:
                try:
                    return quick.execute(sql, params).rowcount
                except (sqlite3.OperationalError, sqlite3.ProgrammingError):
                    pass
            cursor = await self.writer.execute(sql, params)
            return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row, in one round trip (for keyed lookups and aggregates: reads them all)."""
        rows = await self.reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def lookup(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row of a keyed lookup (an index to a row or a few), read at once.

        For the small reads every update makes: it runs on the event loop's thread, which
        it holds for as long as the query takes, so never a scan, a search or a join
        that is not by key. Same result as `fetchone`; if SQLite answers busy (WAL
        readers almost never wait), that is where the read goes.
        """
        quick = self._quick
        if quick is not None:
            try:
                # fetchall, not fetchone: an unfinished statement would keep its read
                # transaction (and the WAL behind it) open.
                return next(iter(quick.execute(sql, params).fetchall()), None)
            except (sqlite3.OperationalError, sqlite3.ProgrammingError):  # busy; another thread
                pass
        return await self.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        rows: Iterable[sqlite3.Row] = await self.reader.execute_fetchall(sql, params)
        return list(rows)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]
