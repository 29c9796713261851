"""«🆘 I need help»: the most important path in the product.

The client is told "alerted" only when an alert is stored for a person who can act: their
own caseworker when that caseworker can be reached in Telegram, else every administrator
(an archived client, a client without an officer, an officer removed or known to have
blocked the bot). The answer and its alerts are one transaction. An alert the officer's
Telegram refuses (blocked, deleted account) is re-sent to the administrators at once
(the kind's failure hook). The client always sees the emergency numbers; when nobody at
all can be alerted, they are told so, plainly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot, html
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.menu import main_menu
from core.priority import Priority
from db import checkins, clients, scheduled, users
from db.clock import utcnow
from db.database import Database
from db.scheduled import ScheduledItem
from db.users import Role, User
from handlers.checkins.planning import HELP_ALERT
from handlers.client_card import OPEN_CARD, open_card_markup
from handlers.staff_ui import reassign_markup
from handlers.texts import emergency_numbers
from scheduler.context import Delivery
from scheduler.engine import Engine
from scheduler.outcomes import SENT, Drop, Outcome

log = logging.getLogger(__name__)

TO_OFFICER = N_("🆘 {name} pressed «I need help» ({time}). Please contact them as soon as you can.")
TO_ADMIN = N_(
    "🆘 {name} pressed «I need help» ({time}). {why} Please make sure someone contacts them."
)
WHY = {
    "archived": N_("The client is archived; their last officer: {officer}."),
    "no_officer": N_("The client has no probation officer in the bot."),
    "officer_gone": N_("Their officer {officer} is no longer a caseworker in the bot."),
    "officer_unreachable": N_(
        "Telegram does not deliver to their officer {officer} (blocked the bot or deleted the account)."
    ),
}
REASSIGN = N_("👥 Reassign")


@dataclass(frozen=True)
class Route:
    recipients: list[int]
    why: str | None  # None: to the client's own officer; else why the administrators


async def route(db: Database, client_id: int) -> Route:
    client = await clients.get(db, client_id)
    if client is None:
        why = "no_officer"
    elif client.status != "active":
        why = "archived"
    else:
        officer = await users.get(db, client.caseworker_id)
        if officer is None or officer.role is not Role.CASEWORKER:
            why = "officer_gone"
        elif officer.unreachable:
            why = "officer_unreachable"
        else:
            return Route([officer.telegram_id], None)
    return Route([admin.telegram_id for admin in await users.admins(db)], why)


def _alert_key(checkin_id: int, recipient_id: int) -> str:
    return f"checkin-help:{checkin_id}:{recipient_id}"


async def ask_for_help(bot: Bot, user: User, db: Database, engine: Engine, update_id: int) -> None:
    """Records the help answer and stores its alerts in one transaction, then answers in
    the client's chat (a reminder pressed days later has no message left to answer under)."""
    path = await route(db, user.telegram_id)
    now = utcnow()
    async with db.transaction() as conn:
        recorded = await checkins.answer_in(conn, user.telegram_id, "help", now, f"u{update_id}")
        at = (recorded.answered_at or now).isoformat()
        for recipient in path.recipients:
            payload: dict[str, Any] = {"client": user.telegram_id, "at": at, "checkin": recorded.id}
            if path.why is not None:
                payload["why"] = path.why
            await scheduled.schedule_in(
                conn,
                kind=HELP_ALERT,
                recipient_id=recipient,
                due_at=now,
                now=now,
                payload=payload,
                dedupe_key=_alert_key(recorded.id, recipient),
            )
    engine.poke(now)
    if not path.recipients:
        log.error("A help request reached nobody: no caseworker and no administrators")
        text = _(
            "We could not alert anyone in the bot right now. If you are in danger or need help urgently, call:"
        )
    elif path.why is None:
        text = _("Your officer has been alerted and will contact you as soon as possible.")
    else:
        text = _(
            "Your officer cannot be reached in the bot right now, so the programme administrators have been alerted."
        )
    await bot.send_message(
        user.telegram_id, text + "\n\n" + emergency_numbers(), reply_markup=main_menu(user)
    )


# -- the engine kind -----------------------------------------------------------------------


async def _escalate(engine: Engine, item: ScheduledItem, why: str) -> None:
    """The officer cannot get this alert: every administrator gets it now."""
    checkin_id = int(item.payload.get("checkin", 0))
    async with engine.db.transaction() as conn:
        admins = await users.admins(engine.db)
        for admin in admins:
            await scheduled.schedule_in(
                conn,
                kind=HELP_ALERT,
                recipient_id=admin.telegram_id,
                due_at=engine.now(),
                now=engine.now(),
                payload={**item.payload, "why": why},
                dedupe_key=_alert_key(checkin_id, admin.telegram_id),
            )
    if not admins:
        log.error("A help alert could not reach the officer and there are no administrators")
    engine.poke(engine.now())


async def help_alert(item: ScheduledItem, delivery: Delivery) -> Outcome:
    """Urgent: no quiet hours, never dropped for lateness."""
    db = delivery.db
    client = await clients.get(db, int(item.payload.get("client", 0)))
    if client is None:
        return Drop("no_client")  # deleted their data meanwhile
    at = delivery.local_time(datetime.fromisoformat(str(item.payload["at"])))
    name = html.quote(client.name)
    why = item.payload.get("why")
    if why is None:
        officer = await users.get(db, item.recipient_id)
        if (
            officer is None
            or officer.role is not Role.CASEWORKER
            or client.caseworker_id != item.recipient_id
        ):
            # Removed or reassigned since the alert was stored.
            await _escalate(delivery.engine, item, "officer_gone")
            return Drop("officer_gone")
        buttons = open_card_markup(delivery.gettext(OPEN_CARD), client.telegram_id)
        text = delivery.gettext(TO_OFFICER, name=name, time=at)
    else:
        officer = await users.get(db, client.caseworker_id)
        officer_name = html.quote((officer.display_name if officer else None) or "—")
        reason = delivery.gettext(WHY.get(str(why), WHY["no_officer"]), officer=officer_name)
        buttons = reassign_markup(delivery.gettext(REASSIGN), client.telegram_id)
        text = delivery.gettext(TO_ADMIN, name=name, time=at, why=reason)
    await delivery.send_message(text, reply_markup=buttons)
    return SENT


def failure_hook(engine: Engine) -> Any:
    async def failed(item: ScheduledItem, reason: str) -> None:
        if item.payload.get("why") is None:  # to the officer: the administrators get it now
            await _escalate(engine, item, "officer_unreachable")
        else:
            log.error("A help alert to an administrator failed: %s", reason)

    return failed


def register(engine: Engine) -> None:
    engine.register(HELP_ALERT, help_alert, on_failed=failure_hook(engine), priority=Priority.ALERT)
