"""Check-ins: caseworkers set schedules, clients get reminders and answer, misses are escalated.

client.py   the client's buttons, /checkin, location
staff.py    the schedule editor in the client card
planning.py the schedule in words; archiving stops check-ins (planning: services/checkins.py)
timed.py    the engine kinds (reminder, follow-up, close, missed digest)
need_help.py «I need help»: the answer, its alerts (officer, else administrators), escalation
"""

from __future__ import annotations

from handlers.checkins import need_help, timed
from scheduler.engine import Engine


def register_timed_work(engine: Engine) -> None:
    timed.register(engine)
    need_help.register(engine)
