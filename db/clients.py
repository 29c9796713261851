"""Clients and caseloads: linking after consent, the caseload list, archive, reassignment."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from db import audit
from db.clock import from_db, to_db, utcnow
from db.database import Database
from db.directory_text import natural_key

# Work a caller adds to a transaction of this module (e.g. storing a notice about it).
Then = Callable[[aiosqlite.Connection], Awaitable[object]]

# A message from a client left unread this long puts the client on top of the caseload.
UNREAD_ATTENTION_AFTER = timedelta(hours=4)
RECORD_DAYS = timedelta(days=30)
# An assigned visit the client has not acknowledged this long after it was assigned puts
# them on top too (the office's APPOINTMENT_ACK_HOURS; callers pass the configured one).
ACK_ATTENTION_AFTER = timedelta(hours=24)


class LinkError(Exception):
    """Why an invitation could not link this person (a code the handler translates)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Client:
    telegram_id: int
    caseworker_id: int
    label: str | None
    telegram_name: str | None
    status: str
    linked_at: datetime
    last_contact_at: datetime | None
    unreachable_since: datetime | None
    unread: int = 0
    oldest_unread_at: datetime | None = None
    last_checkin: str | None = None  # how the latest finished check-in went: done | help | missed
    checkins_done_30: int = 0
    checkins_missed_30: int = 0
    last_visit: str | None = None  # how the latest marked visit (30 days) went: attended | no_show
    visits_missed_30: int = 0
    unacknowledged_since: datetime | None = (
        None  # the oldest upcoming assigned visit not acknowledged
    )

    @property
    def name(self) -> str:
        """How staff see the person: the caseworker's label, else the Telegram name."""
        return self.label or self.telegram_name or f"#{self.telegram_id}"

    def attention(self, now: datetime, ack_within: timedelta = ACK_ATTENTION_AFTER) -> list[str]:
        """Reason codes that put this client on top of the caseload."""
        reasons = []
        if self.unreachable_since is not None:
            reasons.append("unreachable")
        if (
            self.oldest_unread_at is not None
            and now - self.oldest_unread_at >= UNREAD_ATTENTION_AFTER
        ):
            reasons.append("unread")
        if self.last_checkin in ("help", "missed"):
            reasons.append(self.last_checkin)
        if self.last_visit == "no_show":
            reasons.append("no_show")
        if self.unacknowledged_since is not None and now - self.unacknowledged_since >= ack_within:
            reasons.append("unacknowledged")
        return reasons


def _dt(value: str | None) -> datetime | None:
    return None if value is None else from_db(value)


def _client(row: sqlite3.Row) -> Client:
    return Client(
        telegram_id=row["telegram_id"],
        caseworker_id=row["caseworker_id"],
        label=row["label"],
        telegram_name=row["telegram_name"],
        status=row["status"],
        linked_at=from_db(row["linked_at"]),
        last_contact_at=_dt(row["last_contact_at"]),
        unreachable_since=_dt(row["unreachable_since"]),
        unread=row["unread"],
        oldest_unread_at=_dt(row["oldest_unread"]),
        last_checkin=row["last_checkin"],
        checkins_done_30=row["done_30"],
        checkins_missed_30=row["missed_30"],
        last_visit=row["last_visit"],
        visits_missed_30=row["no_shows_30"],
        unacknowledged_since=_dt(row["unacknowledged_since"]),
    )


_SELECT = """
SELECT c.telegram_id, c.caseworker_id, c.label, c.telegram_name, c.status, c.linked_at,
       c.last_contact_at, c.unreachable_since,
       count(m.id) AS unread, min(m.created_at) AS oldest_unread,
       (SELECT k.status FROM checkins k
        WHERE k.client_id = c.telegram_id AND k.status IN ('done', 'help', 'missed')
        ORDER BY coalesce(k.answered_at, k.closes_at) DESC LIMIT 1) AS last_checkin,
       (SELECT count(*) FROM checkins k WHERE k.client_id = c.telegram_id
        AND k.status IN ('done', 'help') AND k.answered_at >= :since) AS done_30,
       (SELECT count(*) FROM checkins k WHERE k.client_id = c.telegram_id
        AND k.status = 'missed' AND k.closes_at >= :since) AS missed_30,
       (SELECT a.status FROM appointments a WHERE a.client_id = c.telegram_id
        AND a.status IN ('attended', 'no_show') AND a.starts_at >= :since
        ORDER BY a.starts_at DESC LIMIT 1) AS last_visit,
       (SELECT count(*) FROM appointments a WHERE a.client_id = c.telegram_id
        AND a.status = 'no_show' AND a.starts_at >= :since) AS no_shows_30,
       (SELECT min(a.created_at) FROM appointments a WHERE a.client_id = c.telegram_id
        AND a.status = 'booked' AND a.origin = 'assigned' AND a.acknowledged_at IS NULL
        AND a.ends_at > :now) AS unacknowledged_since
FROM clients c
LEFT JOIN messages m ON m.client_id = c.telegram_id AND m.caseworker_id = c.caseworker_id
     AND m.direction = 'in' AND m.read_at IS NULL
"""


