"""Log format and levels. INFO never carries names, message texts or phone numbers.

Whatever LOG_LEVEL says:
- `aiosqlite` and `asyncio` stay at WARNING or above: aiosqlite logs every SQL
  statement with its parameters (message bodies, names, locations) at DEBUG;
- the bot token never reaches a log line. `TokenFilter`, on every root handler,
  masks the configured token and anything shaped like a Telegram token in the
  rendered message and in the formatted traceback (aiohttp puts request URLs,
  which carry the token, into its exceptions); our handler's `RedactingFormatter`
  masks the final line once more;
- a traceback keeps its frames and exception types but not the exceptions' messages:
  a Telegram error or a KeyError can quote what a person wrote (`withhold_messages`).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO
from urllib.parse import quote

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
# A bot token: the bot's numeric id, a colon, and a secret of 35 characters (30+ to be safe).
TOKEN_SHAPE = r"\d{5,}:[A-Za-z0-9_-]{30,}"
# Loggers that stay at WARNING or above whatever LOG_LEVEL says.
QUIET_LOGGERS = {
    "aiogram.event": "per-update INFO lines are noise at scale",
    "apscheduler": "logs every wake-up of the engine's dispatcher at INFO",
    "aiosqlite": "logs every SQL statement with its parameters at DEBUG",
    "asyncio": "debug mode reports slow callbacks with their arguments",
}


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def withhold_messages(exc_info: ExcInfo) -> str:
    """A traceback as Python prints it (chained exceptions included), each exception's
    message replaced by «(message withheld)»."""
    exc = exc_info[1]
    if exc is None:
        return ""
    chain: list[BaseException] = []
    while exc is not None and all(exc is not seen for seen in chain):
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    parts: list[str] = []
    for one in reversed(chain):
        if parts:
            parts.append("\nDuring the handling of the above, another exception occurred:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(one.__traceback__))
        kind = type(one)
        parts.append(f"{kind.__module__}.{kind.__qualname__}: (message withheld)\n")
    return "".join(parts).rstrip("\n")


class Redactor:
    """Replaces the configured secrets and token-shaped strings in a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if secret:
                variants.update({secret, quote(secret, safe=""), quote(secret)})
        # Longest first, so a variant that contains another is replaced whole.
        exact = [re.escape(v) for v in sorted(variants, key=len, reverse=True)]
        self._pattern = re.compile("|".join([*exact, TOKEN_SHAPE]))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text)


class TokenFilter(logging.Filter):
    """Masks secrets in a record before any handler formats it; never drops a record.

    The record is rewritten in place (message rendered with its args, traceback
    formatted into exc_text), so every handler after this one sees the masked form.
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, masked
            message = f"{record.msg} {record.args}"
        masked = self._redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = withhold_messages(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """The last line of defence: masks the finished text, traceback included."""

    def __init__(self, redact: Redactor, fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler setup_logging installed, so a second call replaces it."""


def setup_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Log to stderr (or `stream`) at `level`, with `secrets` (the bot token) masked.

    Idempotent: a second call replaces the handler and filters of the first.
    """
    redact = Redactor(secrets)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
        old.close()
    handler = _OurHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(RedactingFormatter(redact))
    root.addHandler(handler)
    root.setLevel(level)
    for existing in root.handlers:
        for old_filter in [f for f in existing.filters if isinstance(f, TokenFilter)]:
            existing.removeFilter(old_filter)
        existing.addFilter(TokenFilter(redact))
    numeric = logging.getLevelName(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    return handler
