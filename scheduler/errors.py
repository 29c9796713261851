"""What a failed send means for its item: retry (when), or fail (and is the person unreachable).

| Telegram says                         | Item                                 |
| ------------------------------------- | ------------------------------------ |
| 429 (escaped the session's retries)   | pending again after `retry_after`    |
| 403 blocked / deactivated / not started | failed; unreachable hooks are called |
| network error, 5xx, an undecodable answer (a proxy's HTML 502) | pending again, exponential backoff |
| 400 and other API errors              | failed                               |

A network error after the request left may hide a delivered message (Telegram has no
idempotency key): the retry can then duplicate it. Such errors are `ambiguous` and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from core.telegram import unreachable_reason


@dataclass(frozen=True)
class Verdict:
    retry: bool
    reason: str  # stored in last_error: a code, never message text or personal data
    retry_after: float | None = None  # seconds Telegram asked for; None = our backoff
    unreachable: str | None = None  # why the person cannot be reached (403)
    ambiguous: bool = False  # the message may have been delivered anyway


# What a send can raise that says something about delivery (anything else is a bug).
SEND_ERRORS = (TelegramAPIError, ClientDecodeError)


def classify(exc: TelegramAPIError | ClientDecodeError) -> Verdict:
    if isinstance(exc, ClientDecodeError):
        # A proxy in front of the Bot API answered with something that is not the API's JSON
        # (an HTML 502 page): a server error. The request did reach something, so it is
        # counted as possibly delivered.
        return Verdict(retry=True, reason="server_error", ambiguous=True)
    if isinstance(exc, TelegramRetryAfter):
        return Verdict(retry=True, reason="retry_after", retry_after=float(exc.retry_after))
    if isinstance(exc, TelegramForbiddenError):
        why = unreachable_reason(exc.message)
        return Verdict(retry=False, reason=f"forbidden:{why}", unreachable=why)
    if isinstance(exc, TelegramEntityTooLarge):  # a network error subclass that never heals
        return Verdict(retry=False, reason="too_large")
    if isinstance(exc, TelegramNetworkError):
        # No connection at all means nothing left; anything later may have been delivered.
        refused = isinstance(exc.__cause__, aiohttp.ClientConnectorError)
        return Verdict(retry=True, reason="network", ambiguous=not refused)
    if isinstance(exc, TelegramServerError):
        return Verdict(retry=True, reason="server_error")
    if isinstance(exc, TelegramBadRequest):
        return Verdict(retry=False, reason="bad_request")
    return Verdict(retry=False, reason=f"api_error:{type(exc).__name__}")


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """base, 2*base, 4*base ... capped: attempt 1 waits `base`."""
    return float(min(cap, base * 2 ** max(0, min(attempt - 1, 30))))
