"""Backups while the bot runs: the daily ones the engine makes (BACKUP_DIR), their pruning,
and a restore as the README describes it, onto which the bot starts and finds its data."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

from db.backup import daily_name
from db.clock import from_db
from emulator import FakeBotAPI
from scheduler.backups import KIND
from tests.e2e.test_webhook import inbox_empty
from tests.harness import BotUnderTest, start_bot
from tests.processes import run_cli

ALMATY = ZoneInfo("Asia/Almaty")


@contextmanager
def at(moment: datetime) -> Iterator[object]:
    with time_machine.travel(moment, tick=True) as traveller:
        yield traveller


async def pending_backups(app: BotUnderTest) -> list[tuple[str, datetime]]:
    rows = await app.db.fetchall(
        "SELECT dedupe_key, due_at FROM scheduled_items WHERE kind = ? AND status = 'pending'",
        (KIND,),
    )
    return [(str(r[0]), from_db(str(r[1]))) for r in rows]


def users_in(copy: Path) -> set[int]:
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        return {int(r[0]) for r in conn.execute("SELECT telegram_id FROM users")}
    finally:
        conn.close()


def fake_copy(folder: Path, day: date) -> Path:
    path = folder / daily_name(day)
    path.write_bytes(b"an older backup")
    return path


async def test_daily_backups_at_local_time_kept_for_n_days(api: FakeBotAPI, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    async with start_bot(
        api, tmp_path, backup_dir=folder, backup_keep_days=3, backup_time="03:30"
    ) as app:
        await app.client(5101)
        # Planned at start, once: the next 03:30 in Almaty.
        [(key, due)] = await pending_backups(app)
        local = due.astimezone(ALMATY)
        assert (local.hour, local.minute) == (3, 30)
        assert timedelta(0) < due - datetime.now(UTC) <= timedelta(days=1)
        day = local.date()
        assert key == f"backup:{day}"
        await app.app.engine.run_housekeeping()  # at start and every 6 hours: idempotent
        assert len(await pending_backups(app)) == 1

        folder.mkdir(mode=0o700)
        too_old = fake_copy(folder, day - timedelta(days=3))
        kept = fake_copy(folder, day - timedelta(days=2))
        other = folder / "notes.txt"
        other.write_text("the operator's own file")

        with at(due + timedelta(seconds=1)):
            report = await app.app.engine.run_due()
        assert report.sent == 1
        copy = folder / daily_name(day)
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert 5101 in users_in(copy)  # made from the live database
        assert not too_old.exists()  # older than 3 days (today, and the 2 before)
        assert kept.exists()
        assert other.exists()  # only files named like ours are ever deleted
        assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []

        # The next day's is planned by the run itself, again exactly one.
        [(key, next_due)] = await pending_backups(app)
        assert key == f"backup:{day + timedelta(days=1)}"
        assert next_due == due + timedelta(days=1)

        with at(next_due + timedelta(seconds=1)):
            report = await app.app.engine.run_due()
        assert report.sent == 1
        assert (folder / daily_name(day + timedelta(days=1))).exists()
        assert not kept.exists()  # now 3 days old
        assert copy.exists()


async def test_a_failed_backup_is_retried_and_logged(api: FakeBotAPI, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    async with start_bot(api, tmp_path, backup_dir=blocker) as app:
        [(_, due)] = await pending_backups(app)
        with at(due + timedelta(seconds=1)):
            report = await app.app.engine.run_due()
        assert report.retried == 1
        row = await app.db.fetchone(
            "SELECT status, last_error, due_at FROM scheduled_items WHERE kind = ?", (KIND,)
        )
        assert row is not None
        assert (row[0], row[1]) == ("pending", "backup_failed")
        assert from_db(str(row[2])) > due + timedelta(minutes=10)


async def test_restore_a_backup_made_while_the_bot_runs(api: FakeBotAPI, tmp_path: Path) -> None:
    target = tmp_path / "backup.sqlite3"
    async with start_bot(api, tmp_path) as app:
        officer = await app.caseworker(5201, name="Officer Backup")
        person = await app.client(5202)  # chose English; the default is Kazakh
        # Updates still in the inbox at backup time are handled again after a restore, as
        # after a crash; here, with a fresh fake Telegram, a replayed button press would
        # only meet "query is too old". Wait for their rows to go (within half a second).
        await inbox_empty(app.db.path)
        # `python -m bot db backup` beside the running bot, as an operator would.
        status, out, err = await run_cli(
            tmp_path, "db", "backup", str(target), DATABASE_PATH=str(app.db.path)
        )
        assert status == 0, err
        assert "integrity_check: ok" in out
        [still] = await person.command("help")  # the bot kept serving
        assert still.body

    # Restore (README): the bot stopped, the copy put in place of DATABASE_PATH in a fresh
    # place, no -wal/-shm beside it, then started.
    restored = tmp_path / "restored" / "bot.sqlite3"
    restored.parent.mkdir(mode=0o700)
    shutil.copyfile(target, restored)
    assert sorted(p.name for p in restored.parent.iterdir()) == ["bot.sqlite3"]
    async with (
        FakeBotAPI() as fresh_api,
        start_bot(fresh_api, tmp_path / "restored", database_path=restored) as again,
    ):
        person = again.user(5202)
        [help_text] = await person.command("help")
        assert help_text.body.startswith("This bot helps you")  # English, as chosen
        assert again.app.db.path == restored
        row = await again.db.fetchone("SELECT language FROM users WHERE telegram_id = 5202")
        assert row is not None
        assert row[0] == "en"
        officer = again.user(5201)
        [caseload] = await officer.command("caseload")
        assert "client" in caseload.body.lower()  # a caseworker still: the role came back
