"""The fake Bot API, exercised through a real aiogram Bot and Dispatcher over HTTP."""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ContentType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from emulator.direct import DirectSession
from emulator.models import Msg
from emulator.server import FakeBotAPI
from emulator.user import TINY_PNG, FakeUser
from emulator.wiring import run_polling

pytestmark = pytest.mark.asyncio

ALICE, BOB = 1001, 1002
NOT_MODIFIED = (
    "Telegram server says - Bad Request: message is not modified: specified new message content "
    "and reply markup are exactly the same as a current content and reply markup of the message"
)


def build_dispatcher(bot: Bot) -> Dispatcher:
    """A tiny bot touching every feature the fake has to get right."""
    dp = Dispatcher()

    @dp.message(CommandStart(deep_link=True))
    async def start_with_payload(message: Message, command: CommandObject) -> None:
        await message.answer(f"payload={html.escape(command.args or '')}")

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text="Share location", request_location=True)],
                [KeyboardButton(text="Help")],
            ],
            resize_keyboard=True,
            is_persistent=True,
        )
        await message.answer("Welcome!", reply_markup=keyboard)

    @dp.message(Command("menu"))
    async def menu(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Yes", callback_data="vote:yes"),
                    InlineKeyboardButton(text="No", callback_data="vote:no"),
                ],
                [InlineKeyboardButton(text="Site", url="https://example.org")],
            ]
        )
        await message.answer("<b>Vote</b>", reply_markup=keyboard)

    @dp.message(Command("hide"))
    async def hide(message: Message) -> None:
        await message.answer("Keyboard removed", reply_markup=ReplyKeyboardRemove())

    @dp.callback_query(F.data.startswith("vote:"))
    async def vote(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        choice = (query.data or "").removeprefix("vote:")
        await query.message.edit_text(f"You chose <i>{choice}</i>")
        await query.answer("Saved")

    @dp.callback_query()
    async def unknown_callback(query: CallbackQuery) -> None:
        await query.answer("Unknown action", show_alert=True)

    @dp.message(F.location)
    async def location(message: Message) -> None:
        assert message.location is not None
        point = message.location
        await message.answer_venue(point.latitude, point.longitude, "Office", "Abai 1")

    @dp.message(F.text == "Help")
    async def help_(message: Message) -> None:
        await message.answer("Help text")

    @dp.message(F.document)
    async def document(message: Message) -> None:
        assert message.document is not None
        data = await bot.download(message.document)
        assert data is not None
        name = message.document.file_name or ""
        await message.answer(f"{html.escape(name)}: {len(data.read())} bytes")

    @dp.message(F.photo)
    async def photo(message: Message) -> None:
        await bot.copy_message(
            BOB, message.chat.id, message.message_id, caption="From <b>Alice</b>"
        )
        await message.answer("copied")

    @dp.message(F.voice | F.sticker | F.contact)
    async def other_media(message: Message) -> None:
        await message.answer(f"kind={ContentType(message.content_type).value}")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"<b>echo:</b> {html.escape(message.text or '')}")

    return dp


@pytest_asyncio.fixture
async def polling(api: FakeBotAPI, bot: Bot) -> AsyncIterator[Dispatcher]:
    dp = build_dispatcher(bot)
    async with run_polling(dp, bot, api):
        yield dp


def fast_user(api: FakeBotAPI, user_id: int, **kwargs: str) -> FakeUser:
    user = api.user(user_id, **kwargs)
    user.quiet = 0.05  # the test bot reacts at once; keeps the suite fast
    return user


async def started(api: FakeBotAPI, user_id: int) -> FakeUser:
    """A user who has written to the bot, without needing a dispatcher."""
    user = fast_user(api, user_id)
    user.record.started = True
    return user


# -- conversation through the dispatcher ----------------------------------------


