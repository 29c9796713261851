"""Writing the directory: CSV import (upsert by external id), export, demo removal, starter data.

Shared by the command line (`python -m bot directory ...`) and the admin's CSV upload
in the bot. Every row is checked before anything is written (in a thread: parsing a large
file takes seconds); with a bad row nothing is written unless skipping was asked for.
The rows are then written in short transactions (BATCH_SECONDS each), so the bot's other
writes, or another process's, wait at most one batch. A crash in the middle leaves the
rows written so far; importing the same file again completes it (upsert by id).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from time import monotonic
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
# One write transaction takes rows for this long (then commits and lets other writers in),
# and at most this many.
BATCH_SECONDS = 0.03
BATCH_ROWS = 500
# Between batches, an import from another process (the command line) leaves the database
# free this long: the bot's SQLite busy handler sleeps at most 100 ms between tries, so its
# next try finds the database free (bench/csv_import_bench.py: with 50 ms, a write of the
# bot now and then waited over 200 ms).
OTHER_PROCESS_PAUSE = 0.1


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    skipped: int  # bad rows left out (only with skip-invalid)


class ImportRefusedError(Exception):
    """The file has problems and skipping bad rows was not asked for: nothing was imported."""

    def __init__(self, parsed: Parsed) -> None:
        super().__init__(f"{parsed.problem_count or len(parsed.problems)} problems")
        self.parsed = parsed


async def category_order(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT code FROM dir_category ORDER BY position")
    return [r["code"] for r in rows]


async def parse_file(db: Database, data: bytes) -> Parsed:
    # Tomorrow (UTC) is still "today" somewhere in Kazakhstan's UTC+5 morning.
    today = (utcnow() + timedelta(days=1)).date()
    codes = await category_order(db)
    return await asyncio.to_thread(parse_csv, data, codes, today)


async def import_file(
    db: Database,
    data: bytes,
    *,
    actor_id: int | None,
    skip_invalid: bool = False,
    pause: float = 0.0,
) -> tuple[Parsed, ImportResult]:
    """Validate every row, then import. Raises ImportRefusedError on any problem unless skip_invalid
    (a problem with the file itself always refuses). `pause`: see import_rows."""
    parsed = await parse_file(db, data)
    if parsed.file_problem is not None or (parsed.problems and not skip_invalid):
        raise ImportRefusedError(parsed)
    result = await import_rows(
        db, parsed.rows, actor_id=actor_id, skipped=parsed.bad_rows, pause=pause
    )
    return parsed, result


# -- import --------------------------------------------------------------------------------


@dataclass
class _Progress:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    renamed_orgs: set[int] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)


async def import_rows(
    db: Database,
    rows: Sequence[Row],
    *,
    actor_id: int | None,
    skipped: int = 0,
    mark: str | None = None,
    pause: float = 0.0,
) -> ImportResult:
    """Upsert the rows by external id in short transactions (see BATCH_SECONDS).

    Between two batches the writer lock is free: the bot's other writes go first (the lock
    is fair). `pause` (seconds) also leaves the database free between batches, for another
    process whose SQLite busy handler polls (the command line passes it)."""
    now = now_db()
    category_ids = {
        r["code"]: r["id"] for r in await db.fetchall("SELECT code, id FROM dir_category")
    }
    progress = _Progress()
    start = 0
    while start < len(rows):
        if start:
            await asyncio.sleep(pause)
        async with db.transaction() as conn:
            start = await _import_batch(conn, rows, start, category_ids, now, progress)
    if progress.renamed_orgs:
        # Entries of a renamed organisation that the file did not list carry the old name
        # in the search index.
        marks = ",".join("?" * len(progress.renamed_orgs))
        others = [
            r["id"]
            for r in await db.fetchall(
                f"SELECT id FROM dir_entry WHERE organization_id IN ({marks})",
                tuple(progress.renamed_orgs),
            )
            if r["id"] not in progress.touched
        ]
        for first in range(0, len(others), BATCH_ROWS):
            await asyncio.sleep(pause)
            async with db.transaction() as conn:
                await _reindex(conn, others[first : first + BATCH_ROWS])
    async with db.transaction() as conn:
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
            created=progress.created,
            updated=progress.updated,
            unchanged=progress.unchanged,
            skipped=skipped,
        )
    return ImportResult(progress.created, progress.updated, progress.unchanged, skipped)


async def _import_batch(
    conn: aiosqlite.Connection,
    rows: Sequence[Row],
    start: int,
    category_ids: dict[str, int],
    now: str,
    progress: _Progress,
) -> int:
    """Write rows from `start` for BATCH_SECONDS (at least one, at most BATCH_ROWS) inside
    the caller's transaction; returns the index of the first row not written."""
    deadline = monotonic() + BATCH_SECONDS
    chunk = rows[start : start + BATCH_ROWS]
    marks = ",".join("?" * len(chunk))
    # Read inside the transaction: another import may have written between two batches.
    existing: dict[str, tuple[int, str]] = {
        r["external_id"]: (r["id"], r["fingerprint"])
        for r in await conn.execute_fetchall(
            f"SELECT id, external_id, fingerprint FROM dir_entry WHERE external_id IN ({marks})",
            [row.external_id for row in chunk],
        )
    }
    organizations = await _known_organizations(conn, chunk)
    places: dict[str, int] = {}
    written: list[tuple[int, Row]] = []
    replaced: list[int] = []
    done = 0
    for row in chunk:
        org_id, renamed = await _upsert_organization(conn, row, organizations)
        if renamed:
            progress.renamed_orgs.add(org_id)
        place_id = await _upsert_place(conn, row, places)
        known = existing.get(row.external_id)
        done += 1
        if known is not None and known[1] == row.fingerprint:
            progress.unchanged += 1
        else:
            entry_id = await _write_entry(conn, row, org_id, place_id, known, now)
            written.append((entry_id, row))
            progress.touched.add(entry_id)
            if known is None:
                progress.created += 1
            else:
                progress.updated += 1
                replaced.append(entry_id)
        if monotonic() >= deadline:
            break
    await _write_children(conn, written, replaced, category_ids)
    await _reindex(conn, [entry_id for entry_id, _ in written])
    return start + done


