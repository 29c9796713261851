"""Queries on the service directory: categories, places, lists, cards, word search, nearest.

"Visible" means not hidden by an admin; admins (include_hidden=True) see hidden entries
too, so they can unhide them. Import/export live in db/directory_import.py, problem
reports in db/directory_reports.py.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from db import audit
from db.clock import now_db
from db.database import Database
from db.directory_geo import bounding_box, haversine_km
from db.directory_hours import Interval
from db.directory_text import match_expression, natural_key, query_tokens

log = logging.getLogger(__name__)

LANGUAGE_FALLBACK = ("ru", "kk", "en")
# Ids arrive from callback data a client could forge: anything outside SQLite's integer range is unknown.
MAX_ID = 2**62
SEARCH_LIMIT = 50
NEAREST_RADII_KM = (5.0, 25.0, 100.0, 400.0, 1500.0, 21000.0)


def valid_id(value: int) -> bool:
    return 0 < value < MAX_ID


@dataclass(frozen=True)
class Texts:
    """One text in kk, ru and en ('' where missing)."""

    kk: str = ""
    ru: str = ""
    en: str = ""

    @classmethod
    def of(cls, row: sqlite3.Row, prefix: str) -> Texts:
        return cls(kk=row[f"{prefix}_kk"], ru=row[f"{prefix}_ru"], en=row[f"{prefix}_en"])

    def get(self, language: str) -> str:
        return str(getattr(self, language))

    def pick(self, language: str) -> tuple[str, str | None]:
        """(text, None) in the person's language, else (text, its language) by ru, kk, en; ('', None) if none."""
        own = self.get(language)
        if own:
            return own, None
        for other in LANGUAGE_FALLBACK:
            text = self.get(other)
            if text:
                return text, other
        return "", None

    def text(self, language: str) -> str:
        return self.pick(language)[0]

    def __bool__(self) -> bool:
        return bool(self.kk or self.ru or self.en)

    def all(self) -> tuple[str, str, str]:
        return self.kk, self.ru, self.en


@dataclass(frozen=True)
class Category:
    id: int
    code: str
    emoji: str
    name: Texts
    count: int = 0


@dataclass(frozen=True)
class Place:
    id: int
    city: Texts
    region: Texts
    count: int = 0


@dataclass(frozen=True)
class Summary:
    """What a list line needs."""

    id: int
    name: Texts
    organization: Texts
    city: Texts
    accepts_record: str
    status: str
    hidden: bool


@dataclass(frozen=True)
class Entry:
    """Everything a card shows."""

    id: int
    external_id: str
    name: Texts
    organization: Texts
    description: Texts
    address: Texts
    city: Texts
    region: Texts
    latitude: float | None
    longitude: float | None
    phones: tuple[str, ...]
    website: str
    email: str
    hours: str
    schedule: tuple[Interval, ...]
    eligibility: Texts
    documents: Texts
    fees: Texts
    languages: tuple[str, ...]
    accepts_record: str
    status: str
    assured_date: str
    is_demo: bool
    hidden: bool
    categories: tuple[Category, ...]
    open_reports: int


def _visible(include_hidden: bool, alias: str = "e") -> str:
    return "1" if include_hidden else f"{alias}.hidden = 0"


def _category(row: sqlite3.Row) -> Category:
    count = row["n"] if "n" in row.keys() else 0  # noqa: SIM118 - Row's `in` tests values
    return Category(row["id"], row["code"], row["emoji"], Texts.of(row, "name"), count)


async def categories(db: Database, *, include_hidden: bool = False) -> list[Category]:
    """Every category in menu order, with how many visible entries it has."""
    rows = await db.fetchall(
        "SELECT c.id, c.code, c.emoji, c.name_kk, c.name_ru, c.name_en, "
        f"(SELECT COUNT(*) FROM dir_entry_category ec JOIN dir_entry e ON e.id = ec.entry_id "
        f" WHERE ec.category_id = c.id AND {_visible(include_hidden)}) AS n "
        "FROM dir_category c ORDER BY c.position"
    )
    return [_category(r) for r in rows]