async def test_echo_round_trip(api: FakeBotAPI, polling: Dispatcher) -> None:
    alice = fast_user(api, ALICE, first_name="Alice", username="alice")
    replies = await alice.send("Tom & <Jerry>")
    assert [m.text for m in replies] == ["echo: Tom & <Jerry>"]
    reply = replies[0]
    assert reply.from_bot
    assert reply.kind == "text"
    assert reply.chat_id == ALICE
    assert reply.html == "<b>echo:</b> Tom &amp; &lt;Jerry&gt;"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert reply.raw["from"]["is_bot"] is True
    assert reply.raw["chat"] == {
        "id": ALICE,
        "type": "private",
        "first_name": "Alice",
        "username": "alice",
    }
    assert [m.from_bot for m in alice.messages] == [False, True]
    sent = api.calls("sendmessage")[0]
    assert sent["chat_id"] == ALICE
    assert sent["parse_mode"] == "HTML"


async def test_start_with_payload_and_reply_keyboard(api: FakeBotAPI, polling: Dispatcher) -> None:
    alice = fast_user(api, ALICE)
    assert [m.text for m in await alice.start("ref_42")] == ["payload=ref_42"]
    assert alice.messages[0].entities == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert [m.text for m in await alice.start()] == ["Welcome!"]
    assert alice.reply_buttons() == [["Share location"], ["Help"]]
    assert alice.reply_keyboard is not None
    assert alice.reply_keyboard["is_persistent"] is True
    assert [m.text for m in await alice.press("Help")] == ["Help text"]
    with pytest.raises(AssertionError, match="share_location"):
        await alice.press("Share location")
    venue = (await alice.share_location(43.2389, 76.8897))[0]
    assert venue.kind == "venue"
    assert venue.venue_title == "Office"
    assert venue.location == (43.2389, 76.8897)
    await alice.command("hide")
    assert alice.reply_keyboard is None


async def test_press_inline_button_edits_message(api: FakeBotAPI, polling: Dispatcher) -> None:
    alice = fast_user(api, ALICE)
    [menu] = await alice.command("menu")
    assert alice.buttons() == [["Yes", "No"], ["Site"]]
    assert menu.inline_buttons[0] == [("Yes", "vote:yes"), ("No", "vote:no")]
    assert await alice.press("Yes") == []  # an edit, not a new message
    assert menu.text == "You chose yes"
    assert menu.edited == 1
    assert menu.reply_markup is None  # edit without reply_markup drops the keyboard
    # The answer may come just after the edit (a loaded machine outlasts the quiet window).
    assert await api.state.wait_until(lambda: alice.last_callback_answer is not None, 5.0)
    assert alice.last_callback_answer is not None
    assert alice.last_callback_answer.text == "Saved"
    with pytest.raises(AssertionError, match="no button 'Maybe'; visible buttons: "):
        await alice.press("Maybe")
    await alice.command("menu")
    with pytest.raises(AssertionError, match="URL button"):
        await alice.press("Site")


async def test_press_forged_callback_data(api: FakeBotAPI, polling: Dispatcher) -> None:
    alice = fast_user(api, ALICE)
    await alice.command("menu")
    await alice.press_data("admin:delete_all")
    answer = alice.last_callback_answer
    assert answer is not None
    assert answer.show_alert
    assert answer.text == "Unknown action"
    assert api.calls("answerCallbackQuery")[-1]["show_alert"] is True


async def test_user_media_reach_the_bot(api: FakeBotAPI, polling: Dispatcher) -> None:
    alice = fast_user(api, ALICE)
    assert [m.text for m in await alice.send_sticker()] == ["kind=sticker"]
    assert [m.text for m in await alice.send_voice()] == ["kind=voice"]
    assert [m.text for m in await alice.send_contact("+77010000000")] == ["kind=contact"]
    csv = b"name,score\nA,1\n"
    [reply] = await alice.send_document(csv, "scores.csv", caption="mine")
    assert reply.text == f"scores.csv: {len(csv)} bytes"
    assert alice.messages[-2].kind == "document"
    assert alice.messages[-2].text == "mine"


