"""`python -m bot` as an operator runs it: settings errors, the polling process, signals, the CLI,
one bot per database, unusable database files, file permissions, backups."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from emulator import FakeBotAPI
from tests.processes import bot_env, run_cli, start_bot_process, stop_process


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "BOT_TOKEN"),
        ({"BOT_TOKEN": "123:abc", "ADMIN_IDS": "1,two"}, "ADMIN_IDS"),
        ({"BOT_TOKEN": "123:abc", "TIMEZONE": "Asia/Nowhere"}, "TIMEZONE"),
        ({"BOT_TOKEN": "oops"}, "BOT_TOKEN"),
    ],
)
async def test_a_bad_setting_exits_2_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    code, out, err = await run_cli(tmp_path, **env)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Configuration error:")
    assert variable in lines[0]
    assert "Traceback" not in err + out


async def test_the_bot_runs_as_a_process_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=bot_env(
                tmp_path, BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, LOG_LEVEL="INFO"
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await api.wait_polling(timeout=30)
            # A long id: a short one such as 301 turns up by chance inside the random
            # callback query ids the log may show, which failed this test now and then.
            person = api.user(730_155_904, first_name="Aigerim", language_code="kk")
            [_picker] = await person.start()
            assert person.buttons() == [["Қазақша", "Русский", "English"]]
            await person.press("Қазақша")
            await person.send("секретный текст клиента")
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
    log = err.decode()
    assert process.returncode == 0, log
    assert "Started @jana_jol_test_bot with database" in log
    assert (tmp_path / "db" / "bot.sqlite3").exists()  # missing folders were created
    for private in ("Aigerim", "секретный текст", "730155904"):
        assert private not in log


async def test_staff_commands_on_the_command_line(tmp_path: Path) -> None:
    code, out, _ = await run_cli(tmp_path, "db", "migrate")
    assert code == 0
    assert "up to date" in out
    code, _, _ = await run_cli(
        tmp_path, "admin", "add-caseworker", "555", "--name", "Асель Нурланқызы"
    )
    assert code == 0
    code, out, _ = await run_cli(tmp_path, "admin", "list-staff", ADMIN_IDS="777")
    assert code == 0
    assert "555\tcaseworker\tАсель Нурланқызы" in out
    assert "777\tadmin" in out
    code, _, err = await run_cli(
        tmp_path, "admin", "add-caseworker", "777", "--name", "X", ADMIN_IDS="777"
    )
    assert code == 1
    assert "administrator" in err
    code, _, _ = await run_cli(tmp_path, "admin", "remove-caseworker", "555")
    assert code == 0
    code, out, _ = await run_cli(tmp_path, "admin", "list-staff")
    assert "555" not in out
    code, _, err = await run_cli(tmp_path, "admin", "remove-caseworker", "555")
    assert code == 1
    assert "not a caseworker" in err


async def test_reassign_and_export_user_on_the_command_line(tmp_path: Path) -> None:
    import json

    from db import clients, invitations, users
    from db.database import Database
    from db.migrate import migrate
    from db.staff import add_caseworker

    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    await migrate(db)
    await add_caseworker(db, 11, "First", actor_id=None)
    await add_caseworker(db, 12, "Second", actor_id=None)
    await users.get_or_create(db, 50)
    _, invitation = await invitations.create(db, 11, "Case 50")
    await clients.accept_invitation(db, invitation.id, 50, "Arman")
    await db.close()

    code, out, _ = await run_cli(tmp_path, "admin", "reassign", "50", "12")
    assert code == 0
    assert "The running bot tells the client" in out  # no BOT_TOKEN needed: notices are stored
    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    stored = await db.fetchall(
        "SELECT recipient_id, json_extract(payload, '$.notice') FROM scheduled_items "
        "WHERE kind = 'notice' ORDER BY recipient_id"
    )
    await db.close()
    assert [tuple(r) for r in stored] == [
        (11, "client_moved"),
        (12, "client_assigned"),
        (50, "new_officer"),
    ]
    code, _, err = await run_cli(tmp_path, "admin", "reassign", "50", "12")
    assert code == 1
    assert "already has this caseworker" in err
    code, _, err = await run_cli(tmp_path, "admin", "remove-caseworker", "12")
    assert code == 1
    assert "reassign them first" in err

    target = tmp_path / "export.json"
    code, _, _ = await run_cli(tmp_path, "admin", "export-user", "50", "--output", str(target))
    assert code == 0
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["data"]["clients"][0]["caseworker_id"] == 12
    assert exported["data"]["clients"][0]["label"] == "Case 50"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _one_error_line(err: str, out: str = "") -> str:
    assert "Traceback" not in err + out, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    return lines[0]


async def test_one_bot_per_database_and_the_cli_works_beside_it(tmp_path: Path) -> None:
    database = tmp_path / "db" / "bot.sqlite3"
    async with FakeBotAPI() as api:
        first = await start_bot_process(tmp_path, api)
        try:
            # A second bot on the same database stops at once, with one line.
            code, out, err = await run_cli(
                tmp_path, BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url
            )
            assert code == 1
            line = _one_error_line(err, out)
            assert "another bot process is already running on DATABASE_PATH" in line
            assert str(database) in line

            # Command-line tools keep working beside the running bot.
            code, _, _ = await run_cli(
                tmp_path, "admin", "add-caseworker", "555", "--name", "Асель"
            )
            assert code == 0
            code, out, _ = await run_cli(tmp_path, "db", "backup", str(tmp_path / "live.sqlite3"))
            assert code == 0, out
            assert "integrity_check: ok" in out

            person = api.user(301, language_code="en")
            await person.start()  # the first bot still answers
            assert person.buttons() == [["Қазақша", "Русский", "English"]]
            # The lock goes with the process, however it ends: kill -9 leaves no stale lock.
            code, _ = await stop_process(first, signal.SIGKILL)
            assert code == -signal.SIGKILL
        finally:
            if first.returncode is None:
                first.kill()
        second = await start_bot_process(tmp_path, api)
        code, err = await stop_process(second)
        assert code == 0, err
    assert _mode(Path(f"{database}.lock")) == 0o600


async def test_a_file_that_is_not_a_database_stops_everything_with_one_line(
    tmp_path: Path,
) -> None:
    database = tmp_path / "db" / "bot.sqlite3"
    database.parent.mkdir()
    database.write_bytes(b"PK\x03\x04 a zip file, not a database" * 50)
    for args, env in (
        ((), {"BOT_TOKEN": "123456:TEST-TOKEN", "TELEGRAM_API_URL": "http://127.0.0.1:9"}),
        (("db", "migrate"), {}),
        (("admin", "list-staff"), {}),
    ):
        code, out, err = await run_cli(tmp_path, *args, **env)
        assert code == 1, (args, err)
        line = _one_error_line(err, out)
        assert str(database) in line
        assert "not a usable SQLite database" in line


async def test_a_database_from_a_newer_version_stops_everything_with_one_line(
    tmp_path: Path,
) -> None:
    code, _, _ = await run_cli(tmp_path, "db", "migrate")
    assert code == 0
    database = tmp_path / "db" / "bot.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES ('0099_future', '2030-01-01 00:00:00')")
    conn.close()
    for args, env in (
        ((), {"BOT_TOKEN": "123456:TEST-TOKEN", "TELEGRAM_API_URL": "http://127.0.0.1:9"}),
        (("db", "migrate"), {}),
        (("admin", "list-staff"), {}),
        (("directory", "export", str(tmp_path / "out.csv")), {}),
    ):
        code, out, err = await run_cli(tmp_path, *args, **env)
        assert code == 1, (args, err)
        line = _one_error_line(err, out)
        assert "written by a newer version" in line
        assert "0099_future" in line
        assert str(database) in line


async def test_files_with_personal_data_are_private_under_umask_022(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        code, _, _ = await run_cli(tmp_path, "db", "migrate")
        assert code == 0
        export = tmp_path / "person.json"
        export.write_text("{}")
        os.chmod(export, 0o644)  # an existing file is made private too
        code, _, _ = await run_cli(tmp_path, "admin", "export-user", "1", "-o", str(export))
        assert code == 0
        code, out, _ = await run_cli(tmp_path, "db", "backup", str(tmp_path / "copy.sqlite3"))
        assert code == 0
    finally:
        os.umask(old)
    assert "bytes" in out
    assert "integrity_check: ok" in out
    folder = tmp_path / "db"
    modes = {p.name: _mode(p) for p in [folder, *folder.iterdir()]}
    assert modes == {"db": 0o700, "bot.sqlite3": 0o600}  # -wal/-shm are gone after a clean close
    assert _mode(export) == 0o600
    assert _mode(tmp_path / "copy.sqlite3") == 0o600
    code, out, err = await run_cli(tmp_path, "db", "backup", str(tmp_path / "copy.sqlite3"))
    assert code == 1
    assert "already exists" in _one_error_line(err, out)
    code, out, _ = await run_cli(
        tmp_path, "db", "backup", "--force", str(tmp_path / "copy.sqlite3")
    )
    assert code == 0, out
