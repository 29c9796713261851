"""Limits, as people meet them: Telegram's 429s, per-chat pacing, a flooding account, groups."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.rate_limit import ChatPace, RateLimitMiddleware
from core.priority import Priority, priority
from db import users
from emulator import FakeBotAPI, FakeUser
from handlers.ui import send_parts
from tests.harness import BotUnderTest, join, start_bot

APOLOGY = "Sorry, something went wrong on our side. Please try again in a minute."
SLOW_DOWN = "Too many messages at once; please wait a few seconds."
HELP = "This bot helps you"
_message_ids = itertools.count(10_000)


@pytest.fixture
async def app(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    """The bot with the production pace per chat and throttle (other tests relax them)."""
    async with start_bot(api, tmp_path, production_limits=True) as running:
        yield running


def unpaced_chats(app: BotUnderTest) -> None:
    """Replies to one chat go out at once, the throttle and the 30/s staying as deployed.

    For the flood tests: they are about which updates the throttle lets through, and
    Telegram's pace in the flooder's chat (a reply a second) would only make them wait.
    """
    for middleware in app.app.bot.session.middleware:
        if isinstance(middleware, RateLimitMiddleware):
            middleware.chats = ChatPace(burst=middleware.chats.burst, interval=0.001)


def no_apology(person: FakeUser) -> bool:
    return all(APOLOGY not in m.body for m in person.bot_messages)


def raw_message(
    person: FakeUser, text: str, chat: dict[str, object] | None = None
) -> dict[str, object]:
    """A message update as Telegram would send it, queued without waiting for the bot."""
    return {
        "message": {
            "message_id": next(_message_ids),
            "date": 1_700_000_000,
            "chat": chat or person.record.as_chat(),
            "from": person.record.as_user(),
            "text": text,
        }
    }


# -- Telegram's 429 on other methods than sendMessage ---------------------------------------


async def test_a_429_on_an_edit_is_waited_out_and_the_edit_arrives(app: BotUnderTest) -> None:
    person = await app.client(5001)
    [picker] = await person.command("language")
    app.api.fail_next("editMessageText", 429, retry_after=1)
    await person.press("English")
    assert ("editMessageText", 429, "Too Many Requests: retry after 1") in app.api.errors
    edited = next(m for m in person.messages if m.message_id == picker.message_id)
    assert edited.text == "Language: English ✓"
    assert "Done. I will speak English now." in person.last.body
    assert no_apology(person)


async def test_a_429_on_a_button_answer_is_waited_out(app: BotUnderTest) -> None:
    person = await app.client(5002)
    await person.command("language")
    app.api.fail_next("answerCallbackQuery", 429, retry_after=1)
    await person.press("English")
    assert [e for e in app.api.errors if e[0] == "answerCallbackQuery"]
    assert person.last_callback_answer is not None
    assert app.api.unanswered_callbacks == []
    assert no_apology(person)


async def test_a_429_on_the_command_menu_is_waited_out(app: BotUnderTest) -> None:
    person = await app.client(5003)
    await person.command("language")
    app.api.fail_next("setMyCommands", 429, retry_after=1)
    await person.press("Русский")
    assert [e for e in app.api.errors if e[0] == "setMyCommands"]
    descriptions = {c["command"]: c["description"] for c in app.api.commands_for(5003)}
    assert descriptions["help"] == "Что умеет бот"
    assert no_apology(person)


class _Seen(logging.Handler):
    """Sets an event when the bot logs a record (here: that it read a 429 and paused)."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.event.set()


async def test_a_429_in_one_chat_pauses_a_send_to_another_chat(app: BotUnderTest) -> None:
    first, second = await app.client(5004), await app.client(5005)
    await app.api.wait_idle()
    loop = asyncio.get_running_loop()
    paused = _Seen()
    logging.getLogger("bot.rate_limit").addHandler(paused)
    try:
        app.api.fail_next("sendMessage", 429, retry_after=1)
        to_first = asyncio.create_task(app.app.bot.send_message(first.id, "to the first"))
        async with asyncio.timeout(2):
            await paused.event.wait()  # the bot has read the 429
        told_to_wait = loop.time()
        await app.app.bot.send_message(second.id, "to the second")
        assert loop.time() - told_to_wait >= 0.8  # held back by the other chat's 429
        await to_first
    finally:
        logging.getLogger("bot.rate_limit").removeHandler(paused)
    assert first.last.text == "to the first"
    assert second.last.text == "to the second"
    assert [e[1] for e in app.api.errors] == [429]


