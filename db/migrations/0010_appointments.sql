-- Appointments: a caseworker's reception hours (inside their working hours), one-off extra
-- slots and days off; the appointments themselves.

-- When a caseworker receives clients in person: on these weekdays, from-to, in slots.
-- Times are local to the caseworker; only the part inside working hours is offered.
CREATE TABLE reception_hours (
    caseworker_id  INTEGER PRIMARY KEY REFERENCES users (telegram_id) ON DELETE CASCADE,
    weekdays       TEXT NOT NULL DEFAULT '',          -- '0,2' (Monday = 0); '' = no reception
    starts_at      TEXT NOT NULL DEFAULT '10:00',
    ends_at        TEXT NOT NULL DEFAULT '13:00',
    slot_minutes   INTEGER NOT NULL DEFAULT 30 CHECK (slot_minutes BETWEEN 10 AND 240),
    place          TEXT NOT NULL DEFAULT '',          -- the address, as the caseworker wrote it
    latitude       REAL,                              -- the map pin, when given
    longitude      REAL
);

-- A one-off slot besides the weekly ones (UTC start; the length is the reception's).
CREATE TABLE reception_extra_slots (
    caseworker_id  INTEGER NOT NULL REFERENCES users (telegram_id) ON DELETE CASCADE,
    starts_at      TEXT NOT NULL,
    PRIMARY KEY (caseworker_id, starts_at)
);

-- A day without reception (local date of the caseworker).
CREATE TABLE reception_days_off (
    caseworker_id  INTEGER NOT NULL REFERENCES users (telegram_id) ON DELETE CASCADE,
    day            TEXT NOT NULL,                     -- YYYY-MM-DD
    PRIMARY KEY (caseworker_id, day)
);

CREATE TABLE appointments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: timed items are keyed by it
    uid              TEXT NOT NULL UNIQUE,               -- the calendar UID, kept across reschedules
    client_id        INTEGER NOT NULL REFERENCES clients (telegram_id) ON DELETE CASCADE,
    caseworker_id    INTEGER NOT NULL,
    starts_at        TEXT NOT NULL,                      -- UTC
    ends_at          TEXT NOT NULL,
    place            TEXT NOT NULL DEFAULT '',           -- as it was when booked or moved
    latitude         REAL,
    longitude        REAL,
    origin           TEXT NOT NULL CHECK (origin IN ('booked', 'assigned')),
    status           TEXT NOT NULL DEFAULT 'booked'
                     CHECK (status IN ('booked', 'cancelled', 'attended', 'no_show')),
    sequence         INTEGER NOT NULL DEFAULT 0,         -- the calendar SEQUENCE: +1 on every change
    acknowledged_at  TEXT,                               -- a booked one is acknowledged when booked
    answer           TEXT,                               -- the client's latest answer to a reminder
    cancelled_by     TEXT CHECK (cancelled_by IN ('client', 'caseworker', 'day_off', 'system')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

-- No double booking: the database decides between two clients pressing the same slot.
-- Only upcoming ones hold a slot (an attended or cancelled one holds none).
CREATE UNIQUE INDEX appointments_one_per_slot ON appointments (caseworker_id, starts_at)
    WHERE status = 'booked';
CREATE INDEX appointments_by_caseworker ON appointments (caseworker_id, starts_at);
CREATE INDEX appointments_by_client ON appointments (client_id, starts_at);
