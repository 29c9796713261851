-- Everything the bot must do later (reminders, follow-ups, escalations, deliveries).
-- SQLite is the source of truth: an item is stored before anything is scheduled, and
-- marked 'sent' only after Telegram accepted it (scheduler/, db/scheduled.py).
CREATE TABLE scheduled_items (
    id            INTEGER PRIMARY KEY,
    -- Which registered handler renders and sends it, e.g. 'checkin.remind'.
    kind          TEXT NOT NULL,
    -- Telegram chat id of the recipient (== user id in private chats).
    recipient_id  INTEGER NOT NULL,
    -- Ids and small values only; texts are rendered at send time in the recipient's language.
    payload       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    -- When the feature wants it to happen (lateness is measured from here).
    intended_at   TEXT NOT NULL,
    -- When the engine will next try: intended_at, or later after a failed attempt.
    due_at        TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'dropped', 'failed')),
    -- Claims so far (each claim is one try; a release at shutdown gives its try back).
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_at    TEXT,
    sent_at       TEXT,
    finished_at   TEXT,
    -- An error class or reason code ('network', 'forbidden:blocked', 'cancelled'); never personal data.
    last_error    TEXT,
    -- Lets a feature schedule idempotently: INSERT ... ON CONFLICT (dedupe_key) DO NOTHING.
    dedupe_key    TEXT UNIQUE,
    created_at    TEXT NOT NULL
);

-- The dispatcher's query: pending rows due by now, earliest first. Partial, so its size
-- (and each wake-up's cost) follows what is pending, and finished rows cost nothing.
CREATE INDEX scheduled_items_due ON scheduled_items (due_at, id) WHERE status = 'pending';

-- Rows claimed by a process that died: put back to pending at the next start.
CREATE INDEX scheduled_items_in_flight ON scheduled_items (claimed_at) WHERE status = 'sending';

-- Cancelling a person's pending items (paused schedule, deleted account).
CREATE INDEX scheduled_items_by_recipient ON scheduled_items (recipient_id, kind)
    WHERE status = 'pending';

-- Purging finished rows after the retention period.
CREATE INDEX scheduled_items_finished ON scheduled_items (finished_at)
    WHERE status IN ('sent', 'dropped', 'failed');
