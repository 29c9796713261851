"""Every button label fits a phone: at most 32 visible characters in every language.

Telegram starts cutting a full-width inline button at roughly 30–35 characters on a
360-dp phone, and a reply-keyboard button shares its row. Labels are found in the code
(every gettext call inside a `text=` argument, the main menu, and the few built from a
variable, listed below) and measured in every catalog with sample values; directory
category buttons («{emoji} {name} ({count})») are measured from the migrated database.
"""

from __future__ import annotations

import ast
import unicodedata
from functools import cache

import pytest

from bot.i18n_tools import ROOT
from bot.menu import Label
from core.languages import LANGUAGES
from db import directory
from db.database import Database
from handlers.directory_callbacks import REASON_LABELS
from handlers.directory_ui import category_label
from tests.unit.test_catalogs import _strings, catalog

LIMIT = 32
GETTEXT = {"_", "__", "N_", "gettext", "ngettext"}
# Button types whose first positional argument is the label.
LABEL_FIRST = {"CardButton"}
# Labels passed to a button through a variable (the scan below cannot follow them).
BUILT_ELSEWHERE = (
    "Show all services",
    "✅ Open to people with a record",
    "🗂 Card",
    "Open client card",
)
# Sample values for placeholders in labels: a long-ish name, two- and three-digit numbers.
SAMPLES = {"name": "Айгерім Сейіт", "count": "99", "id": "999", "n": "30", "language": "Қазақша"}


def visible_length(text: str) -> int:
    """Characters as a phone draws them: an emoji (with its selector or ZWJ parts) is 2."""
    length = 0
    chars = list(text)
    i = 0
    while i < len(chars):
        char = chars[i]
        wide = unicodedata.east_asian_width(char) == "W" or ord(char) >= 0x1F000
        if i + 1 < len(chars) and chars[i + 1] == "\ufe0f":
            wide = True
            i += 1
        while i + 2 < len(chars) and chars[i + 1] == "\u200d":  # a ZWJ sequence is one emoji
            i += 2
            wide = True
        length += 2 if wide else 1
        i += 1
    return length


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _sources() -> list[ast.Module]:
    return [
        ast.parse(path.read_text(encoding="utf-8"))
        for package in ("bot", "handlers", "scheduler")
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


@cache
def button_msgids() -> frozenset[str]:
    modules = _sources()
    constants: dict[str, set[str]] = {}  # NAME = N_("...") anywhere, by name
    for module in modules:
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and _name(node.value.func) in GETTEXT
                and node.value.args
                and isinstance(node.value.args[0], ast.Constant)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants.setdefault(target.id, set()).add(str(node.value.args[0].value))
    found: set[str] = set()
    for module in modules:
        for call in ast.walk(module):
            if not isinstance(call, ast.Call):
                continue
            labels = [k.value for k in call.keywords if k.arg == "text"]
            if _name(call.func) in LABEL_FIRST and call.args:
                labels.append(call.args[0])  # CardButton(label, callback_data)
            for label in labels:
                for inner in ast.walk(label):
                    if not (isinstance(inner, ast.Call) and inner.args):
                        continue
                    if not (_name(inner.func) in GETTEXT or _name(inner.func) == "gettext"):
                        continue
                    first = inner.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        found.add(first.value)
                    elif (name := _name(first)) is not None:
                        found |= constants.get(name, set())
    found |= {v for k, v in vars(Label).items() if not k.startswith("_") and isinstance(v, str)}
    found |= set(REASON_LABELS.values()) | set(BUILT_ELSEWHERE)
    return frozenset(found)


def _filled(text: str) -> str:
    for key, value in SAMPLES.items():
        text = text.replace("{" + key + "}", value)
    return text


def test_the_scan_finds_the_buttons() -> None:
    found = button_msgids()
    assert {"✍️ Write", "⬅️ Back", "Next ▶️", "❓ How to use", "✅ I'm fine — check in"} <= found
    assert "Import {count} valid row" in found  # a plural label
    assert all("{" not in _filled(m) for m in found), "a label has a placeholder without a sample"


def test_visible_length_counts_emoji_as_two() -> None:
    assert visible_length("Next ▶️") == 7
    assert visible_length("✅ Ok") == 5
    assert visible_length("👨‍👩‍👧 Family") == 9


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_button_label_is_longer_than_a_phone_shows(language: str) -> None:
    too_long = []
    for msgid in button_msgids():
        message = catalog(language).get(msgid)
        assert message is not None, msgid
        for form in _strings(message):
            label = _filled(form)
            if visible_length(label) > LIMIT:
                too_long.append(f"{label!r} ({visible_length(label)})")
    assert not too_long, f"{language}: shorten these buttons: {too_long}"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_category_buttons_fit(db: Database, language: str) -> None:
    too_long = []
    for category in await directory.categories(db):
        label = f"{category_label(category, language)} (99)"
        if visible_length(label) > LIMIT:
            too_long.append(f"{label!r} ({visible_length(label)})")
    assert not too_long, f"{language}: shorten these categories (a new migration): {too_long}"
