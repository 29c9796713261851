"""Broadcasts (caseworkers and administrators): /broadcast composes one, /broadcasts lists them.

`services/broadcasts.py` enforces the scope (a caseworker reaches only their own active
clients, whatever a button says) and stores everything in one transaction;
`scheduler/broadcasts.py` delivers; the queries are in `db/broadcasts.py`.

audience.py   /broadcast and step 1, the audience (all my clients, by language, who missed a
              check-in or a visit in 7 days; administrators also all clients or chosen
              caseworkers')
compose.py    the content (the sender's own message, copied as it is), a version per other
              language and which one is main, the preview (recipients per language, those
              skipped as unreachable), urgent, Send now, Send at…, Cancel
listing.py    /broadcasts: figures, stop a running one, the per-recipient CSV (administrators)
progress.py   the progress message and the final report
callbacks.py  callback data and conversation states shared by those screens
texts.py      the strings and figures they share
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from handlers.broadcast.audience import caseworkers_chosen, pick_audience, start, toggle_caseworker
from handlers.broadcast.callbacks import BcAudience, BcDraft, BcManage, BcPick, Composing
from handlers.broadcast.compose import content_given, draft_action, time_given
from handlers.broadcast.listing import listing, manage
from handlers.broadcast.progress import broadcast_done, wire
from handlers.ui import ON_MESSAGE

__all__ = ["broadcast_done", "create_router", "wire"]


def create_router() -> Router:
    """Caseworkers and administrators (placed in the staff audience)."""
    router = Router(name="broadcast")
    router.message.register(start, Command("broadcast", ignore_case=True))
    router.message.register(listing, Command("broadcasts", ignore_case=True))
    router.callback_query.register(
        pick_audience, BcAudience.filter(F.code != "cws_done"), StateFilter(Composing.audience)
    )
    router.callback_query.register(
        caseworkers_chosen,
        BcAudience.filter(F.code == "cws_done"),
        StateFilter(Composing.caseworkers),
    )
    router.callback_query.register(
        toggle_caseworker, BcPick.filter(), StateFilter(Composing.caseworkers)
    )
    router.callback_query.register(draft_action, BcDraft.filter(), ON_MESSAGE)
    router.callback_query.register(manage, BcManage.filter())
    router.message.register(content_given, StateFilter(Composing.content, Composing.version))
    router.message.register(time_given, StateFilter(Composing.when))
    return router