async def test_copy_user_photo_to_another_user(api: FakeBotAPI, polling: Dispatcher) -> None:
    alice, bob = fast_user(api, ALICE), fast_user(api, BOB)
    bob.record.started = True
    assert [m.text for m in await alice.send_photo(caption="look")] == ["copied"]
    copy = bob.last
    assert copy.kind == "photo"
    assert copy.document == TINY_PNG
    assert copy.copied_from == (ALICE, alice.messages[0].message_id)
    assert copy.text == "From Alice"
    assert copy.html == "From <b>Alice</b>"
    assert copy.raw["caption_entities"] == [{"type": "bold", "offset": 5, "length": 5}]


async def test_wait_for_unprompted_message(api: FakeBotAPI, bot: Bot) -> None:
    alice = await started(api, ALICE)

    async def remind_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(ALICE, "Reminder: check-in at 10:00")

    task = asyncio.create_task(remind_later())
    message = await alice.wait_for("check-in", timeout=2)
    await task
    assert message.text == "Reminder: check-in at 10:00"
    with pytest.raises(AssertionError, match="no bot message matching"):
        await alice.wait_for(lambda m: m.kind == "photo", timeout=0.1)


async def test_action_without_polling_fails_fast(api: FakeBotAPI) -> None:
    alice = fast_user(api, ALICE)
    with pytest.raises(AssertionError, match="did not fetch update"):
        await alice.send("anyone?", timeout=0.2)


async def test_block_sends_my_chat_member(api: FakeBotAPI, bot: Bot) -> None:
    alice = await started(api, ALICE)
    alice.block_bot()
    [update] = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


# -- errors ---------------------------------------------------------------------


