"""Notices, the rendering half: how each notice reads, and the engine kind that sends them.

Storing a notice is a service (services/notices.py: `notify_in` in the transaction of the
change it reports, `notify` alone), so the command line and timed jobs store them without
loading handlers. Each feature registers, at import, how its notices read: the renderer
runs at send time, in the recipient's language, and returns None when the notice no longer
applies (it is then dropped). Registering a renderer declares its code, so the feature's
handlers may store it; a code a service declares must have a renderer here, or the engine
refuses to start (`register`).

    @renderer("client_joined")
    async def joined(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
        client = await clients.get(delivery.db, values["client"])
        if client is None:
            return None                               # no longer true: dropped
        return delivery.gettext(JOINED, name=html.quote(client.name)), None
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import InlineKeyboardMarkup

from db import clients
from db.clients import Client
from db.scheduled import ScheduledItem
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome
from services.notices import NOTICE, declare, declared, notify, notify_in

# Features store their notices through these (the service's API, kept at hand here).
__all__ = ["Rendered", "notify", "notify_in", "own_client", "register", "renderer"]

Rendered = tuple[str, InlineKeyboardMarkup | None]
# Returns None when the notice no longer applies (its subject is gone): it is dropped.
Renderer = Callable[[Delivery, dict[str, Any]], Awaitable[Rendered | None]]

_RENDERERS: dict[str, Renderer] = {}


def renderer(code: str) -> Callable[[Renderer], Renderer]:
    """Registers how notices with this code are rendered (at import, once per code)."""

    def register(render: Renderer) -> Renderer:
        if code in _RENDERERS and _RENDERERS[code] is not render:
            raise ValueError(f"notice {code!r} is already registered")
        _RENDERERS[code] = render
        declare(code)
        return render

    return register


async def own_client(delivery: Delivery, values: dict[str, Any]) -> Client | None:
    """The client the notice is about, if they are still on the recipient's caseload."""
    client = await clients.get(delivery.db, int(values.get("client", 0)))
    if client is None or client.caseworker_id != delivery.item.recipient_id:
        return None
    return client


async def send_notice(item: ScheduledItem, delivery: Delivery) -> Outcome:
    render = _RENDERERS.get(str(item.payload.get("notice")))
    if render is None:
        return Drop("unknown_notice")
    rendered = await render(delivery, item.payload)
    if rendered is None:
        return Drop("not_applicable")
    text, markup = rendered
    await delivery.send_message(text, reply_markup=markup)
    return SENT


def register(engine: Engine) -> None:
    """The `notice` kind; every notice a service may store must have its renderer by now."""
    missing = declared() - _RENDERERS.keys()
    if missing:
        raise ValueError(f"notices without a renderer: {', '.join(sorted(missing))}")
    engine.register(NOTICE, send_notice, scrub_payload=True)
