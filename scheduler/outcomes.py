"""What a handler tells the engine about one item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Sent:
    """Telegram accepted the message: the row is marked sent."""


@dataclass(frozen=True)
class Drop:
    """It no longer makes sense (too late, the schedule changed): dropped, with a reason code."""

    reason: str


@dataclass(frozen=True)
class Retry:
    """Try again at `at`; lateness keeps counting from the original time."""

    at: datetime
    reason: str


@dataclass(frozen=True)
class Postpone:
    """Move it on purpose (e.g. out of quiet hours): `until` becomes the intended time."""

    until: datetime
    reason: str


Outcome = Sent | Drop | Retry | Postpone

SENT = Sent()