# -- per-chat pacing -----------------------------------------------------------------------------


async def test_a_reply_in_six_parts_arrives_in_order_and_paced(app: BotUnderTest) -> None:
    person = app.user(5006)
    person.record.started = True  # pressed Start long ago: the chat has its full burst
    loop = asyncio.get_running_loop()
    # Six parts of 41 lines: 4,058 characters each, so the next line never fits.
    parts = ["\n".join([f"Part {n} ".ljust(98, "x")] + ["x" * 98] * 40) for n in range(1, 7)]
    arrived: list[float] = []

    async def watch() -> None:
        for count in range(1, 7):

            def arrived_yet(n: int = count) -> bool:
                return len(person.bot_messages) >= n

            await app.api.state.wait_until(arrived_yet, 10)
            arrived.append(loop.time())

    watching = asyncio.create_task(watch())
    await send_parts(app.app.bot, person.id, "\n".join(parts))  # the import report's way
    await watching
    assert [m.body[:6] for m in person.bot_messages] == [f"Part {n}" for n in range(1, 7)]
    assert arrived[2] - arrived[0] < 0.5  # a short burst goes at once
    # Then about one a second, counted from the chat's first message: the third may have
    # waited a little for the bot's overall budget (busy setting menus at start-up).
    assert arrived[3] - arrived[0] >= 0.8
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrived[3:])]
    assert all(gap >= 0.8 for gap in gaps), gaps


# -- one account flooding the bot ------------------------------------------------------------


