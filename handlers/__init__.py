"""One aiogram Router per feature. Order matters: the fallback router comes last."""

from __future__ import annotations

from aiogram import Router

from handlers import fallback, help, language, privacy, staff, start


def feature_routers() -> list[Router]:
    return [
        start.router,
        language.router,
        help.router,
        privacy.router,
        staff.router,
        fallback.router,  # last: catches what nothing else did
    ]
