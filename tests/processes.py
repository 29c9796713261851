"""Running `python -m bot` as an operator would, in a child process, for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from emulator import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
_SETTINGS = {
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_PATH",
    "ADMIN_IDS",
    "DEFAULT_LANGUAGE",
    "TIMEZONE",
    "LOG_LEVEL",
}


def bot_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """This environment without the bot's settings, the database under `tmp_path`."""
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env["DATABASE_PATH"] = str(tmp_path / "db" / "bot.sqlite3")
    env["PYTHONPATH"] = str(ROOT)
    return env | values


async def run_cli(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """`python -m bot ARGS` to completion: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=bot_env(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def start_bot_process(
    tmp_path: Path, api: FakeBotAPI, **env: str
) -> asyncio.subprocess.Process:
    """`python -m bot` polling the fake API; returns once it polls (or fails if it exits)."""
    since = api.poll_count
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=bot_env(tmp_path, BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, **env),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    polling = asyncio.create_task(api.wait_polling(timeout=60, since=since))
    exited = asyncio.create_task(process.wait())
    await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
    if exited.done():
        polling.cancel()
        assert process.stderr is not None
        raise AssertionError(f"the bot exited: {(await process.stderr.read()).decode()}")
    exited.cancel()
    polling.result()
    return process


async def stop_process(
    process: asyncio.subprocess.Process, sig: int = signal.SIGTERM
) -> tuple[int, str]:
    """Signals the process and waits for it: (exit status, stderr)."""
    process.send_signal(sig)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, err.decode()


def check_kill_outcome(
    received: Iterable[int], *, delivered_at_kill: int, in_flight: int, unrecorded: int, bound: int
) -> None:
    """After a kill -9 and a restart, from how many copies each person `received`: nobody
    lost, and the only duplicates are the `unrecorded` messages Telegram had accepted that
    the dead process never marked, within the rows `in_flight` at the kill (at most `bound`)."""
    counts = Counter(received)
    assert 0 not in counts  # nobody lost
    duplicates = sum((n - 1) * k for n, k in counts.items())
    print(  # for the record (pytest -s): the kill's figures
        f"delivered at kill {delivered_at_kill}, in flight {in_flight}, "
        f"accepted unrecorded {unrecorded}, duplicates {duplicates}"
    )
    assert duplicates == unrecorded
    assert duplicates <= in_flight <= bound
