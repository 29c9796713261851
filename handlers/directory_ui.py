"""What the directory looks like: callback data, keyboards, list pages and cards.

Callback data carries ids only (64-byte limit); handlers re-read the entry on every
press. Every text from the data is escaped; a field shown in another language than
the person's gets a small marker with that language's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel import Locale, UnknownLocaleError
from babel.dates import get_day_names
from babel.units import format_unit

from bot.config import Settings
from bot.i18n import LANGUAGE_NAMES, N_
from core.dates import format_day
from db.directory import Category, Entry, Place, Summary, Texts
from db.directory_hours import always_open, clock, open_state, week_table
from db.directory_reports import Report
from db.directory_text import natural_key
from db.users import User

PAGE_SIZE = 8
BUTTON_TEXT_LIMIT = 60
ASK_PLACE = -1  # DirList.place: show the place filter first (when there is a choice)
ALL_PLACES = 0

T = TypeVar("T")


def user_zone(user: User, settings: Settings) -> ZoneInfo:
    """The person's own time zone if they set one, else the bot's (TIMEZONE)."""
    if user.timezone:
        try:
            return ZoneInfo(user.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return settings.zone


class DirHome(CallbackData, prefix="dirhome"):
    pass


class DirList(CallbackData, prefix="dirlist"):
    cat: int
    place: int = ASK_PLACE
    page: int = 0
    rec: int = 0  # 1: only services that accept people with a criminal record


class DirCard(CallbackData, prefix="dircard"):
    id: int


class DirAskSearch(CallbackData, prefix="dirask"):
    pass


class DirSearchPage(CallbackData, prefix="dirfind"):
    seq: int
    page: int


class DirNear(CallbackData, prefix="dirnear"):
    cat: int = 0  # 0: every category


class DirReport(CallbackData, prefix="dirrep"):
    id: int


class DirReason(CallbackData, prefix="dirwhy"):
    id: int
    reason: str


class DirReportSend(CallbackData, prefix="dirsend"):
    id: int


class DirHide(CallbackData, prefix="dirhide"):
    id: int
    hide: int


class DirResolve(CallbackData, prefix="dirdone"):
    id: int
    src: int = 0  # 0: the notification message, 1: the /reports list


class DirReports(CallbackData, prefix="dirreps"):
    pass


class DirExport(CallbackData, prefix="direxp"):
    pass


class DirImportValid(CallbackData, prefix="dirimp"):
    pass


REASON_LABELS: dict[str, str] = {
    "closed": N_("It is closed or does not exist"),
    "phone": N_("The phone number is wrong"),
    "address": N_("The address or map is wrong"),
    "hours": N_("The hours are wrong"),
    "refused": N_("They refused to help me"),
    "other": N_("Something else"),
}


# -- small pieces ----------------------------------------------------------------------------


def shown(texts: Texts, language: str) -> str:
    """Escaped text in the person's language, or in another with a marker; '' if none."""
    text, other = texts.pick(language)
    if not text:
        return ""
    escaped = html.quote(text)
    return f"{escaped} <i>({LANGUAGE_NAMES[other]})</i>" if other else escaped


def plain(texts: Texts, language: str, limit: int = BUTTON_TEXT_LIMIT) -> str:
    """Unescaped text for a button label (buttons are not HTML), shortened."""
    text = texts.text(language) or "—"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def category_label(category: Category, language: str) -> str:
    return f"{category.emoji} {category.name.text(language)}"


def place_label(place: Place, language: str) -> str:
    return place.city.text(language) or place.region.text(language) or "—"


