"""Callback data and conversation states shared by the broadcast screens."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from pydantic import Field

from handlers.ui import LanguageCode


class Composing(StatesGroup):
    audience = State()
    caseworkers = State()
    content = State()
    version = State()
    preview = State()
    when = State()


class BcAudience(CallbackData, prefix="bca1"):
    code: Annotated[
        str, Field(max_length=8)
    ]  # mine | all | missed | lang | lang_kk | cws | cws_done


class BcPick(CallbackData, prefix="bcp1"):
    caseworker: int


class DraftAction(StrEnum):
    ADD = "add"
    MAIN = "main"
    URGENT = "urg"
    NOW = "now"
    AT = "at"
    CANCEL = "x"


class BcDraft(CallbackData, prefix="bcd1"):
    action: DraftAction
    lang: LanguageCode = ""


class ManageAction(StrEnum):
    STOP = "stop"
    CSV = "csv"


class BcManage(CallbackData, prefix="bcm1"):
    action: ManageAction
    id: int
