"""Export and erasure cover every table and every column (audit F18, F20), and invitations
refuse what they must (F1)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from db import clients, invitations, privacy, users
from db.clients import LinkError
from db.clock import now_db, to_db, utcnow
from db.database import Database
from db.directory_import import load_starter_once
from db.staff import add_caseworker

PERSON = 5  # a client of caseworker 1, and earlier a caseworker themself (of client 2)


async def _tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row["name"] for row in rows}


async def _columns(db: Database, table: str) -> set[str]:
    return {row["name"] for row in await db.fetchall(f"PRAGMA table_info({table})")}


async def _fill(db: Database) -> None:
    """At least one row about PERSON in every personal table, every column set."""
    now = now_db()
    await add_caseworker(db, 1, "Officer", actor_id=None)
    for telegram_id in (PERSON, 2):
        await users.get_or_create(db, telegram_id)
    await db.execute(
        "UPDATE users SET language = 'kk', timezone = 'Asia/Aqtobe', display_name = 'P', "
        "menu_synced = 'client:kk' WHERE telegram_id = ?",
        (PERSON,),
    )
    await load_starter_once(db)
    entry = await db.fetchval("SELECT id FROM dir_entry LIMIT 1")
    statements: list[tuple[str, tuple[object, ...]]] = [
        (
            "INSERT INTO dir_report (entry_id, reporter_id, reason, comment, created_at, "
            "resolved_at) VALUES (?, ?, 'closed', 'near my street', ?, ?)",
            (entry, PERSON, now, now),
        ),
        (
            "INSERT INTO clients (telegram_id, caseworker_id, label, telegram_name, status, "
            "consented_at, linked_at, last_contact_at, unreachable_since, location_consent) "
            "VALUES (?, 1, 'Case 5', 'Arman', 'active', ?, ?, ?, ?, 1)",
            (PERSON, now, now, now, now),
        ),
        (
            "INSERT INTO clients (telegram_id, caseworker_id, consented_at, linked_at) "
            "VALUES (2, 1, ?, ?)",
            (now, now),
        ),
        (
            "INSERT INTO messages (client_id, caseworker_id, direction, kind, body, created_at, "
            "delivery, delivered_at, read_at) VALUES (?, 1, 'in', 'text', 'hi', ?, "
            "'delivered', ?, ?)",
            (PERSON, now, now, now),
        ),
        (  # written by PERSON when they were client 2's caseworker
            "INSERT INTO messages (client_id, caseworker_id, direction, kind, body, created_at, "
            "delivery, delivered_at, read_at) VALUES (2, ?, 'out', 'text', 'see you', ?, "
            "'delivered', ?, ?)",
            (PERSON, now, now, now),
        ),
        (
            "INSERT INTO invitations (token_hash, caseworker_id, label, status, created_at, "
            "expires_at, used_at) VALUES ('secret-hash', ?, 'Case 9', 'accepted', ?, ?, ?)",
            (PERSON, now, now, now),
        ),
        (
            "INSERT INTO working_hours (caseworker_id, weekdays, opens_at, closes_at) "
            "VALUES (?, '0,1', '09:00', '17:00')",
            (PERSON,),
        ),
        (
            "INSERT INTO appointments (uid, client_id, caseworker_id, starts_at, ends_at, place, "
            "latitude, longitude, origin, status, sequence, acknowledged_at, answer, "
            "cancelled_by, created_at, updated_at) VALUES ('u1@x', ?, 1, ?, ?, 'Abai 1', 43.2, "
            "76.9, 'assigned', 'cancelled', 1, ?, 'work', 'client', ?, ?)",
            (PERSON, now, now, now, now, now),
        ),
        (  # PERSON as client 2's caseworker
            "INSERT INTO appointments (uid, client_id, caseworker_id, starts_at, ends_at, place, "
            "latitude, longitude, origin, status, sequence, acknowledged_at, answer, "
            "cancelled_by, created_at, updated_at) VALUES ('u2@x', 2, ?, ?, ?, 'Abai 1', 43.2, "
            "76.9, 'booked', 'booked', 0, ?, 'coming', 'client', ?, ?)",
            (PERSON, now, now, now, now, now),
        ),
        (
            "INSERT INTO reception_hours (caseworker_id, weekdays, starts_at, ends_at, "
            "slot_minutes, place, latitude, longitude) VALUES (?, '1', '10:00', '12:00', 30, "
            "'Abai 1', 43.2, 76.9)",
            (PERSON,),
        ),
        (
            "INSERT INTO reception_extra_slots (caseworker_id, starts_at) VALUES (?, ?)",
            (PERSON, now),
        ),
        (
            "INSERT INTO reception_days_off (caseworker_id, day) VALUES (?, '2026-12-31')",
            (PERSON,),
        ),
        (
            "INSERT INTO checkin_schedules (client_id, pattern, at_time, weekdays, every_n, "
            "anchor_date, window_hours, request_location, paused, updated_at) "
            "VALUES (?, 'weekdays', '10:00', '0,2', 1, '2026-01-01', 6, 1, 0, ?)",
            (PERSON, now),
        ),
        (
            "INSERT INTO checkins (client_id, planned_at, opens_at, closes_at, status, "
            "answered_at, latitude, longitude) VALUES (?, ?, ?, ?, 'done', ?, 50.1, 57.2)",
            (PERSON, now, now, now, now),
        ),
        (
            "INSERT INTO scheduled_items (kind, recipient_id, payload, intended_at, due_at, "
            "status, attempts, claimed_at, sent_at, finished_at, last_error, dedupe_key, "
            "created_at) VALUES ('checkin.remind', ?, '{\"checkin\": 1}', ?, ?, 'sent', 1, ?, "
            "?, ?, NULL, 'k1', ?)",
            (PERSON, now, now, now, now, now, now),
        ),
        (  # to the caseworker, about PERSON
            "INSERT INTO scheduled_items (kind, recipient_id, payload, intended_at, due_at, "
            "created_at) VALUES ('checkin.help', 1, json_object('client', ?), ?, ?, ?)",
            (PERSON, now, now, now),
        ),
        (  # a broadcast PERSON sent (as staff), its version in their chat
            "INSERT INTO broadcasts (id, sender_id, audience, main_language, urgent, state, "
            "send_at, created_at, started_at, finished_at, progress_chat_id, "
            "progress_message_id) VALUES (1, ?, 'mine', 'kk', 1, 'done', ?, ?, ?, ?, ?, 5)",
            (PERSON, now, now, now, now, PERSON),
        ),
        (
            "INSERT INTO broadcast_versions (broadcast_id, language, chat_id, message_id) "
            "VALUES (1, 'kk', ?, 4)",
            (PERSON,),
        ),
        (  # a broadcast PERSON received
            "INSERT INTO broadcast_recipients (broadcast_id, client_id, language, status, "
            "not_before, attempts, error, sent_at) VALUES (1, ?, 'kk', 'failed', ?, 1, "
            "'forbidden:blocked', ?)",
            (PERSON, now, now),
        ),
        (  # an update of theirs the bot has not finished handling
            "INSERT INTO inbox (update_id, payload, received_at, attempts) VALUES (77, "
            "json_object('update_id', 77, 'message', json_object('from', json_object('id', ?), "
            "'text', 'hello')), ?, 1)",
            (PERSON, now),
        ),
        (
            "INSERT INTO fsm_state (storage_key, state, data, updated_at) VALUES (?, 'S', '{}', ?)",
            (f"9:{PERSON}:{PERSON}:default", now),
        ),
        (
            "INSERT INTO audit_log (at, actor_id, action, subject_id, details) "
            "VALUES (?, NULL, 'client.reassigned', 2, json_object('from_caseworker', ?))",
            (now, PERSON),
        ),
    ]
    for sql, params in statements:
        await db.execute(sql, params)


async def test_every_table_is_either_personal_or_declared_not_personal(db: Database) -> None:
    personal = {table.table for table in privacy.PERSONAL_TABLES}
    unclassified = {
        name
        for name in await _tables(db)
        if name not in personal
        and name not in privacy.NOT_PERSONAL
        and not name.startswith(privacy.NOT_PERSONAL_PREFIXES)
    }
    assert unclassified == set(), (
        "add these tables to db/privacy.py: PERSONAL_TABLES if they hold anything about a "
        "person, else NOT_PERSONAL"
    )


async def test_export_holds_every_column_of_every_personal_table(db: Database) -> None:
    await _fill(db)
    data = (await privacy.export(db, PERSON))["data"]
    for table in privacy.PERSONAL_TABLES:
        rows = data[table.name]
        assert rows, f"no {table.name} rows: _fill() must cover every personal table"
        expected = await _columns(db, table.table) - set(table.hidden)
        for row in rows:
            assert set(row) == expected, table.name
    # a10: the consent to share locations is part of the client's data.
    assert data["clients"][0]["location_consent"] == 1
    assert [m["body"] for m in data["messages"]] == ["hi"]
    assert [m["body"] for m in data["messages_sent_as_caseworker"]] == ["see you"]
    assert {i["kind"] for i in data["scheduled_messages"]} == {"checkin.remind", "checkin.help"}
    assert "secret-hash" not in privacy.export_json({"data": data})


async def test_erase_leaves_no_row_about_the_person_and_keeps_others_data(db: Database) -> None:
    await _fill(db)
    await privacy.erase(db, PERSON, caseworker_id=1)
    after = (await privacy.export(db, PERSON))["data"]
    assert all(rows == [] for rows in after.values()), after
    # Client 2 keeps their history, without the former caseworker's id.
    rows = await db.fetchall("SELECT caseworker_id, body FROM messages WHERE client_id = 2")
    assert [tuple(r) for r in rows] == [(0, "see you")]
    row = await db.fetchone("SELECT caseworker_id, label, status FROM invitations")
    assert row is not None
    assert tuple(row) == (None, None, "accepted")
    details = await db.fetchval("SELECT details FROM audit_log WHERE action = 'client.reassigned'")
    assert json.loads(details) == {"from_caseworker": None}
    assert await db.fetchval("SELECT count(*) FROM users WHERE telegram_id = 2") == 1
    # Client 2 keeps their appointment record; the erased caseworker's upcoming one is cancelled.
    row = await db.fetchone("SELECT caseworker_id, status FROM appointments WHERE client_id = 2")
    assert row is not None
    assert tuple(row) == (0, "cancelled")


async def test_who_may_be_erased_from_the_command_line(db: Database) -> None:
    await add_caseworker(db, 1, "Officer", actor_id=None)
    await db.execute(
        "INSERT INTO users (telegram_id, role, created_at, updated_at) VALUES (7, 'admin', ?, ?)",
        (now_db(), now_db()),
    )
    assert await privacy.erase_refusal(db, 1) is None  # a caseworker without clients
    assert "administrator" in (await privacy.erase_refusal(db, 7) or "")
    await users.get_or_create(db, 3)
    _, invitation = await invitations.create(db, 1, None)
    await clients.accept_invitation(db, invitation.id, 3, "Arman")
    assert "still has 1 clients" in (await privacy.erase_refusal(db, 1) or "")
    assert await privacy.erase_refusal(db, 3) is None


async def test_accepting_refuses_revoked_expired_and_orphaned_invitations(db: Database) -> None:
    await add_caseworker(db, 1, "Officer", actor_id=None)
    await users.get_or_create(db, 3)

    _, revoked = await invitations.create(db, 1, "A")
    assert await invitations.revoke(db, revoked.id, 2) is False  # not theirs
    assert await invitations.revoke(db, revoked.id, 1) is True
    _, expired = await invitations.create(db, 1, "B", validity=timedelta(seconds=-1))
    _, orphaned = await invitations.create(db, 1, "C")

    async def refused(invitation: invitations.Invitation) -> str:
        with pytest.raises(LinkError) as caught:
            await clients.accept_invitation(db, invitation.id, 3, "Arman")
        return caught.value.code

    assert await refused(revoked) == "invalid"
    assert await refused(expired) == "expired"
    await db.execute("UPDATE users SET role = 'client' WHERE telegram_id = 1")  # role gone
    assert await refused(orphaned) == "invalid"
    assert await invitations.get_pending(db, orphaned.id) is invitations.Problem.UNKNOWN
    assert await clients.get(db, 3) is None


async def test_the_pending_list_shows_only_live_invitations_of_that_caseworker(
    db: Database,
) -> None:
    await add_caseworker(db, 1, "Officer", actor_id=None)
    await add_caseworker(db, 2, "Other", actor_id=None)
    _, live = await invitations.create(db, 1, "live")
    await invitations.create(db, 1, "old", validity=timedelta(seconds=-1))
    await invitations.create(db, 2, "theirs")
    found = await invitations.pending_for(db, 1, limit=10)
    assert [i.id for i in found] == [live.id]
    assert found[0].expires_at > utcnow()
    assert to_db(found[0].expires_at) == to_db(live.expires_at)
