"""One aiogram Router per feature, each built by its module's `create_router()`, and the
role map: which people each feature is open to.

Routers are built per application (not at import) so that tests can run several
bots in one process. Order matters: the fallback router comes last.

The features open to one audience only sit together under one parent router whose role
filter (bot/roles.py `restrict`) closes them all at once: a person outside it costs one
filter call there, not a pass through each feature. Moving a feature between audiences
keeps, for every role, the order of the routers that role reaches (the only order that
can matter: a person never reaches the others).
"""

from __future__ import annotations

from aiogram import Router

from bot.roles import HasRole, admins_only, restrict, staff_only
from db.users import Role
from handlers import (
    appointments,
    broadcast,
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
    stats,
)
from handlers.checkins import client as checkins_client
from handlers.checkins import staff as checkins_staff
from scheduler.broadcasts import BroadcastSender
from scheduler.engine import Engine
from services import reachability


def audience(name: str, role_filter: HasRole, *routers: Router) -> Router:
    """One parent router, closed to other roles, with `routers` inside in this order."""
    parent = Router(name=name)
    parent.include_routers(*routers)
    return restrict(parent, role_filter)


def feature_routers() -> list[Router]:
    caseworkers = HasRole(Role.CASEWORKER)
    return [
        # Everyone.
        onboarding.create_router(),  # before start: /start with an invitation token
        start.create_router(),
        language.create_router(),
        help.create_router(),
        privacy.create_router(),
        delete_me.create_router(),
        membership.create_router(),  # only blocked/unblocked (my_chat_member) updates
        audience(
            "staff-features",
            staff_only(),
            restrict(invite.create_router(), caseworkers),
            caseload.create_router(),
            client_card.create_router(),
            restrict(hours.create_router(), caseworkers),
            restrict(staff.create_router(), admins_only()),
            restrict(checkins_staff.create_router(), caseworkers),
            restrict(appointments.create_staff_router(), caseworkers),
            broadcast.create_router(),  # caseworkers and administrators
            stats.create_router(),  # caseworkers (their own clients) and administrators
            # Admins only: before the public directory router.
            restrict(directory_admin.create_router(), admins_only()),
        ),
        audience(
            "client-features",
            HasRole(Role.CLIENT),
            checkins_client.create_router(),
            appointments.create_client_router(),
        ),
        # Everyone again.
        directory.create_router(),  # takes locations and files only outside other conversations
        # Catches whatever a person sends while writing to the other side, so it comes
        # after every command and menu button (its client and staff sides carry their roles).
        messaging.create_router(),
        fallback.create_router(),  # last: catches what nothing else did
    ]


def register_timed_work(engine: Engine) -> None:
    """Each feature's engine kinds (what its stored timed items do when due)."""
    notices.register(engine)
    command_menu.register(engine)
    messaging.register_timed_work(engine)
    checkins.register_timed_work(engine)
    appointments.register_timed_work(engine)
    engine.on_unreachable(reachability.unreachable_hook(engine))


def wire_broadcasts(sender: BroadcastSender, engine: Engine, default_language: str) -> None:
    """The broadcast sender's hooks: unreachable clients, progress, the final report."""
    broadcast.wire(sender, engine, default_language)
