"""The durable queue's queries: idempotent scheduling, claiming, outcomes, recovery, the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db import scheduled
from db.database import Database
from db.scheduled import Status

T0 = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)


async def add(db: Database, due: datetime, **kwargs: object) -> int | None:
    values: dict[str, object] = {"kind": "test", "recipient_id": 1, "due_at": due, "now": T0}
    return await scheduled.schedule(db, **(values | kwargs))


async def status(db: Database, item_id: int | None) -> Status:
    assert item_id is not None
    state = await scheduled.get(db, item_id)
    assert state is not None
    return state.status


async def test_a_dedupe_key_schedules_once(db: Database) -> None:
    first = await add(db, T0, dedupe_key="checkin:7:2025-03-14")
    again = await add(db, T0 + timedelta(hours=1), dedupe_key="checkin:7:2025-03-14")
    assert first is not None
    assert again is None
    assert (await scheduled.counts(db))[Status.PENDING] == 1
    # No key, no deduplication.
    assert await add(db, T0) != await add(db, T0)


async def test_replace_reuses_the_key_but_never_touches_an_item_being_sent(db: Database) -> None:
    item_id = await add(db, T0, dedupe_key="k", payload={"n": 1})
    await scheduled.cancel(db, now=T0, dedupe_key="k")
    assert await add(db, T0, dedupe_key="k") is None  # cancelled rows keep their key
    again = await add(db, T0 + timedelta(hours=1), dedupe_key="k", payload={"n": 2}, replace=True)
    assert again == item_id
    assert item_id is not None
    state = await scheduled.get(db, item_id)
    assert state is not None
    assert (state.status, state.item.payload, state.item.due_at) == (
        Status.PENDING,
        {"n": 2},
        T0 + timedelta(hours=1),
    )
    [claimed] = await scheduled.claim_due(db, T0 + timedelta(hours=1), 10)
    assert await add(db, T0, dedupe_key="k", replace=True) is None
    assert await status(db, claimed.id) is Status.SENDING


async def test_claim_returns_due_items_earliest_first_and_only_once(db: Database) -> None:
    late = await add(db, T0 + timedelta(minutes=2))
    early = await add(db, T0 + timedelta(minutes=1))
    future = await add(db, T0 + timedelta(minutes=10))
    now = T0 + timedelta(minutes=5)

    first = await scheduled.claim_due(db, now, 1)
    assert [i.id for i in first] == [early]
    assert first[0].attempts == 1
    rest = await scheduled.claim_due(db, now, 10)
    assert [i.id for i in rest] == [late]
    assert await scheduled.claim_due(db, now, 10) == []
    assert await status(db, future) is Status.PENDING
    assert await scheduled.next_due(db) == T0 + timedelta(minutes=10)


async def test_outcomes_apply_only_to_items_in_flight(db: Database) -> None:
    item_id = await add(db, T0)
    assert item_id is not None
    assert not await scheduled.mark_sent(db, item_id, T0)  # never claimed
    await scheduled.claim_due(db, T0, 10)
    assert await scheduled.mark_sent(db, item_id, T0 + timedelta(seconds=3))
    assert not await scheduled.mark_sent(db, item_id, T0)  # already recorded
    state = await scheduled.get(db, item_id)
    assert state is not None
    assert state.status is Status.SENT
    assert state.sent_at == T0 + timedelta(seconds=3)


async def test_retry_keeps_the_intended_time_and_postpone_moves_it(db: Database) -> None:
    retried = await add(db, T0, recipient_id=1)
    postponed = await add(db, T0, recipient_id=2)
    await scheduled.claim_due(db, T0, 10)
    assert retried is not None
    assert postponed is not None
    later = T0 + timedelta(hours=2)
    await scheduled.retry_at(db, retried, later, "network")
    await scheduled.postpone(db, postponed, later, "quiet_hours")

    r = await scheduled.get(db, retried)
    p = await scheduled.get(db, postponed)
    assert r is not None
    assert p is not None
    assert (r.status, r.item.due_at, r.item.intended_at, r.last_error, r.item.attempts) == (
        Status.PENDING,
        later,
        T0,
        "network",
        1,
    )
    assert (p.item.due_at, p.item.intended_at, p.item.attempts) == (later, later, 0)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"dedupe_key": "checkin:7:1"}, {"checkin:7:1"}),
        ({"key_prefix": "checkin:7:"}, {"checkin:7:1", "checkin:7:2"}),
        # LIKE wildcards in a prefix are plain characters.
        ({"key_prefix": "checkin:_"}, set()),
        ({"recipient_id": 8}, {"checkin:8:1", "appointment:8"}),
        ({"recipient_id": 8, "kind": "appointment"}, {"appointment:8"}),
    ],
)
async def test_cancel_by_key_prefix_recipient_and_kind(
    db: Database, filters: dict[str, object], expected: set[str]
) -> None:
    for key, recipient, kind in [
        ("checkin:7:1", 7, "checkin"),
        ("checkin:7:2", 7, "checkin"),
        ("checkin:70:1", 70, "checkin"),
        ("checkin:8:1", 8, "checkin"),
        ("appointment:8", 8, "appointment"),
    ]:
        await add(db, T0, dedupe_key=key, recipient_id=recipient, kind=kind)
    assert await scheduled.cancel(db, now=T0, **filters) == len(expected)
    rows = await db.fetchall(
        "SELECT dedupe_key FROM scheduled_items WHERE status = 'dropped' AND last_error = 'cancelled'"
    )
    assert {r[0] for r in rows} == expected


async def test_cancel_needs_a_filter_and_leaves_items_in_flight(db: Database) -> None:
    with pytest.raises(ValueError, match="say what to cancel"):
        await scheduled.cancel(db, now=T0)
    item_id = await add(db, T0, recipient_id=5)
    await scheduled.claim_due(db, T0, 10)
    assert await scheduled.cancel(db, now=T0, recipient_id=5) == 0
    assert await status(db, item_id) is Status.SENDING


async def test_rows_left_in_flight_are_recovered(db: Database) -> None:
    a = await add(db, T0)
    b = await add(db, T0)
    await scheduled.claim_due(db, T0, 10)
    assert await scheduled.recover_in_flight(db) == 2
    for item_id in (a, b):
        state = await scheduled.get(db, item_id or 0)
        assert state is not None
        assert (state.status, state.last_error, state.item.attempts) == (
            Status.PENDING,
            "recovered",
            1,
        )
    # Released rows give their attempt back.
    [item, _] = await scheduled.claim_due(db, T0, 10)
    await scheduled.release(db, item.id)
    state = await scheduled.get(db, item.id)
    assert state is not None
    assert state.item.attempts == 1


async def test_purge_removes_only_old_finished_rows(db: Database) -> None:
    ids = [await add(db, T0) for _ in range(5)]
    claimed = await scheduled.claim_due(db, T0, 3)
    for item in claimed[:2]:
        await scheduled.mark_sent(db, item.id, T0)
    await scheduled.mark_failed(db, claimed[2].id, "bad_request", T0 + timedelta(days=40))
    removed = await scheduled.purge_finished(db, T0 + timedelta(days=30), batch=1)
    assert removed == 2
    assert (await scheduled.counts(db)) == {
        Status.PENDING: 2,
        Status.SENDING: 0,
        Status.SENT: 0,
        Status.DROPPED: 0,
        Status.FAILED: 1,
    }
    assert len(ids) == 5


async def test_payloads_hold_ids_not_texts(db: Database) -> None:
    with pytest.raises(ValueError, match="render texts at send time"):
        await add(db, T0, payload={"text": "x" * 2000})
    item_id = await add(db, T0, payload={"schedule_id": 7, "window_hours": 12})
    state = await scheduled.get(db, item_id or 0)
    assert state is not None
    assert state.item.payload == {"schedule_id": 7, "window_hours": 12}


async def test_the_due_query_uses_the_partial_index(db: Database) -> None:
    await db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "INSERT INTO scheduled_items (kind, recipient_id, intended_at, due_at, created_at, status) "
        "SELECT 'test', i, '2025-03-14 06:00:00', '2025-03-14 06:00:00', '2025-03-14 06:00:00', "
        "CASE WHEN i % 2 THEN 'pending' ELSE 'sent' END FROM n"
    )
    await db.execute("ANALYZE")
    plan = await scheduled.explain_due(db, T0)
    assert any("USING INDEX scheduled_items_due" in line for line in plan), plan
    assert not any(line.startswith("SCAN scheduled_items") for line in plan), plan
