"""Catalog maintenance: `python -m bot.i18n_tools` (or `python3 dev.py i18n`).

1. extracts every marked string into locales/messages.pot,
2. merges it into locales/{kk,ru,en}/LC_MESSAGES/messages.po (new entries empty),
3. fills the English catalog from the source strings (English is the source language),
4. prints how many entries each language still lacks.

Keywords: `_` with one or two arguments (gettext / ngettext), `__` (lazy), `N_` (marker) and
`ngettext` (an engine kind's `delivery.ngettext(singular, plural, n)`).
Note `-k _:1,2` alone would replace the default `_` and drop every one-argument `_()`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from core.languages import LANGUAGES
from locales import DOMAIN, LOCALES_DIR

ROOT = LOCALES_DIR.parent
KEYWORDS = ("_:1,1t", "_:1,2", "__:1,1t", "__:1,2", "N_", "ngettext:1,2")
POT = LOCALES_DIR / f"{DOMAIN}.pot"


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call]


def extract() -> None:
    args = [
        "extract",
        "-F",
        str(LOCALES_DIR / "babel.cfg"),
        "--no-location",
        "--sort-output",
        "--add-comments=NOTE",
        "--add-comments=Translators:",
        "--project=jana-jol",
        "-o",
        str(POT),
    ]
    for keyword in KEYWORDS:
        args += ["-k", keyword]
    _pybabel(*args, str(ROOT))  # babel.cfg patterns are relative to ROOT


def update() -> None:
    for language in LANGUAGES:
        if not po_path(language).exists():
            _pybabel("init", "-D", DOMAIN, "-i", str(POT), "-d", str(LOCALES_DIR), "-l", language)
    _pybabel(
        "update",
        "-D",
        DOMAIN,
        "-i",
        str(POT),
        "-d",
        str(LOCALES_DIR),
        "--no-fuzzy-matching",
        "--ignore-obsolete",
    )


def fill_english() -> None:
    path = po_path("en")
    with path.open("rb") as source:
        catalog = read_po(source, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if not is_translated(message.string):
            message.string = message.id
    with path.open("wb") as target:
        write_po(target, catalog, omit_header=False, sort_output=True, no_location=True)


def is_translated(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def report() -> int:
    missing_total = 0
    for language in LANGUAGES:
        with po_path(language).open("rb") as source:
            catalog = read_po(source, locale=language)
        missing = [m.id for m in catalog if m.id and not is_translated(m.string)]
        missing_total += len(missing)
        print(f"{language}: {len(missing)} untranslated")
    return missing_total


def main() -> int:
    extract()
    update()
    fill_english()
    return 1 if report() else 0


if __name__ == "__main__":
    sys.exit(main())
