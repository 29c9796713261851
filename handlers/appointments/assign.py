"""Appointments: see handlers/appointments/__init__.py (being built)."""

from __future__ import annotations

from aiogram import Router


def create_router() -> Router:
    return Router(name="appointments-assign")
