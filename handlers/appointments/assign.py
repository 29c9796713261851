"""Caseworkers: a mandatory visit assigned from the client card («📅 Assign a visit»): the
days with free slots, the free times of a day, confirm. The client is told by a NEWS item
(rendered in timed.py) and must acknowledge the visit; one left unacknowledged is flagged.

Also what appointments put on the card: the next visit (an assigned one not acknowledged
is flagged ⚠️) and the 30-day record of visits beside the check-ins record.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from aiogram import Bot, F, Router, html
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import say_when
from db import appointments, users
from db.appointments import Origin, SlotTakenError
from db.clients import Client
from db.clock import utcnow
from db.database import Database
from db.users import User
from handlers.appointments.callbacks import (
    AssignStep,
    AssignVisit,
    pack_day,
    pack_moment,
    unpack_day,
    unpack_moment,
)
from handlers.appointments.staff_ui import hhmm, short_day, today, unacknowledged, zone_of
from handlers.client_card import (
    CardButton,
    CardContext,
    ClientCard,
    card_buttons,
    card_lines,
    owned_client,
)
from handlers.ui import Screen, edit_or_send, refuse, refuse_inactive
from scheduler.engine import Engine
from services import appointments as service

DAYS_SHOWN = 9  # days with free times on one screen
RECORD = timedelta(days=30)


# -- on the client card --------------------------------------------------------------------


async def card_lines_of_appointments(card: CardContext) -> list[str]:
    client_id = card.client.telegram_id
    upcoming = await appointments.upcoming_for_client(card.db, client_id, card.now)
    record = await appointments.attendance(card.db, client_id, card.now - RECORD)
    lines = []
    if upcoming:
        first = upcoming[0]
        when = say_when(first.starts_at, zone_of(card.settings, card.viewer), card.now)
        if unacknowledged(first):
            lines.append(
                _("📅 Next visit: {when}. ⚠️ Assigned, not acknowledged yet").format(when=when)
            )
        elif first.origin is Origin.ASSIGNED:
            lines.append(_("📅 Next visit: {when}. Assigned, acknowledged").format(when=when))
        else:
            lines.append(_("📅 Next visit: {when}. Booked by the client").format(when=when))
    if upcoming or record.attended or record.no_shows:
        lines.append(
            _("Visits in 30 days: ✅ {attended} · ❌ {missed}").format(
                attended=record.attended, missed=record.no_shows
            )
        )
    return lines


async def card_buttons_of_appointments(card: CardContext) -> list[CardButton]:
    if card.client.status != "active":
        return []
    return [
        CardButton(
            _("📅 Assign a visit"),
            AssignVisit(client_id=card.client.telegram_id, step=AssignStep.DAYS),
        )
    ]


card_lines.register(35, card_lines_of_appointments)
card_buttons.register(35, card_buttons_of_appointments)


# -- the screens ---------------------------------------------------------------------------


def _card_button(builder: InlineKeyboardBuilder, client: Client) -> None:
    builder.button(
        text=_("⬅️ Client card"), callback_data=ClientCard(client_id=client.telegram_id, edit=True)
    )


async def _free(
    db: Database, user: User, settings: Settings, first: date, last: date
) -> list[datetime]:
    """Free slots from the cutoff on: a visit assigned at shorter notice could not be
    acknowledged or planned for."""
    zone = zone_of(settings, user)
    where = await service.office(db, user.telegram_id, zone)
    earliest = utcnow() + settings.appointment_rules.cutoff
    return await service.free_slots(db, where, first, last, earliest)


def _horizon(settings: Settings, user: User) -> tuple[date, date]:
    first = today(zone_of(settings, user), utcnow())
    return first, first + timedelta(days=settings.appointment_rules.horizon_days)


async def days_screen(
    client: Client, start: date | None, user: User, db: Database, settings: Settings, locale: str
) -> Screen:
    first, last = _horizon(settings, user)
    start = min(max(start or first, first), last)
    zone = zone_of(settings, user)
    free = await _free(db, user, settings, start, last)
    days = sorted({slot.astimezone(zone).date() for slot in free})
    shown = days[:DAYS_SHOWN]
    text = _("<b>Assign a visit</b>: {name}").format(name=html.quote(client.name))
    builder = InlineKeyboardBuilder()
    if shown:
        text += "\n" + _("Choose the day (only days with free times are shown).")
    else:
        text += "\n" + _(
            "No free times ahead. Set or widen your reception hours: /hours → «📅 Reception»."
        )
    for day in shown:
        builder.button(
            text=short_day(day, locale),
            callback_data=AssignVisit(
                client_id=client.telegram_id, step=AssignStep.DAY, day=pack_day(day)
            ),
        )
    sizes = [3] * (len(shown) // 3) + ([len(shown) % 3] if len(shown) % 3 else [])
    nav = 0
    if start > first:
        builder.button(
            text=_("‹ Earlier"),
            callback_data=AssignVisit(client_id=client.telegram_id, step=AssignStep.DAYS),
        )
        nav += 1
    if len(days) > DAYS_SHOWN:
        later = shown[-1] + timedelta(days=1)
        builder.button(
            text=_("Later ›"),
            callback_data=AssignVisit(
                client_id=client.telegram_id, step=AssignStep.DAYS, day=pack_day(later)
            ),
        )
        nav += 1
    if nav:
        sizes.append(nav)
    _card_button(builder, client)
    sizes.append(1)
    builder.adjust(*sizes)
    return text, builder.as_markup()


async def times_screen(
    client: Client, day: date, user: User, db: Database, settings: Settings, locale: str
) -> Screen:
    zone = zone_of(settings, user)
    free = await _free(db, user, settings, day, day)
    text = _("<b>Assign a visit</b>: {name}").format(name=html.quote(client.name))
    text += "\n" + _("Day: {day}").format(day=short_day(day, locale))
    if free:
        text += "\n" + _("Choose the time.")
    else:
        text += "\n" + _("No free times left on this day.")
    builder = InlineKeyboardBuilder()
    for slot in free[:40]:
        builder.button(
            text=hhmm(slot, zone),
            callback_data=AssignVisit(
                client_id=client.telegram_id, step=AssignStep.SLOT, at=pack_moment(slot)
            ),
        )
    count = min(len(free), 40)
    sizes = [4] * (count // 4) + ([count % 4] if count % 4 else [])
    builder.button(
        text=_("⬅️ Other days"),
        callback_data=AssignVisit(client_id=client.telegram_id, step=AssignStep.DAYS),
    )
    sizes.append(1)
    builder.adjust(*sizes)
    return text, builder.as_markup()


async def confirm_screen(
    client: Client, at: datetime, user: User, db: Database, settings: Settings
) -> Screen:
    zone = zone_of(settings, user)
    reception = await appointments.get_reception(db, user.telegram_id)
    lines = [
        _("<b>Assign a visit?</b>"),
        _("Client: {name}").format(name=html.quote(client.name)),
        _("When: {when}").format(when=say_when(at, zone)),
    ]
    if reception.place:
        lines.append(_("Address: {place}").format(place=html.quote(reception.place)))
    hours = int(settings.appointment_rules.ack_within.total_seconds() // 3600)
    lines.append(
        "\n"
        + _(
            "The client is told at once and asked to acknowledge it. If they have not within {hours} h, you are told."
        ).format(hours=hours)
    )
    packed_day = pack_day(at.astimezone(zone).date())
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("✅ Assign"),
        callback_data=AssignVisit(
            client_id=client.telegram_id, step=AssignStep.CONFIRM, at=pack_moment(at)
        ),
    )
    builder.button(
        text=_("⬅️ Other times"),
        callback_data=AssignVisit(
            client_id=client.telegram_id, step=AssignStep.DAY, day=packed_day
        ),
    )
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


# -- handlers ------------------------------------------------------------------------------


async def _active_client(
    callback_data: AssignVisit, user: User, db: Database, callback_answer: CallbackAnswer
) -> Client | None:
    client = await owned_client(callback_data.client_id, user, db, callback_answer)
    if client is not None and client.status != "active":
        refuse(callback_answer, _("This client is archived."))
        return None
    return client


async def show_days(
    query: CallbackQuery,
    callback_data: AssignVisit,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    client = await _active_client(callback_data, user, db, callback_answer)
    if client is None:
        return
    start = unpack_day(callback_data.day) if callback_data.day else None
    screen = await days_screen(client, start, user, db, settings, i18n.current_locale)
    await edit_or_send(query, bot, *screen)


async def show_times(
    query: CallbackQuery,
    callback_data: AssignVisit,
    user: User,
    db: Database,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    client = await _active_client(callback_data, user, db, callback_answer)
    if client is None:
        return
    day = unpack_day(callback_data.day)
    first, last = _horizon(settings, user)
    if day is None or not first <= day <= last:
        refuse_inactive(callback_answer)
        return
    screen = await times_screen(client, day, user, db, settings, i18n.current_locale)
    await edit_or_send(query, bot, *screen)


def _moment(callback_data: AssignVisit, callback_answer: CallbackAnswer) -> datetime | None:
    at = unpack_moment(callback_data.at)
    if at is None or at <= utcnow():
        refuse_inactive(callback_answer)
        return None
    return at


async def show_confirm(
    query: CallbackQuery,
    callback_data: AssignVisit,
    user: User,
    db: Database,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    client = await _active_client(callback_data, user, db, callback_answer)
    if client is None:
        return
    at = _moment(callback_data, callback_answer)
    if at is None:
        return
    await edit_or_send(query, bot, *await confirm_screen(client, at, user, db, settings))


async def assign(
    query: CallbackQuery,
    callback_data: AssignVisit,
    user: User,
    db: Database,
    engine: Engine,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    client = await _active_client(callback_data, user, db, callback_answer)
    if client is None:
        return
    at = _moment(callback_data, callback_answer)
    if at is None:
        return
    zone = zone_of(settings, user)
    person = await users.get(db, client.telegram_id)
    try:
        appointment = await service.book(
            db,
            engine,
            client_id=client.telegram_id,
            where=await service.office(db, user.telegram_id, zone),
            starts_at=at,
            rules=settings.appointment_rules,
            client_zone=settings.zone_for(person.timezone if person else None),
            quiet=settings.quiet,
            origin=Origin.ASSIGNED,
        )
    except (SlotTakenError, service.BookingError):
        callback_answer.text = _("This time is no longer free.")
        day = at.astimezone(zone).date()
        text, markup = await times_screen(client, day, user, db, settings, i18n.current_locale)
        await edit_or_send(
            query, bot, _("⚠️ This time was just taken. Choose another one.") + "\n\n" + text, markup
        )
        return
    callback_answer.text = _("Visit assigned.")
    builder = InlineKeyboardBuilder()
    _card_button(builder, client)
    text = _("✅ Visit assigned: {when}. The client is told and asked to acknowledge it.").format(
        when=say_when(appointment.starts_at, zone)
    )
    await edit_or_send(query, bot, text, builder.as_markup())


def create_router() -> Router:
    router = Router(name="appointments-assign")
    on = router.callback_query.register
    on(show_days, AssignVisit.filter(F.step == AssignStep.DAYS))
    on(show_times, AssignVisit.filter(F.step == AssignStep.DAY))
    on(show_confirm, AssignVisit.filter(F.step == AssignStep.SLOT))
    on(assign, AssignVisit.filter(F.step == AssignStep.CONFIRM))
    return router
