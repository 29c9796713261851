"""Versioned schema migrations.

Each file `db/migrations/NNNN_name.sql` is one step, applied in name order inside
its own BEGIN IMMEDIATE ... COMMIT together with its row in `schema_migrations`,
so a failing step leaves the database as it was. Steps are recorded by name (not
only a counter) so features developed side by side can each add theirs.
`PRAGMA user_version` mirrors the number of applied steps for quick inspection.

A database that records a step this code does not know was written by a newer
version: `migrate` refuses it (SchemaTooNewError) rather than let older code run
against a schema it does not understand.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from db.clock import now_db
from db.database import Database

log = logging.getLogger(__name__)


class SchemaTooNewError(Exception):
    """The database was migrated by a newer version; the message is one line naming the path."""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    def statements(self) -> list[str]:
        """Split a script into statements; `complete_statement` keeps trigger bodies whole."""
        statements: list[str] = []
        buffer = ""
        for line in self.sql.splitlines(keepends=True):
            buffer += line
            if sqlite3.complete_statement(buffer):
                if buffer.strip():
                    statements.append(buffer.strip())
                buffer = ""
        if buffer.strip() and not buffer.strip().startswith("--"):
            raise ValueError(f"migration {self.name}: unterminated statement at the end")
        return statements


def available_migrations() -> list[Migration]:
    folder = resources.files("db.migrations")
    found = [
        Migration(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda m: m.name)


async def applied_migrations(db: Database) -> set[str]:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    return {row["name"] for row in await db.fetchall("SELECT name FROM schema_migrations")}


def _refuse_unknown(db: Database, done: set[str], steps: list[Migration]) -> None:
    known = {m.name for m in available_migrations()} | {m.name for m in steps}
    unknown = sorted(done - known)
    if unknown:
        raise SchemaTooNewError(
            f"{db.path} was written by a newer version of this bot (unknown migrations: "
            f"{', '.join(unknown)}); run that version, or restore a backup made for this one"
        )


async def check_schema(db: Database) -> None:
    """Raise SchemaTooNewError for a database from a newer version; writes nothing."""
    exists = await db.fetchval(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    )
    if exists:
        done = {row["name"] for row in await db.fetchall("SELECT name FROM schema_migrations")}
        _refuse_unknown(db, done, [])


async def check_database(path: Path) -> None:
    """Open, quick_check and schema-check the database at `path`, then close it.

    Raises DatabaseFileError or SchemaTooNewError, one line each, leaving nothing open.
    """
    db = Database(path)
    await db.connect()
    try:
        await check_schema(db)
    finally:
        await db.close()


async def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every pending step; returns the names applied now.

    Raises SchemaTooNewError, changing nothing, when the database records steps
    this code does not know.
    """
    steps = available_migrations() if migrations is None else migrations
    done = await applied_migrations(db)
    _refuse_unknown(db, done, steps)
    applied: list[str] = []
    for step in steps:
        if step.name in done:
            continue
        async with db.transaction() as conn:
            for statement in step.statements():
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (step.name, now_db()),
            )
            await conn.execute(f"PRAGMA user_version = {len(done) + len(applied) + 1}")
        applied.append(step.name)
        log.info("Applied migration %s", step.name)
    return applied
