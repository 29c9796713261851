"""Start-up survives a Bot API that is unreachable or answers 5xx or 429: one clear log line,
retries with backoff, and the bot serves as soon as Telegram answers."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from pathlib import Path

import pytest

from bot.app import Application
from emulator import FakeBotAPI
from tests.harness import start_bot
from tests.processes import bot_env


def quick_retries(app: Application) -> None:
    app.retry_base = 0.05
    app.polling.retry_base = 0.05


async def test_5xx_and_429_at_start_are_waited_out_and_the_bot_serves(
    api: FakeBotAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("getMe", 502, count=3)
    api.fail_next("setMyCommands", 429, retry_after=1)
    api.fail_next("getUpdates", 500, count=2)
    with caplog.at_level(logging.WARNING):
        async with start_bot(api, tmp_path, prepare=quick_retries) as app:
            person = await app.client(1601)
            [reply] = await person.command("help")
            assert reply.text
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert sum("Telegram does not answer" in w for w in warnings) == 1  # once, not per try
    assert sum("Cannot fetch updates" in w for w in warnings) == 1
    assert api.commands_for(1601)  # the command menus were set after all


async def test_an_unreachable_api_at_start_is_one_log_line_not_a_crash(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = bot_env(
        tmp_path, BOT_TOKEN="123456:TEST-TOKEN", TELEGRAM_API_URL=f"http://127.0.0.1:{port}"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    seen: list[str] = []
    try:
        assert process.stderr is not None
        while not any("Telegram does not answer" in line for line in seen):
            line = await asyncio.wait_for(process.stderr.readline(), 30)
            assert line, f"the bot exited: {seen}"
            seen.append(line.decode())
        assert process.returncode is None  # it waits and retries; it does not exit
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 30)
    log = "".join(seen) + err.decode()
    assert await process.wait() == 0, log
    assert "Traceback" not in log
    assert log.count("Telegram does not answer") == 1
    assert "123456:TEST-TOKEN" not in log


async def test_another_process_polling_the_token_stops_the_bot_with_one_line(
    api: FakeBotAPI, tmp_path: Path
) -> None:
    """F16: aiogram only logs 409 Conflict and retries forever; two pollers then race."""
    from bot.errors import PollingError
    from tests.harness import test_settings

    app = await Application.create(test_settings(api, tmp_path))
    quick_retries(app)
    api.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request", count=10)
    with pytest.raises(PollingError, match="another process is polling"):
        await asyncio.wait_for(app.run(handle_signals=False), 30)
