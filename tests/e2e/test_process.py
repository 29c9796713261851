"""`python -m bot` as an operator runs it: settings errors, the polling process, signals, the CLI."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fakeapi import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "BOT_TOKEN",
            "TELEGRAM_API_URL",
            "DATABASE_PATH",
            "ADMIN_IDS",
            "DEFAULT_LANGUAGE",
            "TIMEZONE",
            "LOG_LEVEL",
        }
    }
    env["DATABASE_PATH"] = str(tmp_path / "db" / "bot.sqlite3")
    env["PYTHONPATH"] = str(ROOT)
    return env | values


async def _run(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


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
    code, out, err = await _run(tmp_path, **env)
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
            env=_env(
                tmp_path, BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url, LOG_LEVEL="INFO"
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await api.wait_polling(timeout=30)
            person = api.user(301, first_name="Aigerim", language_code="kk")
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
    for private in ("Aigerim", "секретный текст", "301"):
        assert private not in log


async def test_staff_commands_on_the_command_line(tmp_path: Path) -> None:
    code, out, _ = await _run(tmp_path, "db", "migrate")
    assert code == 0
    assert "up to date" in out
    code, _, _ = await _run(
        tmp_path, "admin", "add-caseworker", "555", "--name", "Асель Нурланқызы"
    )
    assert code == 0
    code, out, _ = await _run(tmp_path, "admin", "list-staff", ADMIN_IDS="777")
    assert code == 0
    assert "555\tcaseworker\tАсель Нурланқызы" in out
    assert "777\tadmin" in out
    code, _, err = await _run(
        tmp_path, "admin", "add-caseworker", "777", "--name", "X", ADMIN_IDS="777"
    )
    assert code == 1
    assert "administrator" in err
    code, _, _ = await _run(tmp_path, "admin", "remove-caseworker", "555")
    assert code == 0
    code, out, _ = await _run(tmp_path, "admin", "list-staff")
    assert "555" not in out
    code, _, err = await _run(tmp_path, "admin", "remove-caseworker", "555")
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

    code, out, _ = await _run(tmp_path, "admin", "reassign", "50", "12")
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
    code, _, err = await _run(tmp_path, "admin", "reassign", "50", "12")
    assert code == 1
    assert "already has this caseworker" in err
    code, _, err = await _run(tmp_path, "admin", "remove-caseworker", "12")
    assert code == 1
    assert "reassign them first" in err

    target = tmp_path / "export.json"
    code, _, _ = await _run(tmp_path, "admin", "export-user", "50", "--output", str(target))
    assert code == 0
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["data"]["clients"][0]["caseworker_id"] == 12
    assert exported["data"]["clients"][0]["label"] == "Case 50"
