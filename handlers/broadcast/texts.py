"""Broadcast screens: what the sender reads while composing, the progress line, the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.numbers import format_decimal

from core.text import N_
from db.broadcasts import Figures

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

AUDIENCE_QUESTION = N_("📣 <b>Broadcast</b>\n\nWho should receive it?")
ASK_CONTENT = N_(
    "Send the message for them: text (with formatting), a photo, a document, a voice message or a location. Each client gets a copy of it as it is."
)
ASK_VERSION = N_("Send the version in this language: {language}")
ASK_TIME = N_(
    "When should it go out? Send a time in your zone, «18:30» (today, or tomorrow if it has passed) or «25.12 10:00»."
)
BAD_TIME = N_(
    "I could not read that time. Please send it as «18:30» or «25.12 10:00», in the future."
)
UNSUPPORTED = N_(
    "This kind of message cannot be broadcast. Send text, a photo, a document, a voice message or a location."
)
NOBODY = N_("Nobody in this audience can receive it now. Choose another audience with /broadcast.")
CANCELLED_DRAFT = N_("Broadcast cancelled: nothing was sent.")

PROGRESS = N_("📤 Sending the broadcast #{id}: sent {sent} of {total}")
SCHEDULED = N_("🕘 Broadcast #{id} is scheduled. Sending starts: {when}")
FINAL = N_("✅ Broadcast #{id} is finished: sent {sent} of {total}")
STOPPED = N_("✖️ Broadcast #{id} was cancelled: sent {sent} of {total}")

UNREACHABLE_PART = N_("unreachable: {n}")
NOT_DELIVERED_PART = N_("not delivered: {n}")
CANCELLED_PART = N_("cancelled before sending: {n}")


def number(n: int, locale: str) -> str:
    return format_decimal(n, locale=locale)


def figures_line(
    figures: Figures,
    locale: str,
    gettext: Callable[[str], str],
) -> str:
    """«· 3 unreachable · 2 not delivered · 5 after quiet hours/cancelled» for the figures."""
    parts = []
    unreachable = sum(
        n
        for code, n in figures.by_error.items()
        if code.startswith("forbidden") or code in ("unreachable", "chat_not_found")
    )
    other_failed = figures.failed - sum(
        n
        for code, n in figures.by_error.items()
        if code.startswith("forbidden") or code == "chat_not_found"
    )
    cancelled = figures.by_error.get("cancelled", 0)
    if unreachable:
        parts.append(gettext(UNREACHABLE_PART).format(n=number(unreachable, locale)))
    if other_failed > 0:
        parts.append(gettext(NOT_DELIVERED_PART).format(n=number(other_failed, locale)))
    if cancelled:
        parts.append(gettext(CANCELLED_PART).format(n=number(cancelled, locale)))
    return "".join(f" · {p}" for p in parts)


def values(broadcast_id: int, figures: Figures, locale: str) -> dict[str, Any]:
    return {
        "id": broadcast_id,
        "sent": number(figures.sent, locale),
        "total": number(figures.total, locale),
    }
