"""The inbox's bookkeeping: polling never resumes before a row that is gone."""

from __future__ import annotations

import json

from db import inbox
from db.database import Database


def payload(update_id: int) -> str:
    return json.dumps({"update_id": update_id})


async def stored_ids(db: Database) -> list[int]:
    return [r[0] for r in await db.fetchall("SELECT update_id FROM inbox ORDER BY update_id")]


async def test_a_batch_is_stored_once_and_storing_it_again_changes_nothing(db: Database) -> None:
    await inbox.store(db, [(10, payload(10)), (11, payload(11))])
    await inbox.store(db, [(11, payload(11)), (12, payload(12))])  # fetched again after an error
    await inbox.store(db, [(13, payload(13))])
    assert await stored_ids(db) == [10, 11, 12, 13]
    assert await inbox.next_offset(db) is None  # nothing deleted yet: nothing to resume after


async def test_done_deletes_the_rows_and_polling_resumes_after_them(db: Database) -> None:
    ids = list(range(1, 1203))  # more than one DELETE's worth
    await inbox.store(db, [(i, payload(i)) for i in ids])
    await inbox.done(db, ids[:-1])
    assert await stored_ids(db) == [1202]
    assert await inbox.next_offset(db) == 1202
    await inbox.done(db, [])
    assert await inbox.next_offset(db) == 1202


async def test_the_offset_never_goes_back(db: Database) -> None:
    await inbox.store(db, [(7, payload(7)), (8, payload(8))])
    await inbox.done(db, [8])
    await inbox.done(db, [7])  # handled later than a newer one
    assert await inbox.next_offset(db) == 9


async def test_rows_a_dead_process_left_move_the_offset_past_them(db: Database) -> None:
    # Stored, maybe handled, not deleted: the process died before the next getUpdates.
    await inbox.store(db, [(20, payload(20)), (21, payload(21))])
    again, given_up = await inbox.replay(db)
    assert [u.update_id for u in again] == [20, 21]
    assert given_up == []
    assert await inbox.next_offset(db) == 22  # Telegram is not asked for them again


async def test_updates_stored_one_by_one_do_not_grow_the_wal_without_end(db: Database) -> None:
    """Stored on the loop's thread, which never checkpoints: the deletes' commits do."""
    await db.writer.execute("PRAGMA wal_autocheckpoint=100")  # 100 pages, not 1,000: quicker
    pad = "x" * 6000  # two pages or more a row: the WAL would pass 100 pages several times
    for start in range(0, 300, 10):
        for update_id in range(start, start + 10):
            await inbox.store(db, [(update_id, json.dumps({"update_id": update_id, "p": pad}))])
        await inbox.done(db, list(range(start, start + 10)))
    wal = db.path.with_name(db.path.name + "-wal")
    assert wal.stat().st_size < 1024 * 1024  # about 100 pages of 4 KB, not 700
    assert await stored_ids(db) == []
