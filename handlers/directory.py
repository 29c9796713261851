"""/services: the service directory for everyone (no invitation needed).

Categories → (a place filter when a category spans several cities/districts) → a paged
list → a card with the map pin. Word search in any language, nearest to a shared
location, and "report a problem" on a card, which reaches every admin.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    TelegramObject,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.i18n import N_, translations_of
from bot.menu import Label, MenuButton, main_menu
from db import directory, users
from db import directory_reports as reports
from db import stats as usage
from db.clock import utcnow
from db.database import Database
from db.directory import Entry
from db.users import Role, User
from handlers.directory_callbacks import (
    ALL_PLACES,
    ASK_PLACE,
    DirAskSearch,
    DirCard,
    DirHome,
    DirList,
    DirNear,
    DirReason,
    DirReport,
    DirReportSend,
    DirSearchPage,
)
from handlers.directory_ui import (
    card_keyboard,
    card_text,
    home_keyboard,
    home_text,
    list_screen,
    nearest_screen,
    places_keyboard,
    places_text,
    plain,
    reasons_screen,
    report_comment_screen,
    report_keyboard,
    report_text,
    results_screen,
)
from handlers.ui import (
    NO_LONGER_ACTIVE,
    ON_MESSAGE,
    edit_or_send,
    refuse,
    refuse_inactive,
    send_parts,
)

log = logging.getLogger(__name__)

SEND_LOCATION = N_("📍 Send my location")
BACK_TO_MENU = N_("⬅️ Back to the menu")
MAX_QUERY = 300


class Directory(StatesGroup):
    query = State()  # the next text is a search
    location = State()  # waiting for a shared location
    comment = State()  # the next text is a problem report's comment


class NotAMenuLabel(Filter):
    """Text that is not the label of any main-menu button (those belong to their own features)."""

    def __init__(self) -> None:
        self._labels: frozenset[str] | None = None

    async def __call__(self, message: Message, i18n: I18n) -> bool:
        if self._labels is None:
            labels = [
                v for k, v in vars(Label).items() if not k.startswith("_") and isinstance(v, str)
            ]
            labels += [SEND_LOCATION, BACK_TO_MENU]
            self._labels = frozenset().union(*(translations_of(i18n, label) for label in labels))
        return message.text not in self._labels


def is_admin(user: User) -> bool:
    return user.role is Role.ADMIN


async def count_use(db: Database, kind: str, settings: Settings) -> None:
    """One more search or card view today (for /stats): a count per day, nothing else."""
    await usage.count_directory_use(db, kind, utcnow().astimezone(settings.zone).date())


async def leave_directory_state(state: FSMContext) -> None:
    if await state.get_state() in {s.state for s in Directory.__all_states__}:
        await state.set_state(None)


# -- home and lists ---------------------------------------------------------------------------


async def home(db: Database, user: User, language: str) -> tuple[str, InlineKeyboardMarkup]:
    categories = await directory.categories(db, include_hidden=is_admin(user))
    total = sum(c.count for c in categories)
    return home_text(total), home_keyboard(categories, language)


async def open_directory(
    message: Message,
    user: User,
    db: Database,
    i18n: I18n,
    state: FSMContext,
    searches: SearchMemory,
    settings: Settings,
    command: CommandObject | None = None,
) -> None:
    await leave_directory_state(state)
    words = (command.args or "").strip() if command is not None else ""
    if words:
        await run_search(message, words, user, db, i18n, state, searches, settings)
        return
    text, markup = await home(db, user, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def show_home(
    query: CallbackQuery, user: User, db: Database, i18n: I18n, bot: Bot, state: FSMContext
) -> None:
    await leave_directory_state(state)
    text, markup = await home(db, user, i18n.current_locale)
    await edit_or_send(query, bot, text, markup)


def list_gone(callback_answer: CallbackAnswer) -> None:
    refuse(callback_answer, _("This list is no longer available. Please open /services again."))


async def show_list(
    query: CallbackQuery,
    callback_data: DirList,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    admin = is_admin(user)
    category = await directory.category(db, callback_data.cat)
    if category is None:
        list_gone(callback_answer)
        return
    category = next(
        c for c in await directory.categories(db, include_hidden=admin) if c.id == category.id
    )
    places = await directory.places_in_category(db, category.id, include_hidden=admin)
    language = i18n.current_locale
    if callback_data.place == ASK_PLACE and len(places) >= 2:
        nationwide = category.count - sum(p.count for p in places)
        await edit_or_send(
            query,
            bot,
            places_text(category, language),
            places_keyboard(category, places, nationwide, language),
        )
        return
    place = None
    if callback_data.place not in (ASK_PLACE, ALL_PLACES):
        place = next((p for p in places if p.id == callback_data.place), None)
        if place is None:
            list_gone(callback_answer)
            return
    items = await directory.list_entries(
        db,
        category.id,
        language,
        place_id=place.id if place else None,
        only_accepting=callback_data.rec,
        include_hidden=admin,
    )
    text, markup = list_screen(
        category,
        place,
        items,
        callback_data.page,
        callback_data.rec,
        language,
        has_places=len(places) >= 2,
    )
    await edit_or_send(query, bot, text, markup)


# -- the card --------------------------------------------------------------------------------


async def send_card(
    bot: Bot, chat_id: int, entry: Entry, user: User, settings: Settings, language: str
) -> None:
    now_local = utcnow().astimezone(settings.zone_for(user.timezone))
    text = card_text(entry, language, now_local, admin=is_admin(user))
    await send_parts(bot, chat_id, text, card_keyboard(entry, admin=is_admin(user)))
    if entry.latitude is None or entry.longitude is None:
        return
    address = ", ".join(
        t.text(language) for t in (entry.address, entry.city, entry.region) if t.text(language)
    )
    if address:
        await bot.send_venue(
            chat_id,
            latitude=entry.latitude,
            longitude=entry.longitude,
            title=plain(entry.name, language, 100),
            address=address[:200],
        )
    else:
        await bot.send_location(chat_id, latitude=entry.latitude, longitude=entry.longitude)


def entry_gone(callback_answer: CallbackAnswer) -> None:
    refuse(callback_answer, _("This service is no longer in the directory."))


async def show_card(
    query: CallbackQuery,
    callback_data: DirCard,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    entry = await directory.get_entry(db, callback_data.id, include_hidden=is_admin(user))
    if entry is None:
        entry_gone(callback_answer)
        return
    await send_card(bot, query.from_user.id, entry, user, settings, i18n.current_locale)
    await count_use(db, usage.CARD, settings)


# -- word search -----------------------------------------------------------------------------


def type_words() -> str:
    return _(
        "Type what you are looking for, in any language. For example: «жұмыс», "
        "«паспорт», «юрист», «Қандыағаш»."
    )


async def ask_search(query: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.set_state(Directory.query)
    await bot.send_message(query.from_user.id, type_words())


def clean_query(text: str) -> str:
    """The words as typed, safe to repeat in a reply: without control and format characters
    (the bidi overrides, embeddings, isolates and marks that could show the reply reversed,
    zero-width characters), on one line, at most MAX_QUERY characters."""
    kept = (
        " " if unicodedata.category(char) == "Cc" else char
        for char in text
        if unicodedata.category(char) != "Cf"
    )
    return " ".join("".join(kept).split())[:MAX_QUERY]


async def search_screen(
    db: Database, user: User, query_text: str, seq: int, page: int, language: str
) -> tuple[str, InlineKeyboardMarkup]:
    admin = is_admin(user)
    # One more than is shown, to say honestly that there are more.
    ids = await directory.search(
        db, query_text, include_hidden=admin, limit=directory.SEARCH_LIMIT + 1
    )
    more = len(ids) > directory.SEARCH_LIMIT
    items = await directory.summaries(db, ids[: directory.SEARCH_LIMIT], include_hidden=admin)
    return results_screen(query_text, items, seq, page, language, more=more)


class SearchMemory:
    """Each person's latest search, in memory only: search words never reach the database.

    The page buttons carry a sequence number; the words are kept for `ttl` seconds (after
    that, or after a restart, a page button says the search is out of date). At most
    `limit` people are remembered, the least recent forgotten first.
    """

    def __init__(
        self,
        ttl: float = 3600.0,
        limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._latest: dict[int, tuple[int, str, float]] = {}  # user → (seq, words, expires)
        # A fresh start per process, so a button from before a restart matches nothing.
        self._seq = secrets.randbelow(1_000_000_000)

    def remember(self, user_id: int, words: str) -> int:
        self._seq = self._seq % 1_000_000_000 + 1
        self._latest.pop(user_id, None)  # re-inserted last: the dict stays in recency order
        now = self.clock()
        self._latest[user_id] = (self._seq, words, now + self.ttl)
        while self._latest:
            oldest = next(iter(self._latest))
            if len(self._latest) <= self.limit and self._latest[oldest][2] > now:
                break
            del self._latest[oldest]
        return self._seq

    def recall(self, user_id: int, seq: int) -> str | None:
        found = self._latest.get(user_id)
        if found is None or found[0] != seq:
            return None
        if found[2] <= self.clock():
            del self._latest[user_id]
            return None
        return found[1]

    def __len__(self) -> int:
        return len(self._latest)


async def run_search(
    message: Message,
    text: str,
    user: User,
    db: Database,
    i18n: I18n,
    state: FSMContext,
    searches: SearchMemory,
    settings: Settings,
) -> None:
    query_text = clean_query(text)
    if not query_text:  # only spaces or invisible characters: nothing to search for yet
        await state.set_state(Directory.query)
        await message.answer(type_words())
        return
    await state.set_state(None)
    seq = searches.remember(user.telegram_id, query_text)
    reply, markup = await search_screen(db, user, query_text, seq, 0, i18n.current_locale)
    await message.answer(reply, reply_markup=markup)
    await count_use(db, usage.SEARCH, settings)


async def search_text(
    message: Message,
    user: User,
    db: Database,
    i18n: I18n,
    state: FSMContext,
    searches: SearchMemory,
    settings: Settings,
) -> None:
    await run_search(message, message.text or "", user, db, i18n, state, searches, settings)


async def search_page(
    query: CallbackQuery,
    callback_data: DirSearchPage,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    searches: SearchMemory,
    callback_answer: CallbackAnswer,
) -> None:
    words = searches.recall(user.telegram_id, callback_data.seq)
    if not words:
        refuse(callback_answer, _("This search is out of date. Please search again."))
        return
    text, markup = await search_screen(
        db, user, words, callback_data.seq, callback_data.page, i18n.current_locale
    )
    await edit_or_send(query, bot, text, markup)


# -- nearest ---------------------------------------------------------------------------------


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(SEND_LOCATION), request_location=True)],
            [KeyboardButton(text=_(BACK_TO_MENU))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


async def ask_location(
    query: CallbackQuery,
    callback_data: DirNear,
    db: Database,
    bot: Bot,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    category_id = 0
    if callback_data.cat:
        category = await directory.category(db, callback_data.cat)
        if category is None:
            list_gone(callback_answer)
            return
        category_id = category.id
    await state.set_state(Directory.location)
    await state.update_data(dir_near_cat=category_id)
    await bot.send_message(
        query.from_user.id,
        _(
            "Press «{button}» below. Your location is used once, for this answer, and is not stored."
        ).format(button=_(SEND_LOCATION)),
        reply_markup=location_keyboard(),
    )


async def got_location(
    message: Message, user: User, db: Database, i18n: I18n, state: FSMContext, settings: Settings
) -> None:
    assert message.location is not None
    category = None
    if await state.get_state() == Directory.location.state:
        data = await state.get_data()
        category_id = int(data.pop("dir_near_cat", None) or 0)
        category = await directory.category(db, category_id) if category_id else None
        await state.set_state(None)
        await state.set_data(data)  # what was looked for is not kept either
    admin = is_admin(user)
    hits = await directory.nearest(
        db,
        message.location.latitude,
        message.location.longitude,
        category_id=category.id if category else None,
        include_hidden=admin,
    )
    items = await directory.summaries(
        db, [entry_id for entry_id, _km in hits], include_hidden=admin
    )
    distances = dict(hits)
    await message.answer(
        _("📍 Thank you. Your location is not stored."), reply_markup=main_menu(user)
    )
    text, markup = nearest_screen(
        [(item, distances[item.id]) for item in items], category, i18n.current_locale
    )
    await message.answer(text, reply_markup=markup)
    await count_use(db, usage.SEARCH, settings)


async def back_to_menu(message: Message, user: User, state: FSMContext) -> None:
    await leave_directory_state(state)
    await message.answer(_("Main menu."), reply_markup=main_menu(user))


# -- report a problem --------------------------------------------------------------------------


async def report_start(
    query: CallbackQuery,
    callback_data: DirReport,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    entry = await directory.get_entry(db, callback_data.id)
    if entry is None:
        entry_gone(callback_answer)
        return
    text, markup = reasons_screen(entry, i18n.current_locale)
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def report_reason(
    query: CallbackQuery,
    callback_data: DirReason,
    db: Database,
    bot: Bot,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    entry = await directory.get_entry(db, callback_data.id)
    if entry is None:
        entry_gone(callback_answer)
        return
    await state.set_state(Directory.comment)
    await state.update_data(dir_report_entry=entry.id, dir_report_reason=callback_data.reason.value)
    text, markup = report_comment_screen(entry.id, callback_data.reason)
    await edit_or_send(query, bot, text, markup)


async def report_send(
    query: CallbackQuery,
    message: Message,
    callback_data: DirReportSend,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    settings: Settings,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    data = await state.get_data()
    if data.get("dir_report_entry") != callback_data.id:
        refuse_inactive(callback_answer)
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)
    await submit_report(query.from_user.id, "", user, db, i18n, bot, settings, state)


async def report_comment(
    message: Message,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    settings: Settings,
    state: FSMContext,
) -> None:
    await submit_report(message.chat.id, message.text or "", user, db, i18n, bot, settings, state)


async def submit_report(
    chat_id: int,
    comment: str,
    user: User,
    db: Database,
    i18n: I18n,
    bot: Bot,
    settings: Settings,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    await state.set_state(None)
    await state.update_data(dir_report_entry=None, dir_report_reason=None)
    entry_id, reason = data.get("dir_report_entry"), data.get("dir_report_reason")
    if not isinstance(entry_id, int) or reason not in reports.REASONS:
        await bot.send_message(chat_id, _(NO_LONGER_ACTIVE))
        return
    outcome, report_id = await reports.add(db, entry_id, user.telegram_id, str(reason), comment)
    replies = {
        reports.Outcome.CREATED: _("Thank you! The administrators will check it."),
        reports.Outcome.DUPLICATE: _(
            "Thank you, you have already reported this service. The administrators will check it."
        ),
        reports.Outcome.LIMITED: _(
            "Thank you. You have sent many reports today; please try again tomorrow."
        ),
        reports.Outcome.GONE: _("This service is no longer in the directory."),
    }
    await bot.send_message(chat_id, replies[outcome], reply_markup=main_menu(user))
    if outcome is reports.Outcome.CREATED and report_id is not None:
        await notify_admins(bot, db, i18n, settings, report_id)


async def notify_admins(
    bot: Bot, db: Database, i18n: I18n, settings: Settings, report_id: int
) -> None:
    """Every admin gets the report in their language, with buttons to the entry and to resolve it."""
    report = await reports.get(db, report_id)
    if report is None:
        return
    for admin in await users.staff(db):
        if admin.role is not Role.ADMIN:
            continue
        language = admin.language or settings.default_language
        with i18n.use_locale(language):
            text = report_text(report, language)
            markup = report_keyboard(report, in_list=False)
        try:
            await bot.send_message(admin.telegram_id, text, reply_markup=markup)
        except TelegramAPIError as exc:
            # E.g. an admin listed in ADMIN_IDS who has not opened the bot yet.
            log.warning("Could not notify an admin of report %s: %s", report_id, type(exc).__name__)


def create_router() -> Router:
    router = Router(name="directory")
    searches = SearchMemory()  # per application, like the router

    async def with_searches(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["searches"] = searches
        return await handler(event, data)

    router.message.middleware(with_searches)
    router.callback_query.middleware(with_searches)
    not_command = MagicData(F.event.text & ~F.event.text.startswith("/"))
    router.message.register(open_directory, Command("services", ignore_case=True))
    router.message.register(open_directory, MenuButton(Label.SERVICES))
    router.message.register(back_to_menu, MenuButton(BACK_TO_MENU))
    # Locations and words in another feature's conversation are left to that feature.
    mine = StateFilter(None, *Directory.__all_states__)
    router.message.register(got_location, MagicData(F.event.location), mine)
    # Words typed instead of sharing a location are a search too (e.g. a town's name).
    router.message.register(
        search_text, StateFilter(Directory.query, Directory.location), not_command, NotAMenuLabel()
    )
    router.message.register(
        report_comment, StateFilter(Directory.comment), not_command, NotAMenuLabel()
    )
    router.callback_query.register(show_home, DirHome.filter())
    router.callback_query.register(show_list, DirList.filter(F.page >= 0))
    router.callback_query.register(show_card, DirCard.filter())
    router.callback_query.register(ask_search, DirAskSearch.filter())
    router.callback_query.register(search_page, DirSearchPage.filter(F.page >= 0))
    router.callback_query.register(ask_location, DirNear.filter(F.cat >= 0))
    router.callback_query.register(report_start, DirReport.filter())
    router.callback_query.register(report_reason, DirReason.filter())
    router.callback_query.register(report_send, DirReportSend.filter(), ON_MESSAGE)
    return router
