"""No handler filter runs in a thread: aiogram runs every filter that is not a `Filter`
instance (a magic filter such as `F.chat.type == "private"`, a bare State) through
`asyncio.to_thread`, a thread hop per update (bench/cpu_per_update.py). Use `StateFilter`,
`MagicData(F.event...)` or a `Filter` class instead."""

from __future__ import annotations

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject

from handlers import feature_routers


def _filters(router: Router) -> list[tuple[str, FilterObject]]:
    found: list[tuple[str, FilterObject]] = []
    for event, observer in router.observers.items():
        for f in observer._handler.filters or []:
            found.append((f"{router.name}.{event} (router)", f))
        for handler in observer.handlers:
            name = getattr(handler.callback, "__name__", "?")
            found.extend((f"{router.name}.{event}: {name}", f) for f in handler.filters or [])
    for child in router.sub_routers:
        found.extend(_filters(child))
    return found


def test_every_filter_is_awaited_on_the_event_loop() -> None:
    every = [item for router in feature_routers() for item in _filters(router)]
    assert len(every) > 50
    in_a_thread = [where for where, f in every if not f.awaitable]
    assert in_a_thread == []
