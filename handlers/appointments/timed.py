"""The engine kinds of appointments (being built): see services/appointments.py."""

from __future__ import annotations

from scheduler.engine import Engine


def register(engine: Engine) -> None:
    """Registers the appointment kinds with the engine."""
