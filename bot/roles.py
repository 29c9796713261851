"""Role filters. They sit on routers, so a whole feature is closed to other roles at once."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.dispatcher.router import INTERNAL_UPDATE_TYPES
from aiogram.filters import Filter
from aiogram.types import TelegramObject

from db.users import Role, User


class HasRole(Filter):
    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, user: User | None = None, **_: Any) -> bool:
        return user is not None and user.role in self.roles


def staff_only() -> HasRole:
    return HasRole(Role.CASEWORKER, Role.ADMIN)


def admins_only() -> HasRole:
    return HasRole(Role.ADMIN)


def restrict(router: Router, role_filter: HasRole) -> Router:
    """Close a whole router, and the routers inside it, to other roles.

    Every kind of update is filtered (messages, edits, buttons, chat member changes,
    inline queries, ...), not only the ones the router handles today, so a handler added
    later for another kind is closed too. An update that carries no person has no
    `user` and never passes. Only aiogram's internal "update" and "error" observers are
    left alone. Returns the router.
    """
    for name, observer in router.observers.items():
        if name not in INTERNAL_UPDATE_TYPES:
            observer.filter(role_filter)
    return router
