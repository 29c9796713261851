"""What the directory looks like: screens (text and keyboard), list pages and cards.

Pure functions, no I/O: handlers fetch, these render. The buttons' callback data is in
handlers/directory_callbacks.py. Every text from the data is escaped; a field shown in
another language than the person's gets a small marker with that language's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel import Locale, UnknownLocaleError
from babel.dates import get_day_names
from babel.units import format_unit

from bot.i18n import LANGUAGE_NAMES
from core.dates import format_day
from db.directory import Category, Entry, Place, Stats, Summary, Texts
from db.directory_hours import always_open, clock, open_state, week_table
from db.directory_reports import Report
from db.directory_text import natural_key
from handlers.directory_callbacks import (
    ALL_PLACES,
    ASK_PLACE,
    REASON_LABELS,
    DirAskSearch,
    DirCard,
    DirExport,
    DirHide,
    DirHome,
    DirImportValid,
    DirList,
    DirNear,
    DirReason,
    DirReport,
    DirReports,
    DirReportSend,
    DirResolve,
    DirSearchPage,
    Reason,
)
from handlers.ui import PAGE_SIZE, Screen, clip, paginate

BUTTON_TEXT_LIMIT = 60


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
    return clip(texts.text(language) or "—", limit)


def category_label(category: Category, language: str) -> str:
    return f"{category.emoji} {category.name.text(language)}"


def place_label(place: Place, language: str) -> str:
    return place.city.text(language) or place.region.text(language) or "—"


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


# Home keyboards already built, by what their buttons show: every /services draws one of
# a few (one per language and role while the directory does not change). A markup is never
# modified once built, so one object serves every reply.
_HOME_KEYBOARDS: dict[tuple[object, ...], InlineKeyboardMarkup] = {}
_HOME_KEYBOARDS_KEPT = 32  # more keys than that means the directory changed: start afresh


def home_keyboard(categories: Sequence[Category], language: str) -> InlineKeyboardMarkup:
    shown = tuple(
        (category.id, f"{category_label(category, language)} ({category.count})")
        for category in categories
        if category.count
    )
    search, nearest = _("🔍 Search"), _("📍 Nearest to me")
    key = (shown, search, nearest)
    markup = _HOME_KEYBOARDS.get(key)
    if markup is None:
        # Built as plain lists: InlineKeyboardBuilder deep-copies every button on as_markup.
        rows = [
            [InlineKeyboardButton(text=text, callback_data=DirList(cat=category_id).pack())]
            for category_id, text in shown
        ]
        rows.append(
            [
                InlineKeyboardButton(text=search, callback_data=DirAskSearch().pack()),
                InlineKeyboardButton(text=nearest, callback_data=DirNear().pack()),
            ]
        )
        markup = InlineKeyboardMarkup(inline_keyboard=rows)
        if len(_HOME_KEYBOARDS) >= _HOME_KEYBOARDS_KEPT:
            _HOME_KEYBOARDS.clear()
        _HOME_KEYBOARDS[key] = markup
    return markup


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
                    cat=category.id, place=place_id, page=page - 1, rec=only_accepting
                ).pack(),
            )
        )
    if page + 1 < pages:
        nav.append(
            InlineKeyboardButton(
                text=_("Next ▶️"),
                callback_data=DirList(
                    cat=category.id, place=place_id, page=page + 1, rec=only_accepting
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
                cat=category.id, place=place_id, page=0, rec=not only_accepting
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
                callback_data=DirHide(id=entry.id, hide=not entry.hidden).pack(),
            )
        )
    return builder.as_markup()


def reasons_screen(entry: Entry, language: str) -> Screen:
    """What is wrong with the entry: one button per reason, then Cancel (to the directory)."""
    text = _("What is wrong with «{name}»?").format(name=shown(entry.name, language))
    builder = InlineKeyboardBuilder()
    for reason, label in REASON_LABELS.items():
        builder.row(
            InlineKeyboardButton(
                text=_(label), callback_data=DirReason(id=entry.id, reason=reason).pack()
            )
        )
    builder.row(InlineKeyboardButton(text=_("Cancel"), callback_data=DirHome().pack()))
    return text, builder.as_markup()


def report_comment_screen(entry_id: int, reason: Reason) -> Screen:
    """After the reason: an optional comment, or «Send» at once."""
    text = _(
        "{reason}.\n\nAdd a few words if you like (for example the right phone number), "
        "or press «Send»."
    ).format(reason=_(REASON_LABELS[reason]))
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(text=_("Send"), callback_data=DirReportSend(id=entry_id).pack())
    )
    return text, builder.as_markup()


# -- problem reports (admins) ------------------------------------------------------------------


def report_text(report: Report, language: str) -> str:
    try:
        reason = REASON_LABELS[Reason(report.reason)]
    except ValueError:
        reason = REASON_LABELS[Reason.OTHER]
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
            callback_data=DirResolve(id=report.id, in_list=in_list).pack(),
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


# -- the admins' /directory screen and imports ---------------------------------------------


def overview_screen(stats: Stats) -> Screen:
    text = _(
        "<b>Service directory</b>\n\n"
        "Entries: {entries} (hidden: {hidden}, demo: {demo})\n"
        "Open problem reports: {reports}\n\n"
        "To add or update entries, send me the CSV file (columns: see the README). "
        "Every row is checked first; rows are matched by their id, so sending the same file "
        "again updates instead of duplicating. Demo entries are removed on the server with "
        "python -m bot directory remove-demo"
    ).format(
        entries=stats.entries, hidden=stats.hidden, demo=stats.demo, reports=stats.open_reports
    )
    builder = InlineKeyboardBuilder()
    builder.row(InlineKeyboardButton(text=_("⬇️ Export CSV"), callback_data=DirExport().pack()))
    builder.row(
        InlineKeyboardButton(text=_("⚠️ Problem reports"), callback_data=DirReports().pack())
    )
    return text, builder.as_markup()


def import_valid_keyboard(valid_rows: int) -> InlineKeyboardMarkup:
    """Offered under a refused import whose file has rows without problems."""
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(
            text=_(
                "Import {count} valid row",
                "Import {count} valid rows",
                valid_rows,
            ).format(count=valid_rows),
            callback_data=DirImportValid().pack(),
        )
    )
    return builder.as_markup()
