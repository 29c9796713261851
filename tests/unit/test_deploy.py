"""The deployment files say what the README says, and name things that exist.

No Docker engine or systemd runs here: these read the files' essentials (and ask
`systemd-analyze verify` about the unit when it is installed), nothing more.
"""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "jana-jol.service"
ENV_EXAMPLE = ROOT / "deploy" / "jana-jol.env.example"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments gone."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNIT, encoding="utf-8")
    return parser


def test_the_dockerfile_installs_as_the_readme_says_and_runs_unprivileged() -> None:
    steps = instructions(DOCKERFILE)
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for word, args in steps if word == "RUN"]
    locked = next(
        i for i, r in enumerate(runs) if "pip install --require-hashes -r requirements.lock" in r
    )
    project = next(i for i, r in enumerate(runs) if "pip install --no-deps" in r)
    assert locked < project  # the pinned dependencies first, then the project alone
    # The same two commands the README gives for installing outside dev.py.
    assert "pip install --require-hashes -r requirements.lock" in README
    assert "pip install --no-deps" in README
    # Every package the wheel holds is copied in (pyproject's packages.find).
    copied = {args.split()[0] for word, args in steps if word == "COPY"}
    for package in ("core", "bot", "handlers", "services", "scheduler", "db", "locales"):
        assert package in copied

    users = [args for word, args in steps if word == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    env = " ".join(args for word, args in steps if word == "ENV")
    [volume] = [args for word, args in steps if word == "VOLUME"]
    assert "/data" in volume
    assert "DATABASE_PATH=/data/" in env  # the database lives in the volume
    health = re.search(r"HEALTH_LISTEN=([\d.]+):(\d+)", env)
    assert health is not None
    [check] = [args for word, args in steps if word == "HEALTHCHECK"]
    assert f"http://{health[1]}:{health[2]}/health" in check
    [command] = [args for word, args in steps if word == "CMD"]
    assert command == '["python", "-m", "bot"]'
    assert importlib.util.find_spec("bot.__main__") is not None


def test_dockerignore_keeps_data_and_secrets_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".env", "data/", "*.sqlite3", ".venv/", ".venv-run/", ".git"} <= ignored


def test_the_unit_runs_the_bot_module_hardened() -> None:
    service = unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/bin/python")
    assert argv[1:] == ["-m", "bot"]
    assert importlib.util.find_spec("bot.__main__") is not None
    assert service["User"] not in ("root", "0")
    assert service["EnvironmentFile"].startswith("/etc/")
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "UMask": "0077",
        "Restart": "on-failure",
        "StateDirectoryMode": "0700",
    }
    assert {key: service.get(key) for key in expected} == expected
    # The database folder is writable (and nothing else but the optional backups).
    writable = [p.lstrip("-") for p in service["ReadWritePaths"].split()]
    database = next(
        line.split("=", 1)[1]
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.startswith("DATABASE_PATH=")
    )
    assert str(Path(database).parent) in writable
    assert f"/var/lib/{service['StateDirectory']}" in writable


def test_the_example_environment_names_only_real_settings() -> None:
    fields = set(Settings.model_fields)
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.lstrip("# ").strip()
        if re.match(r"^[A-Z_]+=", line):
            assert line.split("=", 1)[0].lower() in fields, line


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_systemd_knows_every_directive_of_the_unit() -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, check=False
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        # The venv is not installed on this machine; everything else must be clean.
        if line.strip() and "is not executable" not in line
    ]
    assert problems == []
