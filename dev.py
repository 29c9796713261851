#!/usr/bin/env python3
"""One entry point for a fresh machine that has only python3.

    python3 dev.py run      # set up .venv-run if needed, then run the bot (python -m bot)
    python3 dev.py demo     # the bot on this machine, no Telegram: a chat page on 127.0.0.1:8080
    python3 dev.py test     # set up .venv if needed, then lint, type-check, check imports, test
    python3 dev.py i18n     # re-extract strings and update the kk/ru/en catalogs
    python3 dev.py lock     # regenerate requirements.lock and requirements-dev.lock

Two virtual environments, so neither command disturbs the other:
- `.venv-run` (run): only the runtime dependencies, exactly as pinned with hashes in
  requirements.lock; no test or lint tools on a production machine;
- `.venv` (test, i18n, benchmarks): requirements-dev.lock, runtime plus dev tools.
Each is installed with `pip install --require-hashes` (a changed or substituted
package fails the install), then the project itself with `--no-deps`. An environment
is rebuilt from scratch when pyproject.toml, its lock file or the Python version
changed since it was built, so it never keeps packages the lock no longer lists;
otherwise commands start at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RUN_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
# The tool that writes the lock files (only `dev.py lock` installs it, in a throwaway venv).
PIP_TOOLS = "pip-tools==7.6.2"
# Bumped when the way environments are built changes, so existing ones are rebuilt.
RECIPE = "2"


class Env:
    def __init__(self, folder: str, lock: str) -> None:
        self.root = ROOT / folder
        self.lock = ROOT / lock
        self.python = self.root / ("Scripts" if os.name == "nt" else "bin") / "python"
        self.stamp = self.root / ".installed"

    def wanted(self) -> str:
        digest = hashlib.sha256(f"{RECIPE}\n{sys.version}\n".encode())
        for path in (ROOT / "pyproject.toml", self.lock):
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def ensure(self) -> Path:
        wanted = self.wanted()
        if self.stamp.exists() and self.stamp.read_text() == wanted and self.python.exists():
            return self.python
        print(f"dev.py: building {self.root.name} from {self.lock.name}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(self.root)
        pip = (self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check")
        _run(*pip, "--require-hashes", "-r", self.lock)
        # The project itself: its dependencies came from the lock; setuptools (the build
        # backend) too, so nothing unpinned is fetched to build it.
        _run(*pip, "--no-deps", "--no-build-isolation", "-e", ROOT)
        self.stamp.write_text(wanted)
        return self.python


RUN = Env(".venv-run", RUN_LOCK)
DEV = Env(".venv", DEV_LOCK)


def _run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env)
    if result.returncode:
        sys.exit(result.returncode)


# Exit status 3 when no BOT_TOKEN is configured (environment or .env); a malformed setting
# passes here, and the bot itself names it.
_TOKEN_CHECK = """
import sys
from bot.config import ConfigError, load_settings
try:
    sys.exit(0 if load_settings().bot_token is not None else 3)
except ConfigError:
    sys.exit(0)
"""
NO_TOKEN_HINT = """\
  How to get one: README.md, section "Getting a token".
  Or try the bot on this machine first, without Telegram: python3 dev.py demo"""


def cmd_run(extra: list[str]) -> None:
    python = RUN.ensure()
    starts_bot = not extra or extra[0] == "run"  # not one of the command-line tools
    if starts_bot and subprocess.run([python, "-c", _TOKEN_CHECK]).returncode == 3:
        # The bot's own one-line error and status, then where to go from here.
        status = subprocess.run([python, "-m", "bot", *extra]).returncode
        print(NO_TOKEN_HINT, file=sys.stderr)
        sys.exit(status)
    os.execv(python, [str(python), "-m", "bot", *extra])


def cmd_demo(extra: list[str]) -> None:
    """The real bot against the emulator, with its chat page (devtools/demo.py)."""
    python = RUN.ensure()
    # emulator/ and devtools/ are not part of the installed project: found from here.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = os.environ | {"PYTHONPATH": path}
    os.execve(python, [str(python), "-m", "devtools.demo", *extra], env)


def cmd_test(extra: list[str]) -> None:
    python = DEV.ensure()
    _run(python, "-m", "ruff", "check", ".")
    _run(python, "-m", "ruff", "format", "--check", ".")
    _run(python, "-m", "mypy")
    # The import rules between layers ([tool.importlinter] in pyproject.toml).
    _run(python.with_name("lint-imports"), "--no-cache", "--no-logo")
    _run(python, "-m", "pytest", *extra)


def cmd_i18n(extra: list[str]) -> None:
    _run(DEV.ensure(), "-m", "bot.i18n_tools", *extra)


def cmd_lock(extra: list[str]) -> None:
    """Pin every dependency with its hashes; `lock --upgrade` moves to the newest releases.

    Without --upgrade, pins already in the lock files are kept and only what
    pyproject.toml changed is resolved anew.
    """
    with tempfile.TemporaryDirectory(prefix="jana-jol-lock-") as folder:
        tools = Path(folder) / "venv"
        venv.EnvBuilder(with_pip=True).create(tools)
        python = tools / "bin" / "python"
        _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", PIP_TOOLS)
        env = os.environ | {"CUSTOM_COMPILE_COMMAND": "python3 dev.py lock"}
        common = [
            "--generate-hashes",
            "--allow-unsafe",  # setuptools: the build backend, installed from the lock too
            "--all-build-deps",
            "--strip-extras",
            "--no-emit-index-url",
            "--no-emit-find-links",
            "--quiet",
            *extra,
        ]
        compile_ = (python, "-m", "piptools", "compile", *common)
        _run(*compile_, "--output-file", RUN_LOCK, "pyproject.toml", env=env)
        _run(*compile_, "--extra", "dev", "--output-file", DEV_LOCK, "pyproject.toml", env=env)
    print(f"dev.py: wrote {RUN_LOCK} and {DEV_LOCK}; commit both")


COMMANDS = {"run": cmd_run, "demo": cmd_demo, "test": cmd_test, "i18n": cmd_i18n, "lock": cmd_lock}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])
