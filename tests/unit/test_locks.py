"""The lock files match pyproject.toml, carry hashes, and agree with each other.

A dependency added to pyproject.toml without `python3 dev.py lock` fails here, not
on a production machine.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)")


def _pins(name: str) -> dict[str, str]:
    """name -> version; every pinned requirement must carry at least one sha256 hash."""
    pins: dict[str, str] = {}
    current: str | None = None
    hashes: dict[str, int] = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = match.group(2)
            hashes[current] = 0
        elif current and line.strip().startswith("--hash=sha256:"):
            hashes[current] += 1
    unhashed = [n for n, count in hashes.items() if count == 0]
    assert not unhashed, f"{name}: no hashes for {unhashed}"
    return pins


def _project() -> dict[str, object]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("requirements.lock", ["runtime"]), ("requirements-dev.lock", ["runtime", "dev"])],
)
def test_every_declared_dependency_is_pinned_within_its_range(lock: str, groups: list[str]) -> None:
    project = _project()
    meta = project["project"]
    assert isinstance(meta, dict)
    declared = list(meta["dependencies"])
    if "dev" in groups:
        declared += meta["optional-dependencies"]["dev"]
    build = project["build-system"]
    assert isinstance(build, dict)
    declared += build["requires"]  # the build backend is installed from the lock too
    pins = _pins(lock)
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in {lock}: python3 dev.py lock"
        assert pins[name] in requirement.specifier, f"{lock}: {name}=={pins[name]} vs {text}"


def test_the_runtime_lock_has_no_dev_tools_and_agrees_with_the_dev_lock() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    for tool in ("pytest", "mypy", "ruff", "hypothesis"):
        assert tool not in runtime
        assert tool in dev
    differing = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differing, f"the two locks pin different versions: {differing}"
