"""Dates and times in a person's language and zone (Babel; never strftime month names)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime


def format_datetime(moment: datetime, locale: str, zone: ZoneInfo, fmt: str = "medium") -> str:
    return str(babel_format_datetime(moment, fmt, tzinfo=zone, locale=locale))
