#!/usr/bin/env python3
"""One entry point for a fresh machine that has only python3.

    python3 dev.py run      # set up .venv if needed, then run the bot (python -m bot)
    python3 dev.py test     # set up .venv if needed, then lint, type-check and test
    python3 dev.py i18n     # re-extract strings and update the kk/ru/en catalogs

Set-up is idempotent: the virtual environment is (re)built only when pyproject.toml
changed since the last install, so repeated runs start at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".installed"


def _run(*args: str | Path) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PY.exists():
        return
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing dependencies", flush=True)
    _run(PY, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", ".[dev]")
    STAMP.write_text(wanted)


def cmd_run(extra: list[str]) -> None:
    ensure_venv()
    os.execv(PY, [str(PY), "-m", "bot", *extra])


def cmd_test(extra: list[str]) -> None:
    ensure_venv()
    _run(PY, "-m", "ruff", "check", ".")
    _run(PY, "-m", "ruff", "format", "--check", ".")
    _run(PY, "-m", "mypy")
    _run(PY, "-m", "pytest", *extra)


def cmd_i18n(extra: list[str]) -> None:
    ensure_venv()
    _run(PY, "-m", "bot.i18n_tools", *extra)


COMMANDS = {"run": cmd_run, "test": cmd_test, "i18n": cmd_i18n}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])