async def test_forbidden_and_unknown_chats(api: FakeBotAPI, bot: Bot) -> None:
    alice = await started(api, ALICE)
    await bot.send_message(ALICE, "hi")
    alice.block_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    alice.unblock_bot()
    await bot.send_message(ALICE, "hi again")
    alice.deactivate()
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(ALICE, "hi")
    fast_user(api, BOB)  # exists but never wrote to the bot
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(BOB, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hi")
    assert [m.text for m in api.outgoing(ALICE)] == ["hi", "hi again"]


async def test_flood_limit(api: FakeBotAPI, bot: Bot) -> None:
    await started(api, ALICE)
    for i in range(30):
        await bot.send_message(ALICE, f"m{i}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ALICE, "one too many")
    assert caught.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in str(caught.value)
    assert len(api.outgoing(ALICE)) == 30  # the rejected message was not delivered
    await asyncio.sleep(1.05)
    await bot.send_message(ALICE, "after the window")


async def test_flood_limit_counts_at_arrival_and_latency_delays_both_ways(
    api: FakeBotAPI, bot: Bot
) -> None:
    await started(api, ALICE)
    api.latency = 0.2
    loop = asyncio.get_running_loop()
    arrived: list[float] = []
    add_message = api.state.add_message

    def stamped(message: Msg) -> Msg:
        arrived.append(loop.time())
        return add_message(message)

    api.state.add_message = stamped  # type: ignore[method-assign, assignment]
    began = loop.time()
    await bot.send_message(ALICE, "slow")
    took = loop.time() - began
    assert 0.2 <= took < 0.5
    assert 0.1 <= arrived[0] - began < took - 0.09  # half on the way there, half back
    # 30 messages arriving in one second, sent concurrently: the 31st is refused.
    api.latency = 0.0
    await asyncio.sleep(1.05)
    results = await asyncio.gather(
        *(bot.send_message(ALICE, f"m{i}") for i in range(31)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert len(refused) == 1
    assert len(api.flood_refusals) == 1


async def test_text_limits_and_markup_errors(api: FakeBotAPI, bot: Bot) -> None:
    await started(api, ALICE)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(ALICE, "x" * 4097)
    # Limits apply to the visible text, not the markup around it.
    await bot.send_message(ALICE, "<b>" + "x" * 4096 + "</b>")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(ALICE, "")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await bot.send_message(ALICE, "<b> </b>")
    photo = BufferedInputFile(TINY_PNG, "p.png")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.send_photo(ALICE, photo, caption="c" * 1025)
    ok_data, long_data = "d" * 64, "д" * 33  # 66 bytes in UTF-8
    await bot.send_message(ALICE, "ok", reply_markup=_one_button(ok_data))
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE, "bad", reply_markup=_one_button(long_data))
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to be replied not found"):
        await bot.send_message(ALICE, "re", reply_parameters=ReplyParameters(message_id=9999))


def _one_button(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="b", callback_data=data)]]
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a </b>", "Unexpected end tag at byte offset 2"),
        ("fish &chips", 'Unsupported HTML entity "&chips" at byte offset 5'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_bad_html(api: FakeBotAPI, bot: Bot, text: str, reason: str) -> None:
    await started(api, ALICE)
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(ALICE, text)
    assert caught.value.message == f"Bad Request: can't parse entities: {reason}"


async def test_edit_and_delete_errors(api: FakeBotAPI, bot: Bot) -> None:
    alice = await started(api, ALICE)
    sent = await bot.send_message(ALICE, "<b>v1</b>", reply_markup=_one_button("x"))
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text(
            "<b>v1</b>", chat_id=ALICE, message_id=sent.message_id, reply_markup=_one_button("x")
        )
    assert str(caught.value) == NOT_MODIFIED
    edited = await bot.edit_message_text("<i>v2</i>", chat_id=ALICE, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert alice.last.text == "v2"
    assert alice.last.edited == 1
    assert alice.last.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="Bad Request: MESSAGE_TOO_LONG"):
        await bot.edit_message_text("y" * 4097, chat_id=ALICE, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text("z", chat_id=ALICE, message_id=999)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ALICE, message_id=sent.message_id)
    await bot.edit_message_reply_markup(
        chat_id=ALICE, message_id=sent.message_id, reply_markup=_one_button("y")
    )
    assert alice.last.inline_buttons == [[("b", "y")]]
    assert alice.last.edited == 2
    assert await bot.delete_message(ALICE, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)
    assert alice.messages == []
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345", text="late")


# -- files, copies, commands ------------------------------------------------------


async def test_document_upload_and_download(api: FakeBotAPI, bot: Bot) -> None:
    alice = await started(api, ALICE)
    content = "name,score\nÁlem,5\n".encode()
    sent = await bot.send_document(
        ALICE, BufferedInputFile(content, "report.csv"), caption="<b>Q1</b>"
    )
    assert sent.document is not None
    assert sent.document.file_size == len(content)
    assert sent.document.file_name == "report.csv"
    assert sent.document.mime_type == "text/csv"
    assert alice.last.document == content
    assert alice.last.filename == "report.csv"
    assert alice.last.text == "Q1"
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    assert file.file_path.startswith("documents/")
    buffer = io.BytesIO()
    await bot.download_file(file.file_path, buffer)
    assert buffer.getvalue() == content
    again = await bot.send_document(ALICE, sent.document.file_id)  # re-send by file_id
    assert again.document is not None
    assert again.document.file_id == sent.document.file_id
    photo = await bot.send_photo(ALICE, BufferedInputFile(TINY_PNG, "dot.png"))
    assert photo.photo is not None
    assert (photo.photo[-1].width, photo.photo[-1].height) == (1, 1)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(ALICE, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(ALICE, "no-such-file-id")


async def test_copy_and_forward_user_messages(
    api: FakeBotAPI, bot: Bot, polling: Dispatcher
) -> None:
    alice, bob = fast_user(api, ALICE), await started(api, BOB)
    await alice.share_location(51.1, 71.4)
    await alice.send_voice()
    location_id, voice_id = (m.message_id for m in alice.messages if not m.from_bot)
    copied = await bot.copy_message(BOB, ALICE, location_id)
    assert bob.last.message_id == copied.message_id
    assert bob.last.kind == "location"
    assert bob.last.location == (51.1, 71.4)
    await bot.copy_message(BOB, ALICE, voice_id, caption="<i>voice</i>")
    assert bob.last.kind == "voice"
    assert bob.last.text == "voice"
    assert bob.last.document is not None
    assert bob.last.document.startswith(b"OggS")
    forwarded = await bot.forward_message(BOB, ALICE, location_id)
    assert forwarded.forward_origin is not None
    assert forwarded.location is not None
    assert bob.last.forwarded_from == (ALICE, location_id)
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(BOB, ALICE, 999)


async def test_set_my_commands_by_scope_and_language(api: FakeBotAPI, bot: Bot) -> None:
    await started(api, ALICE)
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="Бастау")], language_code="kk"
    )
    await bot.set_my_commands(
        [BotCommand(command="help", description="Help")], scope=BotCommandScopeAllPrivateChats()
    )
    await bot.set_my_commands(
        [BotCommand(command="admin", description="Admin")],
        scope=BotCommandScopeChat(chat_id=ALICE),
        language_code="ru",
    )
    assert set(api.commands) == {
        ("default", ""),
        ("default", "kk"),
        ("all_private_chats", ""),
        (f"chat:{ALICE}", "ru"),
    }
    kk = await bot.get_my_commands(language_code="kk")
    assert [(c.command, c.description) for c in kk] == [("start", "Бастау")]
    assert await bot.get_my_commands(language_code="en") == []
    assert [c["command"] for c in api.commands_for(ALICE, "ru")] == ["admin"]
    assert [c["command"] for c in api.commands_for(ALICE, "kk")] == ["help"]
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert [c["command"] for c in api.commands_for(BOB, "kk")] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="x")])


