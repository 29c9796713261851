"""kill -9 in the middle of sending: nothing lost, duplicates only where Telegram had accepted.

The engine runs in a child process (bench/crash_child.py) against this test's fake Bot
API; it is SIGKILLed after some deliveries and started again on the same database.
"""

from __future__ import annotations

from pathlib import Path

from bench.scheduler_bench import run_crash


async def test_a_killed_engine_loses_nothing_and_repeats_only_what_was_on_the_wire(
    tmp_path: Path,
) -> None:
    # Killed inside the fake Telegram as it accepts the 20th message, before the bot can
    # read the answer: the worst moment (bench/scheduler_bench.py also kills at random ones).
    figures = await run_crash(
        items=90, people=45, kill_after=20, workdir=tmp_path, worst_moment=True, within=60
    )
    assert figures.delivered_at_kill >= 20
    assert figures.delivered_at_kill < 90  # killed mid-run, not after
    assert figures.in_flight_at_kill > 0
    assert figures.lost == 0
    # Exactly the rows Telegram had accepted but we had not recorded come again, no more;
    # those are bounded by the rows in flight (max_in_flight).
    assert figures.duplicates == figures.accepted_unrecorded
    assert figures.duplicates <= figures.in_flight_at_kill <= 32
    assert figures.duplicates >= 1  # the message accepted at the kill comes twice
