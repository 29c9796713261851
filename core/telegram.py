"""What Telegram's refusals mean, from their descriptions (no aiogram needed)."""

from __future__ import annotations

_FORBIDDEN_REASONS = (
    ("blocked", "blocked"),
    ("deactivated", "deactivated"),
    ("initiate conversation", "not_started"),
    ("kicked", "kicked"),
)


def unreachable_reason(description: str) -> str:
    """Why a 403 says the person cannot be reached: a short code for logs and records."""
    text = description.lower()
    return next((code for needle, code in _FORBIDDEN_REASONS if needle in text), "forbidden")