async def _known_organizations(
    conn: aiosqlite.Connection, rows: Sequence[Row]
) -> dict[str, tuple[int, tuple[str, ...]]]:
    """The stored organisations these rows name: external id → (id, names)."""
    wanted = sorted({row.values["organization_id"] for row in rows})
    marks = ",".join("?" * len(wanted))
    return {
        r["external_id"]: (int(r["id"]), (r["name_kk"], r["name_ru"], r["name_en"]))
        for r in await conn.execute_fetchall(
            "SELECT id, external_id, name_kk, name_ru, name_en FROM dir_organization "
            f"WHERE external_id IN ({marks})",
            wanted,
        )
    }


async def _upsert_organization(
    conn: aiosqlite.Connection, row: Row, known: dict[str, tuple[int, tuple[str, ...]]]
) -> tuple[int, bool]:
    """The organisation's id, and whether its names changed. `known`: every stored
    organisation the batch names (_known_organizations), kept up to date here."""
    v = row.values
    external_id = v["organization_id"]
    names = (v["organization_name_kk"], v["organization_name_ru"], v["organization_name_en"])
    found = known.get(external_id)
    if found is None:
        [new] = await conn.execute_fetchall(
            "INSERT INTO dir_organization (external_id, name_kk, name_ru, name_en) "
            "VALUES (?, ?, ?, ?) RETURNING id",
            (external_id, *names),
        )
        known[external_id] = (int(new[0]), names)
        return int(new[0]), False
    if found[1] == names:
        return found[0], False
    await conn.execute(
        "UPDATE dir_organization SET name_kk = ?, name_ru = ?, name_en = ? WHERE id = ?",
        (*names, found[0]),
    )
    known[external_id] = (found[0], names)
    return found[0], True


def _place_names(row: Row) -> tuple[str, ...]:
    v = row.values
    return tuple(v[f"{kind}_{lang}"] for kind in ("city", "region") for lang in LANGS)


