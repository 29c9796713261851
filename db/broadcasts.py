"""Broadcasts (issue 12): the broadcast, its language versions, one row per recipient.

A broadcast and all its recipient rows are stored in one transaction (`create_in`) before
the first message goes out; the sender (scheduler/broadcasts.py) claims due rows
(`claim`), marks each at once (`mark_sent`, `mark_failed`, `mark_retry`), and a restart
puts rows left `sending` back (`reset_sending`). Texts are never stored: each version is
the sender's own message (chat id + message id), copied with copyMessage.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import aiosqlite

from db.clock import from_db, to_db
from db.database import Database

LANGUAGES = ("kk", "ru", "en")


class State(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Version:
    language: str
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Recipient:
    """Who may receive a broadcast: an active client, their language and zone."""

    client_id: int
    caseworker_id: int
    language: str | None
    timezone: str | None
    unreachable: bool


@dataclass(frozen=True)
class Planned:
    client_id: int
    language: str  # the version they get
    not_before: datetime
    skipped: str | None = None  # a reason code: stored as 'skipped' at once
    spoken: str = ""  # the client's own language (the preview counts by it)


@dataclass(frozen=True)
class Broadcast:
    id: int
    sender_id: int
    audience: str
    main_language: str
    urgent: bool
    state: State
    send_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress_chat_id: int | None
    progress_message_id: int | None


@dataclass(frozen=True)
class Figures:
    total: int = 0
    pending: int = 0  # pending and sending
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    by_error: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped


@dataclass(frozen=True)
class Claimed:
    broadcast_id: int
    client_id: int
    attempts: int
    chat_id: int  # the version's source
    message_id: int


def _opt(value: str | None) -> datetime | None:
    return None if value is None else from_db(value)


def _broadcast(row: sqlite3.Row) -> Broadcast:
    return Broadcast(
        id=row["id"],
        sender_id=row["sender_id"],
        audience=row["audience"],
        main_language=row["main_language"],
        urgent=bool(row["urgent"]),
        state=State(row["state"]),
        send_at=from_db(row["send_at"]),
        created_at=from_db(row["created_at"]),
        started_at=_opt(row["started_at"]),
        finished_at=_opt(row["finished_at"]),
        progress_chat_id=row["progress_chat_id"],
        progress_message_id=row["progress_message_id"],
    )


# -- audiences --------------------------------------------------------------------------------

_RECIPIENTS = (
    "SELECT c.telegram_id AS client_id, c.caseworker_id, u.language, u.timezone, "
    "c.unreachable_since IS NOT NULL AS unreachable "
    "FROM clients c JOIN users u ON u.telegram_id = c.telegram_id "
    "WHERE c.status = 'active' AND u.role = 'client' "
)


async def recipients(
    db: Database,
    *,
    caseworker_ids: Sequence[int] | None,
    language: str | None = None,
    missed_since: datetime | None = None,
    default_language: str = "kk",
) -> list[Recipient]:
    """Active clients of `caseworker_ids` (None: of everyone), narrowed to those whose
    language is `language`, or who missed a check-in or an appointment since `missed_since`.

    A caseworker's broadcast always passes their own id alone: the scope is enforced here,
    whatever a button said.
    """
    sql = _RECIPIENTS
    params: list[object] = []
    if caseworker_ids is not None:
        if not caseworker_ids:
            return []
        sql += f"AND c.caseworker_id IN ({','.join('?' * len(caseworker_ids))}) "
        params.extend(caseworker_ids)
    if language is not None:
        sql += "AND coalesce(u.language, ?) = ? "
        params.extend((default_language, language))
    if missed_since is not None:
        since = to_db(missed_since)
        sql += (
            "AND (EXISTS (SELECT 1 FROM checkins k WHERE k.client_id = c.telegram_id "
            "AND k.status = 'missed' AND k.closes_at >= ?) "
            "OR EXISTS (SELECT 1 FROM appointments a WHERE a.client_id = c.telegram_id "
            "AND a.status = 'no_show' AND a.starts_at >= ?)) "
        )
        params.extend((since, since))
    sql += "ORDER BY c.telegram_id"
    rows = await db.fetchall(sql, params)
    return [
        Recipient(
            client_id=r["client_id"],
            caseworker_id=r["caseworker_id"],
            language=r["language"],
            timezone=r["timezone"],
            unreachable=bool(r["unreachable"]),
        )
        for r in rows
    ]


# -- storing ----------------------------------------------------------------------------------


async def create_in(
    conn: aiosqlite.Connection,
    *,
    sender_id: int,
    audience: str,
    main_language: str,
    urgent: bool,
    state: State,
    send_at: datetime,
    now: datetime,
    versions: Iterable[Version],
    planned: Iterable[Planned],
    progress: tuple[int, int] | None = None,
) -> int:
    cursor = await conn.execute(
        "INSERT INTO broadcasts (sender_id, audience, main_language, urgent, state, send_at, "
        "created_at, started_at, progress_chat_id, progress_message_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sender_id,
            audience,
            main_language,
            int(urgent),
            state.value,
            to_db(send_at),
            to_db(now),
            to_db(now) if state is State.SENDING else None,
            progress[0] if progress else None,
            progress[1] if progress else None,
        ),
    )
    broadcast_id = cursor.lastrowid
    await cursor.close()
    assert broadcast_id is not None
    await conn.executemany(
        "INSERT INTO broadcast_versions (broadcast_id, language, chat_id, message_id) "
        "VALUES (?, ?, ?, ?)",
        [(broadcast_id, v.language, v.chat_id, v.message_id) for v in versions],
    )
    await conn.executemany(
        "INSERT INTO broadcast_recipients (broadcast_id, client_id, language, status, "
        "not_before, error) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                broadcast_id,
                p.client_id,
                p.language,
                "skipped" if p.skipped else "pending",
                to_db(p.not_before),
                p.skipped,
            )
            for p in planned
        ],
    )
    return broadcast_id


async def set_progress_message(
    db: Database, broadcast_id: int, chat_id: int, message_id: int
) -> None:
    await db.execute(
        "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
        (chat_id, message_id, broadcast_id),
    )


# -- reading ----------------------------------------------------------------------------------


async def get(db: Database, broadcast_id: int) -> Broadcast | None:
    row = await db.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
    return None if row is None else _broadcast(row)


async def versions(db: Database, broadcast_id: int) -> list[Version]:
    rows = await db.fetchall(
        "SELECT language, chat_id, message_id FROM broadcast_versions WHERE broadcast_id = ?",
        (broadcast_id,),
    )
    return [Version(r["language"], r["chat_id"], r["message_id"]) for r in rows]


async def listing(db: Database, sender_id: int | None, limit: int = 10) -> list[Broadcast]:
    """The latest broadcasts of `sender_id` (None: everyone's), newest first."""
    if sender_id is None:
        rows = await db.fetchall("SELECT * FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = await db.fetchall(
            "SELECT * FROM broadcasts WHERE sender_id = ? ORDER BY id DESC LIMIT ?",
            (sender_id, limit),
        )
    return [_broadcast(r) for r in rows]


async def figures(db: Database, broadcast_id: int) -> Figures:
    rows = await db.fetchall(
        "SELECT status, coalesce(error, '') AS error, count(*) AS n FROM broadcast_recipients "
        "WHERE broadcast_id = ? GROUP BY status, error",
        (broadcast_id,),
    )
    counts = {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "skipped": 0}
    by_error: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] += r["n"]
        if r["error"] and r["status"] in ("failed", "skipped"):
            by_error[r["error"]] = by_error.get(r["error"], 0) + r["n"]
    return Figures(
        total=sum(counts.values()),
        pending=counts["pending"] + counts["sending"],
        sent=counts["sent"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        by_error=by_error,
    )


async def outcome_rows(db: Database, broadcast_id: int) -> list[sqlite3.Row]:
    """Per recipient: ids, version, status, error code, attempts, time (no names)."""
    return await db.fetchall(
        "SELECT client_id, language, status, coalesce(error, '') AS error, attempts, "
        "coalesce(sent_at, '') AS sent_at FROM broadcast_recipients WHERE broadcast_id = ? "
        "ORDER BY client_id",
        (broadcast_id,),
    )


# -- the sender's side ------------------------------------------------------------------------


async def reset_sending(db: Database) -> int:
    """At start: rows a previous process claimed and never marked go back to pending."""
    return await db.execute(
        "UPDATE broadcast_recipients SET status = CASE WHEN (SELECT state FROM broadcasts b "
        "WHERE b.id = broadcast_id) IN ('sending', 'scheduled') THEN 'pending' ELSE 'skipped' "
        "END WHERE status = 'sending'"
    )


async def start_due(db: Database, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come start sending."""
    if not await db.fetchval(
        "SELECT 1 FROM broadcasts WHERE state = 'scheduled' AND send_at <= ? LIMIT 1",
        (to_db(now),),
    ):
        return []
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE broadcasts SET state = 'sending', started_at = ? "
            "WHERE state = 'scheduled' AND send_at <= ? RETURNING id",
            (to_db(now), to_db(now)),
        )
        rows = await cursor.fetchall()
        await cursor.close()
    return [int(r[0]) for r in rows]


async def sending_ids(db: Database) -> list[int]:
    rows = await db.fetchall("SELECT id FROM broadcasts WHERE state = 'sending' ORDER BY id")
    return [int(r["id"]) for r in rows]


async def claim(db: Database, wants: Sequence[tuple[int, int]], now: datetime) -> list[Claimed]:
    """Claims up to n due pending rows of each (broadcast id, n), marked `sending` in one
    transaction, with their version's source."""
    claimed: list[Claimed] = []
    async with db.transaction() as conn:
        for broadcast_id, n in wants:
            if n <= 0:
                continue
            cursor = await conn.execute(
                "UPDATE broadcast_recipients SET status = 'sending', attempts = attempts + 1 "
                "WHERE broadcast_id = ? AND client_id IN (SELECT client_id FROM "
                "broadcast_recipients WHERE broadcast_id = ? AND status = 'pending' "
                "AND not_before <= ? ORDER BY not_before, client_id LIMIT ?) "
                "RETURNING client_id, language, attempts",
                (broadcast_id, broadcast_id, to_db(now), n),
            )
            rows = list(await cursor.fetchall())
            await cursor.close()
            if not rows:
                continue
            # Still theirs to reach at send time: an active client, of the sender unless the
            # sender is an administrator (archived or reassigned since it was stored: skipped).
            cursor = await conn.execute(
                f"UPDATE broadcast_recipients SET status = 'skipped', error = 'not_a_client' "
                f"WHERE broadcast_id = ? AND status = 'sending' "
                f"AND client_id IN ({','.join('?' * len(rows))}) AND client_id NOT IN ("
                "SELECT c.telegram_id FROM clients c, broadcasts b "
                "LEFT JOIN users s ON s.telegram_id = b.sender_id WHERE b.id = ? "
                "AND c.status = 'active' AND (s.role = 'admin' OR c.caseworker_id = b.sender_id)"
                ") RETURNING client_id",
                (broadcast_id, *(r[0] for r in rows), broadcast_id),
            )
            dropped = {int(r[0]) for r in await cursor.fetchall()}
            await cursor.close()
            rows = [r for r in rows if int(r[0]) not in dropped]
            if not rows:
                continue
            cursor = await conn.execute(
                "SELECT b.main_language, v.language, v.chat_id, v.message_id FROM broadcasts b "
                "JOIN broadcast_versions v ON v.broadcast_id = b.id WHERE b.id = ?",
                (broadcast_id,),
            )
            found = list(await cursor.fetchall())
            await cursor.close()
            sources = {r[1]: (int(r[2]), int(r[3])) for r in found}
            main = str(found[0][0]) if found else ""
            for client_id, language, attempts in rows:
                source = sources.get(language) or sources.get(main)
                if source is None:  # its versions were erased with the sender's data
                    await conn.execute(
                        "UPDATE broadcast_recipients SET status = 'skipped', error = 'no_version' "
                        "WHERE broadcast_id = ? AND client_id = ?",
                        (broadcast_id, client_id),
                    )
                    continue
                claimed.append(Claimed(broadcast_id, client_id, attempts, *source))
    return claimed


async def mark_sent(db: Database, broadcast_id: int, client_id: int, now: datetime) -> None:
    await db.execute(
        "UPDATE broadcast_recipients SET status = 'sent', sent_at = ?, error = NULL "
        "WHERE broadcast_id = ? AND client_id = ? AND status = 'sending'",
        (to_db(now), broadcast_id, client_id),
    )


async def mark_failed(db: Database, broadcast_id: int, client_id: int, error: str) -> None:
    await db.execute(
        "UPDATE broadcast_recipients SET status = 'failed', error = ? "
        "WHERE broadcast_id = ? AND client_id = ? AND status = 'sending'",
        (error, broadcast_id, client_id),
    )


async def mark_retry(
    db: Database, broadcast_id: int, client_id: int, error: str, at: datetime
) -> None:
    """Back to pending at `at` (skipped when the broadcast was cancelled meanwhile)."""
    await db.execute(
        "UPDATE broadcast_recipients SET error = ?, not_before = ?, status = CASE "
        "WHEN (SELECT state FROM broadcasts WHERE id = ?) = 'sending' THEN 'pending' "
        "ELSE 'skipped' END WHERE broadcast_id = ? AND client_id = ? AND status = 'sending'",
        (error, to_db(at), broadcast_id, broadcast_id, client_id),
    )


async def finish_if_done_in(conn: aiosqlite.Connection, broadcast_id: int, now: datetime) -> bool:
    """A sending broadcast with no row pending or sending becomes done (True once)."""
    cursor = await conn.execute(
        "UPDATE broadcasts SET state = 'done', finished_at = ? WHERE id = ? AND state = 'sending' "
        "AND NOT EXISTS (SELECT 1 FROM broadcast_recipients WHERE broadcast_id = ? "
        "AND status IN ('pending', 'sending')) RETURNING id",
        (to_db(now), broadcast_id, broadcast_id),
    )
    row = await cursor.fetchone()
    await cursor.close()
    return row is not None


async def next_due(db: Database) -> datetime | None:
    """The earliest moment something waits for: a scheduled start or a pending row."""
    value = await db.fetchval(
        "SELECT min(t) FROM (SELECT min(send_at) AS t FROM broadcasts WHERE state = 'scheduled' "
        "UNION ALL SELECT min(r.not_before) FROM broadcast_recipients r "
        "JOIN broadcasts b ON b.id = r.broadcast_id "
        "WHERE b.state = 'sending' AND r.status = 'pending')"
    )
    return None if value is None else from_db(value)


async def sender_in(conn: aiosqlite.Connection, broadcast_id: int) -> int:
    cursor = await conn.execute("SELECT sender_id FROM broadcasts WHERE id = ?", (broadcast_id,))
    row = await cursor.fetchone()
    await cursor.close()
    return 0 if row is None else int(row[0])


async def cancel_in(conn: aiosqlite.Connection, broadcast_id: int, now: datetime) -> bool:
    """Scheduled or sending → cancelled; its pending rows → skipped. False if already over."""
    cursor = await conn.execute(
        "UPDATE broadcasts SET state = 'cancelled', finished_at = ? WHERE id = ? "
        "AND state IN ('draft', 'scheduled', 'sending') RETURNING id",
        (to_db(now), broadcast_id),
    )
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:
        return False
    await conn.execute(
        "UPDATE broadcast_recipients SET status = 'skipped', error = 'cancelled' "
        "WHERE broadcast_id = ? AND status = 'pending'",
        (broadcast_id,),
    )
    return True


def retry_at(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
