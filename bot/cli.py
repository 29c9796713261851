"""Command line: run the bot, migrate the database, manage staff and clients.

python -m bot [run]
python -m bot webhook
python -m bot db migrate
python -m bot db backup FILE [--force]
python -m bot admin add-caseworker TELEGRAM_ID --name "NAME"
python -m bot admin remove-caseworker TELEGRAM_ID
python -m bot admin list-staff
python -m bot admin reassign CLIENT_ID CASEWORKER_ID
python -m bot admin export-user TELEGRAM_ID [--output FILE]
python -m bot admin erase-user TELEGRAM_ID [--yes]
python -m bot directory import FILE.csv [--skip-invalid]
python -m bot directory export FILE.csv
python -m bot directory load-starter | load-demo | remove-demo
python -m bot stats --csv FILE [--caseworker TELEGRAM_ID]

Use cases it shares with the bot come from services/ (never from handlers/): what a
command stores for the bot to send (notices) waits for the running bot's engine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config import ConfigError, Settings, load_settings
from bot.errors import PollingError
from bot.logging_setup import setup_logging
from bot.single_instance import InstanceLockError
from db import clients, privacy, users
from db.backup import BackupError, backup_database
from db.clients import LinkError
from db.clock import utcnow
from db.database import PRIVATE_FILE, Database, DatabaseFileError
from db.directory_csv import Parsed
from db.directory_import import (
    DEMO_FILE,
    OTHER_PROCESS_PAUSE,
    STARTER_FILE,
    ImportRefusedError,
    ImportResult,
    export_csv,
    import_file,
    load_bundled,
    remove_demo,
)
from db.migrate import SchemaTooNewError, migrate
from db.staff import StaffError, add_caseworker, remove_caseworker, sync_admins
from services import stats

EXIT_USAGE = 2
# Everything this process creates (database, backups, exports, lock) holds or guards
# personal data: owner only, whatever the shell's umask.
UMASK = 0o077
# Conditions an operator must act on: one line, exit status 1, no traceback.
OPERATOR_ERRORS = (
    DatabaseFileError,
    SchemaTooNewError,
    InstanceLockError,
    BackupError,
    PollingError,
)
# The command line waits this long for the running bot's short write transactions.
CLI_BUSY_TIMEOUT_MS = 30_000
REASSIGN_ERRORS = {
    "no-client": "no such client",
    "no-caseworker": "the target is not a caseworker",
    "same": "the client already has this caseworker",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Jańa Jol Telegram bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start long polling (the default)")
    add_webhook_command(sub)

    db_cmd = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="action", required=True
    )
    db_cmd.add_parser("migrate", help="apply pending migrations")
    backup = db_cmd.add_parser(
        "backup", help="a consistent copy of the database, also while the bot runs"
    )
    backup.add_argument("file", type=Path, help="where to write the copy (0600)")
    backup.add_argument("--force", action="store_true", help="overwrite an existing file")

    admin = sub.add_parser("admin", help="staff management").add_subparsers(
        dest="action", required=True
    )
    add = admin.add_parser("add-caseworker", help="give a Telegram user the caseworker role")
    add.add_argument("telegram_id", type=int)
    add.add_argument("--name", required=True, help="the caseworker's name as clients will see it")
    remove = admin.add_parser("remove-caseworker", help="take the caseworker role away")
    remove.add_argument("telegram_id", type=int)
    admin.add_parser("list-staff", help="list administrators and caseworkers")
    reassign = admin.add_parser(
        "reassign", help="move a client to another caseworker (both are told)"
    )
    reassign.add_argument("client_id", type=int)
    reassign.add_argument("caseworker_id", type=int)
    export = admin.add_parser("export-user", help="everything stored about a person, as JSON")
    export.add_argument("telegram_id", type=int)
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    erase = admin.add_parser(
        "erase-user", help="delete everything stored about a person (e.g. a former caseworker)"
    )
    erase.add_argument("telegram_id", type=int)
    erase.add_argument("--yes", action="store_true", help="really delete (otherwise: a summary)")

    directory = sub.add_parser("directory", help="the service directory").add_subparsers(
        dest="action", required=True
    )
    load = directory.add_parser("import", help="add or update entries from a CSV file")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows even if others are bad"
    )
    dump = directory.add_parser("export", help="write every entry to a CSV file")
    dump.add_argument("file", type=Path)
    directory.add_parser("load-starter", help="(re)load the national starter entries")
    directory.add_parser("load-demo", help="load demo entries for Aktobe region / Mugalzhar")
    directory.add_parser("remove-demo", help="delete every demo entry")
    _add_stats_parser(sub)
    return parser


def _add_stats_parser(sub: Any) -> None:
    stats = sub.add_parser(
        "stats", help="programme statistics: the last 12 weeks and totals, ids and counts only"
    )
    stats.add_argument("--csv", type=Path, required=True, help="the CSV file to write (0600)")
    stats.add_argument(
        "--caseworker", type=int, help="only this caseworker's clients (default: everyone)"
    )


async def _with_db(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    # The bot may be running on the same file: wait for its writes rather than fail.
    db = Database(settings.database_path, busy_timeout_ms=CLI_BUSY_TIMEOUT_MS)
    await db.connect()
    try:
        await migrate(db)
        await sync_admins(db, settings.admin_ids)
        return await work(db)
    finally:
        await db.close()


async def _migrate(db: Database) -> int:
    print(f"Database is up to date: {db.path}")
    return 0


def _db_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "backup":
        return _backup(settings, args.file, force=args.force)
    return asyncio.run(_with_db(settings, _migrate))


def _backup(settings: Settings, destination: Path, *, force: bool) -> int:
    """No migration, no schema check: a backup is most needed when something is wrong."""
    result = backup_database(settings.database_path, destination, force=force)
    print(
        f"Backed up {settings.database_path} to {result.path}: {result.size:,} bytes "
        f"in {result.seconds:.1f} s; integrity_check: {result.integrity}"
    )
    return 0


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds personal data)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # an existing file keeps its mode through O_CREAT
    with open(fd, "w", encoding="utf-8") as file:
        file.write(text)


def _add(telegram_id: int, name: str) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        await add_caseworker(db, telegram_id, name, actor_id=None)
        print(
            f"{telegram_id} is now a caseworker. Their menu updates when they next write to the bot."
        )
        return 0

    return work


def _remove(telegram_id: int) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        # Here, not at the top: services load aiogram (~130 MB), which other commands skip.
        from db.clock import utcnow
        from services.appointments import cancel_all_with_caseworker_in

        cancelled = 0

        async def cancel_appointments(conn: aiosqlite.Connection) -> None:
            nonlocal cancelled
            cancelled = await cancel_all_with_caseworker_in(conn, telegram_id, "system", utcnow())

        await remove_caseworker(db, telegram_id, actor_id=None, then=cancel_appointments)
        print(f"{telegram_id} is no longer a caseworker.")
        if cancelled:
            print(
                f"{cancelled} appointments still ahead with them were cancelled; the running bot "
                "tells each client within a minute (or when it next starts)."
            )
        return 0

    return work


async def _list_staff(db: Database) -> int:
    members = await users.staff(db)
    if not members:
        print("No staff yet. Set ADMIN_IDS, or add a caseworker with: admin add-caseworker")
    for member in members:
        print(f"{member.telegram_id}\t{member.role.value}\t{member.display_name or ''}")
    return 0


def _reassign(client_id: int, caseworker_id: int) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        # Here, not at the top: services load aiogram (~130 MB), which other commands skip.
        from services.assignment import reassign_client

        await reassign_client(db, client_id, caseworker_id, actor_id=None)
        print(
            "Reassigned. The running bot tells the client and both caseworkers within a minute "
            "(or when it next starts)."
        )
        return 0

    return work


def _export(telegram_id: int, output: str | None) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        text = privacy.export_json(await privacy.export(db, telegram_id))
        if output:
            try:
                await asyncio.to_thread(_write_private, Path(output), text + "\n")
            except OSError as exc:
                print(f"Error: cannot write {output}: {exc.strerror}", file=sys.stderr)
                return 1
            print(f"Written to {output}")
        else:
            print(text)
        return 0

    return work


def _erase_user(telegram_id: int, confirmed: bool) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        refusal = await privacy.erase_refusal(db, telegram_id)
        if refusal is not None:
            print(f"Error: {refusal}. Nothing deleted.", file=sys.stderr)
            return 1
        found = {name: n for name, n in (await privacy.counts(db, telegram_id)).items() if n}
        if not found:
            print(f"Nothing is stored about {telegram_id}.")
            return 0
        summary = ", ".join(f"{name} {n}" for name, n in found.items())
        if not confirmed:
            print(f"Stored about {telegram_id} (rows): {summary}.")
            print("Nothing deleted. Run again with --yes to delete it for good.")
            return 1
        client = await clients.get(db, telegram_id)
        caseworker_id = client.caseworker_id if client else None
        await privacy.erase(db, telegram_id, caseworker_id=caseworker_id)
        print(f"Deleted everything stored about {telegram_id} ({summary}).")
        if caseworker_id is not None:
            print(f"They were a client of caseworker {caseworker_id}, who was not told.")
        return 0

    return work


def _admin_action(
    args: argparse.Namespace, settings: Settings
) -> Callable[[Database], Awaitable[int]]:
    if args.action == "add-caseworker":
        return _add(args.telegram_id, args.name)
    if args.action == "remove-caseworker":
        return _remove(args.telegram_id)
    if args.action == "reassign":
        return _reassign(args.client_id, args.caseworker_id)
    if args.action == "export-user":
        return _export(args.telegram_id, args.output)
    if args.action == "erase-user":
        return _erase_user(args.telegram_id, args.yes)
    return _list_staff


def _print_problems(parsed: Parsed) -> None:
    for problem in parsed.problems:
        print(problem.render(), file=sys.stderr)
    if parsed.more_problems:
        print(f"… and {parsed.more_problems} more problems", file=sys.stderr)


def _print_result(result: ImportResult) -> None:
    print(
        f"Imported: {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.skipped} bad rows skipped."
    )


def _directory_import(path: Path, skip_invalid: bool) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            print(f"Error: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 1
        try:
            parsed, result = await import_file(
                db, data, actor_id=None, skip_invalid=skip_invalid, pause=OTHER_PROCESS_PAUSE
            )
        except ImportRefusedError as refused:
            _print_problems(refused.parsed)
            if refused.parsed.file_problem is None:
                print(
                    f"Nothing imported: {refused.parsed.bad_rows} of {refused.parsed.read} rows "
                    "have problems (use --skip-invalid to import the others).",
                    file=sys.stderr,
                )
            return 1
        _print_problems(parsed)
        _print_result(result)
        return 0

    return work


def _directory_export(path: Path) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        data = await export_csv(db)
        try:
            await asyncio.to_thread(path.write_bytes, data)
        except OSError as exc:
            print(f"Error: cannot write {path}: {exc.strerror}", file=sys.stderr)
            return 1
        rows = max(0, data.count(b"\n") - 1)
        print(f"Exported the directory to {path} ({rows} lines after the header).")
        return 0

    return work


def _directory_load(name: str) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        _print_result(await load_bundled(db, name, actor_id=None))
        return 0

    return work


async def _remove_demo(db: Database) -> int:
    print(f"Removed {await remove_demo(db, actor_id=None)} demo entries.")
    return 0


def _directory_action(args: argparse.Namespace) -> Callable[[Database], Awaitable[int]]:
    if args.action == "import":
        return _directory_import(args.file, args.skip_invalid)
    if args.action == "export":
        return _directory_export(args.file)
    if args.action == "load-starter":
        return _directory_load(STARTER_FILE)
    if args.action == "load-demo":
        return _directory_load(DEMO_FILE)
    return _remove_demo


def _stats(
    settings: Settings, path: Path, caseworker_id: int | None
) -> Callable[[Database], Awaitable[int]]:
    """The same figures as /stats, in the programme's zone (TIMEZONE), to a CSV file."""

    async def work(db: Database) -> int:
        result = await stats.collect(
            db, caseworker_id=caseworker_id, zone=settings.zone, now=utcnow()
        )
        text = stats.csv_text(result)
        try:
            await asyncio.to_thread(_write_private, path, text)
        except OSError as exc:
            print(f"Error: cannot write {path}: {exc.strerror}", file=sys.stderr)
            return 1
        rows = text.count("\n") - 1
        print(f"Wrote {rows} rows of statistics to {path} (weeks from {result.weeks[0].start}).")
        return 0

    return work


