"""Role filters. They sit on routers, so a whole feature is closed to other roles at once."""

from __future__ import annotations

from typing import Any

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


def restrict(router: Any, role_filter: HasRole) -> None:
    """Close every message and button of a router to other roles."""
    router.message.filter(role_filter)
    router.callback_query.filter(role_filter)
