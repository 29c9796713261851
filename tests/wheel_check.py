"""Prove that the built wheel, installed without the source tree, runs the bot.

    .venv/bin/python -m tests.wheel_check      # run by .ci/run after `python3 dev.py test`

1. builds the wheel from a clean copy of the tracked files (pip wheel --no-deps, with
   the build backend pinned in requirements-dev.lock);
2. checks that every module and data file of the packages is in it;
3. installs it into a fresh virtual environment: requirements.lock with
   --require-hashes, then the wheel with --no-deps (no editable install, no tests);
4. starts `<venv>/bin/python -m bot` from an empty temporary folder against the fake
   Bot API and checks that its code comes from the venv, that it polls, answers a
   person's /start, its language choice and /services (catalogs, migrations and the
   seed directory all come from the wheel), and that SIGTERM stops it with status 0.
Run with the source tree's .venv python: it needs emulator, the installed bot never does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

from emulator import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "bot", "handlers", "services", "scheduler", "db", "locales")
DATA_SUFFIXES = (".py", ".sql", ".csv", ".po", ".pot", ".cfg")
SETTINGS = ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "ADMIN_IDS", "LOG_LEVEL")


class CheckFailedError(Exception):
    pass


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.started = time.monotonic()

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"wheel check: ok   {what} ({time.monotonic() - self.started:.1f} s)", flush=True)

    def expect(self, condition: bool, what: str, detail: str = "") -> None:
        if not condition:
            raise CheckFailedError(f"{what}{': ' + detail if detail else ''}")
        self.ok(what)


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise CheckFailedError(
            f"{' '.join(map(str, args))} failed:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def _source_files() -> list[str]:
    listing = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def build_wheel(checks: Checks, work: Path) -> Path:
    source = work / "src"
    for name in _source_files():  # a clean copy: no stale build/ or egg-info can leak in
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    dist = work / "dist"
    _run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", dist, source,
    )  # fmt: skip
    [wheel] = dist.glob("*.whl")
    checks.ok(f"built {wheel.name}")

    expected = {
        name
        for name in _source_files()
        if name.split("/")[0] in PACKAGES and name.endswith(DATA_SUFFIXES)
    }
    with zipfile.ZipFile(wheel) as archive:
        inside = set(archive.namelist())
    missing = sorted(expected - inside)
    tops = {name.split("/")[0] for name in inside}
    strays = sorted(t for t in tops if t not in PACKAGES and not t.endswith(".dist-info"))
    checks.expect(
        not missing, f"all {len(expected)} package files are in the wheel", f"missing {missing}"
    )
    checks.expect(not strays, "nothing else is (no tests, no bench)", f"found {strays}")
    return wheel


def install(checks: Checks, work: Path, wheel: Path) -> Path:
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = (python, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    _run(*pip, "--require-hashes", "-r", ROOT / "requirements.lock")
    _run(*pip, "--no-deps", wheel)
    checks.ok("installed requirements.lock (hashes checked) and the wheel into a fresh venv")
    return python


def _environment(run_dir: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith("PYTHON")}
    return (
        env | {"DATABASE_PATH": str(run_dir / "data" / "bot.sqlite3"), "LOG_LEVEL": "INFO"} | values
    )


async def run_bot(checks: Checks, python: Path, run_dir: Path) -> None:
    where = _run(
        python, "-c", "import bot.app, handlers.checkins; print(bot.app.__file__)", cwd=run_dir
    ).strip()
    checks.expect(
        where.startswith(str(python.parents[1])), "the bot's code is imported from the venv", where
    )
    async with FakeBotAPI() as api:
        process = await asyncio.create_subprocess_exec(
            python, "-m", "bot",
            cwd=run_dir,
            env=_environment(run_dir, BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            polling = asyncio.create_task(api.wait_polling(timeout=30))
            exited = asyncio.create_task(process.wait())
            await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
            if exited.done():
                polling.cancel()
                _, err = await process.communicate()
                raise CheckFailedError(f"the bot exited with {process.returncode}:\n{err.decode()}")
            exited.cancel()
            polling.result()
            checks.ok("`python -m bot` from an empty folder polls getUpdates")

            person = api.user(501, first_name="Dana", language_code="en")
            await person.start()
            checks.expect(
                person.buttons() == [["Қазақша", "Русский", "English"]],
                "a person's /start gets the language choice",
                str(person.buttons()),
            )
            [greeting, *_] = await person.press("Қазақша")
            checks.expect(
                any(ch in (greeting.text or "") for ch in "әғқңөұүһі"),
                "the Kazakh catalog answers the choice",
                repr(greeting.text),
            )
            replies = await person.command("services")
            buttons = [
                b
                for r in replies
                for row in (r.reply_markup or {}).get("inline_keyboard", [])
                for b in row
            ]
            checks.expect(
                len(buttons) >= 3,
                "/services lists the directory (migrations and seed data)",
                f"{replies}",
            )
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    checks.expect(process.returncode == 0, "SIGTERM stops it with status 0", err.decode())


def main() -> int:
    checks = Checks()
    try:
        with tempfile.TemporaryDirectory(prefix="jana-jol-wheel-") as folder:
            work = Path(folder)
            wheel = build_wheel(checks, work)
            python = install(checks, work, wheel)
            run_dir = work / "run"
            run_dir.mkdir()
            asyncio.run(run_bot(checks, python, run_dir))
    except CheckFailedError as failure:
        print(f"wheel check: FAILED {failure}", flush=True)
        print(f"wheel check: {checks.passed} passed, 1 failed")
        return 1
    print(f"wheel check: all done in {time.monotonic() - checks.started:.1f} s")
    print(f"wheel-check: {checks.passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