def _secrets(settings: Settings) -> list[str]:
    found = [settings.bot_token, settings.webhook_secret]
    return [secret.get_secret_value() for secret in found if secret is not None]


def add_webhook_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser(
        "webhook",
        help="serve WEBHOOK_URL instead of long polling (updates stored before the 200)",
    )


def _run_webhook(settings: Settings) -> int:
    settings.token()  # fail fast, before anything is opened, on what is missing
    settings.webhook()
    from bot.app import run

    run(settings, webhook=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(UMASK)
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, secrets=_secrets(settings))
        if args.command in (None, "run"):
            settings.token()  # fail fast, before anything else, on a missing token
            from bot.app import run

            run(settings)
            return 0
        if args.command == "webhook":
            return _run_webhook(settings)
        if args.command == "db":
            return _db_command(args, settings)
        if args.command == "directory":
            return asyncio.run(_with_db(settings, _directory_action(args)))
        if args.command == "stats":
            return asyncio.run(_with_db(settings, _stats(settings, args.csv, args.caseworker)))
        return asyncio.run(_with_db(settings, _admin_action(args, settings)))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OPERATOR_ERRORS as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except StaffError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except LinkError as exc:
        print(
            f"Error: cannot reassign ({REASSIGN_ERRORS.get(exc.code, exc.code)})", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        return 0
