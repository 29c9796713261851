"""What the load benchmarks share: a bot and the echo bot in child processes, each polling its
own fake Bot API (emulator) served by the benchmark's process, their CPU time and memory
from /proc, the replies seen at the fake, and percentiles.

Used by bench/cpu_per_update.py (one load of text messages) and bench/load_bench.py
(simulated people, stepped loads, 30,000 clients). `python -m bench.loadkit URL TOKEN`
runs the echo bot (aiogram's own example: one handler, `message.send_copy(chat_id)`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from emulator import FakeBotAPI, Msg

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
COMMAND = re.compile(r"/[A-Za-z0-9_]+")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, from /proc/<pid>/stat."""
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU time of a process's main thread (its thread id is the process id)."""
    return cpu_seconds_of(Path(f"/proc/{pid}/task/{pid}/stat"))


def cpu_seconds_of(path: Path) -> float:
    """User + system CPU time from a /proc stat file."""
    stat = path.read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the echo bot (child process) --------------------------------------------------------------


async def echo_bot(url: str, token: str) -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.enums import ParseMode
    from aiogram.types import Message

    session = AiohttpSession(api=TelegramAPIServer.from_base(url))
    bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.send_copy(chat_id=message.chat.id)

    await dp.start_polling(bot, handle_signals=True)


def memory_kb(pid: int) -> tuple[int, int]:
    """(resident now, peak resident) of a process in kB, from /proc/<pid>/status."""
    values = dict.fromkeys(("VmRSS", "VmHWM"), 0)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def echo_argv(api: FakeBotAPI) -> list[str]:
    """The command line of the echo bot polling `api`."""
    return [sys.executable, "-m", "bench.loadkit", api.base_url, api.token]


# -- the load (this process) -------------------------------------------------------------------


@dataclass
class Subject:
    name: str
    api: FakeBotAPI
    process: asyncio.subprocess.Process | None = None
    # chat -> (when its latest update was queued, its text), until the first reply
    sent_at: dict[int, tuple[float, str]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    by_text: dict[str, list[float]] = field(default_factory=dict)
    replies: int = 0
    # (text sent, first line of the first reply) -> how often: to compare runs
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    def reply_seen(self, chat_id: int, reply: str | None) -> None:
        self.replies += 1
        queued = self.sent_at.pop(chat_id, None)
        if queued is not None:  # the first reply to this chat's latest update
            self.latencies.append(time.perf_counter() - queued[0])
            self.by_text.setdefault(queued[1], []).append(self.latencies[-1])
            self.seen[queued[1], (reply or "").split("\n")[0][:60]] += 1

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


@contextlib.asynccontextmanager
async def child(
    subject: Subject, argv: list[str], env: dict[str, str], log: Path
) -> AsyncIterator[None]:
    api = subject.api
    since = api.poll_count
    with log.open("wb") as output:
        subject.process = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=log.parent, stdout=output, stderr=output
        )
    try:
        await api.wait_polling(timeout=120, since=since)
        yield
    except BaseException:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])  # noqa: ASYNC240
        raise
    finally:
        if subject.process.returncode is None:
            subject.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(subject.process.wait(), 30)
            except TimeoutError:
                subject.process.kill()
                await subject.process.wait()


def watch_replies(subject: Subject) -> None:
    api = subject.api
    add_message: Callable[[Msg], Msg] = api.state.add_message

    def add(msg: Msg) -> Msg:
        if msg.from_bot:
            subject.reply_seen(msg.chat_id, msg.text)
        return add_message(msg)

    api.state.add_message = add  # type: ignore[method-assign]


def push_text(api: FakeBotAPI, user_id: int, text: str) -> None:
    """What FakeUser.send does, without waiting for the reaction."""
    msg = Msg(
        message_id=api.state.next_message_id(user_id),
        chat_id=user_id,
        from_bot=False,
        kind="text",
        date=int(time.time()),
    )
    msg.text = msg.html = text
    command = COMMAND.match(text)
    if command is not None:
        msg.entities = [{"type": "bot_command", "offset": 0, "length": len(command.group(0))}]
    api.state.add_message(msg)
    api.push_update({"message": msg.raw})


def send_text(subject: Subject, user_id: int, text: str) -> None:
    """A text to the subject's bot, timed until its first reply (Subject.reply_seen)."""
    subject.sent_at[user_id] = (time.perf_counter(), text)
    push_text(subject.api, user_id, text)


async def answered(subjects: list[Subject], within: float = 30.0) -> None:
    """Until every update sent has had its first reply (or `within` seconds)."""
    for subject in subjects:
        pending = subject.sent_at
        if not await subject.api.state.wait_until(lambda: not pending, within):  # noqa: B023
            raise AssertionError(f"{subject.name}: {len(subject.sent_at)} updates got no reply")


if __name__ == "__main__":
    asyncio.run(echo_bot(*sys.argv[1:3]))
