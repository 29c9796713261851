"""Who goes first when the bot's one outgoing budget (Telegram's ~30 messages a second) is
short: replies to a person's own action, then alerts, then reminders and notices, then
broadcasts. A request's priority is the `sending_priority` context variable of the task
that makes it: unset (a handler answering an update) means REPLY; the engine sets its
kind's priority around each item's handler; a broadcast sender sets BROADCAST.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum


class Priority(IntEnum):
    REPLY = 0  # an answer to what a person just did
    ALERT = 1  # «I need help», alerts to staff, a relayed message someone waits for
    REMINDER = 2  # reminders, notices, digests
    BROADCAST = 3  # announcements to many


sending_priority: ContextVar[Priority] = ContextVar("sending_priority", default=Priority.REPLY)


@contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Requests made inside the block (in this task) have `level`."""
    token = sending_priority.set(level)
    try:
        yield
    finally:
        sending_priority.reset(token)
