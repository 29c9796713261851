"""Writing the directory: CSV import (upsert by external id), export, demo removal, starter data.

Shared by the command line (`python -m bot directory ...`) and the admin's CSV upload
in the bot. An import is one transaction: all valid rows, or nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

import aiosqlite

from db import audit
from db.clock import now_db, utcnow
from db.database import Database
from db.directory_csv import (
    COLUMNS,
    LANGS,
    Parsed,
    Row,
    format_coordinate,
    parse_csv,
    write_csv,
)
from db.directory_text import search_fold

STARTER_FILE = "starter_directory.csv"
DEMO_FILE = "demo_directory.csv"
_STARTER_MARK = "starter_loaded"


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    skipped: int  # bad rows left out (only with skip-invalid)


class ImportRefusedError(Exception):
    """The file has problems and skipping bad rows was not asked for: nothing was imported."""

    def __init__(self, parsed: Parsed) -> None:
        super().__init__(f"{len(parsed.problems)} problems")
        self.parsed = parsed


async def category_order(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT code FROM dir_category ORDER BY position")
    return [r["code"] for r in rows]


async def parse_file(db: Database, data: bytes) -> Parsed:
    # Tomorrow (UTC) is still "today" somewhere in Kazakhstan's UTC+5 morning.
    today = (utcnow() + timedelta(days=1)).date()
    return parse_csv(data, await category_order(db), today)


async def import_file(
    db: Database, data: bytes, *, actor_id: int | None, skip_invalid: bool = False
) -> tuple[Parsed, ImportResult]:
    """Validate every row, then import. Raises ImportRefusedError on any problem unless skip_invalid
    (a problem with the file itself always refuses)."""
    parsed = await parse_file(db, data)
    if parsed.file_problem is not None or (parsed.problems and not skip_invalid):
        raise ImportRefusedError(parsed)
    result = await import_rows(db, parsed.rows, actor_id=actor_id, skipped=parsed.bad_rows)
    return parsed, result


# -- import --------------------------------------------------------------------------------


async def import_rows(
    db: Database,
    rows: Sequence[Row],
    *,
    actor_id: int | None,
    skipped: int = 0,
    mark: str | None = None,
) -> ImportResult:
    created = updated = unchanged = 0
    now = now_db()
    async with db.transaction() as conn:
        category_ids = {
            r["code"]: r["id"]
            for r in await conn.execute_fetchall("SELECT code, id FROM dir_category")
        }
        existing = {
            r["external_id"]: (r["id"], r["fingerprint"])
            for r in await conn.execute_fetchall(
                "SELECT id, external_id, fingerprint FROM dir_entry"
            )
        }
        renamed_orgs: set[int] = set()
        touched: set[int] = set()
        for row in rows:
            org_id, renamed = await _upsert_organization(conn, row)
            if renamed:
                renamed_orgs.add(org_id)
            place_id = await _upsert_place(conn, row)
            known = existing.get(row.external_id)
            if known is not None and known[1] == row.fingerprint:
                unchanged += 1
                continue
            entry_id = await _write_entry(conn, row, org_id, place_id, known, now)
            await _write_children(conn, entry_id, row, category_ids)
            await _reindex(conn, entry_id)
            touched.add(entry_id)
            if known is None:
                created += 1
            else:
                updated += 1
        if renamed_orgs:
            marks = ",".join("?" * len(renamed_orgs))
            for r in await conn.execute_fetchall(
                f"SELECT id FROM dir_entry WHERE organization_id IN ({marks})", tuple(renamed_orgs)
            ):
                if r["id"] not in touched:
                    await _reindex(conn, r["id"])
        await _drop_orphans(conn)
        if mark is not None:
            await conn.execute(
                "INSERT INTO dir_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (mark, now),
            )
        await audit.record(
            conn,
            "directory.imported",
            actor_id=actor_id,
            created=created,
            updated=updated,
            unchanged=unchanged,
            skipped=skipped,
        )
    return ImportResult(created, updated, unchanged, skipped)


async def _upsert_organization(conn: aiosqlite.Connection, row: Row) -> tuple[int, bool]:
    v = row.values
    names = (v["organization_name_kk"], v["organization_name_ru"], v["organization_name_en"])
    found = await (
        await conn.execute(
            "SELECT id, name_kk, name_ru, name_en FROM dir_organization WHERE external_id = ?",
            (v["organization_id"],),
        )
    ).fetchone()
    if found is None:
        cursor = await conn.execute(
            "INSERT INTO dir_organization (external_id, name_kk, name_ru, name_en) "
            "VALUES (?, ?, ?, ?) RETURNING id",
            (v["organization_id"], *names),
        )
        new = await cursor.fetchone()
        assert new is not None
        return int(new[0]), False
    if (found["name_kk"], found["name_ru"], found["name_en"]) == names:
        return int(found["id"]), False
    await conn.execute(
        "UPDATE dir_organization SET name_kk = ?, name_ru = ?, name_en = ? WHERE id = ?",
        (*names, found["id"]),
    )
    return int(found["id"]), True


def _place_names(row: Row) -> tuple[str, ...]:
    v = row.values
    return tuple(v[f"{kind}_{lang}"] for kind in ("city", "region") for lang in LANGS)


async def _upsert_place(conn: aiosqlite.Connection, row: Row) -> int | None:
    names = _place_names(row)
    if not any(names):
        return None
    key = "\x1f".join(search_fold(n) for n in names)
    found = await (await conn.execute("SELECT id FROM dir_place WHERE key = ?", (key,))).fetchone()
    if found is not None:
        return int(found[0])
    cursor = await conn.execute(
        "INSERT INTO dir_place (key, city_kk, city_ru, city_en, region_kk, region_ru, region_en) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (key, *names),
    )
    new = await cursor.fetchone()
    assert new is not None
    return int(new[0])


_ENTRY_TEXT_COLUMNS = tuple(
    f"{kind}_{lang}"
    for kind in ("name", "description", "address", "eligibility", "documents", "fees")
    for lang in LANGS
)
_ENTRY_PLAIN_COLUMNS = ("website", "email", "hours", "languages", "status", "assured_date")


async def _write_entry(
    conn: aiosqlite.Connection,
    row: Row,
    org_id: int,
    place_id: int | None,
    known: tuple[int, str] | None,
    now: str,
) -> int:
    v = row.values
    fields: dict[str, Any] = {c: v[c] for c in _ENTRY_TEXT_COLUMNS + _ENTRY_PLAIN_COLUMNS}
    fields |= {
        "organization_id": org_id,
        "place_id": place_id,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "accepts_record": v["accepts_criminal_record"],
        "is_demo": int(v["demo"] == "yes"),
        "fingerprint": row.fingerprint,
        "updated_at": now,
    }
    if known is not None:
        assignments = ", ".join(f"{name} = :{name}" for name in fields)
        await conn.execute(
            f"UPDATE dir_entry SET {assignments} WHERE id = :id", fields | {"id": known[0]}
        )
        for table in ("dir_entry_category", "dir_phone", "dir_schedule"):
            await conn.execute(f"DELETE FROM {table} WHERE entry_id = ?", (known[0],))
        return known[0]
    fields |= {"external_id": row.external_id, "created_at": now}
    names = ", ".join(fields)
    values = ", ".join(f":{name}" for name in fields)
    cursor = await conn.execute(
        f"INSERT INTO dir_entry ({names}) VALUES ({values}) RETURNING id", fields
    )
    new = await cursor.fetchone()
    assert new is not None
    return int(new[0])


async def _write_children(
    conn: aiosqlite.Connection, entry_id: int, row: Row, category_ids: dict[str, int]
) -> None:
    await conn.executemany(
        "INSERT INTO dir_entry_category (category_id, entry_id) VALUES (?, ?)",
        [(category_ids[code], entry_id) for code in row.categories],
    )
    await conn.executemany(
        "INSERT INTO dir_phone (entry_id, position, number) VALUES (?, ?, ?)",
        [(entry_id, position, number) for position, number in enumerate(row.phones)],
    )
    await conn.executemany(
        "INSERT INTO dir_schedule (entry_id, weekday, opens_at, closes_at) VALUES (?, ?, ?, ?)",
        [(entry_id, i.weekday, i.opens, i.closes) for i in row.schedule],
    )


async def _reindex(conn: aiosqlite.Connection, entry_id: int) -> None:
    """(Re)write the entry's search row from what is stored."""
    entry = await (
        await conn.execute(
            "SELECT e.*, o.name_kk AS org_kk, o.name_ru AS org_ru, o.name_en AS org_en, "
            "p.city_kk, p.city_ru, p.city_en, p.region_kk, p.region_ru, p.region_en "
            "FROM dir_entry e JOIN dir_organization o ON o.id = e.organization_id "
            "LEFT JOIN dir_place p ON p.id = e.place_id WHERE e.id = ?",
            (entry_id,),
        )
    ).fetchone()
    assert entry is not None
    categories = await conn.execute_fetchall(
        "SELECT c.name_kk, c.name_ru, c.name_en FROM dir_category c "
        "JOIN dir_entry_category ec ON ec.category_id = c.id WHERE ec.entry_id = ?",
        (entry_id,),
    )
    name = [entry[f"{k}_{lang}"] for k in ("name", "org") for lang in LANGS]
    body = [
        entry[f"{k}_{lang}"] or ""
        for k in ("description", "address", "city", "region", "eligibility", "documents", "fees")
        for lang in LANGS
    ]
    body += [c[lang] for c in categories for lang in ("name_kk", "name_ru", "name_en")]
    await conn.execute("DELETE FROM dir_fts WHERE rowid = ?", (entry_id,))
    await conn.execute(
        "INSERT INTO dir_fts (rowid, name, body) VALUES (?, ?, ?)",
        (
            entry_id,
            search_fold("\n".join(filter(None, name))),
            search_fold("\n".join(filter(None, body))),
        ),
    )


