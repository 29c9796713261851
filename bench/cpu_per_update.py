"""CPU per update: the real bot beside a bare aiogram echo bot, same load, same fake Bot API.

    .venv/bin/python -m bench.cpu_per_update [--seconds 20] [--rate 20] [--people 40]

Each bot runs in its own process (the real one exactly as production starts it,
`python -m bot`, with its own database in a temporary folder), polling its own instance
of the project's fake Bot API (emulator) served by this process. Both get the same
text messages at the same moments, paced at `--rate` updates a second: /start, /help,
/services, the menu's Services button, a search (/services with words) and free text,
each person going through the mix in turn. The people have pressed Start and picked
English beforehand, and a short warm-up at the same pace runs before the measurement,
so start-up and first-use costs are not counted.

Prints, for each bot, the CPU time its process (all its threads) used per update
during the measured window (from /proc/<pid>/stat; and its main thread's share), the latency from queueing an update
to the bot's first reply in that chat (p50, p99), and the ratio of the two CPU figures.
The echo bot is aiogram's own example: one handler, `message.send_copy(chat_id)`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.loadkit import (
    ROOT,
    Subject,
    answered,
    child,
    cpu_seconds,
    echo_argv,
    echo_bot,
    main_thread_cpu_seconds,
    percentile,
    send_text,
    watch_replies,
)
from emulator import FakeBotAPI


def profiled_bot(output: str) -> None:
    """`python -m bot run`, profiled (main thread) between SIGUSR1 and SIGUSR2."""
    import cProfile

    from bot.cli import main as bot_main

    profiler = cProfile.Profile(time.thread_time)  # CPU time of the main thread, not wall
    collections: Counter[int] = Counter()  # garbage collections by generation
    gc_started = [0.0, 0.0]  # when the running collection started; seconds spent in all

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_started[1] += time.perf_counter() - gc_started[0]
            collections[info["generation"]] += 1

    def start(*_: object) -> None:
        gc.callbacks.append(on_gc)
        profiler.enable()

    def stop(*_: object) -> None:
        profiler.disable()
        gc.callbacks.remove(on_gc)
        profiler.dump_stats(output)
        Path(output + ".gc").write_text(f"{dict(collections)} {gc_started[1]:.3f} s\n")

    signal.signal(signal.SIGUSR1, start)

    signal.signal(signal.SIGUSR2, stop)
    sys.exit(bot_main(["run"]))


async def paced(
    subjects: list[Subject],
    mix: list[str],
    people: list[int],
    rate: float,
    seconds: float,
    offset: int,
) -> int:
    """Sends the mix at `rate` a second for `seconds`; returns how many updates each bot got."""
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    started = loop.time()
    for n in range(total):
        delay = started + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        turn = n + offset
        person = people[turn % len(people)]
        text = mix[(turn // len(people) + turn) % len(mix)]
        for subject in subjects:
            send_text(subject, person, text)
    return total


async def main(args: argparse.Namespace) -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    async with FakeBotAPI() as bot_api, FakeBotAPI() as echo_api:
        real = Subject("bot", bot_api)
        echo = Subject("echo bot", echo_api)
        subjects = [real, echo]
        with tempfile.TemporaryDirectory() as folder:
            workdir = Path(folder)
            (workdir / "bot").mkdir()
            (workdir / "echo").mkdir()
            bot_env = env | {
                "BOT_TOKEN": bot_api.token,
                "TELEGRAM_API_URL": bot_api.base_url,
                "DATABASE_PATH": str(workdir / "bot" / "bot.sqlite3"),
                "BENCH_PROFILE": str(Path.cwd() / (args.profile or "-")),
            }
            bot_argv = [sys.executable, "-m", "bot", "run"]
            if args.profile:
                bot_argv = [sys.executable, "-m", "bench.cpu_per_update", "--profiled-bot"]
            async with (
                child(real, bot_argv, bot_env, workdir / "bot" / "log"),
                child(echo, echo_argv(echo_api), env, workdir / "echo" / "log"),
            ):
                people = [700_000 + n for n in range(args.people)]

                # Everyone has pressed Start and picked English (the bot's menu is set).
                async def first_contact(user_id: int) -> None:
                    person = bot_api.user(user_id)
                    await person.start()
                    await person.wait_for(lambda m: "English" in m.button_texts, 30)
                    await person.press("English")
                    await person.wait_for(lambda m: m.reply_markup is not None, 30)
                    await echo_api.user(user_id).send("hello")

                await asyncio.gather(*(first_contact(user_id) for user_id in people))
                # Their command menus and the last answers may still be held by the bot's
                # rate limiter: let them go out before anything is measured.
                await bot_api.wait_idle(quiet=1.5, timeout=60)
                services = bot_api.user(people[0]).reply_buttons()[0][0]  # the menu's first button
                mix = [
                    "/start",
                    "/help",
                    "/services",
                    services,
                    "/services passport",
                    "I am fine, thank you",
                ]
                for subject in subjects:
                    watch_replies(subject)
                sent = await paced(subjects, mix, people, args.rate, args.warmup, 0)
                await answered(subjects)
                if args.profile:
                    real.process.send_signal(signal.SIGUSR1)  # type: ignore[union-attr]
                before = {s.name: cpu_seconds(s.pid) for s in subjects}
                main_before = {s.name: main_thread_cpu_seconds(s.pid) for s in subjects}
                calls_before = {s.name: len(s.api.requests) for s in subjects}
                for subject in subjects:
                    subject.latencies.clear()
                    subject.by_text.clear()
                    subject.replies = 0
                    subject.seen.clear()
                sent = await paced(subjects, mix, people, args.rate, args.seconds, sent)
                await answered(subjects)
                after = {s.name: cpu_seconds(s.pid) for s in subjects}
                main_after = {s.name: main_thread_cpu_seconds(s.pid) for s in subjects}
                if args.profile:
                    real.process.send_signal(signal.SIGUSR2)  # type: ignore[union-attr]
                calls = {
                    s.name: Counter(m for m, _ in s.api.requests[calls_before[s.name] :])
                    for s in subjects
                }

    per_update = {name: (after[name] - before[name]) / sent for name in after}
    main_thread = {name: (main_after[name] - main_before[name]) / sent for name in after}
    print(
        f"{sent} updates at {args.rate:g}/s over {args.seconds:g} s, {args.people} people, mix: {len(mix)} texts"
    )
    for subject in subjects:
        lat = subject.latencies
        print(
            f"{subject.name:9}: {per_update[subject.name] * 1000:5.2f} ms CPU per update, "
            f"reply p50 {statistics.median(lat) * 1000:5.1f} ms, p99 {percentile(lat, 0.99) * 1000:5.1f} ms, "
            f"{subject.replies} replies"
        )
        print(
            f"{'':9}  {main_thread[subject.name] * 1000:5.2f} ms of it in the main thread, "
            f"{(per_update[subject.name] - main_thread[subject.name]) * 1000:5.2f} ms in others"
        )
    if args.replies:
        for subject in subjects:
            print(f"  {subject.name} called: {dict(calls[subject.name])}")
        for text, times in sorted(real.by_text.items()):
            print(
                f"  {text!r:26} reply p50 {statistics.median(times) * 1000:6.1f} ms, "
                f"max {max(times) * 1000:6.1f} ms"
            )
        for text, reply in sorted(real.seen):
            print(f"  {text!r:26} -> {reply!r}")
    print(
        f"ratio    : {per_update['bot'] / per_update['echo bot']:.2f}x the echo bot's CPU per update"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured load (default 20)")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="unmeasured load first (default 3)"
    )
    parser.add_argument("--rate", type=float, default=20.0, help="updates a second (default 20)")
    parser.add_argument("--people", type=int, default=40, help="distinct senders (default 40)")
    parser.add_argument("--replies", action="store_true", help="list the bot's replies")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the bot into FILE (pstats)")
    parser.add_argument("--profiled-bot", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--echo", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profiled_bot:
        profiled_bot(os.environ["BENCH_PROFILE"])
    elif args.echo:
        asyncio.run(echo_bot(*args.echo))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
