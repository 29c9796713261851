"""Errors that stop the bot with one line for the operator (bot/cli.py prints them)."""

from __future__ import annotations


class PollingError(Exception):
    """Polling cannot go on (a refused token, another bot polling): the message says why."""
