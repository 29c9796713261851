"""The client card's registries, its keyboard layout, and the staff-side callback data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.filters.callback_data import CallbackData

import handlers  # noqa: F401  (every feature registers its card parts at import)
from bot.config import Settings
from bot.i18n import create_i18n
from db import clients, users
from db.clock import to_db
from db.database import Database
from db.users import Role
from handlers.caseload import CaseloadPage
from handlers.checkins.schedule_ui import (
    Pattern,
    ScheduleAction,
    ScheduleDay,
    ScheduleDraft,
    ScheduleMenu,
    ScheduleStep,
)
from handlers.client_card import (
    CardAction,
    CardButton,
    CardContext,
    CardRegistry,
    ClientAction,
    ClientCard,
    card_buttons,
    card_keyboard,
    card_lines,
    render_card,
)
from handlers.messaging.callbacks import ClientMessages, MessagesAction
from handlers.staff_ui import StaffCaseworker, StaffClient, StaffReassign

BIG_ID = 9_999_999_999_999  # larger than any Telegram user id


def _button(text: str, *, wide: bool = False) -> CardButton:
    return CardButton(text, ClientCard(client_id=1), wide=wide)


async def test_contributions_come_in_order_ties_in_registration_order_and_once() -> None:
    registry: CardRegistry[str] = CardRegistry()

    def contributes(*lines: str):  # type: ignore[no-untyped-def]
        async def contribution(card: CardContext) -> list[str]:
            return list(lines)

        return contribution

    late, first, tie_a, tie_b = (
        contributes("late"),
        contributes("a", "b"),
        contributes("x"),
        contributes("y"),
    )
    registry.register(90, late)
    registry.register(10, first)
    registry.register(50, tie_a)
    registry.register(50, tie_b)
    registry.register(50, tie_a)  # again: changes nothing
    assert await registry.collect(None) == ["a", "b", "x", "y", "late"]  # type: ignore[arg-type]


def test_card_buttons_pair_up_and_a_wide_one_takes_its_own_row() -> None:
    rows = card_keyboard(
        [_button("1"), _button("2"), _button("3"), _button("wide", wide=True), _button("4")]
    ).inline_keyboard
    assert [[b.text for b in row] for row in rows] == [["1", "2"], ["3"], ["wide"], ["4"]]


async def test_every_feature_adds_its_parts_to_the_card_and_a_new_one_can(db: Database) -> None:
    now = to_db(datetime.now(UTC))
    async with db.transaction() as conn:
        await users.upsert_role(conn, 1, Role.CASEWORKER, "Officer")
        await users.upsert_role(conn, 2, Role.CLIENT)
        await conn.execute(
            "INSERT INTO clients (telegram_id, caseworker_id, label, consented_at, linked_at) "
            "VALUES (2, 1, 'Case 2', ?, ?)",
            (now, now),
        )
    client = await clients.get(db, 2)
    viewer = await users.get(db, 1)
    assert client is not None
    assert viewer is not None

    async def documents_line(card: CardContext) -> list[str]:
        return [f"Documents of {card.client.name}: none"]

    async def documents_button(card: CardContext) -> list[CardButton]:
        return [CardButton("📄 Documents", ClientCard(client_id=card.client.telegram_id))]

    card_lines.register(60, documents_line)
    card_buttons.register(60, documents_button)
    i18n = create_i18n("en")
    try:
        with i18n.context(), i18n.use_locale("en"):
            text, markup = await render_card(client, viewer, db, "en", Settings())
    finally:
        card_lines.unregister(documents_line)
        card_buttons.unregister(documents_button)
    lines = text.split("\n")
    assert lines[0] == "<b>Case 2</b>"
    record = next(i for i, line in enumerate(lines) if line.startswith("Check-ins in 30 days"))
    # After check-ins (30); appointments (35) say nothing of a client without visits.
    assert lines[record + 1] == "Documents of Case 2: none"
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["✍️ Write", "📜 History"],  # messaging (10)
        ["⏰ Check-ins", "📅 Assign a visit"],  # check-ins (30), appointments (35)
        ["📄 Documents", "🗄 Archive"],  # the new feature (60), the card's own (80)
        ["⬅️ Back to list"],  # the caseload's, wide (100)
    ]


STAFF_SIDE: list[CallbackData] = [
    ClientCard(client_id=BIG_ID, edit=True),
    ClientAction(client_id=BIG_ID, action=CardAction.RESTORE),
    CaseloadPage(page=999, archived=True),
    ClientMessages(client_id=BIG_ID, action=MessagesAction.HISTORY),
    ScheduleMenu(client_id=BIG_ID),
    ScheduleAction(client_id=BIG_ID, action=ScheduleStep.LOCATION),
    ScheduleDay(client_id=BIG_ID, day=6),
    StaffCaseworker(caseworker_id=BIG_ID, page=999, edit=True),
    StaffClient(client_id=BIG_ID),
    StaffReassign(client_id=BIG_ID, caseworker_id=BIG_ID),
]


def test_staff_side_callbacks_are_versioned_distinct_and_fit_in_64_bytes() -> None:
    prefixes = [data.__prefix__ for data in STAFF_SIDE]
    assert len(set(prefixes)) == len(prefixes)
    assert all(prefix[-1].isdigit() for prefix in prefixes), prefixes
    for data in STAFF_SIDE:
        packed = data.pack()
        assert len(packed.encode()) <= 64, packed
        assert type(data).unpack(packed) == data


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"client_id": "x"},
        {"client_id": 5, "pattern": "every_n"},  # the old drift: not a stored pattern
    ],
)
def test_a_draft_that_is_not_one_reads_as_none(data: dict[str, object]) -> None:
    assert ScheduleDraft.from_data(data) is None


def test_a_draft_survives_the_fsm_storage_round_trip() -> None:
    draft = ScheduleDraft(7, Pattern.WEEKDAYS, frozenset({4, 0}))
    assert draft.to_data() == {
        "client_id": 7,
        "pattern": "weekdays",
        "weekdays": [0, 4],
        "every_n": 1,
    }
    assert ScheduleDraft.from_data(draft.to_data()) == draft
