"""One aiogram Router per feature, each built by its module's `create_router()`.

Routers are built per application (not at import) so that tests can run several
bots in one process. Order matters: the fallback router comes last.
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    directory,
    directory_admin,
    fallback,
    help,
    language,
    privacy,
    staff,
    start,
)


def feature_routers() -> list[Router]:
    return [
        start.create_router(),
        language.create_router(),
        help.create_router(),
        privacy.create_router(),
        staff.create_router(),
        directory_admin.create_router(),  # admins only: before the public directory router
        directory.create_router(),
        fallback.create_router(),  # last: catches what nothing else did
    ]