async def test_a_flooding_account_is_throttled_and_others_are_served_promptly(
    app: BotUnderTest,
) -> None:
    unpaced_chats(app)
    flooder, other = await app.client(5007), await app.client(5008)
    await app.api.wait_idle()
    before = len(flooder.bot_messages)
    for n in range(60):
        app.api.push_update(raw_message(flooder, f"flood {n}"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen = other.bot_messages[-1].message_id
    asking = asyncio.create_task(other.command("help"))
    await other.wait_for(lambda m: m.message_id > seen and HELP in m.body, timeout=3)
    assert loop.time() - started < 2  # not queued behind the flood
    await asking
    await flooder.wait_for(SLOW_DOWN, timeout=40)
    await app.api.wait_idle(timeout=40)
    replies = [m.text for m in flooder.bot_messages[before:]]
    assert replies.count(SLOW_DOWN) == 1  # told once per window, not once per message
    # At most 20 updates in the window are handled (two went on /start and the language).
    assert 15 <= replies.count("Please choose from the menu below.") <= 20
    assert len(replies) <= 21  # not 60


async def test_a_flooding_button_presser_is_answered_with_the_notice(app: BotUnderTest) -> None:
    person = await app.client(5009, "ru")
    await person.command("language")
    app.api.callback_answers.clear()
    presses = [asyncio.create_task(person.press_data("forged")) for _ in range(30)]
    await asyncio.gather(*presses)
    await app.api.wait_idle()
    answers = [a.text for a in app.api.callback_answers]
    assert (
        answers.count("Слишком много сообщений сразу. Подождите, пожалуйста, несколько секунд.")
        == 1
    )
    assert len(answers) <= 21  # the rest were dropped unhandled


async def test_a_help_request_in_the_middle_of_a_flood_is_never_dropped(
    app: BotUnderTest,
) -> None:
    unpaced_chats(app)
    officer = await app.caseworker(5011, "Officer")
    person = await join(app, officer, 5012)
    await app.settle()
    for n in range(40):
        app.api.push_update(raw_message(person, f"flood {n}"))
    await person.wait_for(SLOW_DOWN, timeout=40)
    replies = await person.send("🆘 I need help")  # over the limit, but the sacred path
    assert any("Your officer has been alerted" in r.body for r in replies)
    await officer.wait_for("pressed «I need help»")


# -- groups (F22) -------------------------------------------------------------------------------


async def test_a_group_message_creates_no_user_and_sets_no_menu(app: BotUnderTest) -> None:
    member = app.user(7201)  # known to Telegram, never opened the bot
    group = {"id": -100777, "type": "group", "title": "Some group"}
    app.api.push_update(raw_message(member, "hello everyone", chat=group))
    app.api.push_update(raw_message(member, "/help", chat=group))
    await app.api.wait_idle()
    assert await users.get(app.db, 7201) is None
    assert ("chat:7201", "") not in app.api.commands
    assert not [p for p in app.api.calls("sendMessage") if p.get("chat_id") == -100777]


async def test_being_added_to_a_group_changes_nothing(app: BotUnderTest) -> None:
    admin_of_group = app.user(7202)
    bot = app.api.state.bot_user
    app.api.push_update(
        {
            "my_chat_member": {
                "chat": {"id": -100778, "type": "supergroup", "title": "Another group"},
                "from": admin_of_group.record.as_user(),
                "date": 1_700_000_000,
                "old_chat_member": {"status": "left", "user": bot},
                "new_chat_member": {"status": "member", "user": bot},
            }
        }
    )
    await app.api.wait_idle()
    assert await users.get(app.db, 7202) is None
    assert ("chat:7202", "") not in app.api.commands
    assert not [p for p in app.api.calls("sendMessage") if p.get("chat_id") == -100778]


# -- 30 messages a second overall ------------------------------------------------------------


async def test_sending_keeps_within_30_messages_per_second_and_honours_429(
    app: BotUnderTest,
) -> None:
    people = [app.user(200 + i) for i in range(45)]
    for person in people:
        await person.send("hi")
    app.api.errors.clear()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(app.app.bot.send_message(p.id, "notice") for p in people))
    elapsed = loop.time() - started
    assert elapsed >= 1.0  # 45 messages need a second window
    assert [e for e in app.api.errors if e[1] == 429] == []
    assert all(p.last.text == "notice" for p in people)

    app.api.fail_next("sendMessage", status=429, retry_after=1)
    await app.app.bot.send_message(people[0].id, "after a 429")
    assert [m.text for m in people[0].bot_messages].count("after a 429") == 1
    assert len([e for e in app.api.errors if e[1] == 429]) == 1


# -- one budget for the whole bot: replies first ---------------------------------------------


@pytest.mark.parametrize("backlog", [Priority.BROADCAST, Priority.REMINDER], ids=lambda p: p.name)
async def test_a_button_press_is_answered_promptly_while_a_backlog_drains(
    app: BotUnderTest, backlog: Priority
) -> None:
    api = app.api
    api.latency = 0.05  # some network: 25 ms each way
    person = await app.client(5201)
    [home] = await person.press("📋 Services")
    assert home.reply_markup is not None
    category = home.reply_markup["inline_keyboard"][0][0]["callback_data"]
    recipients = list(range(6000, 6240))  # 8 s of messages at Telegram's 30/s
    for chat in recipients:
        api.user(chat).record.started = True
    delivered = 0

    async def send(chat: int) -> None:
        nonlocal delivered
        with priority(backlog):
            await app.app.bot.send_message(chat, "Job fair on Friday")
        delivered += 1

    # All at once: ~200 wait in the budget when the press comes (first come, first
    # served would answer it after them, ~7 s later).
    senders = [asyncio.create_task(send(chat)) for chat in recipients]
    await api.state.wait_until(lambda: delivered >= 45, 10)
    loop = asyncio.get_running_loop()
    pressed = loop.time()
    query_id = "press-during-backlog"
    api.state.callbacks[query_id] = person.id
    api.push_update(
        {
            "callback_query": {
                "id": query_id,
                "from": person.record.as_user(),
                "message": home.raw,
                "chat_instance": "1",
                "data": category,
            }
        }
    )
    assert await api.state.wait_until(lambda: query_id not in api.state.callbacks, 5)
    answered = loop.time() - pressed
    edited = home.edit_date is not None  # the screen changed to the category, in place
    still_queued = len(recipients) - delivered
    await asyncio.gather(*senders)
    assert answered < 1.5
    assert still_queued > 100  # the backlog was far from drained
    assert edited
    assert api.flood_refusals == []  # and Telegram's 30/s was kept throughout
