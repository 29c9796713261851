"""Command line: run the bot, migrate the database, manage staff.

python -m bot [run]
python -m bot db migrate
python -m bot admin add-caseworker TELEGRAM_ID --name "NAME"
python -m bot admin remove-caseworker TELEGRAM_ID
python -m bot admin list-staff
python -m bot directory import FILE.csv [--skip-invalid]
python -m bot directory export FILE.csv
python -m bot directory load-starter | load-demo | remove-demo
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import setup_logging
from db import clients, privacy, users
from db.clients import LinkError
from db.database import Database
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
from db.migrate import migrate
from db.staff import StaffError, add_caseworker, remove_caseworker, sync_admins

EXIT_USAGE = 2
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

    db_cmd = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="action", required=True
    )
    db_cmd.add_parser("migrate", help="apply pending migrations")

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
    return parser


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
        await remove_caseworker(db, telegram_id, actor_id=None)
        print(f"{telegram_id} is no longer a caseworker.")
        return 0

    return work


async def _list_staff(db: Database) -> int:
    members = await users.staff(db)
    if not members:
        print("No staff yet. Set ADMIN_IDS, or add a caseworker with: admin add-caseworker")
    for member in members:
        print(f"{member.telegram_id}\t{member.role.value}\t{member.display_name or ''}")
    return 0


def _reassign(
    settings: Settings, client_id: int, caseworker_id: int
) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        from bot.app import create_bot
        from bot.i18n import create_i18n
        from handlers.staff import reassign_client

        if settings.bot_token is None:
            await clients.reassign(db, client_id, caseworker_id, actor_id=None)
            print("Reassigned. BOT_TOKEN is not set, so nobody was told: tell the client yourself.")
            return 0
        bot = create_bot(settings)
        try:
            await reassign_client(
                db,
                bot,
                create_i18n(settings.default_language),
                client_id,
                caseworker_id,
                actor_id=None,
            )
        finally:
            await bot.session.close()
        print("Reassigned; the client and the new caseworker were told.")
        return 0

    return work


def _export(telegram_id: int, output: str | None) -> Callable[[Database], Awaitable[int]]:
    async def work(db: Database) -> int:
        text = privacy.export_json(await privacy.export(db, telegram_id))
        if output:
            await asyncio.to_thread(Path(output).write_text, text + "\n", encoding="utf-8")
            print(f"Written to {output}")
        else:
            print(text)
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
        return _reassign(settings, args.client_id, args.caseworker_id)
    if args.action == "export-user":
        return _export(args.telegram_id, args.output)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level)
        if args.command in (None, "run"):
            settings.token()  # fail fast, before anything else, on a missing token
            from bot.app import run

            run(settings)
            return 0
        if args.command == "db":
            return asyncio.run(_with_db(settings, _migrate))
        if args.command == "directory":
            return asyncio.run(_with_db(settings, _directory_action(args)))
        return asyncio.run(_with_db(settings, _admin_action(args, settings)))
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
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
