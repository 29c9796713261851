"""Role filters close whole routers: every kind of update, in the router and the routers inside it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.dispatcher.router import INTERNAL_UPDATE_TYPES
from aiogram.types import TelegramObject, Update

from bot.roles import HasRole, restrict
from db.users import Role, User
from handlers import feature_routers

BOT = Bot("123456:TEST")  # the handlers below never call Telegram
PERSON = {"id": 42, "is_bot": False, "first_name": "T"}
CHAT = {"id": 42, "type": "private"}
MESSAGE = {"message_id": 1, "date": 0, "chat": CHAT, "from": PERSON, "text": "hi"}
MEMBER = {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}}

# One update of each kind a person can cause, for the observers a router could listen to.
UPDATES: dict[str, dict[str, Any]] = {
    "message": {"message": MESSAGE},
    "edited_message": {"edited_message": MESSAGE | {"edit_date": 1}},
    "callback_query": {
        "callback_query": {"id": "1", "from": PERSON, "chat_instance": "1", "data": "x"}
    },
    "my_chat_member": {
        "my_chat_member": {
            "chat": CHAT,
            "from": PERSON,
            "date": 0,
            "old_chat_member": MEMBER,
            "new_chat_member": {**MEMBER, "status": "kicked", "until_date": 0},
        }
    },
    "inline_query": {"inline_query": {"id": "1", "from": PERSON, "query": "q", "offset": ""}},
}


def role_filtered(router: Router, observer: str) -> bool:
    filters = router.observers[observer]._handler.filters or []
    return any(isinstance(f.callback, HasRole) for f in filters)


def all_routers(routers: list[Router]) -> Iterator[Router]:
    for router in routers:
        yield from router.chain_tail


def test_every_restricted_feature_router_filters_every_kind_it_handles() -> None:
    restricted = [
        router
        for router in all_routers(feature_routers())
        if any(role_filtered(router, name) for name in router.observers)
    ]
    assert len(restricted) >= 9  # the staff and client parents, invite, hours, staff, ...
    for router in restricted:
        for inner in router.chain_tail:  # a router's filters also close the routers inside it
            for name, observer in inner.observers.items():
                if observer.handlers and name not in INTERNAL_UPDATE_TYPES:
                    assert role_filtered(router, name), f"{router}: {name} has no role filter"


def reaches(router: Router) -> frozenset[Role]:
    """The roles that pass every role filter on the way to `router` (messages)."""
    roles = frozenset(Role)
    for outer in router.chain_head:
        for f in outer.message._handler.filters or []:
            if isinstance(f.callback, HasRole):
                roles &= f.callback.roles
    return roles


EVERYONE = frozenset(Role)
STAFF = frozenset({Role.CASEWORKER, Role.ADMIN})
ROLE_MAP = {
    "onboarding": EVERYONE,
    "start": EVERYONE,
    "language": EVERYONE,
    "help": EVERYONE,
    "privacy": EVERYONE,
    "delete_me": EVERYONE,
    "membership": EVERYONE,
    "invite": {Role.CASEWORKER},
    "caseload": STAFF,
    "client-card": STAFF,
    "hours": {Role.CASEWORKER},
    "staff": {Role.ADMIN},
    "checkins-staff": {Role.CASEWORKER},
    "appointments-reception": {Role.CASEWORKER},
    "appointments-agenda": {Role.CASEWORKER},
    "appointments-assign": {Role.CASEWORKER},
    "broadcast": STAFF,
    "stats": STAFF,
    "directory_admin": {Role.ADMIN},
    "checkins-client": {Role.CLIENT},
    "appointments-booking": {Role.CLIENT},
    "appointments-mine": {Role.CLIENT},
    "appointments-answers": {Role.CLIENT},
    "directory": EVERYONE,
    "messaging": EVERYONE,
    "messaging-client": {Role.CLIENT},
    "messaging-staff": STAFF,
    "fallback": EVERYONE,
}

# The order the features were tried in before they were grouped by audience. For every
# role and kind of update, the features that role reaches and that handle the kind must
# still be tried in this order (a menu label typed during another feature's conversation
# goes to whichever comes first).
ORDER = [
    "onboarding",
    "start",
    "language",
    "help",
    "privacy",
    "delete_me",
    "invite",
    "caseload",
    "client-card",
    "hours",
    "staff",
    "membership",
    "checkins-client",
    "appointments-booking",
    "appointments-mine",
    "appointments-answers",
    "checkins-staff",
    "appointments-reception",
    "appointments-agenda",
    "appointments-assign",
    "broadcast",
    "stats",
    "directory_admin",
    "directory",
    "messaging",
    "messaging-client",
    "messaging-staff",
    "fallback",
]


def features() -> list[Router]:
    """Every router with handlers, in the order aiogram tries them."""
    return [
        r for r in all_routers(feature_routers()) if any(o.handlers for o in r.observers.values())
    ]


def test_the_role_map() -> None:
    assert {r.name: reaches(r) for r in features()} == ROLE_MAP


@pytest.mark.parametrize("role", list(Role))
def test_grouping_by_audience_keeps_the_order_each_role_sees(role: Role) -> None:
    routers = [r for r in features() if role in reaches(r)]
    for kind in UPDATES:
        handling = [r.name for r in routers if r.observers[kind].handlers]
        assert handling == [name for name in ORDER if name in handling], kind
    assert [r.name for r in routers] != []


def test_restrict_filters_every_observer_not_only_messages_and_buttons() -> None:
    router = Router()
    restrict(router, HasRole(Role.CASEWORKER))
    unfiltered = [
        name
        for name in router.observers
        if name not in INTERNAL_UPDATE_TYPES and not role_filtered(router, name)
    ]
    assert unfiltered == []


def person(role: Role) -> User:
    return User(42, role, "en", None, None, None)


def dispatcher(user: User | None, handled: list[str]) -> Dispatcher:
    router = Router()
    restrict(router, HasRole(Role.CASEWORKER))
    inner = Router()  # handlers in a router inside a restricted one are closed too
    router.include_router(inner)
    for name in UPDATES:

        async def handler(event: TelegramObject, name: str = name) -> None:
            handled.append(name)

        (inner if name == "my_chat_member" else router).observers[name].register(handler)
    dp = Dispatcher()

    async def with_user(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["user"] = user
        return await handler(event, data)

    dp.update.outer_middleware(with_user)
    dp.include_router(router)
    return dp


@pytest.mark.parametrize("kind", list(UPDATES))
async def test_a_restricted_router_handles_no_kind_of_update_from_another_role(kind: str) -> None:
    update = Update.model_validate({"update_id": 1, **UPDATES[kind]})
    for user in (person(Role.CLIENT), None):
        handled: list[str] = []
        await dispatcher(user, handled).feed_update(BOT, update)
        assert handled == []
    handled = []
    await dispatcher(person(Role.CASEWORKER), handled).feed_update(BOT, update)
    assert handled == [kind]
