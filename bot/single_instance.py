"""One bot process per database.

A second bot on the same database would reset the first one's in-flight timed
items to pending at its start (and send them again), and double the sending rate.
The bot holds an exclusive `flock` on `DATABASE_PATH + ".lock"` for as long as it
runs; the kernel releases it when the process ends, however it ends (kill -9
included), so a stale lock file never blocks a restart. Command-line tools do not
take it: they work beside a running bot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from db.database import PRIVATE_FILE, make_private_dirs


class InstanceLockError(Exception):
    """The lock cannot be taken; the message is one line for the operator."""


class AlreadyRunningError(InstanceLockError):
    """Another bot process holds the lock."""


def lock_path(database_path: Path) -> Path:
    return Path(f"{database_path}.lock")


@contextlib.contextmanager
def single_instance(database_path: Path) -> Iterator[Path]:
    """Hold the bot's lock for `database_path`, or raise AlreadyRunningError at once."""
    path = lock_path(database_path)
    try:
        make_private_dirs(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    except OSError as exc:
        raise InstanceLockError(f"cannot create the lock file {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunningError(
                f"another bot process is already running on DATABASE_PATH {database_path} "
                f"(it holds {path}); stop it first"
            ) from None
        # For the operator's eyes only; the lock itself is the flock, not the file's content.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(fd)  # releases the lock
