"""Notices: one-off messages the bot sends a person on its own (a client joined, a client
can no longer be reached, a relayed message was delivered late...).

Each is an engine item of kind `notice`: stored first (in the same transaction as the
change it reports, with `notify_in`), sent through the engine (retried on 5xx and network
errors, paced per chat), and rendered at send time in the recipient's language by the
renderer its feature registered for the notice's code. The payload holds ids, and names
only where nothing else keeps them (a person who deleted their data); it is emptied once
the notice is finished, and erasing a person deletes pending notices about them
(`"client": <id>` in the payload).

    @renderer("client_joined")
    async def joined(delivery: Delivery, values: dict[str, Any]) -> Rendered | None:
        client = await clients.get(delivery.db, values["client"])
        if client is None:
            return None                               # no longer true: dropped
        return delivery.gettext(JOINED, name=html.quote(client.name)), None

    async with db.transaction() as conn:
        ...                                           # the change itself
        await notify_in(conn, recipient_id=officer, code="client_joined", client=client_id)
    engine.poke(utcnow())
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
from aiogram.types import InlineKeyboardMarkup

from db import clients, scheduled
from db.clients import Client
from db.clock import utcnow
from db.scheduled import ScheduledItem
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome

NOTICE = "notice"

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
        return render

    return register


async def notify_in(
    conn: aiosqlite.Connection,
    *,
    recipient_id: int,
    code: str,
    dedupe_key: str | None = None,
    **values: Any,
) -> int | None:
    """Stores a notice inside the caller's transaction (call `engine.poke` after COMMIT)."""
    if code not in _RENDERERS:
        raise ValueError(f"no renderer for notice {code!r}")
    now = utcnow()
    return await scheduled.schedule_in(
        conn,
        kind=NOTICE,
        recipient_id=recipient_id,
        due_at=now,
        now=now,
        payload={"notice": code, **values},
        dedupe_key=dedupe_key,
    )


async def notify(
    engine: Engine, recipient_id: int, code: str, *, dedupe_key: str | None = None, **values: Any
) -> None:
    """Stores a notice in a transaction of its own and wakes the engine."""
    async with engine.db.transaction() as conn:
        await notify_in(conn, recipient_id=recipient_id, code=code, dedupe_key=dedupe_key, **values)
    engine.poke(utcnow())


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
    engine.register(NOTICE, send_notice, scrub_payload=True)
