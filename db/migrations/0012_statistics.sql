-- Programme statistics (/stats, `python -m bot stats`).

-- Directory use, counted per day and kind: nothing else. No search words, no user ids, no
-- entry ids: only how many searches and card views there were on a day (the day in the
-- programme's zone, TIMEZONE).
CREATE TABLE dir_usage (
    day    TEXT NOT NULL,                                   -- YYYY-MM-DD
    kind   TEXT NOT NULL CHECK (kind IN ('search', 'card')),
    count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind)
) WITHOUT ROWID;

-- Weekly figures read planned check-ins by when their window opened, for the whole
-- programme too: the index holds every column they read (no visit to the table's rows).
CREATE INDEX checkins_by_opening ON checkins (opens_at, status, client_id)
    WHERE planned_at IS NOT NULL;