async def _upsert_place(conn: aiosqlite.Connection, row: Row, seen: dict[str, int]) -> int | None:
    names = _place_names(row)
    if not any(names):
        return None
    key = "\x1f".join(search_fold(n) for n in names)
    if key in seen:
        return seen[key]
    found = await conn.execute_fetchall(
        "INSERT INTO dir_place (key, city_kk, city_ru, city_en, region_kk, region_ru, region_en) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET key = excluded.key "
        "RETURNING id",
        (key, *names),
    )
    [new] = found
    seen[key] = int(new[0])
    return seen[key]


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
        return known[0]
    fields |= {"external_id": row.external_id, "created_at": now}
    names = ", ".join(fields)
    values = ", ".join(f":{name}" for name in fields)
    [new] = await conn.execute_fetchall(
        f"INSERT INTO dir_entry ({names}) VALUES ({values}) RETURNING id", fields
    )
    return int(new[0])


async def _write_children(
    conn: aiosqlite.Connection,
    written: Sequence[tuple[int, Row]],
    replaced: Collection[int],
    category_ids: dict[str, int],
) -> None:
    """Categories, phones and hours of the entries written (those `replaced` lose their old ones)."""
    if replaced:
        marks = ",".join("?" * len(replaced))
        for table in ("dir_entry_category", "dir_phone", "dir_schedule"):
            await conn.execute(f"DELETE FROM {table} WHERE entry_id IN ({marks})", tuple(replaced))
    await conn.executemany(
        "INSERT INTO dir_entry_category (category_id, entry_id) VALUES (?, ?)",
        [(category_ids[code], entry_id) for entry_id, row in written for code in row.categories],
    )
    await conn.executemany(
        "INSERT INTO dir_phone (entry_id, position, number) VALUES (?, ?, ?)",
        [
            (entry_id, position, number)
            for entry_id, row in written
            for position, number in enumerate(row.phones)
        ],
    )
    await conn.executemany(
        "INSERT INTO dir_schedule (entry_id, weekday, opens_at, closes_at) VALUES (?, ?, ?, ?)",
        [
            (entry_id, weekday, opens, closes)
            for entry_id, row in written
            for weekday, opens, closes in row.schedule
        ],
    )


async def _reindex(conn: aiosqlite.Connection, entry_ids: Sequence[int]) -> None:
    """(Re)write these entries' search rows from what is stored (entries gone are skipped)."""
    if not entry_ids:
        return
    marks = ",".join("?" * len(entry_ids))
    ids = tuple(entry_ids)
    entries = await conn.execute_fetchall(
        "SELECT e.*, o.name_kk AS org_kk, o.name_ru AS org_ru, o.name_en AS org_en, "
        "p.city_kk, p.city_ru, p.city_en, p.region_kk, p.region_ru, p.region_en "
        "FROM dir_entry e JOIN dir_organization o ON o.id = e.organization_id "
        f"LEFT JOIN dir_place p ON p.id = e.place_id WHERE e.id IN ({marks})",
        ids,
    )
    categories: dict[int, list[sqlite3.Row]] = {}
    for c in await conn.execute_fetchall(
        "SELECT ec.entry_id, c.name_kk, c.name_ru, c.name_en FROM dir_category c "
        f"JOIN dir_entry_category ec ON ec.category_id = c.id WHERE ec.entry_id IN ({marks}) "
        "ORDER BY ec.entry_id, c.position",
        ids,
    ):
        categories.setdefault(c["entry_id"], []).append(c)
    await conn.execute(f"DELETE FROM dir_fts WHERE rowid IN ({marks})", ids)
    await conn.executemany(
        "INSERT INTO dir_fts (rowid, name, body) VALUES (?, ?, ?)",
        [_search_row(entry, categories.get(entry["id"], [])) for entry in entries],
    )


def _search_row(entry: sqlite3.Row, categories: Sequence[sqlite3.Row]) -> tuple[int, str, str]:
    name = [entry[f"{k}_{lang}"] for k in ("name", "org") for lang in LANGS]
    body = [
        entry[f"{k}_{lang}"] or ""
        for k in ("description", "address", "city", "region", "eligibility", "documents", "fees")
        for lang in LANGS
    ]
    body += [c[lang] for c in categories for lang in ("name_kk", "name_ru", "name_en")]
    return (
        entry["id"],
        search_fold("\n".join(filter(None, name))),
        search_fold("\n".join(filter(None, body))),
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