async def _drop_orphans(conn: aiosqlite.Connection) -> None:
    await conn.execute(
        "DELETE FROM dir_organization WHERE id NOT IN (SELECT organization_id FROM dir_entry)"
    )
    await conn.execute(
        "DELETE FROM dir_place WHERE id NOT IN "
        "(SELECT place_id FROM dir_entry WHERE place_id IS NOT NULL)"
    )


# -- export --------------------------------------------------------------------------------


def _export_values(entry: sqlite3.Row, categories: list[str], phones: list[str]) -> dict[str, str]:
    values = {c: "" for c in COLUMNS}
    for column in _ENTRY_TEXT_COLUMNS + _ENTRY_PLAIN_COLUMNS:
        values[column] = entry[column]
    for lang in LANGS:
        values[f"organization_name_{lang}"] = entry[f"org_{lang}"]
        for kind in ("city", "region"):
            values[f"{kind}_{lang}"] = entry[f"{kind}_{lang}"] or ""
    values["id"] = entry["external_id"]
    values["organization_id"] = entry["org_external_id"]
    values["categories"] = ";".join(categories)
    values["phones"] = "; ".join(phones)
    if entry["latitude"] is not None:
        values["latitude"] = format_coordinate(entry["latitude"])
        values["longitude"] = format_coordinate(entry["longitude"])
    values["accepts_criminal_record"] = entry["accepts_record"]
    values["demo"] = "yes" if entry["is_demo"] else "no"
    return values


