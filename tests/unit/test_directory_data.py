"""The directory against a real SQLite database: CSV validation and round trips, search, nearest."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from db import directory
from db import directory_reports as reports
from db.database import Database
from db.directory_csv import MAX_ROWS, parse_csv, write_csv
from db.directory_geo import haversine_km
from db.directory_import import (
    DEMO_FILE,
    STARTER_FILE,
    ImportRefusedError,
    bundled_file,
    category_order,
    export_csv,
    import_file,
    load_bundled,
    load_starter_once,
    remove_demo,
)
from db.migrate import migrate

TODAY = date(2026, 11, 25)
CODES = [
    "employment",
    "documents",
    "housing",
    "health",
    "addiction",
    "mental_health",
    "legal_aid",
    "social_benefits",
    "education",
    "basic_needs",
    "family",
    "peer_support",
    "emergency",
]


def row(external_id: str, **values: str) -> dict[str, str]:
    base = {
        "id": external_id,
        "organization_id": "org",
        "organization_name_en": "Org",
        "name_en": f"Service {external_id}",
        "categories": "employment",
    }
    return base | values


def parse(rows: list[dict[str, str]]) -> list[str]:
    parsed = parse_csv(write_csv(rows), CODES, TODAY)
    return [p.render() for p in parsed.problems]


# -- validation ----------------------------------------------------------------------------------


async def test_category_codes_match_the_migration(db: Database) -> None:
    assert await category_order(db) == CODES


def test_the_shipped_files_are_valid_and_demo_rows_say_so() -> None:
    for name in (STARTER_FILE, DEMO_FILE):
        parsed = parse_csv(bundled_file(name), CODES, TODAY)
        assert parsed.problems == [], name
        assert parsed.rows
    demo = parse_csv(bundled_file(DEMO_FILE), CODES, TODAY)
    assert all(r.values["demo"] == "yes" for r in demo.rows)
    starter = parse_csv(bundled_file(STARTER_FILE), CODES, TODAY)
    assert all(r.values["demo"] == "no" for r in starter.rows)
    numbers = {p for r in starter.rows for p in r.phones}
    assert numbers == {"112", "101", "102", "103", "104", "1414", "111"}


def test_every_bad_row_is_reported_with_its_number_and_reason() -> None:
    problems = parse(
        [
            row("ok"),
            row("bad id!"),
            row("ok"),
            row("x1", categories="jobs"),
            row("x2", latitude="50.1"),
            row("x3", latitude="abc", longitude="57"),
            row("x4", latitude="95", longitude="57"),
            row("x5", phones="call me"),
            row("x6", website="www.example.kz"),
            row("x7", email="not-an-email"),
            row("x8", hours="Mo-Fr 9-18"),
            row("x9", accepts_criminal_record="maybe"),
            row("x10", assured_date="2026-13-01"),
            row("x11", assured_date="2030-01-01"),
            row("x12", demo="yes", description_en="A real place"),
            row("x13", languages="klingon"),
            row("x14", name_en="", name_ru=""),
            row("x15", organization_name_en="Other name"),
            row("x16", name_en="x" * 201),
            row("x17", name_en="bell\x07"),
            row("x18", categories=""),
        ]
    )
    expected = [
        "Row 3: id: may hold only Latin letters",
        "Row 4: id: the id “ok” is already used in row 2",
        "Row 5: categories: unknown category “jobs”",
        "Row 6: latitude and longitude go together",
        "Row 7: latitude: “abc” is not a number",
        "Row 8: latitude: “95” is out of range",
        "Row 9: phones: “call me” is not a phone number",
        "Row 10: website: must be a link",
        "Row 11: email: “not-an-email” is not an e-mail address",
        "Row 12: hours: cannot read the time range “9-18”",
        "Row 13: accepts_criminal_record: must be one of: yes, no, unknown",
        "Row 14: assured_date: must be a date",
        "Row 15: assured_date: is in the future",
        "Row 16: description_kk: a demo row must say “демо”",
        "Row 17: languages: unknown language code “klingon”",
        "Row 18: a name is needed",
        "Row 19: organization_id: organization “org” has other names in row 2",
        "Row 20: name_en: is longer than 200 characters",
        "Row 21: name_en: contains control characters",
        "Row 22: categories: is required",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert not any(p.startswith("Row 2:") for p in problems)


def test_values_are_brought_to_one_canonical_form() -> None:
    raw = row(
        "canon",
        categories=" Legal_Aid , employment;employment",
        phones="+7 7132  00 00 00 ,112",
        latitude="50,28390",
        longitude=" 57.1670 ",
        languages="RU, kk",
        hours="  Mo-Fr   09:00-18:00 ",
        accepts_criminal_record="YES",
        name_en="  Two   spaces  ",
        description_en="Line one  \r\n\r\n\r\n\r\nLine two",
    )
    [parsed] = parse_csv(write_csv([raw]), CODES, TODAY).rows
    v = parsed.values
    assert v["categories"] == "employment;legal_aid"
    assert v["phones"] == "+7 7132 00 00 00; 112"
    assert (v["latitude"], v["longitude"]) == ("50.2839", "57.167")
    assert v["languages"] == "ru;kk"
    assert v["hours"] == "Mo-Fr 09:00-18:00"
    assert v["accepts_criminal_record"] == "yes"
    assert v["status"] == "active"
    assert v["demo"] == "no"
    assert v["name_en"] == "Two spaces"
    assert v["description_en"] == "Line one\n\nLine two"
    again = parse_csv(write_csv([v]), CODES, TODAY).rows[0]
    assert again.values == v  # canonical values are a fixed point


def test_semicolon_separated_files_with_a_bom_are_read() -> None:
    text = "\ufeffid;organization_id;organization_name_ru;name_ru;categories\nx;o;Орг;Жұмыс, орталығы;employment\n"
    parsed = parse_csv(text.encode("utf-8"), CODES, TODAY)
    assert parsed.problems == []
    assert parsed.rows[0].values["name_ru"] == "Жұмыс, орталығы"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("id,name_ru\n1,Дом\n".encode("cp1251"), "not UTF-8"),
        (b"   \n", "the file is empty"),
        (b"id,organization_id,categories,colour\n", "unknown column “colour”"),
        (b"id,id,organization_id,categories\n", "appears twice"),
        (b"name_en\nx\n", "no column “id”"),
        (b"a\x00b", "not a text CSV file"),
        (b'id,organization_id,categories\n"x,y,employment\n', "check the quotes"),
        (b"x" * (5 * 1024 * 1024 + 1), "larger than 5 MB"),
    ],
)
def test_broken_files_are_refused_as_a_whole(data: bytes, message: str) -> None:
    parsed = parse_csv(data, CODES, TODAY)
    assert parsed.file_problem is not None
    assert message in parsed.file_problem.render()
    assert parsed.rows == []


def test_too_many_rows_are_refused() -> None:
    header = "id,organization_id,categories"
    body = "".join(f"id{i},o,employment\n" for i in range(MAX_ROWS + 1))
    parsed = parse_csv(f"{header}\n{body}".encode(), CODES, TODAY)
    assert parsed.file_problem is not None
    assert "more than" in parsed.file_problem.render()


# -- import, export, round trip ----------------------------------------------------------------


async def test_export_then_import_round_trips_exactly(db: Database, tmp_path: Path) -> None:
    await load_bundled(db, STARTER_FILE, actor_id=None)
    await load_bundled(db, DEMO_FILE, actor_id=None)
    first = await export_csv(db)

    other = Database(tmp_path / "other.sqlite3")
    await other.connect()
    try:
        await migrate(other)
        _, result = await import_file(other, first, actor_id=None)
        assert result.created == await db.fetchval("SELECT COUNT(*) FROM dir_entry")
        second = await export_csv(other)
    finally:
        await other.close()
    assert second == first
    # Importing the export into the same database changes nothing.
    _, again = await import_file(db, first, actor_id=None)
    assert (again.created, again.updated) == (0, 0)


async def test_reimport_updates_by_id_without_duplicates(db: Database) -> None:
    await import_file(db, write_csv([row("a"), row("b")]), actor_id=None)
    _, result = await import_file(
        db, write_csv([row("a", name_en="Renamed"), row("b"), row("c")]), actor_id=None
    )
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert await db.fetchval("SELECT COUNT(*) FROM dir_entry") == 3
    renamed = await db.fetchval("SELECT id FROM dir_entry WHERE external_id = 'a'")
    assert await directory.search(db, "renamed") == [renamed]
    indexed = await db.fetchval("SELECT name FROM dir_fts WHERE rowid = ?", (renamed,))
    assert "service a" not in indexed  # the old name left the index
    assert await db.fetchval("SELECT COUNT(*) FROM dir_fts") == 3


async def test_any_bad_row_blocks_the_import_unless_skipped(db: Database) -> None:
    data = write_csv([row("good"), row("bad", categories="nope")])
    with pytest.raises(ImportRefusedError) as refused:
        await import_file(db, data, actor_id=None)
    assert refused.value.parsed.bad_rows == 1
    assert await db.fetchval("SELECT COUNT(*) FROM dir_entry") == 0
    _, result = await import_file(db, data, actor_id=None, skip_invalid=True)
    assert (result.created, result.skipped) == (1, 1)


async def test_renaming_an_organization_reindexes_its_other_entries(db: Database) -> None:
    await import_file(
        db, write_csv([row("a"), row("b", organization_name_en="Org")]), actor_id=None
    )
    await import_file(db, write_csv([row("a", organization_name_en="Zebra")]), actor_id=None)
    found = await directory.search(db, "zebra")
    assert len(found) == 2


async def test_remove_demo_deletes_only_demo_entries_and_their_index(db: Database) -> None:
    await load_starter_once(db)
    await load_bundled(db, DEMO_FILE, actor_id=None)
    starter = await db.fetchval("SELECT COUNT(*) FROM dir_entry WHERE is_demo = 0")
    assert await remove_demo(db, actor_id=None) == 7
    assert await db.fetchval("SELECT COUNT(*) FROM dir_entry") == starter
    assert await db.fetchval("SELECT COUNT(*) FROM dir_fts") == starter
    assert not await directory.search(db, "демо")
    assert await db.fetchval("SELECT COUNT(*) FROM dir_place") == 0
    assert await load_starter_once(db) is None  # never loaded twice


# -- search and nearest --------------------------------------------------------------------------


async def test_search_is_case_insensitive_and_ranks_names_first(db: Database) -> None:
    # Category names are searched too: «health» keeps «жұмыс» out of them here.
    rows = [
        row("body", name_kk="Кеңес", description_kk="Жұмыс іздеуге көмек", categories="health"),
        row("name", name_kk="Жұмыс орталығы", categories="health"),
        row("city", name_kk="Асхана", city_kk="Ақтөбе", categories="health"),
    ]
    await import_file(db, write_csv(rows), actor_id=None)
    ids = {
        r["external_id"]: r["id"]
        for r in await db.fetchall("SELECT id, external_id FROM dir_entry")
    }
    assert await directory.search(db, "ЖҰМЫС") == [ids["name"], ids["body"]]
    assert await directory.search(db, "жұмысқа") == []  # a longer word is not a prefix
    assert await directory.search(db, "жұм") == [ids["name"], ids["body"]]
    assert await directory.search(db, "АҚТӨБЕ") == [ids["city"]]
    assert await directory.search(db, "актобе") == [ids["city"]]
    # All words must match; when no entry has them all, any word may (names still first).
    either = await directory.search(db, "жұмыс ақтөбе")
    assert either[0] == ids["name"]
    assert set(either) == set(ids.values())


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "'",
        "*",
        "NEAR(",
        "a:b",
        "{x}",
        "^",
        "-",
        "AND",
        "'; DROP TABLE dir_entry; --",
        "🙂",
        "",
    ],
)
async def test_search_never_raises(db: Database, query: str) -> None:
    await load_bundled(db, STARTER_FILE, actor_id=None)
    assert isinstance(await directory.search(db, query), list)
    assert await db.fetchval("SELECT COUNT(*) FROM dir_entry") > 0


async def test_hidden_entries_are_found_only_by_admins(db: Database) -> None:
    await import_file(db, write_csv([row("h", name_en="Hidden place")]), actor_id=None)
    entry_id = await db.fetchval("SELECT id FROM dir_entry")
    assert await directory.set_hidden(db, entry_id, True, actor_id=1)
    assert await directory.search(db, "hidden") == []
    assert await directory.search(db, "hidden", include_hidden=True) == [entry_id]
    assert await directory.get_entry(db, entry_id) is None
    assert await directory.get_entry(db, entry_id, include_hidden=True) is not None
    assert not await directory.set_hidden(db, 999, True, actor_id=1)
    assert await directory.get_entry(db, 2**70) is None


async def test_nearest_matches_brute_force(db: Database) -> None:
    rng = random.Random(7)
    rows = [
        row(
            f"p{i}",
            latitude=f"{rng.uniform(41, 55):.5f}",
            longitude=f"{rng.uniform(47, 87):.5f}",
            categories=rng.choice(["employment", "health"]),
        )
        for i in range(300)
    ]
    await import_file(db, write_csv(rows), actor_id=None)
    points = await db.fetchall("SELECT id, latitude, longitude FROM dir_entry")
    for lat, lon in [(49.47, 57.42), (43.24, 76.89), (60.0, 100.0)]:
        expected = sorted(points, key=lambda p: haversine_km(lat, lon, p[1], p[2]))[:10]
        got = await directory.nearest(db, lat, lon, limit=10)
        assert [entry_id for entry_id, _ in got] == [p[0] for p in expected]
    health = await directory.nearest(db, 49.47, 57.42, category_id=4, limit=5)
    health_ids = {
        r[0]
        for r in await db.fetchall("SELECT entry_id FROM dir_entry_category WHERE category_id = 4")
    }
    assert {entry_id for entry_id, _ in health} <= health_ids
    assert len(health) == 5


async def test_queries_use_the_indexes(db: Database) -> None:
    plan = await db.fetchall(
        "EXPLAIN QUERY PLAN SELECT e.id FROM dir_entry e INDEXED BY dir_entry_geo "
        "WHERE e.latitude BETWEEN 1 AND 2 AND e.longitude BETWEEN 1 AND 2 AND e.hidden = 0"
    )
    assert any("INDEX dir_entry_geo (latitude>? AND latitude<?)" in r["detail"] for r in plan)
    plan = await db.fetchall(
        "EXPLAIN QUERY PLAN SELECT rowid FROM dir_fts WHERE dir_fts MATCH '\"x\"*'"
    )
    assert any("VIRTUAL TABLE INDEX" in r["detail"] for r in plan)


# -- reports ---------------------------------------------------------------------------------------


async def test_reports_are_not_repeated_and_are_limited_per_day(db: Database) -> None:
    await import_file(db, write_csv([row(f"r{i}") for i in range(7)]), actor_id=None)
    ids = [r[0] for r in await db.fetchall("SELECT id FROM dir_entry ORDER BY id")]
    outcome, first = await reports.add(db, ids[0], 42, "phone", "  the   number\nis wrong ")
    assert outcome is reports.Outcome.CREATED
    assert (await reports.add(db, ids[0], 42, "hours", ""))[0] is reports.Outcome.DUPLICATE
    for entry_id in ids[1:5]:
        assert (await reports.add(db, entry_id, 42, "other", ""))[0] is reports.Outcome.CREATED
    assert (await reports.add(db, ids[5], 42, "other", ""))[0] is reports.Outcome.LIMITED
    assert (await reports.add(db, 999, 43, "other", ""))[0] is reports.Outcome.GONE
    assert first is not None
    stored = await reports.get(db, first)
    assert stored is not None
    assert stored.comment == "the number is wrong"
    assert await reports.resolve(db, first, actor_id=1) is not None
    assert await reports.resolve(db, first, actor_id=1) is None
    open_now, total = await reports.open_reports(db)
    assert total == 4
    assert len(open_now) == 4
