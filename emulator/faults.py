"""Outages of the fake Bot API: a while of 5xx, of hanging requests, of refused connections.

Where ``FakeBotAPI.fail_next`` spoils a counted number of calls, an outage spoils every
call (of some methods, or all of them, getUpdates included) until it ends: after
``seconds`` of real time, or when the test calls :meth:`Faults.resume` (tests that move
the clock with time_machine end it themselves, so "a minute" of the bot's time costs
none of the test's). None of the three lets a call take effect, so after an outage a bot
that retries correctly has lost nothing and duplicated nothing::

    api.faults.fail_with(502, methods=("sendMessage",))   # every sendMessage gets a 502
    api.faults.hang(seconds=3)          # calls get no answer (until the bot's timeout)
    await api.faults.refuse_connections()  # the port is closed: connection refused
    await api.faults.resume()           # all of it is over

- ``fail_with``: the API's JSON error (or a proxy's HTML page, ``html=True``).
- ``hang``: the request is held without effect until the outage ends or the bot's HTTP
  client gives up; then it is answered 504 (which a client that gave up never reads).
- ``refuse_connections``: the listening socket is closed, so new connections are
  refused, and a request on a connection kept alive from before is cut without effect
  (in process, through emulator/direct.py, that is all it does: there is no socket).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .models import ApiError

if TYPE_CHECKING:
    from .server import Answer, FakeBotAPI

_DESCRIPTIONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Outage:
    """One outage: what it does to which calls, until when."""

    kind: str  # "status", "hang" or "refuse"
    methods: frozenset[str] | None  # canonical names; None = every method, getUpdates too
    status: int = 502
    html: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None

    def covers(self, method: str) -> bool:
        return not self.ended.is_set() and (self.methods is None or method in self.methods)


class Faults:
    """The outages of one FakeBotAPI (``api.faults``)."""

    def __init__(self, api: FakeBotAPI) -> None:
        self._api = api
        self.outages: list[Outage] = []
        self.spoiled: Counter[str] = Counter()  # calls an outage answered, by method
        self.holding = 0  # requests hanging right now
        self._timers: set[asyncio.Task[None]] = set()

    # -- starting and ending ---------------------------------------------------

    def fail_with(
        self,
        status: int = 502,
        *,
        methods: Iterable[str] | None = None,
        seconds: float | None = None,
        html: bool = False,
    ) -> Outage:
        """Every call of ``methods`` (default: all) gets ``status`` until the outage ends."""
        return self._begin(
            Outage("status", self._names(methods), status=status, html=html), seconds
        )

    def hang(self, *, methods: Iterable[str] | None = None, seconds: float | None = None) -> Outage:
        """Calls of ``methods`` (default: all) get no answer until the outage ends."""
        return self._begin(Outage("hang", self._names(methods)), seconds)

    async def refuse_connections(self, *, seconds: float | None = None) -> Outage:
        """Close the listening socket: the bot's connections are refused until it ends."""
        outage = self._begin(Outage("refuse", None), seconds)
        await self._api.close_listener()
        return outage

    async def resume(self) -> None:
        """End every outage now (a closed socket listens again on the same port)."""
        for outage in list(self.outages):
            await self.end(outage)

    async def end(self, outage: Outage) -> None:
        if outage.timer is not None:
            outage.timer.cancel()
        outage.ended.set()
        if outage in self.outages:
            self.outages.remove(outage)
        if outage.kind == "refuse" and not any(o.kind == "refuse" for o in self.outages):
            await self._api.open_listener()
        self._api.state.notify()

    @property
    def active(self) -> bool:
        return bool(self.outages)

    # -- the server's hook -----------------------------------------------------

    async def intercept(self, method: str) -> Answer | None:
        """The outage's answer to a call of ``method``, or None when no outage covers it."""
        from .server import Answer

        outage = next((o for o in self.outages if o.covers(method)), None)
        if outage is None:
            return None
        self.spoiled[method] += 1
        if outage.kind == "refuse":
            return Answer(0, "", dropped=True)
        if outage.kind == "hang":
            self.holding += 1
            self._api.state.notify()
            try:
                await outage.ended.wait()  # the bot's client may have given up long before
            finally:
                self.holding -= 1
            return self._api.error_answer(method, ApiError(504, _DESCRIPTIONS[504]))
        error = ApiError(outage.status, _DESCRIPTIONS.get(outage.status, "Error"))
        if outage.html:
            self._api.errors.append((method, outage.status, "html"))
            page = f"<html><body><h1>{outage.status} {error.description}</h1></body></html>"
            return Answer(outage.status, page)
        return self._api.error_answer(method, error)

    # -- helpers ---------------------------------------------------------------

    def _names(self, methods: Iterable[str] | None) -> frozenset[str] | None:
        if methods is None:
            return None
        return frozenset(self._api.method_name(m) for m in methods)

    def _begin(self, outage: Outage, seconds: float | None) -> Outage:
        self.outages.append(outage)
        if seconds is not None:
            loop = asyncio.get_running_loop()
            outage.timer = loop.call_later(seconds, self._end_later, outage)
        return outage

    def _end_later(self, outage: Outage) -> None:
        task = asyncio.get_running_loop().create_task(self.end(outage))
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
