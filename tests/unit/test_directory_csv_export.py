"""Exported CSV cells cannot run as spreadsheet formulas, and the protection round-trips (F27)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from db.database import Database
from db.directory_csv import COLUMNS, parse_csv, spreadsheet_safe, write_csv
from db.directory_import import export_csv, import_file
from db.migrate import migrate
from tests.unit.test_directory_data import CODES, TODAY, row

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cells(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_cells_that_would_run_as_formulas_get_a_leading_quote() -> None:
    for value in ('=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"):
        assert spreadsheet_safe("name_en", value) == "'" + value
    assert spreadsheet_safe("description_en", "\tx") == "'\tx"
    assert spreadsheet_safe("description_en", "\rx") == "'\rx"
    # Plain numbers and validated phone numbers cannot run, and stay as they are.
    for value in ("-12.5", "+7", "-1e-06", "49.4669", "-0,5"):
        assert spreadsheet_safe("latitude", value) == value
    assert spreadsheet_safe("phones", "+7 7133 00 00 00; 112") == "+7 7133 00 00 00; 112"
    assert spreadsheet_safe("phones", "+7 (7132) 55-12-00") == "+7 (7132) 55-12-00"
    # A "phone" that is really a formula is protected all the same.
    assert spreadsheet_safe("phones", "+1+cmd|calc") == "'+1+cmd|calc"
    for value in ("", "Work", "'quoted'", " =spaced", "a=b"):
        assert spreadsheet_safe("name_en", value) == value
    # A value that starts with its own quote before = gets one more, so it reads back as is.
    assert spreadsheet_safe("name_en", "'=typed") == "''=typed"


def test_written_file_has_no_cell_starting_a_formula() -> None:
    risky = row(
        "f1",
        name_en="=1+1",
        name_ru="@Сервис",
        description_en="-cmd\nsecond line",
        address_en="+ 5 Abai",
        latitude="-12.5",
        longitude="-45",
        phones="+7 7133 00 00 00; 112",
    )
    [written] = cells(write_csv([risky]))
    for column in COLUMNS:
        value = written[column]
        if column in ("latitude", "longitude", "phones"):
            assert value == risky[column]
        else:
            assert not value.startswith(FORMULA_STARTS), (column, value)
    assert written["name_en"] == "'=1+1"
    assert written["description_en"] == "'-cmd\nsecond line"


def test_import_takes_off_exactly_one_protecting_quote() -> None:
    values = {
        "name_en": "'=1+1",  # protected by export → =1+1
        "name_ru": "''=2",  # one quote goes: the value had its own
        "name_kk": "'Work'",  # an ordinary quote: kept
        "address_en": "'@home",
        "description_en": "'\t-tab",  # tab after the quote: the quote goes, the tab becomes a space
    }
    raw = "".join(f",{k}" for k in values)
    line = "".join(f',"{v}"' for v in values.values())
    text = f"id,organization_id,organization_name_en,categories{raw}\nq,o,Org,employment{line}\n"
    parsed = parse_csv(text.encode(), CODES, TODAY)
    assert parsed.problems == []
    got = parsed.rows[0].values
    assert got["name_en"] == "=1+1"
    assert got["name_ru"] == "'=2"
    assert got["name_kk"] == "'Work'"
    assert got["address_en"] == "@home"
    assert got["description_en"] == "-tab"


_TRICKY = st.text(alphabet="'=+-@ \t\r\n\"ab1.,;", max_size=12)


@settings(max_examples=300, deadline=None)
@given(name=_TRICKY, description=_TRICKY, fees=_TRICKY)
def test_canonical_values_survive_export_and_import_byte_for_byte(
    name: str, description: str, fees: str
) -> None:
    raw = row("h", name_ru=name, description_en=description, fees_kk=fees)
    first = parse_csv(write_csv([raw]), CODES, TODAY)
    if not first.rows:
        return  # e.g. a name that is empty after cleaning
    canonical = first.rows[0].values
    exported = write_csv([canonical])
    again = parse_csv(exported, CODES, TODAY)
    assert again.rows[0].values == canonical
    assert write_csv([again.rows[0].values]) == exported
    for value in cells(exported)[0].values():
        assert not value.startswith(("=", "@", "\t", "\r"))


async def test_export_import_export_stays_byte_equal_with_risky_values(
    db: Database, tmp_path: Path
) -> None:
    rows = [
        row(
            "r1",
            name_en="=cmd|' /C calc'!A0",
            description_en="+1\n-2",
            latitude="-12.5",
            longitude="130",
        ),
        row("r2", name_en="@SUM(1)", longitude="-45.25", latitude="10", phones="+7 700 000 00 00"),
        row("r3", name_en="'=typed with a quote in the spreadsheet"),
    ]
    await import_file(db, write_csv(rows), actor_id=None)
    stored = await db.fetchval("SELECT name_en FROM dir_entry WHERE external_id = 'r1'")
    assert stored == "=cmd|' /C calc'!A0"  # the data itself is not changed
    first = await export_csv(db)
    written = {c["id"]: c for c in cells(first)}
    assert written["r1"]["name_en"] == "'=cmd|' /C calc'!A0"
    assert written["r1"]["latitude"] == "-12.5"
    assert written["r2"]["phones"] == "+7 700 000 00 00"

    other = Database(tmp_path / "other.sqlite3")
    await other.connect()
    try:
        await migrate(other)
        await import_file(other, first, actor_id=None)
        assert await export_csv(other) == first
    finally:
        await other.close()
    _, again = await import_file(db, first, actor_id=None)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
