"""The service directory, driven as people would through the fake Bot API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from aiogram import Bot

from db import audit, directory
from db.directory_csv import parse_csv, write_csv
from db.directory_import import DEMO_FILE, import_file, load_bundled
from emulator import FakeUser, Msg
from handlers.directory_callbacks import DirHide, DirResolve
from tests.harness import ADMIN_ID, BotUnderTest

SERVICES = {"kk": "📋 Қызметтер", "ru": "📋 Услуги", "en": "📋 Services"}
APOLOGY = "Sorry, something went wrong on our side. Please try again in a minute."
STALE = "This button is no longer active. Please use the menu."


def tri(prefix: str, kk: str, ru: str, en: str) -> dict[str, str]:
    return {f"{prefix}_kk": kk, f"{prefix}_ru": ru, f"{prefix}_en": en}


def row(external_id: str, **values: str) -> dict[str, str]:
    base = {
        "id": external_id,
        "organization_id": "test-org",
        **tri("organization_name", "Сынақ ұйымы", "Тестовая организация", "Test organisation"),
        **tri("name", f"Қызмет {external_id}", f"Услуга {external_id}", f"Service {external_id}"),
        "categories": "employment",
    }
    return base | values


async def load_demo(app: BotUnderTest) -> None:
    await load_bundled(app.db, DEMO_FILE, actor_id=None)


async def category_button(app: BotUnderTest, code: str, language: str) -> str:
    found = next(c for c in await directory.categories(app.db) if c.code == code)
    return f"{found.emoji} {found.name.get(language)} ({found.count})"


def texts(messages: list[Msg]) -> str:
    return "\n".join(m.text or "" for m in messages)


def button_data(message: Msg, text: str) -> str:
    """The callback data of a button on an older message (to press it after newer ones came)."""
    for row_ in message.inline_buttons:
        for label, data in row_:
            if label == text and data is not None:
                return data
    raise AssertionError(f"no button {text!r} on {message}")


async def open_services(person: FakeUser, language: str) -> Msg:
    [home] = await person.press(SERVICES[language])
    return home


# -- browsing ----------------------------------------------------------------------------------

CARD_WORDS = {
    "kk": ("Уақытша баспана (демо), Қандыағаш", "Соттылығы бар", "Тәулік бойы"),
    "ru": ("Временный приют (демо), Кандыагаш", "судимостью", "Круглосуточно"),
    "en": ("Temporary shelter (demo), Kandyagash", "criminal record", "Open 24 hours"),
}


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_browse_a_category_to_a_card_with_its_map_pin(
    app: BotUnderTest, language: str
) -> None:
    await load_demo(app)
    person = await app.client(301, language)
    home = await open_services(person, language)
    assert home.text
    await person.press(await category_button(app, "housing", language))
    name, badge, hours = CARD_WORDS[language]
    assert name in person.last.body
    replies = await person.press(f"1. {name}")
    card, pin = replies
    assert name in card.body
    assert badge in card.body
    assert hours in card.body
    assert pin.kind == "venue"
    assert pin.venue_title == name
    assert pin.location == pytest.approx((49.4725, 57.408))
    assert app.api.unanswered_callbacks == []


async def test_a_card_shows_open_now_phone_and_checked_date(app: BotUnderTest) -> None:
    person = await app.client(302, "en")
    await open_services(person, "en")
    await person.press(await category_button(app, "emergency", "en"))
    [card] = await person.press("1. 101 — fire service")
    text = card.text or ""
    assert "📞 101" in text
    assert "🟢 Open now" in text
    assert "Information checked:" in text
    assert "Free" in text


async def test_a_category_in_several_places_asks_where_first(app: BotUnderTest) -> None:
    await load_demo(app)
    person = await app.client(303, "ru")
    await open_services(person, "ru")
    await person.press(await category_button(app, "basic_needs", "ru"))
    assert "Где вы ищете?" in person.last.body
    assert ["📍 Актобе (1)"] in person.buttons()
    await person.press("📍 Актобе (1)")
    text = person.last.text or ""
    assert "Социальная столовая (демо), Актобе" in text
    assert "Кандыагаш" not in text


async def test_long_lists_are_paged(app: BotUnderTest) -> None:
    admin = await app.admin()
    rows = [row(f"page-{i:02d}") for i in range(19)]
    await admin.send_document(write_csv(rows), "many.csv")
    person = await app.client(304, "en")
    await open_services(person, "en")
    await person.press(await category_button(app, "employment", "en"))
    assert "20 services · Page 1 of 3" in person.last.body
    await person.press("Next ▶️")
    assert "Page 2 of 3" in person.last.body
    await person.press("Next ▶️")
    assert "Page 3 of 3" in person.last.body
    assert ["◀️ Previous"] in person.buttons()


async def test_the_record_filter_keeps_only_services_that_accept_a_record(
    app: BotUnderTest,
) -> None:
    admin = await app.admin()
    rows = [
        row("yes-1", accepts_criminal_record="yes", **tri("name", "Иә", "Да", "Yes place")),
        row("no-1", accepts_criminal_record="no", **tri("name", "Жоқ", "Нет", "No place")),
    ]
    await admin.send_document(write_csv(rows), "filter.csv")
    person = await app.client(305, "en")
    await open_services(person, "en")
    await person.press(await category_button(app, "employment", "en"))
    assert "No place" in person.last.body
    await person.press("✅ Open to people with a record")
    text = person.last.text or ""
    assert "Yes place" in text
    assert "No place" not in text


# -- search ------------------------------------------------------------------------------------


async def test_kazakh_search_ignores_letter_case(app: BotUnderTest) -> None:
    await load_demo(app)
    person = await app.client(310, "kk")
    await open_services(person, "kk")
    await person.press("🔍 Іздеу")
    [reply] = await person.send("ЖҰМЫС")
    text = reply.text or ""
    assert "Жұмыспен қамту орталығы (демо), Қандыағаш" in text
    assert "Enbek.kz — жұмыс іздеу" in text
    [reply] = await person.command("services", "АҚТӨБЕ")
    lines = reply.body.splitlines()
    hits = [line for line in lines if line[:1].isdigit()]
    # Name matches rank first: the two with «Ақтөбе» in their name, then the region matches.
    assert "Ақтөбе" in hits[0]
    assert "Ақтөбе" in hits[1]
    assert "Қандыағаш" in hits[-1]


async def test_russian_search_ignores_letter_case_and_kazakh_letters(app: BotUnderTest) -> None:
    await load_demo(app)
    person = await app.client(311, "ru")
    [reply] = await person.command("services", "ЦЕНТР ЗАНЯТОСТИ")
    assert "Центр занятости (демо), Кандыагаш" in reply.body
    # Typed on a Russian keyboard, without Kazakh letters: «Актобе» finds «Ақтөбе» too.
    [reply] = await person.command("services", "актобе столовая")
    assert "Социальная столовая (демо), Актобе" in reply.body


HOSTILE = [
    '"',
    "'",
    '"unterminated',
    "*",
    "NEAR(a b",
    "AND OR NOT",
    "^name:x",
    "{name body} : x",
    "'; DROP TABLE dir_entry; --",
    "1' OR '1'='1",
    "%_\\",
    "🙂🙂🙂",
    "👨‍👩‍👧 семья",
    "-----",
    "x" * 4000,
    "жұмыс " * 700,
    "<b>bold</b> &amp; <script>",
    "\u202e\u200b",
]


async def test_hostile_queries_are_answered_without_errors(app: BotUnderTest) -> None:
    person = await app.client(312, "en")
    before = await app.db.fetchval("SELECT COUNT(*) FROM dir_entry")
    for query in HOSTILE:
        await person.press(SERVICES["en"])
        await person.press("🔍 Search")
        replies = await person.send(query)
        assert replies, query[:20]
        assert all(APOLOGY not in r.body for r in replies), query[:20]
        answers = ("Nothing found", "Found", "Type what you are looking for")  # the last: blank
        assert any(a in r.body for a in answers for r in replies), query[:20]
    [reply] = await person.command("services", '"; DROP TABLE users; --')
    assert "Nothing found" in reply.body
    assert await app.db.fetchval("SELECT COUNT(*) FROM dir_entry") == before


async def test_search_pages_belong_to_the_latest_search(app: BotUnderTest) -> None:
    admin = await app.admin()
    rows = [row(f"find-{i:02d}", **tri("name", "Зефир", "Зефир", "Zephyr")) for i in range(12)]
    await admin.send_document(write_csv(rows), "f.csv")
    person = await app.client(313, "en")
    [first] = await person.command("services", "ZEPHYR")
    assert "Page 1 of 2" in first.body
    await person.command("services", "fire")
    await person.press_data(button_data(first, "Next ▶️"), message_id=first.message_id)
    answer = person.last_callback_answer
    assert answer is not None
    assert answer.text == "This search is out of date. Please search again."


# -- nearest -----------------------------------------------------------------------------------


async def test_nearest_to_a_shared_location(app: BotUnderTest) -> None:
    await load_demo(app)
    person = await app.client(320, "en")
    await open_services(person, "en")
    await person.press("📍 Nearest to me")
    keyboard = person.reply_keyboard
    assert keyboard is not None
    assert keyboard["keyboard"][0][0]["request_location"] is True
    replies = await person.share_location(49.4700, 57.4200)
    assert "not stored" in replies[0].body
    text = replies[-1].text or ""
    lines = [line for line in text.splitlines() if line[:1].isdigit()]
    assert "Kandyagash" in lines[0]
    assert " m" in lines[0] or " km" in lines[0]
    assert "Aktobe" in lines[-1]  # ~90 km away, after every Kandyagash entry
    assert SERVICES["en"] in [b for r in person.reply_buttons() for b in r]


async def test_nearest_within_a_category_formats_distance_for_the_language(
    app: BotUnderTest,
) -> None:
    await load_demo(app)
    person = await app.client(321, "ru")
    await open_services(person, "ru")
    await person.press(await category_button(app, "addiction", "ru"))
    await person.press("📍 Рядом")
    replies = await person.share_location(49.4700, 57.4200)
    text = replies[-1].text or ""
    assert "Центр помощи при зависимости (демо), Актобе" in text
    assert "94 км" in text  # units in the person's language (Babel)
    assert "Кандыагаш" not in text


async def test_a_card_full_of_ampersands_is_shown_in_valid_parts(app: BotUnderTest) -> None:
    # Audit a19 (F24): escaped, 1,000 "&" are 5,000 characters on one line, which used to be
    # cut inside an "&amp;" and refused by Telegram on every press.
    rows = [
        row("amp", name_en="Ampersand service", description_en="&" * 1000),
        row("sym", name_en="Symbols", fees_en="&<>" * 100, eligibility_en="&" * 400),
    ]
    await import_file(app.db, write_csv(rows), actor_id=None)
    person = await app.client(7161, "en")
    await person.command("services", "Ampersand")
    replies = await person.press("1. Ampersand service")
    assert len(replies) == 2
    assert APOLOGY not in texts(replies)
    assert "".join(m.text or "" for m in replies).count("&") == 1000
    assert replies[0].text is not None
    assert replies[0].text.startswith("Ampersand service")
    assert replies[-1].inline_buttons  # the card's buttons come with its last part
    await person.command("services", "Symbols")
    replies = await person.press("1. Symbols")
    assert APOLOGY not in texts(replies)
    assert "&<>" * 100 in "".join(m.text or "" for m in replies)
    assert app.api.errors == []


# -- admins: import, export, hide --------------------------------------------------------------

GOOD_AND_BAD = [
    row("good-1", **tri("name", "Жаңа жұмыс", "Новая работа", "New work")),
    row("bad-1", categories="unknown"),
    row("good-2", hours="Mo-Fr 09:00-18:00"),
    row("bad-2", hours="Mo-Fr 9-18", latitude="50"),
]


async def test_admin_csv_import_rejects_bad_rows_then_imports_the_valid_ones(
    app: BotUnderTest,
) -> None:
    admin = await app.admin()
    before = await app.db.fetchval("SELECT COUNT(*) FROM dir_entry")
    [reply] = await admin.send_document(write_csv(GOOD_AND_BAD), "services.csv")
    text = reply.text or ""
    assert "Nothing was imported. Rows with problems: 2 of 4." in text
    assert "Row 3: categories: unknown category “unknown”" in text
    assert "Row 5: hours: cannot read the time range “9-18”" in text
    assert "Row 5: latitude and longitude go together" in text
    assert await app.db.fetchval("SELECT COUNT(*) FROM dir_entry") == before

    [done] = await admin.press("Import 2 valid rows")
    assert "Imported: 2 new, 0 updated, 0 unchanged." in done.body
    assert "2 rows with problems were skipped" in done.body
    assert await app.db.fetchval("SELECT COUNT(*) FROM dir_entry") == before + 2

    # The same file again: updated by id, no duplicates.
    good = [r for r in GOOD_AND_BAD if r["id"].startswith("good")]
    [again] = await admin.send_document(write_csv(good), "services.csv")
    assert "Imported: 0 new, 0 updated, 2 unchanged." in again.body
    good[0] = good[0] | {"phones": "+7 7132 00 00 00"}
    [changed] = await admin.send_document(write_csv(good), "services.csv")
    assert "Imported: 0 new, 1 updated, 1 unchanged." in changed.body
    assert await app.db.fetchval("SELECT COUNT(*) FROM dir_entry") == before + 2
    actions = [a["action"] for a in await audit.recent(app.db)]
    assert actions.count("directory.imported") >= 3


async def test_admin_import_report_is_in_the_admins_language(app: BotUnderTest) -> None:
    admin = await app.admin("kk")
    [reply] = await admin.send_document(write_csv(GOOD_AND_BAD), "services.csv")
    text = reply.text or ""
    assert "Ештеңе импортталмады" in text
    assert "№3 жол" in text


async def test_a_file_of_bad_cells_gets_a_short_report_with_the_true_count(
    app: BotUnderTest,
) -> None:
    # Audit F10: 1.1 million problems used to be kept in memory; now the first ones are
    # kept and the rest counted.
    bad = [row(f"bad-{i}", categories="nope", hours="soon", latitude="x") for i in range(300)]
    data = write_csv(bad)
    parsed = parse_csv(
        data, [c.code for c in await directory.categories(app.db)], datetime.now(UTC).date()
    )
    assert parsed.problem_count == 300 * 3
    admin = await app.admin()
    replies = await admin.send_document(data, "services.csv")
    text = texts(replies)
    assert "Nothing was imported. Rows with problems: 300 of 300." in text
    assert text.count("• Row ") == 25
    assert f"… and {300 * 3 - 25} more problems" in text
    assert APOLOGY not in text


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        ("id,name_ru\n1,Дом\n".encode("cp1251"), "cp1251.csv", "not UTF-8"),
        (b"", "empty.csv", "empty"),
        (b"just,some,words\n1,2,3\n", "noheader.csv", "unknown column"),
        (b"id,organization_id\nx,y\n", "missing.csv", "no column “categories”"),
        (b'id,organization_id,categories\n"x,y,employment\n', "quote.csv", "check the quotes"),
        (b"%PDF-1.4 \x00\x01", "scan.pdf", "send a .csv file"),
    ],
)
async def test_broken_files_get_a_clear_answer(
    app: BotUnderTest, content: bytes, filename: str, expected: str
) -> None:
    admin = await app.admin()
    mime = "application/pdf" if filename.endswith(".pdf") else "text/csv"
    if not content:
        content = b"\n"
    replies = await admin.send_document(content, filename, mime_type=mime)
    assert expected in texts(replies)


async def test_a_huge_file_is_refused_before_download(app: BotUnderTest) -> None:
    admin = await app.admin()
    huge = b"id,organization_id,categories\n" + b"x" * (6 * 1024 * 1024)
    [reply] = await admin.send_document(huge, "huge.csv")
    assert "larger than 5 MB" in reply.body


DOWNLOAD_FAILED = "I could not download the file. Please send it again."


def rendered_log(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


async def test_a_failed_download_gets_a_clear_answer_and_keeps_the_token_out_of_the_log(
    app: BotUnderTest, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Audit a05 (F6): the file URL holds the bot token, and a 404 raised aiohttp's
    # ClientResponseError (not a TelegramAPIError), whose traceback reached the ERROR log.
    admin = await app.admin()
    monkeypatch.setattr(app.api.state, "file_by_path", lambda path: None)
    with caplog.at_level(logging.INFO):
        replies = await admin.send_document(write_csv([row("x")]), "services.csv")
    assert [r.text for r in replies] == [DOWNLOAD_FAILED]
    log_text = rendered_log(caplog)
    assert "Could not download an import file: ClientResponseError" in log_text
    assert app.api.token not in log_text
    assert "Traceback" not in log_text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_download_that_times_out_gets_the_same_answer(
    app: BotUnderTest, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await app.admin()

    async def too_slow(*args: object, **kwargs: object) -> None:
        raise TimeoutError

    monkeypatch.setattr(Bot, "download", too_slow)
    with caplog.at_level(logging.INFO):
        replies = await admin.send_document(write_csv([row("x")]), "services.csv")
    assert [r.text for r in replies] == [DOWNLOAD_FAILED]
    assert "Could not download an import file: TimeoutError" in rendered_log(caplog)


async def test_export_then_import_in_the_bot_changes_nothing(app: BotUnderTest) -> None:
    await load_demo(app)
    admin = await app.admin()
    await admin.command("directory")
    [document] = await admin.press("⬇️ Export CSV")
    assert document.kind == "document"
    assert document.document is not None
    count = await app.db.fetchval("SELECT COUNT(*) FROM dir_entry")
    [reply] = await admin.send_document(document.document, "directory.csv")
    assert f"Imported: 0 new, 0 updated, {count} unchanged." in reply.body


async def test_a_client_cannot_import_or_hide(app: BotUnderTest) -> None:
    client = await app.client(330, "en")
    before = await app.db.fetchval("SELECT COUNT(*) FROM dir_entry")
    [reply] = await client.send_document(write_csv([row("sneaky")]), "services.csv")
    assert reply.text == "I understand text and buttons. Please choose from the menu below."
    assert await app.db.fetchval("SELECT COUNT(*) FROM dir_entry") == before
    await client.command("services", "fire")
    await client.press_data(DirHide(id=1, hide=True).pack())
    answer = client.last_callback_answer
    assert answer is not None
    assert answer.text == STALE
    assert await app.db.fetchval("SELECT COUNT(*) FROM dir_entry WHERE hidden = 1") == 0
    [reply] = await client.command("reports")
    assert "only for" in reply.body


async def test_admin_hides_and_shows_an_entry(app: BotUnderTest) -> None:
    admin = await app.admin()
    client = await app.client(331, "en")
    [found] = await client.command("services", "fire")
    assert "101 — fire service" in found.body
    await admin.command("services", "fire")
    [card] = await admin.press("1. 101 — fire service")
    assert "Admin: id kz-101" in card.body
    await admin.press("🙈 Hide from clients")
    assert admin.last_callback_answer is not None
    assert admin.last_callback_answer.text == "Hidden from clients."
    assert "🙈 Hidden from clients" in card.body  # the card was redrawn in place

    [reply] = await client.command("services", "fire")
    assert "Nothing found" in reply.body
    # The client's old button to the card is checked again on press.
    await client.press_data(
        button_data(found, "1. 101 — fire service"), message_id=found.message_id
    )
    assert client.last_callback_answer is not None
    assert client.last_callback_answer.text == "This service is no longer in the directory."

    await admin.press("👁 Show to clients")
    [reply] = await client.command("services", "fire")
    assert "101 — fire service" in reply.body
    actions = [a["action"] for a in await audit.recent(app.db)]
    assert "directory.entry_hidden" in actions
    assert "directory.entry_unhidden" in actions


# -- problem reports ---------------------------------------------------------------------------


async def test_a_problem_report_reaches_the_admin_who_resolves_it(app: BotUnderTest) -> None:
    admin = await app.admin()
    client = await app.client(340, "ru")
    await client.command("services", "газ")
    await client.press("1. 104 — аварийная газовая служба")
    await client.press("⚠️ Сообщить о проблеме")
    await client.press("Неверный номер телефона")
    [thanks] = await client.send("<b>номер</b> & не отвечает")
    assert "Спасибо" in thanks.body

    notice = await admin.wait_for("Problem report #1")
    text = notice.text or ""
    assert "104 — gas emergency service" in text
    assert "The phone number is wrong" in text
    assert "<b>номер</b> & не отвечает" in text  # escaped, shown as typed
    [card] = await admin.press("📋 Open the entry")
    assert "open reports: 1" in card.body

    [listing] = await admin.command("reports")
    assert "Open problem reports: 1" in listing.body
    await admin.press("✅ Resolved")
    assert admin.last_callback_answer is not None
    assert admin.last_callback_answer.text == "Report #1 is resolved."
    [listing] = await admin.command("reports")
    assert listing.text == "No open problem reports."
    # A second press of the old button changes nothing.
    await admin.press_data(DirResolve(id=1).pack())
    assert admin.last_callback_answer is not None
    assert "already resolved" in admin.last_callback_answer.body
    assert "directory.report_resolved" in [a["action"] for a in await audit.recent(app.db)]


async def test_reports_are_limited_and_not_repeated(app: BotUnderTest) -> None:
    await app.admin()
    client = await app.client(341, "en")
    await client.command("services", "police")
    await client.press("1. 102 — police")
    for expected in ("Thank you! The administrators", "already reported"):
        await client.press("⚠️ Report a problem")
        await client.press("Something else")
        [reply] = await client.press("Send")
        assert expected in reply.body


# -- forged buttons ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("dc1:999999", "This service is no longer in the directory."),
        ("dc1:-5", "This service is no longer in the directory."),
        ("dc1:99999999999999999999999999", "This service is no longer in the directory."),
        ("dc1:abc", STALE),
        ("dl1:999:-1:0:0", "This list is no longer available. Please open /services again."),
        ("dl1:1:-1:-3:0", STALE),
        ("dl1:1:-1:0:7", STALE),
        ("dl1:1:424242:0:0", "This list is no longer available. Please open /services again."),
        ("dp1:77:0", "This search is out of date. Please search again."),
        ("dw1:1:bogus", STALE),
        ("dr1:424242", "This service is no longer in the directory."),
        ("ds1:1", STALE),
        ("dd1:1:0", STALE),
        ("de1", STALE),
        ("di1", STALE),
        # Buttons made before the prefixes had a version (or by an older version).
        ("dircard:1", STALE),
        ("dirlist:1:-1:0:0", STALE),
        ("dc0:1", STALE),
    ],
)
async def test_forged_buttons_are_refused_and_change_nothing(
    app: BotUnderTest, data: str, expected: str
) -> None:
    person = await app.client(350, "en")
    await person.press(SERVICES["en"])
    before = await app.db.fetchval(
        "SELECT COUNT(*) + (SELECT COUNT(*) FROM dir_report) FROM dir_entry WHERE hidden = 0"
    )
    sent_before = len(person.bot_messages)
    await person.press_data(data)
    answer = person.last_callback_answer
    assert answer is not None
    assert answer.text == expected
    assert len(person.bot_messages) == sent_before
    after = await app.db.fetchval(
        "SELECT COUNT(*) + (SELECT COUNT(*) FROM dir_report) FROM dir_entry WHERE hidden = 0"
    )
    assert after == before
    assert app.api.unanswered_callbacks == []


async def test_the_menu_and_help_offer_the_directory(app: BotUnderTest) -> None:
    person = await app.client(360, "kk")
    assert person.reply_buttons()[0] == [SERVICES["kk"]]
    [reply] = await person.command("help")
    assert "/services" in reply.body
    assert "services" in [c["command"] for c in app.api.commands_for(360)]
    admin = await app.admin()
    [reply] = await admin.command("help")
    assert "/reports" in reply.body
    assert "reports" in [c["command"] for c in app.api.commands_for(ADMIN_ID)]


async def test_words_instead_of_a_location_are_searched(app: BotUnderTest) -> None:
    await load_demo(app)
    person = await app.client(322, "kk")
    await open_services(person, "kk")
    await person.press("📍 Маған ең жақын")
    [reply] = await person.send("қандыағаш")
    assert "Қандыағаш" in reply.body
    [reply] = await person.press("⬅️ Басты мәзірге")
    assert reply.text == "Басты мәзір."
    assert person.reply_buttons()[0] == [SERVICES["kk"]]
