"""Appointments: reception hours, booking without double booking, reminders that take an
answer, calendar files, attendance. The use cases are in services/appointments.py, the
queries in db/appointments.py, slot and reminder arithmetic in core/reception.py.

Client side (create_client_router):
booking.py       the month calendar of free days, free times, confirm (also moving one)
mine.py          /appointments and the menu button: upcoming ones, cancel, move
answers.py       the answers a reminder takes («I'll be there», move, a problem)

Caseworker side (create_staff_router):
reception.py     reception hours inside /hours: days, time, slot length, place, extra slots, days off
agenda.py        /today and the day picker: the agenda, attended / no-show
assign.py        a mandatory visit assigned from the client card; the card's lines and button
staff_ui.py      what those three share: the caseworker's zone and days, short day labels

Both:
callbacks.py     callback data shared between the screens
calendar_file.py the .ics file sent with every confirmation, move and cancellation
timed.py         the engine kinds: reminders, the acknowledgement check, alerts, news
"""

from __future__ import annotations

from aiogram import Router

from handlers.appointments import agenda, answers, assign, booking, mine, reception, timed
from scheduler.engine import Engine


def create_client_router() -> Router:
    router = Router(name="appointments-client")
    router.include_routers(booking.create_router(), mine.create_router(), answers.create_router())
    return router


def create_staff_router() -> Router:
    router = Router(name="appointments-staff")
    router.include_routers(
        reception.create_router(), agenda.create_router(), assign.create_router()
    )
    return router


def register_timed_work(engine: Engine) -> None:
    timed.register(engine)