async def accept_invitation(
    db: Database,
    invitation_id: int,
    client_id: int,
    telegram_name: str | None,
    *,
    then: Then | None = None,
) -> int:
    """Links the person to the inviting caseworker; returns the caseworker's id.

    `then(conn)` runs inside the same transaction (a feature storing its notice)."""
    now = to_db(utcnow())
    async with db.transaction() as conn:
        invitation = await (
            await conn.execute(
                "SELECT i.caseworker_id, i.label, i.status, i.expires_at, u.role "
                "FROM invitations i LEFT JOIN users u ON u.telegram_id = i.caseworker_id "
                "WHERE i.id = ?",
                (invitation_id,),
            )
        ).fetchone()
        # Revoked, or the inviter is no longer a caseworker: nobody joins through it.
        if (
            invitation is None
            or invitation["status"] == "revoked"
            or invitation["role"] != "caseworker"
        ):
            raise LinkError("invalid")
        if invitation["status"] == "expired" or (
            invitation["status"] == "pending" and invitation["expires_at"] <= now
        ):
            raise LinkError("expired")
        if invitation["status"] != "pending":
            raise LinkError("used")
        person = await (
            await conn.execute(
                "SELECT u.role, c.status FROM users u "
                "LEFT JOIN clients c ON c.telegram_id = u.telegram_id WHERE u.telegram_id = ?",
                (client_id,),
            )
        ).fetchone()
        if person is None or person["role"] != "client":
            raise LinkError("staff")
        if person["status"] == "active":
            raise LinkError("linked")
        caseworker_id = int(invitation["caseworker_id"])
        await conn.execute(
            "INSERT INTO clients (telegram_id, caseworker_id, label, telegram_name, status, "
            "consented_at, linked_at, last_contact_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?) "
            "ON CONFLICT (telegram_id) DO UPDATE SET caseworker_id = excluded.caseworker_id, "
            "label = excluded.label, telegram_name = excluded.telegram_name, status = 'active', "
            "consented_at = excluded.consented_at, linked_at = excluded.linked_at, "
            # Agreed to share locations with the previous officer, not with this one.
            "unreachable_since = NULL, location_consent = NULL",
            (client_id, caseworker_id, invitation["label"], telegram_name, now, now, now),
        )
        await conn.execute(
            "UPDATE invitations SET status = 'accepted', label = NULL, used_at = ? WHERE id = ?",
            (now, invitation_id),
        )
        await audit.record(
            conn,
            "invitation.accepted",
            actor_id=client_id,
            subject_id=client_id,
            invitation_id=invitation_id,
            caseworker_id=caseworker_id,
        )
        if then is not None:
            await then(conn)
    return caseworker_id


def _window() -> dict[str, str]:
    """The record (check-ins, visits) covers the last 30 days; `now` finds upcoming visits."""
    now = utcnow()
    return {"since": to_db(now - RECORD_DAYS), "now": to_db(now)}


async def get(db: Database, client_id: int) -> Client | None:
    row = await db.fetchone(
        _SELECT + "WHERE c.telegram_id = :client GROUP BY c.telegram_id",
        {"client": client_id, **_window()},
    )
    return None if row is None else _client(row)


async def get_for_caseworker(db: Database, client_id: int, caseworker_id: int) -> Client | None:
    """The client only if they are on this caseworker's caseload: the check behind every button."""
    client = await get(db, client_id)
    if client is None or client.caseworker_id != caseworker_id:
        return None
    return client