def paginate(items: Sequence[T], page: int) -> tuple[Sequence[T], int, int]:
    """(items on the page, the page actually shown, number of pages); out-of-range pages clamp."""
    pages = max(1, (len(items) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    return items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page, pages


def format_distance(km: float, language: str) -> str:
    if km < 1:
        metres = max(10, round(km * 100) * 10)
        return str(format_unit(metres, "length-meter", length="short", locale=language))
    if km < 10:
        return str(
            format_unit(km, "length-kilometer", length="short", format="#,##0.0", locale=language)
        )
    return str(
        format_unit(round(km), "length-kilometer", length="short", format="#,##0", locale=language)
    )


def language_name(code: str, language: str) -> str:
    try:
        return str(Locale.parse(code).get_display_name(language) or code)
    except (UnknownLocaleError, ValueError):
        return code


# -- hours --------------------------------------------------------------------------------------


def hours_lines(entry: Entry, language: str) -> list[str]:
    schedule = list(entry.schedule)
    if not schedule:
        return []
    if always_open(schedule):
        return [_("Open 24 hours, every day")]
    names = get_day_names("wide", locale=language)
    lines = []
    for first, last, ranges in week_table(schedule):
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        times = ", ".join(f"{clock(o)}–{clock(c)}" for o, c in ranges) or _("closed")
        line = f"{days}: {times}"
        lines.append(line[:1].upper() + line[1:])
    return lines


def open_line(entry: Entry, language: str, now_local: datetime) -> str:
    if entry.status == "temporarily_closed":
        return _("⛔ Temporarily closed")
    state = open_state(list(entry.schedule), now_local)
    if state is None:
        return ""
    if state.is_open and state.change_at is None:
        return _("🟢 Open now")
    if state.is_open and state.change_at is not None:
        return _("🟢 Open now · until {time}").format(time=state.change_at.strftime("%H:%M"))
    if state.change_at is None:
        return _("🔴 Closed now")
    days_ahead = (state.change_at.date() - now_local.date()).days
    if days_ahead == 0:
        day = _("today")
    elif days_ahead == 1:
        day = _("tomorrow")
    else:
        day = str(get_day_names("wide", locale=language)[state.change_at.weekday()])
    return _("🔴 Closed now · opens {day} at {time}").format(
        day=day, time=state.change_at.strftime("%H:%M")
    )


# -- screens -----------------------------------------------------------------------------------


def home_text(total: int) -> str:
    if total == 0:
        return _(
            "<b>Service directory</b>\n\nThe directory is empty for now. Please look again later."
        )
    return _(
        "<b>Service directory</b>\n\n"
        "Choose a category, search by words, or find what is nearest to you. "
        "✅ marks services that accept people with a criminal record."
    )


def home_keyboard(categories: Sequence[Category], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in categories:
        if category.count:
            builder.row(
                InlineKeyboardButton(
                    text=f"{category_label(category, language)} ({category.count})",
                    callback_data=DirList(cat=category.id).pack(),
                )
            )
    builder.row(
        InlineKeyboardButton(text=_("🔍 Search"), callback_data=DirAskSearch().pack()),
        InlineKeyboardButton(text=_("📍 Nearest to me"), callback_data=DirNear().pack()),
    )
    return builder.as_markup()


def places_text(category: Category, language: str) -> str:
    return _("<b>{category}</b>\n\nWhere are you looking?").format(
        category=html.quote(category_label(category, language))
    )


def places_keyboard(
    category: Category, places: Sequence[Place], nationwide: int, language: str
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    ordered = sorted(places, key=lambda p: natural_key(place_label(p, language)))
    for place in ordered:
        builder.row(
            InlineKeyboardButton(
                text=f"📍 {place_label(place, language)} ({place.count + nationwide})",
                callback_data=DirList(cat=category.id, place=place.id).pack(),
            )
        )
    builder.row(
        InlineKeyboardButton(
            text=_("Everywhere ({count})").format(count=category.count),
            callback_data=DirList(cat=category.id, place=ALL_PLACES).pack(),
        )
    )
    builder.row(InlineKeyboardButton(text=_("⬅️ Categories"), callback_data=DirHome().pack()))
    return builder.as_markup()


def summary_line(number: int, item: Summary, language: str, distance: str | None = None) -> str:
    parts = [f"{number}. <b>{shown(item.name, language)}</b>"]
    city = shown(item.city, language)
    if city:
        parts.append(f" · {city}")
    if distance:
        parts.append(f" · {distance}")
    if item.accepts_record == "yes":
        parts.append(" ✅")
    if item.status == "temporarily_closed":
        parts.append(" ⛔")
    if item.hidden:
        parts.append(" 🙈")
    return "".join(parts)


def entry_buttons(
    builder: InlineKeyboardBuilder, items: Sequence[Summary], first_number: int, language: str
) -> None:
    for offset, item in enumerate(items):
        builder.row(
            InlineKeyboardButton(
                text=f"{first_number + offset}. {plain(item.name, language)}",
                callback_data=DirCard(id=item.id).pack(),
            )
        )


def list_screen(
    category: Category,
    place: Place | None,
    items: Sequence[Summary],
    page: int,
    only_accepting: bool,
    language: str,
    *,
    has_places: bool,
) -> tuple[str, InlineKeyboardMarkup]:
    shown_items, page, pages = paginate(items, page)
    title = html.quote(category_label(category, language))
    if place is not None:
        title += " · " + html.quote(place_label(place, language))
    lines = [f"<b>{title}</b>"]
    if only_accepting:
        lines.append(_("Only services that accept people with a criminal record."))
    if not items:
        lines.append("")
        lines.append(_("Nothing here yet."))
    else:
        count = _("{count} service", "{count} services", len(items)).format(count=len(items))
        if pages > 1:
            count += " · " + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
        lines.append(count)
        lines.append("")
        first = page * PAGE_SIZE + 1
        lines += [summary_line(first + i, item, language) for i, item in enumerate(shown_items)]
    builder = InlineKeyboardBuilder()
    entry_buttons(builder, shown_items, page * PAGE_SIZE + 1, language)
    place_id = place.id if place is not None else ALL_PLACES
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text=_("◀️ Previous"),
                callback_data=DirList(
                    cat=category.id, place=place_id, page=page - 1, rec=int(only_accepting)
                ).pack(),
            )
        )
    if page + 1 < pages:
        nav.append(
            InlineKeyboardButton(
                text=_("Next ▶️"),
                callback_data=DirList(
                    cat=category.id, place=place_id, page=page + 1, rec=int(only_accepting)
                ).pack(),
            )
        )
    if nav:
        builder.row(*nav)
    toggle = _("Show all services") if only_accepting else _("✅ Open to people with a record")
    builder.row(
        InlineKeyboardButton(
            text=toggle,
            callback_data=DirList(
                cat=category.id, place=place_id, page=0, rec=int(not only_accepting)
            ).pack(),
        )
    )
    back = DirList(cat=category.id, place=ASK_PLACE).pack() if has_places else DirHome().pack()
    builder.row(
        InlineKeyboardButton(text=_("📍 Nearest"), callback_data=DirNear(cat=category.id).pack()),
        InlineKeyboardButton(text=_("⬅️ Back"), callback_data=back),
    )
    return "\n".join(lines), builder.as_markup()


def results_screen(
    query: str,
    items: Sequence[Summary],
    seq: int,
    page: int,
    language: str,
    *,
    more: bool = False,  # the search found more than `items` (its limit)
) -> tuple[str, InlineKeyboardMarkup]:
    shown_items, page, pages = paginate(items, page)
    echo = query if len(query) <= 60 else query[:59] + "…"
    builder = InlineKeyboardBuilder()
    if not items:
        text = _("Nothing found for «{query}». Try other words, or choose a category.").format(
            query=html.quote(echo)
        )
    else:
        found = _("Found for «{query}»: {count}").format(query=html.quote(echo), count=len(items))
        if more:
            found = _(
                "Found for «{query}»: more than {count}. Showing the first {count}; add a word to narrow the search.",
                "Found for «{query}»: more than {count}. Showing the first {count}; add a word to narrow the search.",
                len(items),
            ).format(query=html.quote(echo), count=len(items))
        lines = [found]
        if pages > 1:
            lines.append(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
        lines.append("")
        first = page * PAGE_SIZE + 1
        lines += [summary_line(first + i, item, language) for i, item in enumerate(shown_items)]
        text = "\n".join(lines)
        entry_buttons(builder, shown_items, first, language)
        nav = []
        if page > 0:
            nav.append(
                InlineKeyboardButton(
                    text=_("◀️ Previous"), callback_data=DirSearchPage(seq=seq, page=page - 1).pack()
                )
            )
        if page + 1 < pages:
            nav.append(
                InlineKeyboardButton(
                    text=_("Next ▶️"), callback_data=DirSearchPage(seq=seq, page=page + 1).pack()
                )
            )
        if nav:
            builder.row(*nav)
    builder.row(
        InlineKeyboardButton(text=_("🔍 New search"), callback_data=DirAskSearch().pack()),
        InlineKeyboardButton(text=_("⬅️ Categories"), callback_data=DirHome().pack()),
    )
    return text, builder.as_markup()


def nearest_screen(
    hits: Sequence[tuple[Summary, float]], category: Category | None, language: str
) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    if not hits:
        text = _("No services with a known location yet. Try a category or a search.")
    else:
        if category is not None:
            title = _("<b>Nearest to you: {category}</b>").format(
                category=html.quote(category_label(category, language))
            )
        else:
            title = _("<b>Nearest to you</b>")
        lines = [title, ""]
        lines += [
            summary_line(i + 1, item, language, format_distance(km, language))
            for i, (item, km) in enumerate(hits)
        ]
        text = "\n".join(lines)
        entry_buttons(builder, [item for item, _km in hits], 1, language)
    builder.row(InlineKeyboardButton(text=_("⬅️ Categories"), callback_data=DirHome().pack()))
    return text, builder.as_markup()


def card_text(entry: Entry, language: str, now_local: datetime, *, admin: bool) -> str:
    lines = [f"<b>{shown(entry.name, language)}</b>"]
    organization = shown(entry.organization, language)
    if entry.organization and entry.organization.text(language) != entry.name.text(language):
        lines.append(organization)
    if entry.categories:
        lines.append(", ".join(html.quote(category_label(c, language)) for c in entry.categories))
    if entry.accepts_record == "yes":
        lines.append(_("✅ Accepts people with a criminal record"))
    elif entry.accepts_record == "no":
        lines.append(_("❗ Does not accept people with a criminal record"))
    if entry.is_demo:
        lines.append(_("🧪 Demo entry: not a real service"))
    if admin and entry.hidden:
        lines.append(_("🙈 Hidden from clients"))
    description = shown(entry.description, language)
    if description:
        lines += ["", description]
    lines.append("")
    place = [
        shown(t, language) for t in (entry.address, entry.city, entry.region) if t.text(language)
    ]
    if place:
        lines.append("📍 " + ", ".join(place))
    if entry.phones:
        lines.append("📞 " + ", ".join(html.quote(p) for p in entry.phones))
    hours = hours_lines(entry, language)
    if hours:
        lines.append("🕘 " + "\n".join(html.quote(h) for h in hours))
    state = open_line(entry, language, now_local)
    if state:
        lines.append(state)
    if entry.website:
        lines.append("🌐 " + html.quote(entry.website))
    if entry.email:
        lines.append("✉️ " + html.quote(entry.email))
    for label, texts in (
        (_("Who can come"), entry.eligibility),
        (_("What to bring"), entry.documents),
        (_("Cost"), entry.fees),
    ):
        value = shown(texts, language)
        if value:
            lines.append(f"<b>{label}:</b> {value}")
    if entry.languages:
        names = ", ".join(html.quote(language_name(c, language)) for c in entry.languages)
        lines.append(_("<b>Languages:</b> {languages}").format(languages=names))
    if entry.assured_date:
        checked = format_day(date.fromisoformat(entry.assured_date), language, _)
        lines.append(_("🗓 Information checked: {date}").format(date=checked))
    else:
        lines.append(_("🗓 Information not checked yet"))
    if admin:
        lines.append(
            _("Admin: id {id} · open reports: {count}").format(
                id=html.quote(entry.external_id), count=entry.open_reports
            )
        )
    return "\n".join(lines)


def card_keyboard(entry: Entry, *, admin: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(
            text=_("⚠️ Report a problem"), callback_data=DirReport(id=entry.id).pack()
        )
    )
    if admin:
        builder.row(
            InlineKeyboardButton(
                text=_("👁 Show to clients") if entry.hidden else _("🙈 Hide from clients"),
                callback_data=DirHide(id=entry.id, hide=int(not entry.hidden)).pack(),
            )
        )
    return builder.as_markup()


def reasons_keyboard(entry_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, label in REASON_LABELS.items():
        builder.row(
            InlineKeyboardButton(
                text=_(label), callback_data=DirReason(id=entry_id, reason=code).pack()
            )
        )
    return builder.as_markup()


# -- problem reports (admins) ------------------------------------------------------------------


def report_text(report: Report, language: str) -> str:
    reason = REASON_LABELS.get(report.reason, REASON_LABELS["other"])
    lines = [
        _("⚠️ <b>Problem report #{id}</b>").format(id=report.id),
        _("Entry: {name} (id {external_id})").format(
            name=shown(report.entry_name, language),
            external_id=html.quote(report.entry_external_id),
        ),
        _("What is wrong: {reason}").format(reason=_(reason)),
    ]
    if report.comment:
        lines.append(_("Comment: {comment}").format(comment=html.quote(report.comment)))
    return "\n".join(lines)


def report_keyboard(report: Report, *, in_list: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(
            text=_("📋 Entry #{id}").format(id=report.id) if in_list else _("📋 Open the entry"),
            callback_data=DirCard(id=report.entry_id).pack(),
        ),
        InlineKeyboardButton(
            text=_("✅ Resolve #{id}").format(id=report.id) if in_list else _("✅ Resolved"),
            callback_data=DirResolve(id=report.id, src=int(in_list)).pack(),
        ),
    )
    return builder.as_markup()


def reports_screen(
    open_reports: Sequence[Report], total: int, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not open_reports:
        return _("No open problem reports."), None
    lines = [_("<b>Open problem reports: {count}</b>").format(count=total)]
    builder = InlineKeyboardBuilder()
    for report in open_reports:
        lines += ["", report_text(report, language)]
        for row in report_keyboard(report, in_list=True).inline_keyboard:
            builder.row(*row)
    return "\n".join(lines), builder.as_markup()
