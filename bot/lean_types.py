"""aiogram's types and methods, binding the bot in one step instead of four.

Every aiogram object (an update and everything in it, each reply's answer, each button
and method the bot builds) remembers the bot it came with: `BotContextController` has
one private attribute, `_bot`, set by its `model_post_init`. pydantic wraps that method
again in every subclass (`Message` ← `MaybeInaccessibleMessage` ← `TelegramObject` ←
`BotContextController`), and each wrapper sets up the private attributes before calling
the next one, then the assignment goes through `BaseModel.__setattr__`: about half the
CPU of validating a `Message`. `bind_bot_in_one_step()` gives each of those classes a
`model_post_init` that leaves the same state, `__pydantic_private__ == {"_bot": bot}`
(None without a bot in the context), in one assignment.

Only a class whose `model_post_init` is aiogram's own, wrapped by pydantic and nothing
else, and whose only private attribute is `_bot`, is changed: a class that adds either
keeps pydantic's. Classes defined after the call keep pydantic's as well (correct, only
slower); the bot calls it once at start, after importing aiogram.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from aiogram import methods, types  # noqa: F401  (imported here: all their classes exist)
from aiogram.client.context_controller import BotContextController

_ORIGINAL = inspect.unwrap(BotContextController.model_post_init)
_SET = object.__setattr__


def _bind_bot(self: BotContextController, context: Any, /) -> None:
    bot = context.get("bot") if context else None
    private = getattr(self, "__pydantic_private__", None)
    if private is None:  # as always, unless a subclass's own post-init calls this one
        _SET(self, "__pydantic_private__", {"_bot": bot})
    else:
        private["_bot"] = bot


def _subclasses(cls: type[BotContextController]) -> Iterator[type[BotContextController]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _plain(cls: type[BotContextController]) -> bool:
    """Its post-init is aiogram's, only wrapped by pydantic; `_bot` its only private attribute."""
    post_init = cls.model_post_init
    return post_init is _bind_bot or (
        inspect.unwrap(post_init) is _ORIGINAL and set(cls.__private_attributes__) == {"_bot"}
    )


def bind_bot_in_one_step() -> int:
    """Changes every plain aiogram type and method defined so far; returns how many."""
    changed = 0
    classes: set[type[BotContextController]] = {BotContextController}
    classes.update(_subclasses(BotContextController))
    for cls in classes:
        if _plain(cls) and cls.model_post_init is not _bind_bot:
            setattr(cls, "model_post_init", _bind_bot)  # noqa: B010  (a method replaced on purpose)
            changed += 1
    return changed