async def caseload(
    db: Database,
    caseworker_id: int,
    status: str = "active",
    *,
    ack_within: timedelta = ACK_ATTENTION_AFTER,
) -> list[Client]:
    """This caseworker's clients, those needing attention first, then by last contact."""
    rows = await db.fetchall(
        _SELECT
        + "WHERE c.caseworker_id = :caseworker AND c.status = :status GROUP BY c.telegram_id",
        {"caseworker": caseworker_id, "status": status, **_window()},
    )
    clients = [_client(r) for r in rows]
    now = utcnow()
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    clients.sort(key=lambda c: c.last_contact_at or epoch, reverse=True)
    clients.sort(key=lambda c: not c.attention(now, ack_within))  # stable: attention first
    return clients


async def set_status_in(
    conn: aiosqlite.Connection, client_id: int, caseworker_id: int, status: str
) -> bool:
    """Archive or restore, inside the caller's transaction; False when nothing changed."""
    cursor = await conn.execute(
        "UPDATE clients SET status = ? WHERE telegram_id = ? AND caseworker_id = ? AND status <> ?",
        (status, client_id, caseworker_id, status),
    )
    if cursor.rowcount:
        action = "client.archived" if status == "archived" else "client.restored"
        await audit.record(conn, action, actor_id=caseworker_id, subject_id=client_id)
    return bool(cursor.rowcount)


async def reassign(
    db: Database,
    client_id: int,
    caseworker_id: int,
    *,
    actor_id: int | None,
    then: Then | None = None,
) -> int:
    """Moves a client to another caseworker; returns the previous caseworker's id.

    `then(conn)` runs inside the same transaction (storing the notices about it)."""
    async with db.transaction() as conn:
        client = await (
            await conn.execute(
                "SELECT caseworker_id FROM clients WHERE telegram_id = ?", (client_id,)
            )
        ).fetchone()
        if client is None:
            raise LinkError("no-client")
        target = await (
            await conn.execute("SELECT role FROM users WHERE telegram_id = ?", (caseworker_id,))
        ).fetchone()
        if target is None or target["role"] != "caseworker":
            raise LinkError("no-caseworker")
        previous = int(client["caseworker_id"])
        if previous == caseworker_id:
            raise LinkError("same")
        await conn.execute(
            "UPDATE clients SET caseworker_id = ? WHERE telegram_id = ?", (caseworker_id, client_id)
        )
        # The whole history moves with the client (the client is told so): the new officer
        # continues the case. A re-invitation after archiving moves nothing.
        await conn.execute(
            "UPDATE messages SET caseworker_id = ? WHERE client_id = ?", (caseworker_id, client_id)
        )
        await audit.record(
            conn,
            "client.reassigned",
            actor_id=actor_id,
            subject_id=client_id,
            from_caseworker=previous,
            to_caseworker=caseworker_id,
        )
        if then is not None:
            await then(conn)
    return previous


async def mark_unreachable_in(conn: aiosqlite.Connection, client_id: int) -> int | None:
    """An active client Telegram refused to deliver to: their caseworker's id when this is
    news (reachable until now), else None. (Reachable again: users.mark_reachable.)"""
    cursor = await conn.execute(
        "UPDATE clients SET unreachable_since = ? WHERE telegram_id = ? AND status = 'active' "
        "AND unreachable_since IS NULL RETURNING caseworker_id",
        (to_db(utcnow()), client_id),
    )
    row = await cursor.fetchone()
    await cursor.close()
    return None if row is None else int(row[0])


@dataclass(frozen=True)
class CaseworkerLoad:
    telegram_id: int
    name: str
    active: int
    archived: int


async def caseworkers(db: Database) -> list[CaseworkerLoad]:
    rows = await db.fetchall(
        "SELECT u.telegram_id, u.display_name, "
        "count(c.telegram_id) FILTER (WHERE c.status = 'active') AS active, "
        "count(c.telegram_id) FILTER (WHERE c.status = 'archived') AS archived "
        "FROM users u LEFT JOIN clients c ON c.caseworker_id = u.telegram_id "
        "WHERE u.role = 'caseworker' GROUP BY u.telegram_id"
    )
    loads = [
        CaseworkerLoad(
            r["telegram_id"],
            r["display_name"] or f"#{r['telegram_id']}",
            r["active"],
            r["archived"],
        )
        for r in rows
    ]
    return sorted(loads, key=lambda load: (natural_key(load.name), load.telegram_id))
