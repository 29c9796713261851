"""Command line: run the bot, migrate the database, manage staff.

python -m bot [run]
python -m bot db migrate
python -m bot admin add-caseworker TELEGRAM_ID --name "NAME"
python -m bot admin remove-caseworker TELEGRAM_ID
python -m bot admin list-staff
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
from db.migrate import migrate
from db.staff import StaffError, add_caseworker, remove_caseworker, sync_admins

EXIT_USAGE = 2
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
    return parser


async def _with_db(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    db = Database(settings.database_path)
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
