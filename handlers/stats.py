"""/stats: programme figures as text and a 12-week chart, for staff.

An administrator sees the whole programme (with each caseworker's caseload); a caseworker
sees only their own clients, counted by `services/stats.py` with their id, whatever they
send. The text goes first; the chart is drawn in a child process (`core/charts.py`), so
matplotlib never enters the bot's memory, and a chart that fails or takes too long leaves
the text with a short note.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram import Bot, Router, html
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message, TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent

from bot.config import Settings
from bot.i18n import say_datetime
from bot.menu import Label, MenuButton
from core.charts import ChartError, ChartRenderer
from db.clock import utcnow
from db.database import Database
from db.users import Role, User
from handlers.ui import send_parts
from services import stats
from services.stats import Stats

log = logging.getLogger(__name__)

RENDER_TIMEOUT = 60.0  # seconds: the first chart builds matplotlib's font cache


def number(value: int, locale: str) -> str:
    return str(format_decimal(value, locale=locale))


def percent(value: float, locale: str) -> str:
    return str(format_percent(value, locale=locale))


def share(part: int, whole: int, locale: str) -> str:
    """«85% (34 of 40)», or a dash when there was nothing to count."""
    if not whole:
        return "—"
    return _("{percent} ({part} of {whole})").format(
        percent=percent(part / whole, locale),
        part=number(part, locale),
        whole=number(whole, locale),
    )


def stats_text(result: Stats, locale: str) -> str:
    def n(value: int) -> str:
        return number(value, locale)

    programme = result.caseworker_id is None
    week, month = result.windows[7], result.windows[28]
    lines = [
        _("<b>📊 Programme statistics</b>") if programme else _("<b>📊 My clients: statistics</b>"),
        _("As of: {when}").format(when=say_datetime(result.now, result.zone)),
        "",
        _("<b>Clients</b>"),
        _("Active: {active} · unreachable: {unreachable}").format(
            active=n(result.current.active), unreachable=n(result.current.unreachable)
        ),
        "",
        _("<b>Check-ins answered</b>"),
        _("Last 7 days: {share}").format(
            share=share(week.checkins_answered, week.checkins_due, locale)
        ),
        _("Last 28 days: {share}").format(
            share=share(month.checkins_answered, month.checkins_due, locale)
        ),
        "",
        _("<b>Visits, last 28 days</b>"),
        _("Attended: {attended} · no-show: {no_show} · cancelled: {cancelled}").format(
            attended=n(month.appointments_attended),
            no_show=n(month.appointments_no_show),
            cancelled=n(month.appointments_cancelled),
        ),
        "",
        _("<b>Broadcasts, last 28 days</b>"),
        _("Broadcasts: {count} · delivered: {share} · unreachable: {unreachable}").format(
            count=n(month.broadcasts),
            share=share(month.broadcast_delivered, month.broadcast_recipients, locale),
            unreachable=n(month.broadcast_unreachable),
        ),
    ]
    if programme:
        lines += [
            "",
            _("<b>Directory, last 28 days</b>"),
            _("Searches: {searches} · cards opened: {cards}").format(
                searches=n(month.directory_searches), cards=n(month.directory_card_views)
            ),
        ]
    if result.caseloads is not None:
        lines += ["", _("<b>Caseworkers: active clients</b>")]
        if not result.caseloads:
            lines.append(_("No caseworkers yet."))
        for load in result.caseloads:
            line = _("• {name}: {active}").format(name=html.quote(load.name), active=n(load.active))
            if load.unreachable:
                line += " " + _("(unreachable: {count})").format(count=n(load.unreachable))
            lines.append(line)
    return "\n".join(lines)


def chart_spec(result: Stats, locale: str) -> dict[str, Any]:
    """Everything the chart says, translated and formatted here: the child only draws."""
    programme = result.caseworker_id is None
    compliance = [stats.compliance(w.counts) for w in result.weeks]
    return {
        "title": _("Last 12 weeks: the programme") if programme else _("Last 12 weeks: my clients"),
        "x_label": _("Week starting"),
        "x_ticks": [str(format_skeleton("MMMd", w.start, locale=locale)) for w in result.weeks],
        "panels": [
            {
                "y_label": _("Answered"),
                "percent": True,
                "y_tick_labels": [[v, percent(v / 100, locale)] for v in range(0, 101, 20)],
                "series": [
                    {
                        "label": _("Check-ins answered"),
                        "kind": "line",
                        "values": [None if c is None else round(c * 100, 1) for c in compliance],
                    }
                ],
            },
            {
                "y_label": _("Clients"),
                "percent": False,
                "series": [
                    {
                        "label": _("Active clients"),
                        "kind": "line",
                        "values": [w.counts.active_clients for w in result.weeks],
                    }
                ],
            },
            {
                "y_label": _("Visits"),
                "percent": False,
                "series": [
                    {
                        "label": _("Attended"),
                        "kind": "bar",
                        "values": [w.counts.appointments_attended for w in result.weeks],
                    },
                    {
                        "label": _("No-show"),
                        "kind": "bar",
                        "values": [w.counts.appointments_no_show for w in result.weeks],
                    },
                ],
            },
        ],
    }


def chart_folder(settings: Settings) -> Path:
    """matplotlib's cache (fonts), beside the database: private, kept between charts."""
    return Path(settings.database_path).parent / "chart-cache"


async def show_stats(
    message: Message,
    user: User,
    db: Database,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
    charts: ChartRenderer,
) -> None:
    # Only an administrator sees the programme; a caseworker only their own caseload.
    scope = None if user.role is Role.ADMIN else user.telegram_id
    locale = i18n.current_locale
    result = await stats.collect(
        db, caseworker_id=scope, zone=settings.zone_for(user.timezone), now=utcnow()
    )
    chat_id = message.chat.id
    await send_parts(bot, chat_id, stats_text(result, locale))
    spec = chart_spec(result, locale)
    with contextlib.suppress(TelegramAPIError):  # "sending a photo…" while it is drawn
        await bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    try:
        png = await charts.render(spec)
    except ChartError as exc:
        log.warning("No /stats chart: %s", exc)
        await message.answer(
            _("The chart could not be drawn this time. The figures above are complete.")
        )
        return
    await bot.send_photo(
        chat_id,
        BufferedInputFile(png, filename="stats.png"),
        caption=spec["title"],
    )


def create_router() -> Router:
    router = Router(name="stats")
    charts = ChartRenderer(timeout=RENDER_TIMEOUT)  # per application, like the router

    async def with_charts(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if charts.config_dir is None:
            charts.config_dir = chart_folder(data["settings"])
        data["charts"] = charts
        return await handler(event, data)

    router.message.middleware(with_charts)
    router.message.register(show_stats, Command("stats", ignore_case=True))
    router.message.register(show_stats, MenuButton(Label.STATS))
    return router
