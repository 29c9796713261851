"""Hostile input over HTTP, through polling and the durable inbox (the high-volume runs are in
tests/inproc/test_hostile.py): what only the wire can carry, and a handful of the in-process
cases again on the deployed path."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import BotUnderTest, join
from tests.inproc.test_hostile import FORGED, HUGE, hostile_text, no_apology

FEW = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def test_a_lone_surrogate_from_the_wire_does_not_stop_polling(app: BotUnderTest) -> None:
    """JSON may carry a UTF-16 surrogate as an escape ("\\ud800") with no partner: there is
    no UTF-8 for it, so it can be neither stored nor written to the database as it is. The
    update is stored and handled with U+FFFD in its place, and the updates after it too."""
    person = app.user(67_001)
    person.record.started = True
    raw = {"message_id": 1, "date": 0, "chat": {"id": 67_001, "type": "private"},
           "from": {"id": 67_001, "is_bot": False, "first_name": "Ann\ud800"},
           "text": "hello \ud83d and \udc00 bye"}  # fmt: skip
    assert "\\ud800" in json.dumps(raw)  # how the fake sends it: an escape, as JSON allows
    app.api.push_update({"message": raw})
    replies = await person.command("help")  # the next update: polling goes on
    no_apology(replies)
    stored = await app.db.fetchval("SELECT count(*) FROM users WHERE telegram_id = 67001")
    assert stored == 1


@FEW
@given(text=st.one_of(hostile_text(), HUGE), data=FORGED)
async def test_hostile_text_and_buttons_over_http(app: BotUnderTest, text: str, data: str) -> None:
    officer = app.user(67_101)
    if await app.db.fetchval("SELECT role FROM users WHERE telegram_id = 67101") != "caseworker":
        officer = await app.caseworker(67_101, "Officer")
        await join(app, officer, 67_102)
    client = app.user(67_102)
    replies = await client.command("services", text)
    no_apology(replies)
    await client.press("✉️ Message my officer")
    replies = await client.send(text)
    no_apology(replies)
    stored = await app.db.fetchval("SELECT body FROM messages ORDER BY id DESC LIMIT 1")
    assert stored == text[:4096]
    await officer.press_data(data)
    assert app.api.unanswered_callbacks == []
    replies = await officer.command("help")
    no_apology(replies)
