"""aiogram's Dispatcher, passing an event down the routers without wrapping empty layers.

aiogram passes each event through every router in turn (`Router.propagate_event`), and
at each one wraps the router's outer middlewares around the rest of the way with
`MiddlewareManager.wrap_middlewares`, which builds a closure, copies a function's
metadata onto it (`functools.wraps`) and re-packs the keyword arguments, even when
that list is empty, as it is on every router of this bot. `Dispatcher.propagate_event`
below walks the same routers in the same order with the same rules, and takes aiogram's
own path wherever a router has outer middlewares:

- each router gets `event_router` and its own copy of what its parent passed on, so what
  a router's filters add reaches its sub-routers, not its siblings;
- a router's filters are checked first (skipped when it has none: they would pass
  everything through unchanged), then its handlers (`observer.trigger`: their filters,
  inner middlewares, the handler), then its sub-routers until one handles the event.
"""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.types import TelegramObject


class LeanDispatcher(Dispatcher):
    async def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        return await _propagate(self, update_type, event, kwargs)


async def _propagate(
    router: Router, update_type: str, event: TelegramObject, kwargs: dict[str, Any]
) -> Any:
    """`Router.propagate_event`; `kwargs` is this call's own dict."""
    kwargs["event_router"] = router
    observer = router.observers.get(update_type)
    if observer is not None and len(observer.outer_middleware):

        async def wrapped(telegram_event: TelegramObject, **data: Any) -> Any:
            return await _through(router, observer, update_type, telegram_event, data)

        return await observer.wrap_outer_middleware(wrapped, event=event, data=kwargs)
    return await _through(router, observer, update_type, event, kwargs)


async def _through(
    router: Router,
    observer: TelegramEventObserver | None,
    update_type: str,
    event: TelegramObject,
    kwargs: dict[str, Any],
) -> Any:
    """`Router._propagate_event`: the router's filters, its handlers, then its sub-routers."""
    response = UNHANDLED
    if observer is not None:
        if observer._handler.filters:
            result, data = await observer.check_root_filters(event, **kwargs)
            if not result:
                return UNHANDLED
            kwargs.update(data)
        if observer.handlers:
            response = await observer.trigger(event, **kwargs)
            if response is REJECTED:  # pragma: no cover  (only if a handler returns REJECTED)
                return UNHANDLED
            if response is not UNHANDLED:
                return response
    for sub_router in router.sub_routers:
        response = await _propagate(sub_router, update_type, event, dict(kwargs))
        if response is not UNHANDLED:
            break
    return response
