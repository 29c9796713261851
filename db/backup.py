"""Online backup: a consistent copy of the database while the bot keeps running.

SQLite's backup API copies every page inside one read transaction, so the copy
is the database as of one commit; in WAL mode the bot's writes go on meanwhile.
The copy is written beside its destination and renamed into place only once
`PRAGMA integrity_check` passed on it, so a failed backup never leaves a half
file under the destination's name. Copies hold personal data: they are 0600.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from db.database import COMPANIONS, PRIVATE_FILE


class BackupError(Exception):
    """The backup was not made; the message is one line for the operator."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    integrity: str  # what PRAGMA integrity_check said about the copy: "ok"
    seconds: float


def backup_database(source: Path, destination: Path, *, force: bool = False) -> BackupResult:
    """Copy `source` to `destination` (0600) and check the copy. Blocking: run it in a thread."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if destination.resolve() == source.resolve():
        raise BackupError("the backup must not be the database itself")
    if destination.exists() and not force:
        raise BackupError(f"{destination} already exists (use --force to overwrite it)")
    if not destination.parent.is_dir():
        raise BackupError(f"the folder {destination.parent} does not exist")
    started = time.monotonic()
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    try:
        # The copy is created 0600 before SQLite opens it; SQLite keeps the mode.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE))
        os.chmod(partial, PRIVATE_FILE)
        _copy(source, partial)
        integrity = _integrity(partial)
        if integrity != "ok":
            raise BackupError(
                f"the copy failed PRAGMA integrity_check ({integrity}): {source} may be "
                f"damaged; nothing was written to {destination}"
            )
        os.replace(partial, destination)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {destination}: {exc.strerror}") from None
    finally:
        for leftover in (partial, *(Path(f"{partial}{x}") for x in COMPANIONS)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupResult(
        destination, destination.stat().st_size, integrity, time.monotonic() - started
    )


def _copy(source: Path, destination: Path) -> None:
    # mode=rw: never create a database where there was none.
    src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout=10000")
        dst = sqlite3.connect(destination, isolation_level=None)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            # A single file, whatever the source's journal mode, so it can be moved alone.
            dst.execute("PRAGMA journal_mode=DELETE").fetchall()
        finally:
            dst.close()
    finally:
        src.close()


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()]
    finally:
        conn.close()
    return "ok" if rows == ["ok"] else rows[0]
