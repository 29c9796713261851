"""The in-process lane: the real application with neither HTTP nor polling (tests/harness.py).

Tests here use the same `app` fixture and FakeUser vocabulary as tests/e2e; a test moves
between the lanes by moving its file. What belongs here: handler logic that needs no
network (parsing, validation, refusals, forged buttons, long texts). User journeys,
delivery, restarts and limits stay in tests/e2e, against the fake over HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator import FakeBotAPI
from tests.harness import BotUnderTest, start_inproc


@pytest.fixture
def api() -> FakeBotAPI:
    """The fake, never started: in this lane nothing goes over HTTP."""
    return FakeBotAPI()


@pytest.fixture
async def app(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    """The real application in this event loop, fed updates directly."""
    async with start_inproc(api, tmp_path) as running:
        yield running
