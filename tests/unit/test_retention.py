"""Retention limits (audit F21, F22), the search memory, and migration 0008 on old data."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from db import invitations, retention
from db.clock import to_db, utcnow
from db.database import Database
from db.migrate import available_migrations, migrate
from db.staff import add_caseworker
from handlers.directory import SearchMemory


async def test_purge_forgets_idle_conversations_and_expired_invitation_labels(
    db: Database,
) -> None:
    now = utcnow()
    for key, age in (("9:1:1:default", 25), ("9:2:2:default", 23)):
        await db.execute(
            "INSERT INTO fsm_state (storage_key, state, data, updated_at) "
            "VALUES (?, 'S', '{\"dir_import_file\": \"x\"}', ?)",
            (key, to_db(now - timedelta(hours=age))),
        )
    await add_caseworker(db, 1, "Officer", actor_id=None)
    _, old = await invitations.create(db, 1, "Case 1", validity=timedelta(days=-1))
    _, live = await invitations.create(db, 1, "Case 2")
    _, used = await invitations.create(db, 1, "Case 3", validity=timedelta(days=-1))
    await invitations.decline(db, used.id)

    done = await retention.purge_expired(db, now)

    assert done == {"conversations": 1, "invitations_expired": 1}
    keys = [r[0] for r in await db.fetchall("SELECT storage_key FROM fsm_state")]
    assert keys == ["9:2:2:default"]
    rows = await db.fetchall("SELECT id, status, label FROM invitations ORDER BY id")
    assert [tuple(r) for r in rows] == [
        (old.id, "expired", None),
        (live.id, "pending", "Case 2"),
        (used.id, "declined", None),
    ]
    assert await invitations.get_pending(db, old.id) is invitations.Problem.EXPIRED
    assert await retention.purge_expired(db, now) == {"conversations": 0, "invitations_expired": 0}


def test_search_memory_keeps_the_latest_search_for_an_hour_only() -> None:
    clock = [1000.0]
    memory = SearchMemory(ttl=3600, limit=2, clock=lambda: clock[0])
    first = memory.remember(1, "жұмыс")
    second = memory.remember(1, "паспорт")
    assert memory.recall(1, first) is None  # an older search's buttons
    assert memory.recall(1, second) == "паспорт"
    assert memory.recall(2, second) is None  # someone else's
    clock[0] += 3601
    assert memory.recall(1, second) is None
    assert len(memory) == 0


def test_search_memory_is_bounded() -> None:
    clock = [0.0]
    memory = SearchMemory(ttl=3600, limit=2, clock=lambda: clock[0])
    seqs = [memory.remember(user, f"words {user}") for user in (1, 2, 3)]
    assert len(memory) == 2
    assert memory.recall(1, seqs[0]) is None  # the least recent went first
    assert memory.recall(3, seqs[2]) == "words 3"
    clock[0] += 4000
    memory.remember(4, "x")  # expired entries go as new ones arrive
    assert len(memory) == 1


async def test_migration_0008_on_data_from_before_it(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.sqlite3")
    await db.connect()
    try:
        await migrate(db, [m for m in available_migrations() if m.name < "0008"])
        now = utcnow()
        at = [to_db(now - timedelta(hours=h)) for h in (5, 4, 3, 2, 1)]
        for telegram_id, role in (
            (1, "caseworker"),
            (2, "caseworker"),
            (3, "client"),
            (4, "client"),
        ):
            await db.execute(
                "INSERT INTO users (telegram_id, role, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (telegram_id, role, at[0], at[0]),
            )
        # 4 was a caseworker, removed before removal revoked invitations.
        for caseworker, label in ((1, "live"), (4, "orphan")):
            await db.execute(
                "INSERT INTO invitations (token_hash, caseworker_id, label, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?)",
                (f"h{caseworker}", caseworker, label, at[0], to_db(now + timedelta(days=1))),
            )
        await db.execute(
            "INSERT INTO clients (telegram_id, caseworker_id, consented_at, linked_at) "
            "VALUES (3, 2, ?, ?)",
            (at[0], at[0]),
        )
        # Read before an admin moved the client from 1 to 2 (only unread moved then), and
        # one written to 2 afterwards.
        for caseworker, created in ((1, at[1]), (2, at[3])):
            await db.execute(
                "INSERT INTO messages (client_id, caseworker_id, direction, kind, created_at, "
                "read_at) VALUES (3, ?, 'in', 'text', ?, ?)",
                (caseworker, created, created),
            )
        await db.execute(
            "INSERT INTO audit_log (at, action, subject_id, details) "
            "VALUES (?, 'client.reassigned', 3, ?)",
            (at[2], json.dumps({"from_caseworker": 1, "to_caseworker": 2})),
        )

        assert await migrate(db) == ["0008_privacy"] + [
            m.name for m in available_migrations() if m.name > "0008_privacy"
        ]

        rows = await db.fetchall("SELECT caseworker_id, status, label FROM invitations ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "pending", "live"), (4, "revoked", None)]
        moved = await db.fetchall("SELECT caseworker_id FROM messages ORDER BY id")
        assert [r[0] for r in moved] == [2, 2]
        # A caseworker's account no longer pins their invitations.
        await db.execute("DELETE FROM users WHERE telegram_id = 1")
        assert (
            await db.fetchval("SELECT caseworker_id FROM invitations WHERE label = 'live'") is None
        )
        await db.execute("UPDATE invitations SET status = 'expired'")  # allowed now
    finally:
        await db.close()
