"""aiogram's HTTP session, sending a call's parameters as one JSON body.

aiogram sends every call as a form: each parameter is prepared, nested ones JSON-encoded
one by one, then the whole form is percent-encoded (`urllib.parse.quote`, character by
character in Python), which for a reply with a keyboard costs more CPU than anything
else the bot does with it. The Bot API takes `application/json` as well; a call that
uploads a file still goes as a multipart form, as aiogram builds it.

Savings on top, none changing what the body says, what a call raises, or the content of
what it returns:
- parameters are dumped without their unset (None) fields: aiogram's preparation drops
  them anyway, after walking each one in Python (most of a button's fields are unset);
  plain values (text, ids, flags) are taken from the method as they are, and the bot's
  defaults (parse mode, link preview) prepared once while they stay as they were;
- a keyboard object sent again (the main menu and the directory's home screen are built
  once and reused) reuses its JSON from the last time, while the object lives and its
  content is unchanged (markups are mutable, so the content is compared, not assumed);
- an answer is checked with its reply type built once per return type (aiogram asks
  pydantic for `Response[...]` at each call, and pydantic keeps such classes only while
  something else holds them: rebuilt after a garbage collection, ~20 ms each time), and a
  successful one is validated from its JSON text by pydantic directly (no Python dicts
  in between); anything else (an error status, `ok` false, an answer that does not
  validate) goes through aiogram's own `check_response`, which raises what it always did.
  An inline keyboard comes back in the answer (the message it is under); when it comes
  back exactly as it was sent, the returned message holds the keyboard object sent
  (equal in content; as built by the handler, so its `.bot` may be None) instead of a
  copy validated anew: 100 → 46 µs to check an answer with the directory's 14 buttons.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile, TelegramObject
from aiohttp import FormData
from aiohttp.payload import BytesPayload
from pydantic import ValidationError

MARKUP = "reply_markup"
SCALARS = frozenset({str, int, bool, float})  # sent as they are (exactly these types, no enums)
KEPT_MARKUPS = 64  # live markups whose JSON is kept; in practice a few per language


class _Kept:
    __slots__ = ("dump", "json", "ref")

    def __init__(self, ref: weakref.ref[TelegramObject], dump: dict[str, Any], json: str) -> None:
        self.ref = ref
        self.dump = dump
        self.json = json


class JsonSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kept: dict[int, _Kept] = {}  # id of a live markup -> its JSON
        self._response_types: dict[Any, type[Response[Any]]] = {}  # return type -> its reply
        # name -> (the bot's default object, its fields then, prepared), for plain ones
        self._defaults: dict[str, tuple[TelegramObject, dict[str, Any], Any]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        response_type = self._response_types.get(returning)
        if response_type is None:
            response_type = self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                response = self._read_answer(bot, method, response_type, content)
            except (ValidationError, ValueError):  # ValueError: not JSON
                pass  # aiogram's check says what is wrong, as it always did
            else:
                if response.ok:
                    return response
        return super().check_response(bot, method, status_code, content)

    def _read_answer(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        response_type: type[Response[TelegramType]],
        content: str,
    ) -> Response[TelegramType]:
        markup = getattr(method, MARKUP, None)
        kept = None if markup is None else self._kept.get(id(markup))
        if kept is not None and kept.ref() is markup and f'"{MARKUP}"' in content:
            answer = self.json_loads(content)
            result = answer.get("result") if isinstance(answer, dict) else None
            if isinstance(result, dict) and result.get(MARKUP) == kept.dump:
                # The keyboard came back as it was sent: the object sent, not read again.
                result[MARKUP] = markup
                return response_type.model_validate(answer, context={"bot": bot})
        return response_type.model_validate_json(content, context={"bot": bot})

    def build_form_data(  # type: ignore[override]  # aiohttp takes a payload as well as a form
        self, bot: Bot, method: TelegramMethod[TelegramType]
    ) -> FormData | BytesPayload:
        files: dict[str, InputFile] = {}
        fields: dict[str, Any] = {}
        markup = getattr(method, MARKUP, None)
        if not isinstance(markup, TelegramObject):
            markup = None
        values: Iterable[tuple[str, Any]] = method.__dict__.items()
        if method.__pydantic_extra__:
            values = [*values, *method.__pydantic_extra__.items()]
        for key, value in values:
            if value is None or (key == MARKUP and markup is not None):
                continue
            kind = type(value)
            if kind is Default:
                value = self._default(bot, value, files)
            elif kind not in SCALARS:  # a model, a list, an enum...: aiogram prepares it
                value = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if value is None or value == "":  # left out, as aiogram's form leaves them
                continue
            fields[key] = value
        markup_json = None if markup is None else self._markup_json(bot, markup, files)
        if files:
            return super().build_form_data(bot, method)
        body = self.json_dumps(fields)
        if markup_json is not None:  # spliced in last (the order of keys means nothing)
            body = f'{body[:-1]}{", " if fields else ""}"{MARKUP}": {markup_json}}}'
        return BytesPayload(body.encode(), content_type="application/json")

    def _default(self, bot: Bot, value: Default, files: dict[str, InputFile]) -> Any:
        """The bot's default for a parameter, prepared; one made of plain values is kept."""
        raw = bot.default[value.name]
        if raw is None or type(raw) in SCALARS:
            return raw
        kept = self._defaults.get(value.name)
        if kept is not None and kept[0] is raw and kept[1] == raw.__dict__:
            return kept[2]
        prepared = self.prepare_value(raw, bot=bot, files=files, _dumps_json=False)
        if (
            isinstance(raw, TelegramObject)
            and not raw.__pydantic_extra__
            and all(v is None or type(v) in SCALARS for v in raw.__dict__.values())
        ):
            self._defaults[value.name] = (raw, dict(raw.__dict__), prepared)
        return prepared

    def _markup_json(self, bot: Bot, markup: TelegramObject, files: dict[str, InputFile]) -> str:
        dump = markup.model_dump(warnings=False, exclude_none=True)
        key = id(markup)
        kept = self._kept.get(key)
        if kept is not None and kept.ref() is markup and kept.dump == dump:
            return kept.json
        json = self.json_dumps(self.prepare_value(dump, bot=bot, files=files, _dumps_json=False))
        if not files:
            if len(self._kept) >= KEPT_MARKUPS:
                self._kept.clear()
            kept_ones = self._kept
            ref = weakref.ref(markup, lambda _: kept_ones.pop(key, None))
            self._kept[key] = _Kept(ref, dump, json)
        return json
