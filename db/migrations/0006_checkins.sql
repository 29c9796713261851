-- A client's check-in schedule, set by their caseworker. Times are local to the client.
CREATE TABLE checkin_schedules (
    client_id         INTEGER PRIMARY KEY REFERENCES clients (telegram_id) ON DELETE CASCADE,
    pattern           TEXT NOT NULL CHECK (pattern IN ('daily', 'weekdays', 'every_n_days')),
    at_time           TEXT NOT NULL,                -- HH:MM in the client's zone
    weekdays          TEXT NOT NULL DEFAULT '',     -- '0,2,4' (Monday = 0) for 'weekdays'
    every_n           INTEGER NOT NULL DEFAULT 1,   -- for 'every_n_days'
    anchor_date       TEXT,                         -- local date counting starts from
    window_hours      INTEGER NOT NULL DEFAULT 12 CHECK (window_hours BETWEEN 1 AND 72),
    request_location  INTEGER NOT NULL DEFAULT 0,
    paused            INTEGER NOT NULL DEFAULT 0,
    updated_at        TEXT NOT NULL
);

-- One row per check-in: planned by the schedule, or an extra one the client made.
CREATE TABLE checkins (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: timed items are keyed by it
    client_id      INTEGER NOT NULL REFERENCES clients (telegram_id) ON DELETE CASCADE,
    planned_at     TEXT,              -- the schedule's time (UTC); NULL for an extra check-in
    opens_at       TEXT NOT NULL,     -- the reminder time, after quiet hours (UTC)
    closes_at      TEXT NOT NULL,     -- the end of the window (UTC)
    status         TEXT NOT NULL DEFAULT 'scheduled'
                   CHECK (status IN ('scheduled', 'open', 'done', 'help', 'missed', 'cancelled')),
    answered_at    TEXT,
    latitude       REAL,              -- only when asked for and the client agreed
    longitude      REAL,
    UNIQUE (client_id, planned_at)
);

CREATE INDEX checkins_by_client ON checkins (client_id, opens_at);
CREATE INDEX checkins_missed ON checkins (status, closes_at) WHERE status = 'missed';

-- Whether the client agreed to share their location with check-ins (NULL: not asked yet).
ALTER TABLE clients ADD COLUMN location_consent INTEGER;