# -- polling, faults, raw HTTP ------------------------------------------------------


def _message_update(api: FakeBotAPI, user: FakeUser, text: str) -> int:
    body = {
        "message": {
            "message_id": 1,
            "date": 0,
            "from": user.record.as_user(),
            "chat": user.record.as_chat(),
            "text": text,
        }
    }
    return api.push_update(body)


async def test_get_updates_offset_and_long_poll(api: FakeBotAPI, bot: Bot) -> None:
    alice = fast_user(api, ALICE)
    loop = asyncio.get_running_loop()
    started_at = loop.time()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= loop.time() - started_at < 1.5  # waited the whole long-poll
    loop.call_later(0.2, _message_update, api, alice, "late")
    started_at = loop.time()
    [late] = await bot.get_updates(timeout=3)
    assert 0.15 <= loop.time() - started_at < 1.0  # answered as soon as it arrived
    assert late.message is not None
    assert late.message.text == "late"
    ids = [_message_update(api, alice, f"u{i}") for i in range(3)]
    assert [u.update_id for u in await bot.get_updates()] == [late.update_id, *ids]
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(limit=1)] == ids[1:2]  # unconfirmed stay
    assert await bot.get_updates(offset=ids[2] + 1) == []
    api.push_update(
        {"callback_query": {"id": "1", "from": alice.record.as_user(), "chat_instance": "1"}}
    )
    wanted = _message_update(api, alice, "keep")
    assert [u.update_id for u in await bot.get_updates(allowed_updates=["message"])] == [wanted]
    assert api.pending_updates[0]["update_id"] == wanted  # the callback query is gone for good


async def test_concurrent_get_updates_conflict(api: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=2))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []


async def test_injected_faults(api: FakeBotAPI, bot: Bot) -> None:
    await started(api, ALICE)
    api.fail_next("sendMessage", 502)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(ALICE, "lost")
    assert api.outgoing(ALICE) == []  # a failed call has no effect
    api.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ALICE, "lost")
    api.drop_connection_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ALICE, "delivered, answer lost")
    assert [m.text for m in api.outgoing(ALICE)] == ["delivered, answer lost"]
    await bot.send_message(ALICE, "back to normal")


