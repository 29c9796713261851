"""`N_()`: marks a string for extraction; it is translated where it is shown (per user language)."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return message
