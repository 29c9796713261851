"""Broadcasts: who an audience reaches (within the sender's scope), the preview's figures,
storing a broadcast with every recipient row in one transaction, cancelling one.

A caseworker reaches only their own active clients, whatever a button says: the scope is
taken from the sender's role here. Administrators reach every client, or the clients of
chosen caseworkers. Delivery is scheduler/broadcasts.py's; the final report is a notice
(`BROADCAST_DONE`, rendered by handlers/broadcast/).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiosqlite

from core.timecalc import outside_quiet_hours
from db import broadcasts
from db.broadcasts import Planned, Recipient, State, Version
from db.database import Database
from db.users import Role, User
from scheduler.broadcasts import BroadcastSender, FinishedHook
from scheduler.engine import Engine
from scheduler.settings import LocalRules
from services.notices import declare, notify_in

BROADCAST_DONE = declare("broadcast_done")  # the final report, to the sender

MISSED_WINDOW = timedelta(days=7)

# Audience codes (stored in broadcasts.audience, carried in the composing state).
MINE = "mine"
ALL = "all"
MISSED = "missed"
LANGUAGE = "lang:"  # + kk | ru | en
CASEWORKERS = "cw:"  # + comma-separated ids


class AudienceNotAllowedError(Exception):
    """The sender may not use this audience (a caseworker asking for everyone)."""


@dataclass(frozen=True)
class Preview:
    per_language: dict[str, tuple[int, str]]  # client language: (recipients, version they get)
    skipped: int  # unreachable or blocked: stored as skipped, not sent
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(n for n, _v in self.per_language.values()))


def parse_caseworkers(audience: str) -> list[int]:
    return [int(x) for x in audience.removeprefix(CASEWORKERS).split(",") if x.isdigit()]


async def audience_recipients(
    db: Database, sender: User, audience: str, now: datetime, default_language: str
) -> list[Recipient]:
    if sender.role is Role.CLIENT:
        raise AudienceNotAllowedError(audience)
    admin = sender.role is Role.ADMIN
    own = [sender.telegram_id]
    scope: list[int] | None = None if admin else own
    if audience == MINE:
        return await broadcasts.recipients(
            db, caseworker_ids=own, default_language=default_language
        )
    if audience == MISSED:
        return await broadcasts.recipients(
            db,
            caseworker_ids=scope,
            missed_since=now - MISSED_WINDOW,
            default_language=default_language,
        )
    if audience.startswith(LANGUAGE) and audience[len(LANGUAGE) :] in broadcasts.LANGUAGES:
        return await broadcasts.recipients(
            db,
            caseworker_ids=scope,
            language=audience[len(LANGUAGE) :],
            default_language=default_language,
        )
    if not admin:
        raise AudienceNotAllowedError(audience)
    if audience == ALL:
        return await broadcasts.recipients(
            db, caseworker_ids=None, default_language=default_language
        )
    if audience.startswith(CASEWORKERS):
        return await broadcasts.recipients(
            db, caseworker_ids=parse_caseworkers(audience), default_language=default_language
        )
    raise AudienceNotAllowedError(audience)


def plan(
    people: list[Recipient],
    *,
    versions: set[str],
    main_language: str,
    urgent: bool,
    send_at: datetime,
    rules: LocalRules,
    default_language: str,
) -> list[Planned]:
    """Each recipient's version (their language's, else the main one) and first moment
    (after their quiet hours unless urgent); unreachable ones are skipped."""
    planned = []
    for person in people:
        language = person.language or default_language
        version = language if language in versions else main_language
        not_before = send_at
        if not urgent:
            not_before = outside_quiet_hours(send_at, rules.zone_for(person.timezone), rules.quiet)
        skipped = "unreachable" if person.unreachable else None
        planned.append(Planned(person.client_id, version, not_before, skipped, language))
    return planned


def preview(planned: list[Planned]) -> Preview:
    counts = Counter((p.spoken, p.language) for p in planned if p.skipped is None)
    return Preview(
        per_language={spoken: (n, version) for (spoken, version), n in sorted(counts.items())},
        skipped=sum(1 for p in planned if p.skipped is not None),
    )


async def create(
    db: Database,
    sender: BroadcastSender,
    *,
    author: User,
    audience: str,
    versions: list[Version],
    main_language: str,
    urgent: bool,
    send_at: datetime | None,
    now: datetime,
    rules: LocalRules,
    default_language: str,
    progress: tuple[int, int] | None = None,
) -> tuple[int, Preview]:
    """Stores the broadcast and all its recipient rows in one transaction, then wakes the
    sender. `send_at` None: now."""
    people = await audience_recipients(db, author, audience, now, default_language)
    start = now if send_at is None or send_at <= now else send_at
    planned = plan(
        people,
        versions={v.language for v in versions},
        main_language=main_language,
        urgent=urgent,
        send_at=start,
        rules=rules,
        default_language=default_language,
    )
    async with db.transaction() as conn:
        broadcast_id = await broadcasts.create_in(
            conn,
            sender_id=author.telegram_id,
            audience=audience,
            main_language=main_language,
            urgent=urgent,
            state=State.SENDING if start <= now else State.SCHEDULED,
            send_at=start,
            now=now,
            versions=versions,
            planned=planned,
            progress=progress,
        )
    sender.poke()
    return broadcast_id, preview(planned)


async def may_manage(db: Database, who: User, broadcast_id: int) -> broadcasts.Broadcast | None:
    """The broadcast when `who` may see and cancel it (its sender, or an administrator)."""
    found = await broadcasts.get(db, broadcast_id)
    if found is None:
        return None
    if who.role is Role.ADMIN or (
        who.role is Role.CASEWORKER and found.sender_id == who.telegram_id
    ):
        return found
    return None


async def cancel(
    db: Database, sender: BroadcastSender, who: User, broadcast_id: int, now: datetime
) -> bool:
    """Stops a scheduled or running broadcast: pending rows become skipped."""
    if await may_manage(db, who, broadcast_id) is None:
        return False
    async with db.transaction() as conn:
        cancelled = await broadcasts.cancel_in(conn, broadcast_id, now)
    sender.poke()
    return cancelled


def finished_hook(engine: Engine) -> FinishedHook:
    """For `BroadcastSender.on_finished`: the final report, stored with the state change."""

    async def hook(conn: aiosqlite.Connection, broadcast_id: int) -> None:
        sender_id = await broadcasts.sender_in(conn, broadcast_id)
        if sender_id:
            await notify_in(
                conn,
                recipient_id=sender_id,
                code=BROADCAST_DONE,
                dedupe_key=f"broadcast:{broadcast_id}:done",
                broadcast=broadcast_id,
            )

    return hook
