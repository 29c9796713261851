"""The .ics file sent with every confirmation, move and cancellation (RFC 5545, `icalendar`).

A phone calendar updates the event it already has when the file carries the same UID
and a higher SEQUENCE (a move), and removes it on METHOD:CANCEL; so the UID is kept
across moves (`appointments.uid`) and the SEQUENCE is the row's, raised on every change.
Times are written in UTC (DTSTART ...Z): every calendar shows them in its own zone.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import BufferedInputFile
from icalendar import Calendar, Event, vGeo

from db.appointments import Appointment, Status

PRODUCT = "-//Jana Jol//appointments//EN"


def ics_bytes(appointment: Appointment, summary: str, now: datetime) -> bytes:
    """The appointment as one calendar object: REQUEST while it stands, CANCEL once cancelled.
    `summary` is the event title in the client's language (no names of people)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    cancelled = appointment.status is Status.CANCELLED
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", summary)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if appointment.place:
        event.add("location", appointment.place)
    if appointment.latitude is not None and appointment.longitude is not None:
        event.add("geo", vGeo((appointment.latitude, appointment.longitude)))
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def ics_file(appointment: Appointment, summary: str, now: datetime) -> BufferedInputFile:
    """The .ics as a document to send (the name tells the phone what to open it with)."""
    name = "cancelled.ics" if appointment.status is Status.CANCELLED else "appointment.ics"
    return BufferedInputFile(ics_bytes(appointment, summary, now), filename=name)
