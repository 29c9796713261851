"""Notices: storing is a service that needs no handlers; every declared code has a renderer."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from db.database import Database
from services import notices


async def test_an_undeclared_notice_is_refused_before_anything_is_stored(db: Database) -> None:
    with pytest.raises(ValueError, match="unknown notice 'no_such_notice'"):
        async with db.transaction() as conn:
            await notices.notify_in(conn, recipient_id=1, code="no_such_notice")
    assert await db.fetchval("SELECT count(*) FROM scheduled_items") == 0


def test_the_engine_does_not_start_with_a_notice_nobody_renders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    importlib.import_module("handlers")  # every feature registers its renderers at import
    from handlers import notices as rendering

    registered: list[str] = []

    class Recorder:
        def register(self, kind: str, *args: object, **kwargs: object) -> None:
            registered.append(kind)

    rendering.register(Recorder())  # type: ignore[arg-type]
    assert registered == ["notice"]

    monkeypatch.setattr(notices, "_DECLARED", notices.declared() | {"forgotten"})
    with pytest.raises(ValueError, match="notices without a renderer: forgotten"):
        rendering.register(Recorder())  # type: ignore[arg-type]


def test_the_command_line_reassigns_without_loading_handlers() -> None:
    """bot/cli.py's `admin reassign` imports services.assignment alone."""
    code = (
        "import sys, services.assignment; from services.notices import declared; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'handlers', 'bot'}), "
        "sorted(declared()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] ['client_assigned', 'client_moved', 'new_officer']"
