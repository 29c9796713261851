"""Administrators and the directory: CSV import by sending the file, export, hide/unhide, reports.

The router is closed to every other role, so a client's CSV goes to the fallback like
any other document.
"""

from __future__ import annotations

import contextlib
import io
import logging

import aiohttp
from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Document, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from db import directory
from db import directory_reports as reports
from db.clock import utcnow
from db.database import Database
from db.directory_csv import MAX_FILE_BYTES, Parsed
from db.directory_import import ImportRefusedError, ImportResult, export_csv, import_file
from db.users import User
from handlers.directory import Directory
from handlers.directory_callbacks import DirExport, DirHide, DirImportValid, DirReports, DirResolve
from handlers.directory_ui import (
    card_keyboard,
    card_text,
    import_valid_keyboard,
    overview_screen,
    report_text,
    reports_screen,
)
from handlers.ui import ON_MESSAGE, refuse, refuse_inactive, send_parts, split_html

log = logging.getLogger(__name__)

CSV_TYPES = frozenset(
    {
        "text/csv",
        "text/comma-separated-values",
        "application/csv",
        "application/vnd.ms-excel",
        "text/plain",
    }
)
SHOWN_PROBLEMS = 25
REPORTS_PER_SCREEN = 5


# -- /directory and export -------------------------------------------------------------------


async def directory_overview(message: Message, db: Database) -> None:
    text, markup = overview_screen(await directory.stats(db))
    await message.answer(text, reply_markup=markup)


async def export(query: CallbackQuery, db: Database, bot: Bot) -> None:
    data = await export_csv(db)
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename="directory.csv"),
        caption=_("The whole directory as CSV (UTF-8)."),
    )


# -- import ----------------------------------------------------------------------------------


def looks_like_csv(document: Document) -> bool:
    name = (document.file_name or "").lower()
    return name.endswith(".csv") or (document.mime_type or "") in CSV_TYPES


def problem_lines(parsed: Parsed) -> list[str]:
    lines = [
        "• " + html.quote(p.render(_))
        for p in parsed.problems[:SHOWN_PROBLEMS]
        if p.row is not None
    ]
    hidden = parsed.problem_count - len(lines)  # counted, whether kept or not
    if hidden > 0:
        lines.append(
            _("… and {count} more problem", "… and {count} more problems", hidden).format(
                count=hidden
            )
        )
    return lines


def refused_text(parsed: Parsed) -> str:
    if parsed.file_problem is not None:
        return _("The file was not imported: {problem}").format(
            problem=html.quote(parsed.file_problem.render(_))
        )
    head = _(
        "Nothing was imported. Rows with problems: {bad} of {total}. "
        "Fix them and send the file again."
    ).format(bad=parsed.bad_rows, total=parsed.read)
    return "\n".join([head, "", *problem_lines(parsed)])


def imported_text(parsed: Parsed, result: ImportResult) -> str:
    lines = [
        _("Imported: {created} new, {updated} updated, {unchanged} unchanged.").format(
            created=result.created, updated=result.updated, unchanged=result.unchanged
        )
    ]
    if result.skipped:
        lines.append(
            _(
                "{count} row with problems was skipped:",
                "{count} rows with problems were skipped:",
                result.skipped,
            ).format(count=result.skipped)
        )
        lines += problem_lines(parsed)
    return "\n".join(lines)


async def download(bot: Bot, file_id: str) -> bytes:
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


async def run_import(
    bot: Bot,
    chat_id: int,
    file_id: str,
    user: User,
    db: Database,
    state: FSMContext,
    *,
    skip_invalid: bool,
) -> None:
    try:
        data = await download(bot, file_id)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as exc:
        # Only the class name: a failed download's message and traceback carry the file URL,
        # which contains the bot token (aiogram downloads with raise_for_status).
        log.warning("Could not download an import file: %s", type(exc).__name__)
        await bot.send_message(chat_id, _("I could not download the file. Please send it again."))
        return
    try:
        parsed, result = await import_file(
            db, data, actor_id=user.telegram_id, skip_invalid=skip_invalid
        )
    except ImportRefusedError as refused:
        parsed = refused.parsed
        markup = None
        if parsed.file_problem is None and parsed.rows:
            await state.update_data(dir_import_file=file_id)
            markup = import_valid_keyboard(len(parsed.rows))
        await send_parts(bot, chat_id, refused_text(parsed), markup)
        return
    await state.update_data(dir_import_file=None)
    log.info(
        "Directory import: %d new, %d updated, %d unchanged, %d skipped",
        result.created,
        result.updated,
        result.unchanged,
        result.skipped,
    )
    await send_parts(bot, chat_id, imported_text(parsed, result))


