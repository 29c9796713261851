"""Programme statistics on a seeded database: compliance arithmetic, weeks in local time,
scopes, active clients over time, broadcast reach, directory use, the empty programme."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from db import stats as queries
from db.clock import to_db
from db.database import Database
from db.stats import Counts
from services import stats
from services.stats import Stats

ALMATY = ZoneInfo("Asia/Almaty")  # UTC+5
# A Wednesday, 12:00 in Almaty.
NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
CW_A, CW_B = 501, 502


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ALMATY).astimezone(UTC)


TODAY = NOW.astimezone(ALMATY).date()
MONDAY = TODAY - timedelta(days=TODAY.weekday())


async def add_staff(db: Database, telegram_id: int, name: str) -> None:
    await db.execute(
        "INSERT INTO users (telegram_id, role, display_name, created_at, updated_at) "
        "VALUES (?, 'caseworker', ?, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        (telegram_id, name),
    )


async def add_client(
    db: Database,
    client_id: int,
    caseworker_id: int,
    linked_at: datetime,
    *,
    status: str = "active",
    unreachable: bool = False,
    archived_at: datetime | None = None,
) -> None:
    await db.execute(
        "INSERT INTO users (telegram_id, role, created_at, updated_at) VALUES (?, 'client', ?, ?)",
        (client_id, to_db(linked_at), to_db(linked_at)),
    )
    await db.execute(
        "INSERT INTO clients (telegram_id, caseworker_id, label, status, consented_at, "
        "linked_at, unreachable_since) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            client_id,
            caseworker_id,
            f"Client {client_id}",
            status,
            to_db(linked_at),
            to_db(linked_at),
            to_db(linked_at) if unreachable else None,
        ),
    )
    if archived_at is not None:
        await db.execute(
            "INSERT INTO audit_log (at, actor_id, action, subject_id) "
            "VALUES (?, ?, 'client.archived', ?)",
            (to_db(archived_at), caseworker_id, client_id),
        )


async def add_checkin(
    db: Database, client_id: int, opens_at: datetime, status: str, *, planned: bool = True
) -> None:
    await db.execute(
        "INSERT INTO checkins (client_id, planned_at, opens_at, closes_at, status, answered_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            client_id,
            to_db(opens_at) if planned else None,
            to_db(opens_at),
            to_db(opens_at + timedelta(hours=12)),
            status,
            to_db(opens_at) if status in ("done", "help") else None,
        ),
    )


async def add_appointment(
    db: Database, client_id: int, caseworker_id: int, starts_at: datetime, status: str
) -> None:
    await db.execute(
        "INSERT INTO appointments (uid, client_id, caseworker_id, starts_at, ends_at, origin, "
        "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'booked', ?, ?, ?)",
        (
            f"{client_id}-{to_db(starts_at)}",
            client_id,
            caseworker_id,
            to_db(starts_at),
            to_db(starts_at + timedelta(minutes=30)),
            status,
            to_db(starts_at - timedelta(days=3)),
            to_db(starts_at),
        ),
    )


async def add_broadcast(
    db: Database, sender_id: int, at: datetime, rows: list[tuple[int, str, str | None]]
) -> None:
    """`rows`: (client, status, error) per recipient."""
    broadcast_id = await db.fetchval("SELECT coalesce(max(id), 0) + 1 FROM broadcasts")
    await db.execute(
        "INSERT INTO broadcasts (id, sender_id, audience, main_language, state, send_at, "
        "created_at, started_at, finished_at) VALUES (?, ?, 'mine', 'kk', 'done', ?, ?, ?, ?)",
        (broadcast_id, sender_id, to_db(at), to_db(at), to_db(at), to_db(at)),
    )
    for client_id, status, error in rows:
        await db.execute(
            "INSERT INTO broadcast_recipients (broadcast_id, client_id, language, status, "
            "not_before, error) VALUES (?, ?, 'kk', ?, ?, ?)",
            (broadcast_id, client_id, status, to_db(at), error),
        )


async def seed_two_caseworkers(db: Database, now: datetime = NOW) -> None:
    """Caseworker A: clients 1 and 2 (2 unreachable); B: client 3. Check-ins, visits and a
    broadcast each, in the last 7 days, so that A's and B's figures differ."""
    today = now.astimezone(ALMATY).date()
    await add_staff(db, CW_A, "Айгүл")
    await add_staff(db, CW_B, "Болат")
    long_ago = now - timedelta(days=200)
    await add_client(db, 1, CW_A, long_ago)
    await add_client(db, 2, CW_A, long_ago, unreachable=True)
    await add_client(db, 3, CW_B, long_ago)
    yesterday = today - timedelta(days=1)
    for n, (client_id, status) in enumerate(((1, "done"), (1, "help"), (2, "missed"), (2, "done"))):
        await add_checkin(db, client_id, local(yesterday - timedelta(days=n), 9), status)
    await add_checkin(db, 1, local(yesterday, 10), "cancelled")  # never reminded: not due
    await add_checkin(db, 1, local(yesterday, 11), "done", planned=False)  # extra: not due
    await add_checkin(db, 2, local(today, 9), "open")  # not settled yet: not counted
    await add_checkin(db, 3, local(yesterday, 9), "missed")
    await add_checkin(db, 3, local(yesterday - timedelta(days=1), 9), "missed")
    await add_appointment(db, 1, CW_A, local(yesterday, 10), "attended")
    await add_appointment(db, 2, CW_A, local(yesterday, 11), "no_show")
    await add_appointment(db, 3, CW_B, local(yesterday, 10), "cancelled")
    await add_broadcast(
        db,
        CW_A,
        local(yesterday, 12),
        [(1, "sent", None), (2, "failed", "forbidden:blocked")],
    )
    await add_broadcast(db, CW_B, local(yesterday, 12), [(3, "sent", None)])


def by_name(counts: Counts) -> dict[str, int]:
    return {k: v for k, v in vars(counts).items() if v}


async def test_an_empty_programme_counts_zeros(db: Database) -> None:
    result = await stats.collect(db, caseworker_id=None, zone=ALMATY, now=NOW)
    assert len(result.weeks) == 12
    assert all(week.counts == Counts() for week in result.weeks)
    assert result.windows == {7: Counts(), 28: Counts()}
    assert (result.current.active, result.current.unreachable) == (0, 0)
    assert result.caseloads == []
    assert stats.compliance(result.windows[7]) is None


async def test_compliance_counts_settled_planned_check_ins_per_caseworker(db: Database) -> None:
    await seed_two_caseworkers(db)
    everyone = await stats.collect(db, caseworker_id=None, zone=ALMATY, now=NOW)
    mine = await stats.collect(db, caseworker_id=CW_A, zone=ALMATY, now=NOW)
    theirs = await stats.collect(db, caseworker_id=CW_B, zone=ALMATY, now=NOW)
    # A: done, help, done answered; one missed. Cancelled, extra and open ones do not count.
    assert (mine.windows[7].checkins_answered, mine.windows[7].checkins_due) == (3, 4)
    assert stats.compliance(mine.windows[7]) == 0.75
    assert (theirs.windows[7].checkins_answered, theirs.windows[7].checkins_due) == (0, 2)
    assert stats.compliance(theirs.windows[7]) == 0.0
    assert (everyone.windows[7].checkins_answered, everyone.windows[7].checkins_due) == (3, 6)
    assert by_name(mine.windows[28]) == {
        "checkins_due": 4,
        "checkins_answered": 3,
        "appointments_attended": 1,
        "appointments_no_show": 1,
        "broadcasts": 1,
        "broadcast_recipients": 2,
        "broadcast_delivered": 1,
        "broadcast_unreachable": 1,
        "active_clients": 2,
    }
    assert by_name(theirs.windows[28]) == {
        "checkins_due": 2,
        "appointments_cancelled": 1,
        "broadcasts": 1,
        "broadcast_recipients": 1,
        "broadcast_delivered": 1,
        "active_clients": 1,
    }
    assert everyone.windows[28].broadcasts == 2
    assert (mine.current.active, mine.current.unreachable) == (2, 1)
    assert (theirs.current.active, theirs.current.unreachable) == (1, 0)
    # Only the programme's view has caseloads and directory use.
    assert mine.caseloads is None
    assert theirs.caseloads is None
    assert everyone.caseloads is not None
    assert [(c.caseworker_id, c.active, c.unreachable) for c in everyone.caseloads] == [
        (CW_A, 2, 1),
        (CW_B, 1, 0),
    ]


async def test_weeks_run_monday_to_monday_in_local_time(db: Database) -> None:
    await add_staff(db, CW_A, "Айгүл")
    await add_client(db, 1, CW_A, NOW - timedelta(days=200))
    last_monday = MONDAY - timedelta(weeks=1)
    # Monday 00:30 in Almaty is still Sunday in UTC: it belongs to the new week.
    early_monday = local(last_monday, 0, 30)
    assert early_monday.astimezone(UTC).weekday() == 6
    await add_checkin(db, 1, early_monday, "done")
    # Sunday 23:30 in Almaty is Sunday 18:30 UTC: the week before.
    await add_checkin(db, 1, local(last_monday - timedelta(days=1), 23, 30), "missed")
    # This week's Monday, first minute.
    await add_checkin(db, 1, local(MONDAY, 0, 0), "help")
    result = await stats.collect(db, caseworker_id=None, zone=ALMATY, now=NOW)
    assert [w.start for w in result.weeks][-3:] == [
        last_monday - timedelta(weeks=1),
        last_monday,
        MONDAY,
    ]
    assert all(w.start.weekday() == 0 for w in result.weeks)
    due = [(w.counts.checkins_answered, w.counts.checkins_due) for w in result.weeks]
    assert due[-3:] == [(0, 1), (1, 1), (1, 1)]
    assert sum(d for _, d in due) == 3
    # The same instants seen from UTC land in other weeks: bucketing follows the zone.
    in_utc = await stats.collect(db, caseworker_id=None, zone=ZoneInfo("UTC"), now=NOW)
    assert [w.counts.checkins_due for w in in_utc.weeks][-3:] == [2, 1, 0]


async def test_active_clients_per_week_follow_joining_and_archiving(db: Database) -> None:
    await add_staff(db, CW_A, "Айгүл")
    # Joined three weeks ago; joined last week; archived at the start of last week.
    await add_client(db, 1, CW_A, local(MONDAY - timedelta(weeks=3), 12))
    await add_client(db, 2, CW_A, local(MONDAY - timedelta(weeks=1), 12))
    await add_client(
        db,
        3,
        CW_A,
        local(MONDAY - timedelta(weeks=10), 12),
        status="archived",
        archived_at=local(MONDAY - timedelta(weeks=1), 9),
    )
    result = await stats.collect(db, caseworker_id=CW_A, zone=ALMATY, now=NOW)
    active = [w.counts.active_clients for w in result.weeks]
    # Counted at each week's end (the current week: now). Client 3 counts from their week
    # until the week they were archived in; 1 and 2 from the weeks they joined.
    assert active == [0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]
    assert result.current.active == 2


async def test_directory_use_counts_per_day_for_the_programme_only(db: Database) -> None:
    for _ in range(3):
        await queries.count_directory_use(db, queries.SEARCH, TODAY)
    await queries.count_directory_use(db, queries.CARD, TODAY)
    await queries.count_directory_use(db, queries.CARD, TODAY - timedelta(days=10))
    rows = await db.fetchall("SELECT * FROM dir_usage ORDER BY day, kind")
    # Only a day, a kind and a count: no words, no people.
    assert [tuple(r) for r in rows] == [
        ((TODAY - timedelta(days=10)).isoformat(), "card", 1),
        (TODAY.isoformat(), "card", 1),
        (TODAY.isoformat(), "search", 3),
    ]
    everyone = await stats.collect(db, caseworker_id=None, zone=ALMATY, now=NOW)
    assert (everyone.windows[7].directory_searches, everyone.windows[7].directory_card_views) == (
        3,
        1,
    )
    assert everyone.windows[28].directory_card_views == 2
    assert everyone.weeks[-1].counts.directory_searches == 3
    await add_staff(db, CW_A, "Айгүл")
    mine = await stats.collect(db, caseworker_id=CW_A, zone=ALMATY, now=NOW)
    assert mine.windows[28].directory_searches == 0


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_has_the_weeks_the_windows_and_the_totals_without_names(db: Database) -> None:
    await seed_two_caseworkers(db)
    result: Stats = await stats.collect(db, caseworker_id=None, zone=ALMATY, now=NOW)
    text = stats.csv_text(result)
    assert "Айгүл" not in text
    assert "Client" not in text
    rows = parse(text)
    assert [r["period"] for r in rows] == ["week"] * 12 + [
        "last_7_days",
        "last_28_days",
        "now",
        "now",
        "now",
    ]
    assert rows[-1]["start"] == TODAY.isoformat()
    assert rows[11]["start"] == MONDAY.isoformat()
    assert rows[12]["checkins_due"] == "6"
    assert rows[12]["checkins_answered"] == "3"
    assert [
        (r["caseworker_id"], r["active_clients"], r["unreachable_clients"]) for r in rows[-3:]
    ] == [
        ("", "3", "1"),
        (str(CW_A), "2", "1"),
        (str(CW_B), "1", "0"),
    ]


async def test_days_follow_daylight_saving_time_in_zones_that_have_it(db: Database) -> None:
    berlin = ZoneInfo("Europe/Berlin")  # +1 in winter, +2 in summer (last Sunday of March)
    await add_staff(db, CW_A, "Айгүл")
    await add_client(db, 1, CW_A, NOW - timedelta(days=400))
    now = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    # 00:30 local on each side of the change (29 March 2026): still a Sunday, then Monday.
    sunday = datetime(2026, 3, 29, 0, 30, tzinfo=berlin)  # 23:30 UTC the day before
    monday = datetime(2026, 3, 30, 0, 30, tzinfo=berlin)  # 22:30 UTC on Sunday
    assert sunday.utcoffset() == timedelta(hours=1)
    assert monday.utcoffset() == timedelta(hours=2)
    await add_checkin(db, 1, sunday.astimezone(UTC), "done")
    await add_checkin(db, 1, monday.astimezone(UTC), "missed")
    result = await stats.collect(db, caseworker_id=None, zone=berlin, now=now)
    assert result.weeks[-1].start == date(2026, 3, 30)
    assert (result.weeks[-1].counts.checkins_due, result.weeks[-1].counts.checkins_answered) == (
        1,
        0,
    )
    assert (result.weeks[-2].counts.checkins_due, result.weeks[-2].counts.checkins_answered) == (
        1,
        1,
    )
