"""Two-way messages: a client writes to their officer; the officer replies.

client.py and staff.py are the two sides of the conversation, writing.py its state (and
what ends it), delivery.py the engine kind that delivers a stored message.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.menu import Label, MenuButton
from bot.roles import HasRole, restrict, staff_only
from db.users import Role
from handlers.messaging import delivery
from handlers.messaging.callbacks import ClientMessages, MessagesAction
from handlers.messaging.client import (
    AutoReplies,
    cancel_writing,
    client_sends,
    done_writing,
    start_client_message,
    write_again,
)
from handlers.messaging.replay import AlreadyStored, answer_again
from handlers.messaging.staff import caseworker_sends, show_history, start_caseworker_message
from handlers.messaging.writing import (
    KEEPS_WRITING,
    CancelWriting,
    CaseworkerMessage,
    ClientMessage,
    DoneWriting,
    LeaveWritingOnNavigation,
    WriteAgain,
)
from handlers.ui import ON_MESSAGE
from scheduler.engine import Engine

__all__ = ["AutoReplies", "LeaveWritingOnNavigation", "create_router", "register_timed_work"]


def create_router() -> Router:
    router = Router(name="messaging")
    # A message handled again after a crash: stored already, whatever the state now.
    router.message.register(answer_again, AlreadyStored(), flags=KEEPS_WRITING)
    client_side = Router(name="messaging-client")
    restrict(client_side, HasRole(Role.CLIENT))
    client_side.message.register(start_client_message, Command("message", ignore_case=True))
    client_side.message.register(start_client_message, MenuButton(Label.MESSAGE_OFFICER))
    client_side.message.register(
        client_sends, StateFilter(ClientMessage.waiting), flags=KEEPS_WRITING
    )
    client_side.callback_query.register(write_again, WriteAgain.filter())
    client_side.callback_query.register(done_writing, DoneWriting.filter(), flags=KEEPS_WRITING)

    staff_side = Router(name="messaging-staff")
    restrict(staff_side, staff_only())
    staff_side.callback_query.register(
        start_caseworker_message,
        ClientMessages.filter(F.action == MessagesAction.WRITE),
        ON_MESSAGE,
    )
    staff_side.callback_query.register(
        show_history,
        ClientMessages.filter(F.action == MessagesAction.HISTORY),
        ON_MESSAGE,
    )
    staff_side.message.register(
        caseworker_sends, StateFilter(CaseworkerMessage.waiting), flags=KEEPS_WRITING
    )

    router.callback_query.register(cancel_writing, CancelWriting.filter(), flags=KEEPS_WRITING)
    router.include_routers(client_side, staff_side)
    return router


def register_timed_work(engine: Engine) -> None:
    delivery.register(engine)