async def category(db: Database, category_id: int) -> Category | None:
    if not valid_id(category_id):
        return None
    row = await db.fetchone(
        "SELECT id, code, emoji, name_kk, name_ru, name_en FROM dir_category WHERE id = ?",
        (category_id,),
    )
    return None if row is None else _category(row)


async def category_codes(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT code, id FROM dir_category")
    return {r["code"]: r["id"] for r in rows}


async def places_in_category(
    db: Database, category_id: int, *, include_hidden: bool = False
) -> list[Place]:
    """The cities/districts a category's entries are in (nationwide entries have none)."""
    rows = await db.fetchall(
        "SELECT p.*, COUNT(*) AS n FROM dir_entry_category ec "
        "JOIN dir_entry e ON e.id = ec.entry_id JOIN dir_place p ON p.id = e.place_id "
        f"WHERE ec.category_id = ? AND {_visible(include_hidden)} GROUP BY p.id",
        (category_id,),
    )
    return [Place(r["id"], Texts.of(r, "city"), Texts.of(r, "region"), r["n"]) for r in rows]


async def place(db: Database, place_id: int) -> Place | None:
    if not valid_id(place_id):
        return None
    row = await db.fetchone("SELECT * FROM dir_place WHERE id = ?", (place_id,))
    return None if row is None else Place(row["id"], Texts.of(row, "city"), Texts.of(row, "region"))


_SUMMARY_COLUMNS = (
    "e.id, e.name_kk, e.name_ru, e.name_en, e.accepts_record, e.status, e.hidden, "
    "o.name_kk AS org_kk, o.name_ru AS org_ru, o.name_en AS org_en, "
    "COALESCE(p.city_kk, '') AS city_kk, COALESCE(p.city_ru, '') AS city_ru, "
    "COALESCE(p.city_en, '') AS city_en"
)
_SUMMARY_JOINS = (
    "JOIN dir_organization o ON o.id = e.organization_id LEFT JOIN dir_place p ON p.id = e.place_id"
)
_SUMMARY_FROM = f"dir_entry e {_SUMMARY_JOINS}"


def _summary(row: sqlite3.Row) -> Summary:
    return Summary(
        id=row["id"],
        name=Texts.of(row, "name"),
        organization=Texts(row["org_kk"], row["org_ru"], row["org_en"]),
        city=Texts.of(row, "city"),
        accepts_record=row["accepts_record"],
        status=row["status"],
        hidden=bool(row["hidden"]),
    )


def sort_key(language: str) -> object:
    def key(summary: Summary) -> tuple[tuple[str | int, ...], int]:
        return natural_key(summary.name.text(language)), summary.id

    return key


async def list_entries(
    db: Database,
    category_id: int,
    language: str,
    *,
    place_id: int | None = None,
    only_accepting: bool = False,
    include_hidden: bool = False,
) -> list[Summary]:
    """A category's visible entries by name; with a place, that place's and the nationwide ones."""
    conditions = ["ec.category_id = ?", _visible(include_hidden)]
    params: list[object] = [category_id]
    if place_id is not None:
        conditions.append("(e.place_id = ? OR e.place_id IS NULL)")
        params.append(place_id)
    if only_accepting:
        conditions.append("e.accepts_record = 'yes'")
    rows = await db.fetchall(
        f"SELECT {_SUMMARY_COLUMNS} FROM dir_entry_category ec "
        f"JOIN dir_entry e ON e.id = ec.entry_id {_SUMMARY_JOINS} "
        f"WHERE {' AND '.join(conditions)}",
        params,
    )
    summaries = [_summary(r) for r in rows]
    summaries.sort(key=sort_key(language))  # type: ignore[arg-type]
    return summaries


async def summaries(
    db: Database, ids: Sequence[int], *, include_hidden: bool = False
) -> list[Summary]:
    """Summaries of these entries in the order given, skipping any that are gone or hidden."""
    wanted = [i for i in ids if valid_id(i)]
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    rows = await db.fetchall(
        f"SELECT {_SUMMARY_COLUMNS} FROM {_SUMMARY_FROM} "
        f"WHERE e.id IN ({marks}) AND {_visible(include_hidden)}",
        wanted,
    )
    by_id = {r["id"]: _summary(r) for r in rows}
    return [by_id[i] for i in wanted if i in by_id]


async def get_entry(db: Database, entry_id: int, *, include_hidden: bool = False) -> Entry | None:
    """The whole card, or None if the entry does not exist or is hidden from this person."""
    if not valid_id(entry_id):
        return None
    row = await db.fetchone(
        "SELECT e.*, o.name_kk AS org_kk, o.name_ru AS org_ru, o.name_en AS org_en, "
        "p.city_kk, p.city_ru, p.city_en, p.region_kk, p.region_ru, p.region_en "
        "FROM dir_entry e JOIN dir_organization o ON o.id = e.organization_id "
        f"LEFT JOIN dir_place p ON p.id = e.place_id WHERE e.id = ? AND {_visible(include_hidden)}",
        (entry_id,),
    )
    if row is None:
        return None
    phones = await db.fetchall(
        "SELECT number FROM dir_phone WHERE entry_id = ? ORDER BY position", (entry_id,)
    )
    schedule = await db.fetchall(
        "SELECT weekday, opens_at, closes_at FROM dir_schedule WHERE entry_id = ? "
        "ORDER BY weekday, opens_at",
        (entry_id,),
    )
    cats = await db.fetchall(
        "SELECT c.id, c.code, c.emoji, c.name_kk, c.name_ru, c.name_en FROM dir_category c "
        "JOIN dir_entry_category ec ON ec.category_id = c.id WHERE ec.entry_id = ? "
        "ORDER BY c.position",
        (entry_id,),
    )
    open_reports = await db.fetchval(
        "SELECT COUNT(*) FROM dir_report WHERE entry_id = ? AND resolved_at IS NULL", (entry_id,)
    )

    def texts(prefix: str) -> Texts:
        return Texts(
            row[f"{prefix}_kk"] or "", row[f"{prefix}_ru"] or "", row[f"{prefix}_en"] or ""
        )

    return Entry(
        id=row["id"],
        external_id=row["external_id"],
        name=texts("name"),
        organization=texts("org"),
        description=texts("description"),
        address=texts("address"),
        city=texts("city"),
        region=texts("region"),
        latitude=row["latitude"],
        longitude=row["longitude"],
        phones=tuple(p["number"] for p in phones),
        website=row["website"],
        email=row["email"],
        hours=row["hours"],
        schedule=tuple(Interval(s["weekday"], s["opens_at"], s["closes_at"]) for s in schedule),
        eligibility=texts("eligibility"),
        documents=texts("documents"),
        fees=texts("fees"),
        languages=tuple(code for code in row["languages"].split(";") if code),
        accepts_record=row["accepts_record"],
        status=row["status"],
        assured_date=row["assured_date"],
        is_demo=bool(row["is_demo"]),
        hidden=bool(row["hidden"]),
        categories=tuple(_category(c) for c in cats),
        open_reports=int(open_reports or 0),
    )


# -- word search ---------------------------------------------------------------------------

# Top matches by relevance, names weighted ten times the rest (bm25: lower is better).
SEARCH_SQL = (
    "SELECT rowid FROM dir_fts WHERE dir_fts MATCH ? ORDER BY bm25(dir_fts, 10.0, 1.0), rowid "
    "LIMIT ?"
)


async def _ranked(db: Database, expression: str, limit: int) -> list[int]:
    return [r[0] for r in await db.fetchall(SEARCH_SQL, (expression, limit))]


async def _search_once(
    db: Database, tokens: list[str], *, any_token: bool, hidden: set[int], limit: int
) -> list[int]:
    # Hidden entries stay in the index (admins find them); fetching that many more rows
    # and dropping them keeps the LIMIT inside FTS5 exact and cheap.
    room = limit + len(hidden)
    found = [
        i
        for i in await _ranked(
            db, match_expression(tokens, any_token=any_token, column="name"), room
        )
        if i not in hidden
    ][:limit]
    if len(found) < limit:
        seen = set(found)
        for i in await _ranked(
            db, match_expression(tokens, any_token=any_token), room + len(found)
        ):
            if i not in seen and i not in hidden:
                found.append(i)
                if len(found) == limit:
                    break
    return found


async def search(
    db: Database, query: str, *, include_hidden: bool = False, limit: int = SEARCH_LIMIT
) -> list[int]:
    """Entry ids for a query in any language: name matches first, each tier by relevance (bm25).

    All words must match (each as a prefix: Kazakh adds endings); if that finds nothing,
    any word may. A query without letters or digits finds nothing; no query raises.
    """
    tokens = query_tokens(query)
    if not tokens:
        return []
    hidden: set[int] = set()
    if not include_hidden:
        hidden = {r[0] for r in await db.fetchall("SELECT id FROM dir_entry WHERE hidden = 1")}
    try:
        found = await _search_once(db, tokens, any_token=False, hidden=hidden, limit=limit)
        if not found and len(tokens) > 1:
            found = await _search_once(db, tokens, any_token=True, hidden=hidden, limit=limit)
    except sqlite3.OperationalError as exc:
        # Tokens are quoted, so this is not expected; a person still gets an answer.
        log.warning("Directory search failed: %s", type(exc).__name__)
        return []
    return found


# -- nearest -------------------------------------------------------------------------------


async def nearest(
    db: Database,
    latitude: float,
    longitude: float,
    *,
    category_id: int | None = None,
    include_hidden: bool = False,
    limit: int = 10,
) -> list[tuple[int, float]]:
    """(entry id, km) of the closest entries with a location, nearest first.

    A bounding box around the point (an indexed range on latitude, then longitude) grows
    until `limit` entries lie within its radius. Inside the box SQLite orders by a flat
    (equirectangular) estimate and hands over the best candidates; their exact haversine
    distances decide the answer.
    """
    candidates = max(50, limit * 5)
    stretch = math.cos(math.radians(latitude)) ** 2
    category_filter = ""
    if category_id is not None:
        category_filter = (
            " AND EXISTS (SELECT 1 FROM dir_entry_category ec "
            "WHERE ec.entry_id = e.id AND ec.category_id = ?)"
        )
    found: list[tuple[int, float]] = []
    for radius in NEAREST_RADII_KM:
        box = bounding_box(latitude, longitude, radius)
        params: list[object] = [box.min_lat, box.max_lat, box.min_lon, box.max_lon]
        if category_id is not None:
            params.append(category_id)
        params += [latitude, latitude, longitude, longitude, stretch, candidates]
        rows = await db.fetchall(
            "SELECT e.id, e.latitude, e.longitude FROM dir_entry e INDEXED BY dir_entry_geo "
            "WHERE e.latitude BETWEEN ? AND ? AND e.longitude BETWEEN ? AND ? "
            f"AND {_visible(include_hidden)}{category_filter} "
            "ORDER BY (e.latitude - ?) * (e.latitude - ?) "
            "+ (e.longitude - ?) * (e.longitude - ?) * ? LIMIT ?",
            params,
        )
        found = sorted(
            ((r[0], haversine_km(latitude, longitude, r[1], r[2])) for r in rows),
            key=lambda hit: (hit[1], hit[0]),
        )
        within = [hit for hit in found if hit[1] <= radius]
        if len(within) >= limit:
            return within[:limit]
    return found[:limit]


# -- admin ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    entries: int
    hidden: int
    demo: int
    open_reports: int


async def stats(db: Database) -> Stats:
    row = await db.fetchone(
        "SELECT COUNT(*) AS entries, COALESCE(SUM(hidden), 0) AS hidden, "
        "COALESCE(SUM(is_demo), 0) AS demo, "
        "(SELECT COUNT(*) FROM dir_report WHERE resolved_at IS NULL) AS open_reports "
        "FROM dir_entry"
    )
    assert row is not None
    return Stats(row["entries"], row["hidden"], row["demo"], row["open_reports"])


async def set_hidden(db: Database, entry_id: int, hidden: bool, *, actor_id: int) -> bool:
    """Hide an entry from clients (or show it again); False if there is no such entry."""
    if not valid_id(entry_id):
        return False
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE dir_entry SET hidden = ?, updated_at = ? WHERE id = ?",
            (int(hidden), now_db(), entry_id),
        )
        if cursor.rowcount == 0:
            return False
        await audit.record(
            conn,
            "directory.entry_hidden" if hidden else "directory.entry_unhidden",
            actor_id=actor_id,
            entry=entry_id,
        )
    return True
