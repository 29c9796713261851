"""Timestamps as stored in SQLite: UTC, 'YYYY-MM-DD HH:MM:SS' (SQLite's own datetime format).

Every "now" in the application comes from `utcnow()` so tests can move time.
"""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%d %H:%M:%S"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_db(text: str) -> datetime:
    # fromisoformat is ~20x faster than strptime (a month of booked slots is read on every
    # calendar screen); the shape check keeps anything else on the strict path.
    if len(text) == 19 and text[10] == " ":
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def now_db() -> str:
    return to_db(utcnow())
