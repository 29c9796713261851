"""`N_()` for the db package: marks a string for extraction; it is translated where it is shown.

The same marker as bot.i18n.N_, repeated here so that db never imports bot.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return message
