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
from datetime import date, timedelta
from pathlib import Path

from db.database import COMPANIONS, PRIVATE_FILE, Database, make_private_dirs


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


# Daily backups made by the running bot (scheduler/backups.py): one file per local day.
DAILY_PREFIX = "jana-jol-"
DAILY_SUFFIX = ".sqlite3"


def daily_name(day: date) -> str:
    return f"{DAILY_PREFIX}{day.isoformat()}{DAILY_SUFFIX}"


def daily_backup(
    source: Path, folder: Path, day: date, keep_days: int
) -> tuple[BackupResult, list[Path]]:
    """Today's copy in `folder` (0700 if created), then the daily copies older than
    `keep_days` days deleted. Blocking: run it in a thread. Returns (the copy, removed).

    A copy for `day` already there (a crash after the copy, before it was recorded) is
    replaced. Only files named by `daily_name` are ever deleted: whatever else the
    operator keeps in the folder stays.
    """
    try:
        make_private_dirs(folder)
    except OSError as exc:
        raise BackupError(f"cannot create {folder}: {exc.strerror}") from None
    result = backup_database(source, folder / daily_name(day), force=True)
    return result, prune_daily(folder, day, keep_days)


def prune_daily(folder: Path, today: date, keep_days: int) -> list[Path]:
    """Deletes the daily copies made more than `keep_days` days before `today`."""
    oldest_kept = today - timedelta(days=keep_days - 1)
    removed = []
    for path in sorted(folder.glob(f"{DAILY_PREFIX}*{DAILY_SUFFIX}")):
        stamp = path.name[len(DAILY_PREFIX) : -len(DAILY_SUFFIX)]
        try:
            made = date.fromisoformat(stamp)
        except ValueError:
            continue  # not one of ours
        if made < oldest_kept:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            removed.append(path)
    return removed


async def waiting_items(db: Database, kind: str) -> int:
    """Timed items of `kind` pending or being handled (the next daily backup: at most one)."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM scheduled_items WHERE status IN ('pending', 'sending') "
            "AND kind = ?",
            (kind,),
        )
        or 0
    )
