"""Durable timed work: reminders, follow-ups, escalations, deliveries.

SQLite (`scheduled_items`, db/scheduled.py) is the source of truth; APScheduler 3.11 is
only the clock. A feature registers a kind and schedules rows; the engine wakes when
something is due, claims due rows in small batches, hands each to the kind's handler
(which renders the text in the recipient's language and sends it), and records the outcome.

    from scheduler.engine import Engine
    from scheduler.outcomes import SENT, Drop, Outcome

    async def remind(item: ScheduledItem, delivery: Delivery) -> Outcome:
        if delivery.late and not still_useful(item):
            return Drop("too_late")
        text = delivery.gettext(N_("Time to check in")) + "\\n" + delivery.late_note()
        await delivery.send_message(text)          # paced per chat; errors go to the engine
        return SENT

    engine.register("checkin.remind", remind)   # in register_timed_work, before start
    await engine.schedule("checkin.remind", client_id, due_utc,
                          {"checkin": 7}, dedupe_key="checkin:<client>:7:remind")

Modules: engine (facade: register, schedule, cancel, start, stop, run_due), runner (one
pass: claim, handle, record), wakeup (the APScheduler jobs), context (what a handler
gets), outcomes (what it returns), errors (Telegram errors -> retry or fail), pacing
(per-chat spacing), settings (what it reads of the bot's settings: `EngineSettings`, built
by bot/app.py). Local-time arithmetic lives in the leaf package core (core.timecalc).
The package imports only db/ and core/ of the project (the contracts in pyproject.toml).

Restart and crash (kill -9) policy
----------------------------------
- An item exists once its row is committed; it is 'sent' only after Telegram answered OK.
- Claiming marks rows 'sending' in one short transaction; at most
  `EngineConfig.max_in_flight` (32) rows are 'sending' at a time. Each row is marked
  right after its own answer, and the bot session's budget spreads starts evenly (30/s
  at most), so at any instant only the requests on the wire (~3 with 100 ms round
  trips) are accepted-but-unrecorded.
- Clean stop (SIGTERM): no new claims; sends already requested finish and are recorded;
  items still waiting for their chat's slot go back to 'pending' unsent.
- Start: every row left 'sending' goes back to 'pending' (only one bot process runs
  against a database: Telegram's getUpdates already refuses a second poller). A row
  Telegram accepted but we had not yet marked is therefore sent twice; such rows are the
  ones whose request was in flight at the crash: at most `max_in_flight`, measured 0-1
  per kill -9 (bench/scheduler_bench.py; figures in docs/architecture.md). This is
  the exactly-once limit of the Bot API (no idempotency key); we choose a rare duplicate
  over a lost reminder.
- Overdue rows (the bot was down) are handed to their handler with `delivery.lateness`;
  `delivery.late` is true beyond SCHEDULER_LATE_AFTER_SECONDS. The handler decides: send
  with `delivery.late_note()` ("⏰ This message is late: it was planned for ...") or
  return Drop(reason) when it no longer makes sense.
- A network error after the request left is ambiguous (the message may have arrived):
  the item is retried, so it may arrive twice; these are counted (`counters.ambiguous`).
  A refused connection and 5xx answers mean "not delivered" and are simply retried.
"""
