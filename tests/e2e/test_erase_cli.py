"""`python -m bot admin erase-user`: deletion for people who cannot use /delete_me (audit F18)."""

from __future__ import annotations

from pathlib import Path

from db import clients, invitations, users
from db.database import Database
from db.migrate import migrate
from db.staff import add_caseworker
from tests.processes import run_cli as _run


async def test_erase_user_refuses_staff_in_use_and_asks_for_yes(tmp_path: Path) -> None:
    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    await migrate(db)
    await add_caseworker(db, 555, "Асель", actor_id=None)
    await users.get_or_create(db, 556)
    _, invitation = await invitations.create(db, 555, "Case 556")
    await clients.accept_invitation(db, invitation.id, 556, "Arman")
    await invitations.create(db, 555, "Never used")
    await db.close()

    code, _, err = await _run(tmp_path, "admin", "erase-user", "777", ADMIN_IDS="777")
    assert code == 1
    assert "administrator" in err
    code, _, err = await _run(tmp_path, "admin", "erase-user", "555", "--yes")
    assert code == 1
    assert "still has 1 clients" in err

    code, out, _ = await _run(tmp_path, "admin", "erase-user", "556")
    assert code == 1
    assert "Nothing deleted" in out
    assert "clients 1" in out
    code, out, _ = await _run(tmp_path, "admin", "erase-user", "556", "--yes")
    assert code == 0
    assert "Deleted everything stored about 556" in out
    assert "caseworker 555, who was not told" in out

    code, out, _ = await _run(tmp_path, "admin", "erase-user", "555", "--yes")
    assert code == 0
    assert "invitations_created 2" in out
    code, out, _ = await _run(tmp_path, "admin", "erase-user", "555")
    assert code == 0
    assert out.strip() == "Nothing is stored about 555."

    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    try:
        assert await db.fetchval("SELECT count(*) FROM users WHERE telegram_id IN (555, 556)") == 0
        rows = await db.fetchall("SELECT caseworker_id, label, status FROM invitations ORDER BY id")
        assert [tuple(r) for r in rows] == [(None, None, "accepted"), (None, None, "revoked")]
    finally:
        await db.close()