async def export_rows(db: Database) -> list[dict[str, str]]:
    entries = await db.fetchall(
        "SELECT e.*, o.external_id AS org_external_id, "
        "o.name_kk AS org_kk, o.name_ru AS org_ru, o.name_en AS org_en, "
        "p.city_kk, p.city_ru, p.city_en, p.region_kk, p.region_ru, p.region_en "
        "FROM dir_entry e JOIN dir_organization o ON o.id = e.organization_id "
        "LEFT JOIN dir_place p ON p.id = e.place_id ORDER BY e.external_id"
    )
    categories: dict[int, list[str]] = {}
    for r in await db.fetchall(
        "SELECT ec.entry_id, c.code FROM dir_entry_category ec "
        "JOIN dir_category c ON c.id = ec.category_id ORDER BY ec.entry_id, c.position"
    ):
        categories.setdefault(r["entry_id"], []).append(r["code"])
    phones: dict[int, list[str]] = {}
    for r in await db.fetchall(
        "SELECT entry_id, number FROM dir_phone ORDER BY entry_id, position"
    ):
        phones.setdefault(r["entry_id"], []).append(r["number"])
    return [
        _export_values(e, categories.get(e["id"], []), phones.get(e["id"], [])) for e in entries
    ]


async def export_csv(db: Database) -> bytes:
    return write_csv(await export_rows(db))


# -- demo and starter data -----------------------------------------------------------------


async def remove_demo(db: Database, *, actor_id: int | None) -> int:
    """Delete every demo entry (and its reports); returns how many."""
    async with db.transaction() as conn:
        ids = [
            r[0] for r in await conn.execute_fetchall("SELECT id FROM dir_entry WHERE is_demo = 1")
        ]
        if ids:
            marks = ",".join("?" * len(ids))
            await conn.execute(f"DELETE FROM dir_fts WHERE rowid IN ({marks})", ids)
            await conn.execute(f"DELETE FROM dir_entry WHERE id IN ({marks})", ids)
            await _drop_orphans(conn)
        await audit.record(conn, "directory.demo_removed", actor_id=actor_id, removed=len(ids))
    return len(ids)


def bundled_file(name: str) -> bytes:
    return resources.files("db.seed").joinpath(name).read_bytes()


async def load_bundled(
    db: Database, name: str, *, actor_id: int | None, mark: str | None = None
) -> ImportResult:
    """Import one of the CSV files shipped in db/seed (they are checked by the tests)."""
    parsed = await parse_file(db, bundled_file(name))
    if parsed.problems:
        raise ImportRefusedError(parsed)
    return await import_rows(db, parsed.rows, actor_id=actor_id, mark=mark)


async def load_starter_once(db: Database) -> ImportResult | None:
    """On the first start, load the national starter entries; never again (admins may delete them)."""
    if await db.fetchval("SELECT 1 FROM dir_meta WHERE key = ?", (_STARTER_MARK,)):
        return None
    return await load_bundled(db, STARTER_FILE, actor_id=None, mark=_STARTER_MARK)
