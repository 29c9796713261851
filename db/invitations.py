"""Invitations: single-use tokens a caseworker hands to a person, and their outcome."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import aiosqlite

from db import audit
from db.clock import from_db, to_db, utcnow
from db.database import Database

TOKEN_BYTES = 16  # 128 bits; token_urlsafe gives 22 characters of A–Z a–z 0–9 _ -
DEFAULT_VALIDITY = timedelta(days=7)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class Problem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Invitation:
    id: int
    caseworker_id: int
    label: str | None
    status: str
    expires_at: datetime


async def create(
    db: Database, caseworker_id: int, label: str | None, validity: timedelta = DEFAULT_VALIDITY
) -> tuple[str, Invitation]:
    """Returns the token (shown once, never stored) and the invitation."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    expires = now + validity
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO invitations (token_hash, caseworker_id, label, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (hash_token(token), caseworker_id, label, to_db(now), to_db(expires)),
        )
        invitation_id = cursor.lastrowid
        assert invitation_id is not None
        await audit.record(
            conn, "invitation.created", actor_id=caseworker_id, invitation_id=invitation_id
        )
    return token, Invitation(invitation_id, caseworker_id, label, "pending", expires)


async def find(db: Database, token: str) -> Invitation | Problem:
    """The pending invitation behind a token, or why it cannot be used."""
    if not token or len(token) > 64:
        return Problem.UNKNOWN
    return await _usable("i.token_hash = ?", hash_token(token), db)


async def get_pending(db: Database, invitation_id: int) -> Invitation | Problem:
    return await _usable("i.id = ?", invitation_id, db)


async def _usable(where: str, value: object, db: Database) -> Invitation | Problem:
    row = await db.fetchone(
        "SELECT i.id, i.caseworker_id, i.label, i.status, i.expires_at, u.role "
        "FROM invitations i LEFT JOIN users u ON u.telegram_id = i.caseworker_id "
        f"WHERE {where}",
        (value,),
    )
    if row is None:
        return Problem.UNKNOWN
    # Revoked, or its caseworker is no longer one (or was erased): not valid at all.
    if row["status"] == "revoked" or row["role"] != "caseworker":
        return Problem.UNKNOWN
    invitation = Invitation(
        row["id"], row["caseworker_id"], row["label"], row["status"], from_db(row["expires_at"])
    )
    if invitation.status == "expired":
        return Problem.EXPIRED
    if invitation.status != "pending":
        return Problem.USED
    if invitation.expires_at <= utcnow():
        return Problem.EXPIRED
    return invitation


async def decline(
    db: Database,
    invitation_id: int,
    *,
    then: Callable[[aiosqlite.Connection], Awaitable[object]] | None = None,
) -> bool:
    """Only the fact of the decline is kept: the caseworker's label goes too.

    `then(conn)` runs in the same transaction when the decline happened (a notice)."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE invitations SET status = 'declined', label = NULL, used_at = ? "
            "WHERE id = ? AND status = 'pending'",
            (to_db(utcnow()), invitation_id),
        )
        if cursor.rowcount:
            await audit.record(
                conn, "invitation.declined", actor_id=None, invitation_id=invitation_id
            )
            if then is not None:
                await then(conn)
    return bool(cursor.rowcount)


async def pending_for(db: Database, caseworker_id: int, limit: int) -> list[Invitation]:
    """This caseworker's invitations that still work, the newest first."""
    rows = await db.fetchall(
        "SELECT id, caseworker_id, label, status, expires_at FROM invitations "
        "WHERE caseworker_id = ? AND status = 'pending' AND expires_at > ? "
        "ORDER BY id DESC LIMIT ?",
        (caseworker_id, to_db(utcnow()), limit),
    )
    return [
        Invitation(r["id"], r["caseworker_id"], r["label"], r["status"], from_db(r["expires_at"]))
        for r in rows
    ]


async def revoke(db: Database, invitation_id: int, caseworker_id: int) -> bool:
    """Only the caseworker who created a pending invitation can revoke it; its label goes."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE invitations SET status = 'revoked', label = NULL, used_at = ? "
            "WHERE id = ? AND caseworker_id = ? AND status = 'pending'",
            (to_db(utcnow()), invitation_id, caseworker_id),
        )
        if cursor.rowcount:
            await audit.record(
                conn, "invitation.revoked", actor_id=caseworker_id, invitation_id=invitation_id
            )
    return bool(cursor.rowcount)


async def expire(db: Database, now: datetime) -> int:
    """Pending invitations past their expiry become 'expired' and lose their label."""
    return await db.execute(
        "UPDATE invitations SET status = 'expired', label = NULL "
        "WHERE status = 'pending' AND expires_at <= ?",
        (to_db(now),),
    )