async def import_document(
    message: Message, user: User, db: Database, bot: Bot, state: FSMContext
) -> None:
    document = message.document
    assert document is not None
    if not looks_like_csv(document):
        await message.answer(
            _("To import into the directory, send a .csv file (UTF-8). Other files are not read.")
        )
        return
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await message.answer(
            _("The file is larger than {limit} MB; split it into smaller files.").format(
                limit=MAX_FILE_BYTES >> 20
            )
        )
        return
    await run_import(bot, message.chat.id, document.file_id, user, db, state, skip_invalid=False)


async def import_valid_rows(
    query: CallbackQuery,
    message: Message,
    user: User,
    db: Database,
    bot: Bot,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    file_id = (await state.get_data()).get("dir_import_file")
    if not isinstance(file_id, str):
        refuse_inactive(callback_answer)
        return
    with contextlib.suppress(TelegramBadRequest):
        await message.edit_reply_markup(reply_markup=None)
    await run_import(bot, query.from_user.id, file_id, user, db, state, skip_invalid=True)


# -- hide / unhide -----------------------------------------------------------------------------


async def hide_entry(
    query: CallbackQuery,
    callback_data: DirHide,
    user: User,
    db: Database,
    i18n: I18n,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    hide = callback_data.hide
    if not await directory.set_hidden(db, callback_data.id, hide, actor_id=user.telegram_id):
        refuse(callback_answer, _("This service is no longer in the directory."))
        return
    callback_answer.text = _("Hidden from clients.") if hide else _("Shown to clients again.")
    entry = await directory.get_entry(db, callback_data.id, include_hidden=True)
    message = query.message
    # A card older than about 48 hours is hidden all the same, only not redrawn.
    if entry is None or not isinstance(message, Message):
        return
    now_local = utcnow().astimezone(settings.zone_for(user.timezone))
    text = card_text(entry, i18n.current_locale, now_local, admin=True)
    markup = card_keyboard(entry, admin=True)
    try:
        if len(split_html(text)) == 1:
            await message.edit_text(text, reply_markup=markup)
        else:  # a long card was sent in parts: only its buttons change
            await message.edit_reply_markup(reply_markup=markup)
    except TelegramBadRequest:
        pass


# -- problem reports -----------------------------------------------------------------------


async def list_reports(db: Database, language: str) -> tuple[str, InlineKeyboardMarkup | None]:
    open_reports, total = await reports.open_reports(db, REPORTS_PER_SCREEN)
    return reports_screen(open_reports, total, language)


async def reports_command(message: Message, db: Database, i18n: I18n) -> None:
    text, markup = await list_reports(db, i18n.current_locale)
    await message.answer(text, reply_markup=markup)


async def reports_button(query: CallbackQuery, db: Database, i18n: I18n, bot: Bot) -> None:
    text, markup = await list_reports(db, i18n.current_locale)
    await bot.send_message(query.from_user.id, text, reply_markup=markup)


async def resolve_report(
    query: CallbackQuery,
    callback_data: DirResolve,
    user: User,
    db: Database,
    i18n: I18n,
    callback_answer: CallbackAnswer,
) -> None:
    report = await reports.resolve(db, callback_data.id, actor_id=user.telegram_id)
    if report is None:
        refuse(callback_answer, _("This report is already resolved or does not exist."))
        return
    callback_answer.text = _("Report #{id} is resolved.").format(id=report.id)
    message = query.message
    if not isinstance(message, Message):  # a notice older than about 48 hours: not redrawn
        return
    try:
        if callback_data.in_list:
            text, markup = await list_reports(db, i18n.current_locale)
            await message.edit_text(text, reply_markup=markup)
        else:
            text = report_text(report, i18n.current_locale) + "\n\n" + _("✅ Resolved")
            await message.edit_text(text, reply_markup=None)
    except TelegramBadRequest:
        pass


def create_router() -> Router:
    router = Router(name="directory_admin")
    router.message.register(directory_overview, Command("directory", ignore_case=True))
    router.message.register(reports_command, Command("reports", ignore_case=True))
    # A document sent within another feature's conversation belongs to that feature.
    router.message.register(
        import_document, MagicData(F.event.document), StateFilter(None, *Directory.__all_states__)
    )
    router.callback_query.register(export, DirExport.filter())
    router.callback_query.register(reports_button, DirReports.filter())
    router.callback_query.register(import_valid_rows, DirImportValid.filter(), ON_MESSAGE)
    router.callback_query.register(hide_entry, DirHide.filter())
    router.callback_query.register(resolve_report, DirResolve.filter())
    return router
