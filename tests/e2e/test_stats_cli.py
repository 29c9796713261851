"""`python -m bot stats --csv FILE`: the same figures as /stats, ids and counts only, 0600."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

from db.clock import utcnow
from db.database import Database
from db.migrate import migrate
from tests.processes import run_cli
from tests.unit.test_stats_queries import CW_A, CW_B, seed_two_caseworkers


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


async def test_stats_csv_for_the_programme_and_for_one_caseworker(tmp_path: Path) -> None:
    db = Database(tmp_path / "db" / "bot.sqlite3")
    await db.connect()
    await migrate(db)
    await seed_two_caseworkers(db, utcnow())
    await db.close()

    target = tmp_path / "stats.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)  # an existing file is made private too
    code, out, err = await run_cli(tmp_path, "stats", "--csv", str(target))
    assert (code, err) == (0, "")
    assert f"Wrote 17 rows of statistics to {target}" in out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text(encoding="utf-8")
    assert "Айгүл" not in text
    assert "Болат" not in text
    assert "Client" not in text
    rows = rows_of(target)
    assert [r["period"] for r in rows] == ["week"] * 12 + [
        "last_7_days",
        "last_28_days",
        "now",
        "now",
        "now",
    ]
    last_7 = rows[12]
    assert (last_7["checkins_answered"], last_7["checkins_due"]) == ("3", "6")
    assert (last_7["appointments_attended"], last_7["appointments_no_show"]) == ("1", "1")
    assert (last_7["broadcast_recipients"], last_7["broadcast_delivered"]) == ("3", "2")
    assert last_7["broadcast_unreachable"] == "1"
    assert sum(int(r["checkins_due"]) for r in rows[:12]) == 6  # every check-in in one week
    assert [
        (r["caseworker_id"], r["active_clients"], r["unreachable_clients"]) for r in rows[-3:]
    ] == [
        ("", "3", "1"),
        (str(CW_A), "2", "1"),
        (str(CW_B), "1", "0"),
    ]

    mine = tmp_path / "mine.csv"
    code, out, err = await run_cli(tmp_path, "stats", "--csv", str(mine), "--caseworker", str(CW_B))
    assert (code, err) == (0, "")
    rows = rows_of(mine)
    assert len(rows) == 15  # no per-caseworker rows
    assert {r["caseworker_id"] for r in rows} == {str(CW_B)}
    assert (rows[12]["checkins_answered"], rows[12]["checkins_due"]) == ("0", "2")
    assert rows[12]["directory_searches"] == "0"
    assert (rows[-1]["active_clients"], rows[-1]["unreachable_clients"]) == ("1", "0")