async def test_every_result_parses(api: FakeBotAPI, bot: Bot) -> None:
    await started(api, ALICE)
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "jana_jol_test_bot"
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    chat = await bot.get_chat(ALICE)
    assert chat.type == "private"
    assert chat.id == ALICE
    assert await bot.send_chat_action(ALICE, "typing")
    assert api.chat_actions == [(ALICE, "typing")]
    location = await bot.send_location(ALICE, 43.25, 76.95)
    assert location.location is not None
    venue = await bot.send_venue(ALICE, 43.25, 76.95, "Center", "Street 1")
    assert venue.venue is not None
    assert venue.venue.title == "Center"
    photo = await bot.send_photo(ALICE, BufferedInputFile(TINY_PNG, "p.png"), caption="a")
    edited = await bot.edit_message_caption(chat_id=ALICE, message_id=photo.message_id, caption="b")
    assert isinstance(edited, Message)
    assert edited.caption == "b"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("t", chat_id=ALICE, message_id=photo.message_id)
    reply = await bot.send_message(
        ALICE, "re", reply_parameters=ReplyParameters(message_id=location.message_id)
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == location.message_id


async def test_raw_http_surface(api: FakeBotAPI) -> None:
    base = f"{api.base_url}/bot{api.token}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api.base_url}/botWRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{base}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found"
        async with http.get(f"{base}/GETME") as resp:  # method names are case-insensitive
            assert (await resp.json())["result"]["id"] == 123456
        fast_user(api, ALICE).record.started = True
        async with http.post(
            f"{base}/sendMessage", json={"chat_id": ALICE, "text": "json"}
        ) as resp:
            assert (await resp.json())["result"]["text"] == "json"
        async with http.post(f"{base}/sendMessage", data={"chat_id": str(ALICE), "text": "form"}):
            pass
        async with http.get(f"{base}/sendMessage", params={"chat_id": ALICE, "text": "q"}):
            pass
        async with http.get(f"{api.base_url}/file/bot{api.token}/documents/none") as resp:
            assert resp.status == 404
    assert [m.text for m in api.outgoing(ALICE)] == ["json", "form", "q"]
    assert ("sendMessage", {"chat_id": ALICE, "text": "form"}) in api.requests


# -- the same fake in process (tests/inproc) ---------------------------------------------------


async def test_direct_session_answers_as_the_http_endpoint_does() -> None:
    fake = FakeBotAPI()  # never started: nothing listens
    bot = Bot(
        fake.token, session=DirectSession(fake), default=DefaultBotProperties(parse_mode="HTML")
    )
    alice = await started(fake, ALICE)
    sent = await bot.send_message(ALICE, "<b>Hi</b> &amp; welcome")
    assert sent.message_id == alice.last.message_id
    assert alice.last.text == "Hi & welcome"
    assert alice.last.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert fake.calls("sendMessage")[0]["chat_id"] == ALICE  # decoded as over HTTP
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ALICE, "<b>unclosed")
    alice.block_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    alice.unblock_bot()
    fake.fail_next("sendMessage", 502, html=True)  # a proxy's page, not JSON
    with pytest.raises(ClientDecodeError):
        await bot.send_message(ALICE, "lost")
    fake.drop_connection_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ALICE, "delivered, answer lost")
    assert alice.last.text == "delivered, answer lost"


async def test_direct_session_uploads_and_downloads_files() -> None:
    fake = FakeBotAPI()
    bot = Bot(fake.token, session=DirectSession(fake))
    await started(fake, ALICE)
    sent = await bot.send_document(ALICE, BufferedInputFile(b"a,b\n1,2\n", "rows.csv"))
    assert sent.document is not None
    assert fake.outgoing(ALICE)[-1].filename == "rows.csv"
    buffer = io.BytesIO()
    await bot.download(sent.document.file_id, destination=buffer)
    assert buffer.getvalue() == b"a,b\n1,2\n"
    fake.state.files.clear()  # Telegram no longer has the file: a 404, as aiohttp raises it
    with pytest.raises(aiohttp.ClientResponseError) as missing:
        await bot.download_file("documents/file_1.csv", destination=io.BytesIO())
    assert missing.value.status == 404
    wrong = Bot("654321:OTHER", session=DirectSession(fake))
    with pytest.raises(TelegramUnauthorizedError):
        await wrong.get_me()
