"""Every string the code shows exists, translated, in kk, ru and en, with the same placeholders."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from functools import cache

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po

from bot.i18n_tools import KEYWORDS, ROOT, po_path
from core.languages import LANGUAGES

# Letters that only Kazakh Cyrillic has; a Kazakh catalog written without them is Russian.
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
TAG = re.compile(r"</?([a-z-]+)[^>]*>")

# Never a case ending on, or right after, a placeholder: the ending depends on how the
# value is read aloud («07:00-ге» but «09:00-ға»; «с Асан»), so translations use a label
# («Мерзімі: {until}», «Кому: {name}»). Checked for kk and ru:
CYRILLIC = "а-яёәғқңөұүһі"
# a Cyrillic letter glued to a placeholder, on either side: «{max}-ға», «{name}ның», «№{row}-жол»
GLUED = re.compile(rf"\}}[-'’]?[{CYRILLIC}]|[{CYRILLIC}][-'’]?\{{", re.IGNORECASE)
# kk postpositions and «мен/бен/пен» that need a case (or a sound) the value decides
KK_AFTER = re.compile(r"\{\w*\}\s+(дейін|шейін|бастап|кейін|соң|бері|мен|бен|пен)(?!\w)")
# ru prepositions that put a name or a date into a case it cannot take («с {name}»)
NAME_OR_DATE = "name|officer|telegram_name|client|caseworker|until|when|date|day"
RU_BEFORE = re.compile(
    r"(?<![\w-])(с|со|для|у|к|ко|от|о|об|обо|до|после|про|без|при|из|за|над|под|перед|между)"
    rf"\s+«?\{{({NAME_OR_DATE})\}}",
    re.IGNORECASE,
)


@cache
def extracted() -> dict[str, str | tuple[str, ...]]:
    method_map = [
        (f"{package}/**.py", "python") for package in ("core", "bot", "handlers", "scheduler", "db")
    ]
    found: dict[str, str | tuple[str, ...]] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=parse_keywords(list(KEYWORDS))
    ):
        key = message[0] if isinstance(message, tuple) else message
        if key:
            found[key] = message
    return found


@cache
def catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source, locale=language)


def _strings(message: Message) -> Iterator[str]:
    strings = message.string if isinstance(message.string, tuple | list) else [message.string]
    yield from (s or "" for s in strings)


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def case_problems(language: str, text: str) -> list[str]:
    """Where `text` puts a case ending on, or a governing word next to, a placeholder."""
    found = [m.group(0) for m in GLUED.finditer(text)] if language in ("kk", "ru") else []
    if language == "kk":
        found += [m.group(0) for m in KK_AFTER.finditer(text)]
    if language == "ru":
        found += [m.group(0) for m in RU_BEFORE.finditer(text)]
    return found


def test_the_code_has_translatable_strings() -> None:
    assert len(extracted()) > 20


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_in_the_code_is_in_the_catalog(language: str) -> None:
    missing = [msgid for msgid in extracted() if catalog(language).get(msgid) is None]
    assert not missing, f"{language}: run `python3 dev.py i18n` and translate: {missing[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(language: str) -> None:
    problems = []
    for msgid in extracted():
        message = catalog(language).get(msgid)
        if message is None:
            continue
        if message.fuzzy or not all(_strings(message)):
            problems.append(msgid)
    assert not problems, f"{language}: untranslated or fuzzy: {problems[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_and_tags_match_the_source(language: str) -> None:
    problems = []
    for msgid in extracted():
        message = catalog(language).get(msgid)
        if message is None:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        for translation in _strings(message):
            if placeholders(translation) != placeholders(source):
                problems.append(f"{msgid!r}: placeholders {placeholders(translation)}")
            if sorted(TAG.findall(translation)) != sorted(TAG.findall(source)):
                problems.append(f"{msgid!r}: HTML tags differ")
    assert not problems, f"{language}: " + "; ".join(problems[:5])


def test_kazakh_is_written_in_kazakh_not_russian() -> None:
    copied = []
    for msgid in extracted():
        kk, ru = catalog("kk").get(msgid), catalog("ru").get(msgid)
        if kk is None or ru is None:
            continue
        kk_text, ru_text = "".join(_strings(kk)), "".join(_strings(ru))
        words = re.findall(r"[^\W\d_]{4,}", kk_text)
        if len(words) >= 3 and kk_text == ru_text:
            copied.append(msgid)
    assert not copied, f"kk equals ru for: {copied[:5]}"
    all_kazakh = "".join("".join(_strings(m)) for m in catalog("kk") if m.id)
    assert KAZAKH_LETTERS & set(all_kazakh), "the Kazakh catalog has no Kazakh-only letters"


def test_catalog_files_are_not_stale() -> None:
    """Entries whose msgid left the code are removed by `python3 dev.py i18n`."""
    for language in LANGUAGES:
        stale = [
            m.id
            for m in catalog(language)
            if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in extracted()
        ]
        assert not stale, f"{language}: stale entries {stale[:5]}"


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_no_case_ending_on_or_next_to_a_placeholder(language: str) -> None:
    problems = [
        f"{translation!r}: {case_problems(language, translation)}"
        for message in catalog(language)
        if message.id
        for translation in _strings(message)
        if case_problems(language, translation)
    ]
    assert not problems, f"{language}: use a label instead: " + "; ".join(problems[:5])


# Translations from the catalogs before issue 10, and what replaced them.
OLD_AND_FIXED = [
    ("kk", "Белгіні {time} дейін қоюға болады.", "Белгі қоюдың соңғы уақыты: {time}."),
    (
        "kk",
        "бұл уақыттағы белгі қою {end}-ге ауыстырылады.",
        "осы уақытқа түскен белгі қою {end} уақытына ауыстырылады.",
    ),
    ("kk", "2-ден {max}-ға дейінгі санды жіберіңіз.", "2 мен {max} аралығындағы санды жіберіңіз."),
    ("kk", "{pages} беттің {page}-беті", "Бет: {page}/{pages}"),
    ("kk", "{start} мен {end} аралығында", "Тыныш уақыт: {start}–{end}."),
    ("kk", "«{value}» id {row}-жолда қолданылған", "«{value}» id №{row} жолда бұрыннан бар"),
    ("ru", "<b>Переписка с {name}</b>", "<b>Переписка: {name}</b>"),
    ("ru", "С {name} пока нет сообщений.", "{name}: переписки пока нет."),
    ("ru", "Напишите сообщение для {name}.", "Кому: {name}. Напишите сообщение."),
    ("ru", "Что не так с «{name}»?", "Что не так в записи «{name}»?"),
    ("ru", "(заблокировал бота или удалил аккаунт), с {when}.", "Впервые замечено: {when}."),
]


@pytest.mark.parametrize(("language", "old", "fixed"), OLD_AND_FIXED)
def test_the_case_check_flags_the_old_translations_only(
    language: str, old: str, fixed: str
) -> None:
    assert case_problems(language, old)
    assert not case_problems(language, fixed)


def test_the_case_check_leaves_times_and_labels_alone() -> None:
    for text in ("каждый день в {time}", "С {start} до {end}", "Сейчас открыто · до {time}"):
        assert not case_problems("ru", text), text
    for text in ("{name} үшін шақыру.", "{limit} МБ-тан үлкен", "Клиент: {name}."):
        assert not case_problems("kk", text), text
