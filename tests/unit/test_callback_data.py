"""Every button's callback data in the project: within Telegram's 64 bytes whatever its values,
one prefix per factory, each with a version."""

from __future__ import annotations

import importlib
import pkgutil
import re
import types
import typing
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData
from aiogram.types import CallbackQuery, Chat, Message, Update
from aiogram.types import User as TelegramUser
from pydantic.fields import FieldInfo

import handlers
from bot.i18n import create_i18n
from db import directory_reports
from handlers.checkins.client import CheckinAnswer, CheckinAnswerV0, is_help_request
from handlers.directory_callbacks import Reason

LARGEST_ID = 2**53  # Telegram's ids fit in 53 bits; so do ours
WIDEST_CHARACTER = "😀"  # 4 bytes in UTF-8: the most a character of a free text can take
# Buttons made before prefixes had versions, still read on purpose (see each class).
UNVERSIONED = {CheckinAnswerV0}
# «✉️ Write again» is no longer sent (the conversation stays open); its old prefix is kept
# so buttons already in chats still work.
STAFF_SIDE_PENDING = {"WriteAgain"}


def all_factories() -> list[type[CallbackData]]:
    for module in pkgutil.walk_packages(handlers.__path__, "handlers."):
        importlib.import_module(module.name)
    found: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        factory = todo.pop()
        if factory.__module__.startswith("handlers."):
            found.append(factory)
        todo += factory.__subclasses__()
    return sorted(found, key=lambda f: f"{f.__module__}.{f.__qualname__}")


FACTORIES = all_factories()


def widest(name: str, field: FieldInfo) -> Any:
    """The value of the field whose packed text is longest; AssertionError if unbounded."""
    annotation: Any = field.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        assert len(options) == 1, f"{name}: unions other than Optional are not supported"
        annotation = options[0]
    if typing.get_origin(annotation) is typing.Literal:
        return max(typing.get_args(annotation), key=lambda value: len(str(value).encode()))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return max(annotation, key=lambda member: len(str(member.value).encode()))
    if annotation is bool:
        return True
    if annotation is int:
        return LARGEST_ID
    if annotation is str:
        limits = [m.max_length for m in field.metadata if getattr(m, "max_length", None)]
        assert limits, (
            f"{name}: a str field without a max_length can grow past 64 bytes; "
            "give it an Enum, a Literal or Field(max_length=...)"
        )
        return WIDEST_CHARACTER * min(limits)
    raise AssertionError(f"{name}: a field of type {annotation!r} is not covered by this test")


def test_the_walk_finds_the_factories_of_every_side() -> None:
    names = {factory.__name__ for factory in FACTORIES}
    assert {"DirList", "DirResolve", "CheckinAnswer", "Consent", "ClientCard"} <= names
    assert len(FACTORIES) >= 30


def widest_values(factory: type[CallbackData]) -> dict[str, Any]:
    return {
        name: widest(f"{factory.__name__}.{name}", field)
        for name, field in factory.model_fields.items()
    }


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_the_widest_values_fit_in_64_bytes(factory: type[CallbackData]) -> None:
    try:
        values = widest_values(factory)
    except AssertionError:
        if factory.__name__ in STAFF_SIDE_PENDING:
            pytest.skip("a free str field: the staff side's branch replaces it")
        raise
    data = factory(**values).pack()  # pack() itself raises beyond the limit
    assert len(data.encode()) <= MAX_CALLBACK_LENGTH
    assert factory.unpack(data) == factory(**values)


def test_prefixes_are_unique_and_versioned() -> None:
    owners: dict[str, list[str]] = {}
    for factory in FACTORIES:
        owners.setdefault(factory.__prefix__, []).append(factory.__qualname__)
    assert {prefix: names for prefix, names in owners.items() if len(names) > 1} == {}
    unversioned = {
        factory.__name__
        for factory in FACTORIES
        if factory not in UNVERSIONED and not re.fullmatch(r"[a-z]{1,4}[0-9]+", factory.__prefix__)
    }
    assert unversioned - STAFF_SIDE_PENDING == set(), "a prefix is letters and a version: 'dl1'"


def test_report_reasons_are_the_ones_the_database_accepts() -> None:
    assert {reason.value for reason in Reason} == set(directory_reports.REASONS)


def press(data: str) -> Update:
    person = TelegramUser(id=5, is_bot=False, first_name="A")
    message = Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=5, type="private"))
    query = CallbackQuery(id="1", from_user=person, chat_instance="c", data=data, message=message)
    return Update(update_id=1, callback_query=query)


def test_the_throttle_never_drops_a_help_press_of_any_version() -> None:
    is_help = is_help_request(create_i18n("kk"))
    for factory in (CheckinAnswer, CheckinAnswerV0):
        assert is_help(press(factory(checkin_id=LARGEST_ID, answer="help").pack()))
        assert not is_help(press(factory(checkin_id=7, answer="ok").pack()))
    assert not is_help(press("dl1:1:-1:0:0"))
