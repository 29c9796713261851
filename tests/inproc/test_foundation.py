"""The base every feature stands on, driven as a person would through the fake Bot API."""

from __future__ import annotations

import pytest

from db import users
from tests.harness import ADMIN_ID, BotUnderTest

GREETINGS = {
    "kk": ("Қазақша", "«Сен қоғамға керексің!»", "❓ Нұсқаулық"),
    "ru": ("Русский", "«Ты нужен обществу!»", "❓ Справка"),
    "en": ("English", "«Society needs you!»", "❓ How to use"),
}


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_first_start_picks_a_language_and_greets_in_it(
    app: BotUnderTest, language: str
) -> None:
    person = app.user(101, language_code="en")
    [picker] = await person.start()
    assert "Choose your language" in picker.body
    assert person.buttons() == [["Қазақша", "Русский", "English"]]

    button, programme, help_label = GREETINGS[language]
    replies = await person.press(button)
    assert any(programme in r.body for r in replies)
    assert help_label in [b for row in person.reply_buttons() for b in row]
    saved = await users.get(app.db, 101)
    assert saved is not None
    assert saved.language == language
    # The chat's own command menu is in the chosen language.
    descriptions = {c["command"]: c["description"] for c in app.api.commands_for(101)}
    expected_help = {
        "kk": "Бот не істей алады",
        "ru": "Что умеет бот",
        "en": "What this bot can do",
    }
    assert descriptions["help"] == expected_help[language]


async def test_second_start_shows_the_main_menu_without_the_picker(app: BotUnderTest) -> None:
    person = await app.client(102, "ru")
    [reply] = await person.start()
    assert "«Ты нужен обществу!»" in reply.body
    assert person.reply_buttons()


async def test_language_can_change_at_any_time_and_the_next_message_follows(
    app: BotUnderTest,
) -> None:
    person = await app.client(103, "en")
    await person.press("🌐 Language")
    replies = await person.press("Қазақша")
    assert any("Дайын" in r.body for r in replies)
    assert "🌐 Тіл" in [b for row in person.reply_buttons() for b in row]
    [reply] = await person.command("help")
    assert "Бұл бот" in reply.body
    assert app.api.commands_for(103)[0]["description"] == "Басты мәзір"
    # The old English keyboard still works after the switch.
    [reply] = await person.send("❓ How to use")
    assert "Бұл бот" in reply.body
    # So does a keyboard from before «❓ Help» was renamed (it sat beside «🆘 I need help»).
    [reply] = await person.send("❓ Help")
    assert "Бұл бот" in reply.body


async def test_telegram_language_is_used_until_one_is_chosen(app: BotUnderTest) -> None:
    person = app.user(104, language_code="ru")
    [reply] = await person.send("/help")
    assert "Этот бот" in reply.body
    unknown = app.user(105, language_code="de")  # not ours: DEFAULT_LANGUAGE (kk)
    [reply] = await unknown.send("/help")
    assert "Бұл бот" in reply.body


async def test_help_differs_by_role(app: BotUnderTest) -> None:
    client = await app.client(106)
    caseworker = await app.caseworker(107)
    admin = await app.admin()
    texts = {}
    for name, person in (("client", client), ("caseworker", caseworker), ("admin", admin)):
        [reply] = await person.command("help")
        texts[name] = reply.text or ""
    assert "probation officer" in texts["client"]
    assert "You are a caseworker" in texts["caseworker"]
    assert "You are an administrator" in texts["admin"]
    assert len(set(texts.values())) == 3
    assert "/broadcast:" in texts["caseworker"]
    assert "/broadcast:" in texts["admin"]
    assert "/broadcast" not in texts["client"]


async def test_a_client_is_refused_a_staff_command(app: BotUnderTest) -> None:
    client = await app.client(108)
    [reply] = await client.command("staff")
    assert reply.text == "This command is only for administrators."
    [reply] = await client.command("caseload")
    assert reply.text == "This command is only for caseworkers."
    assert await app.db.fetchval("SELECT count(*) FROM audit_log WHERE actor_id = 108") == 0
    # Pressing the admin's menu label as text does not reach the staff handler either.
    [reply] = await client.send("👥 Staff")
    assert "Staff" not in reply.body
    admin = await app.admin()
    [reply] = await admin.command("staff")
    assert str(ADMIN_ID) in reply.body


async def test_staff_commands_reach_staff_through_their_chat_menu(app: BotUnderTest) -> None:
    admin = await app.admin()
    assert "staff" in [c["command"] for c in app.api.commands_for(admin.id)]
    client = await app.client(109)
    assert "staff" not in [c["command"] for c in app.api.commands_for(client.id)]
    assert "staff" not in [c["command"] for c in app.api.commands_for(999, "ru")]


async def test_a_role_given_on_the_command_line_updates_the_menu_on_the_next_message(
    app: BotUnderTest,
) -> None:
    from db.staff import add_caseworker

    person = await app.client(110)
    await add_caseworker(app.db, 110, "Dana", actor_id=None)
    [reply] = await person.command("help")
    assert "You are a caseworker" in reply.body
    saved = await users.get(app.db, 110)
    assert saved is not None
    assert saved.menu_synced == "caseworker:en"


async def test_unknown_commands_and_unexpected_content_get_a_hint(app: BotUnderTest) -> None:
    person = await app.client(111)
    [reply] = await person.command("frobnicate")
    assert "/help" in reply.body
    [reply] = await person.send_sticker()
    assert reply.text == "I understand text and buttons. Please choose from the menu below."
    [reply] = await person.send_voice()
    assert "menu" in reply.body
    [reply] = await person.send("<b>hi</b> & " + "x" * 4000)
    assert reply.text == "Please choose from the menu below."


async def test_forged_callback_data_is_refused_and_changes_nothing(app: BotUnderTest) -> None:
    person = await app.client(112, "en")
    await person.press("🌐 Language")
    for forged in ("lang:xx", "lang", "caseload:999:open", "x" * 64):
        await person.press_data(forged)
        answer = person.last_callback_answer
        assert answer is not None
        assert answer.text == "This button is no longer active. Please use the menu."
    saved = await users.get(app.db, 112)
    assert saved is not None
    assert saved.language == "en"
    assert app.api.unanswered_callbacks == []


async def test_a_failing_handler_apologises_and_the_bot_keeps_serving(app: BotUnderTest) -> None:
    first = await app.client(113)
    app.api.fail_next("sendMessage", status=500)  # the /help reply fails inside the handler
    [reply] = await first.command("help")
    assert reply.text == "Sorry, something went wrong on our side. Please try again in a minute."
    second = await app.client(114, "ru")
    [reply] = await second.command("help")
    assert "Этот бот" in reply.body


async def test_group_chats_are_not_served(app: BotUnderTest) -> None:
    person = await app.client(115)
    before = len(app.api.requests)
    app.api.push_update(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -100, "type": "group", "title": "g"},
                "from": {"id": 115, "is_bot": False, "first_name": "T"},
                "text": "/help",
            }
        }
    )
    await app.api.wait_idle()
    assert not [
        m for m, p in app.api.requests[before:] if m == "sendMessage" and p.get("chat_id") == -100
    ]
    assert person.last is not None
