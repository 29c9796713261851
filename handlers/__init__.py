"""One aiogram Router per feature, each built by its module's `create_router()`.

Routers are built per application (not at import) so that tests can run several
bots in one process. Order matters: the fallback router comes last.
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    caseload,
    checkins,
    client_card,
    command_menu,
    delete_me,
    directory,
    directory_admin,
    fallback,
    help,
    hours,
    invite,
    language,
    membership,
    messaging,
    notices,
    onboarding,
    privacy,
    staff,
    start,
)
from scheduler.engine import Engine
from services import reachability


def feature_routers() -> list[Router]:
    return [
        onboarding.create_router(),  # before start: /start with an invitation token
        start.create_router(),
        language.create_router(),
        help.create_router(),
        privacy.create_router(),
        delete_me.create_router(),
        invite.create_router(),
        caseload.create_router(),
        client_card.create_router(),
        hours.create_router(),
        staff.create_router(),
        membership.create_router(),
        checkins.create_router(),
        directory_admin.create_router(),  # admins only: before the public directory router
        directory.create_router(),  # takes locations and files only outside other conversations
        # Catches whatever a person sends while writing to the other side, so it comes
        # after every command and menu button.
        messaging.create_router(),
        fallback.create_router(),  # last: catches what nothing else did
    ]


def register_timed_work(engine: Engine) -> None:
    """Each feature's engine kinds (what its stored timed items do when due)."""
    notices.register(engine)
    command_menu.register(engine)
    messaging.register_timed_work(engine)
    checkins.register_timed_work(engine)
    engine.on_unreachable(reachability.unreachable_hook(engine))
